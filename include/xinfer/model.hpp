#pragma once
// Model: the facade a host application uses. Load a model file (the format is detected from its bytes) or a
// built-in architecture, run NHWC float batches, classify raw RGB pixels, save as .xinf.
//
// A Model is immutable after load and cheap to copy (copies share the compiled graph). run() and classify() may be
// called from many threads at once: each call borrows a Session (activation arena + thread pool + cached plan)
// from a pool and returns it afterwards; no call writes state another call reads.
#include <algorithm>
#include <cctype>
#include <cstring>
#include <memory>
#include <mutex>
#include <numeric>
#include <random>
#include <sstream>
#include <xtensor/xadapt.hpp>
#include <xtensor/xarray.hpp>

#include "xinfer/graph/executor.hpp"
#include "xinfer/graph/passes.hpp"
#include "xinfer/io/image.hpp"
#include "xinfer/io/onnx/export.hpp"
#include "xinfer/io/onnx/importer.hpp"
#include "xinfer/io/tfjs.hpp"
#include "xinfer/io/xinf.hpp"
#include "xinfer/models/mobilenet_v2.hpp"
#include "xinfer/quant/ptq.hpp"
#include "xinfer/quant/report.hpp"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace xinfer::detail {
// Gives freed heap pages back to the system, which glibc otherwise keeps: loading allocates and frees copies of
// the weights, and a process that then only runs the model should not hold on to them.
inline void return_free_memory() {
#if defined(__GLIBC__)
    ::malloc_trim(0);
#endif
}
}  // namespace xinfer::detail

namespace xinfer {

struct ModelOptions {
    int threads = 1;                                     // default threads of run() and classify()
    ops::KernelSet kernels = ops::KernelSet::optimized;  // reference: the scalar spec kernels (slow; for checks)
    bool optimize = true;                                // fold batch norm, fuse activations
    bool fuse_blocks = true;  // run inverted-residual blocks as one step (false: a step per layer, for profiles)
};

struct RunOptions {
    int threads = 0;                     // 0: the model's default
    std::vector<double>* op_ns = nullptr;  // if set, receives each op's wall time in nanoseconds
};

struct TensorSpec {
    std::string name;
    DataType dtype = DataType::f32;
    Shape shape;  // -1: any size (the batch, or a free spatial dimension)
};

struct Prediction {
    int index = 0;
    std::string label;
    float probability = 0.0f;
};

class Model {
public:
    // A path to a model file, or "builtin:mobilenet_v2?alpha=1.0&size=224&classes=1000&seed=42" (seeded random
    // weights with re-estimated batch-norm statistics; for benchmarks and tests).
    // The format comes from the bytes: .xinf (safetensors), ONNX (protobuf) or a TF.js layers model.json (whose
    // weight shards are read from its folder).
    static Model load(const std::string& source, const ModelOptions& options = {}) {
        if (source.rfind("builtin:", 0) == 0) return builtin(source.substr(8), options);
        io::XinfModel m = import_file(source);
        return from_graph(std::move(m.graph), std::move(m.metadata), options);
    }

    // Reads any supported model file into the graph IR and its metadata, without building it.
    static io::XinfModel import_file(const std::string& path) {
        auto file = std::make_shared<io::MappedFile>(path);
        const std::byte* data = file->data();
        const size_t size = file->size();
        if (is_tfjs(data, size)) return io::import_tfjs(path);
        const size_t slash = path.find_last_of('/');
        const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
        const io::MappedFile* mapping = file.get();
        io::XinfModel m = import_bytes(std::move(file), data, size, path, dir, mapping);
        detail::return_free_memory();  // the importer's temporaries
        return m;
    }

    // Loads from bytes in memory. The bytes are copied: the caller may free them as soon as this returns.
    static Model load_from_memory(const void* data, size_t size, const ModelOptions& options = {},
                                  const std::string& name = "<memory>") {
        XINFER_CHECK(data || size == 0, ErrorCode::invalid_argument, "load_from_memory: null data");
        auto copy = std::make_shared<AlignedBuffer>(size);
        if (size) std::memcpy(copy->data(), data, size);
        const std::byte* bytes = copy->data();
        return from_bytes(std::move(copy), bytes, size, name, options);
    }

    static Model from_graph(Graph graph, io::ModelMetadata metadata = {}, const ModelOptions& options = {}) {
        if (options.optimize) optimize(graph);
        else graph.sort_and_validate();
        auto impl = std::make_shared<Impl>(std::move(graph), std::move(metadata), options);
        detail::return_free_memory();  // the optimizer's and the weight packing's temporaries
        return Model(std::move(impl));
    }

    void save(const std::string& path) const { io::save_xinf(path, impl_->executor.graph(), impl_->metadata); }
    std::vector<std::byte> save_to_memory() const { return io::write_xinf(impl_->executor.graph(), impl_->metadata); }
    // The model as an ONNX file (opset 13; int8 layers in QDQ form) for other runtimes.
    std::string to_onnx() const { return io::onnx::export_onnx(impl_->executor.graph(), impl_->metadata); }

    const std::vector<TensorSpec>& inputs() const { return impl_->inputs; }
    const std::vector<TensorSpec>& outputs() const { return impl_->outputs; }
    const io::ModelMetadata& metadata() const { return impl_->metadata; }
    const Executor& executor() const { return impl_->executor; }
    const Graph& graph() const { return impl_->executor.graph(); }
    int threads() const { return impl_->options.threads; }

    // Bytes of the activation arena (plus op workspace) for one run with these input shapes: the peak memory a
    // run needs besides the weights, known before running.
    size_t planned_arena_bytes(const std::vector<Shape>& input_shapes, int threads = 0) const {
        return impl_->executor.plan(input_shapes, threads > 0 ? threads : impl_->options.threads).arena_bytes;
    }
    // Bytes of the packed weights held by the ops.
    size_t weight_bytes() const {
        size_t n = 0;
        for (auto& s : impl_->executor.steps()) n += s.op->parameter_bytes();
        return n;
    }

    // The general form: one pointer and shape per model input; outputs are resized to the model's outputs.
    void run(const std::vector<const float*>& inputs, const std::vector<Shape>& shapes,
             std::vector<xt::xarray<float>>& outputs, const RunOptions& ro = {}) const {
        const int threads = ro.threads > 0 ? ro.threads : impl_->options.threads;
        auto session = impl_->acquire(threads);
        if (!session->plan || session->plan->input_shapes != shapes)
            session->plan = impl_->executor.plan(shapes, threads);
        const ExecutionPlan& plan = *session->plan;
        const auto& ids = impl_->executor.output_ids();
        outputs.resize(ids.size());
        std::vector<float*> out_ptrs;
        for (size_t i = 0; i < ids.size(); ++i) {
            const Shape& s = plan.shapes[size_t(ids[i])];
            std::vector<size_t> dims(s.begin(), s.end());
            if (outputs[i].shape() != typename xt::xarray<float>::shape_type(dims.begin(), dims.end()))
                outputs[i] = xt::xarray<float>::from_shape(dims);
            out_ptrs.push_back(outputs[i].data());
        }
        impl_->executor.run(plan, session->arena, session->pool, inputs, out_ptrs, ro.op_ns);
        impl_->release(std::move(session));
    }

    std::vector<xt::xarray<float>> run(const std::vector<xt::xarray<float>>& inputs, const RunOptions& ro = {}) const {
        std::vector<const float*> ptrs;
        std::vector<Shape> shapes;
        for (auto& in : inputs) {
            ptrs.push_back(in.data());
            shapes.emplace_back(in.shape().begin(), in.shape().end());
        }
        std::vector<xt::xarray<float>> out;
        run(ptrs, shapes, out, ro);
        return out;
    }

    // One input, one output: e.g. an NHWC float batch [N, H, W, 3] -> [N, classes].
    xt::xarray<float> run(const xt::xarray<float>& input, const RunOptions& ro = {}) const {
        XINFER_CHECK(impl_->inputs.size() == 1 && impl_->outputs.size() == 1, ErrorCode::invalid_argument,
                     "this model has ", impl_->inputs.size(), " inputs and ", impl_->outputs.size(),
                     " outputs: use run(std::vector<xt::xarray<float>>)");
        return std::move(run(std::vector<xt::xarray<float>>{input}, ro)[0]);
    }

    // Raw interleaved RGB8 pixels of any size -> the model's preprocessing -> run -> top-k classes.
    // `stride` is the row pitch in bytes (0: width * 3). `pre` overrides the model's own preprocessing.
    std::vector<Prediction> classify(const uint8_t* rgb, int width, int height, int top_k = 5, size_t stride = 0,
                                     const io::Preprocessing* pre = nullptr) const {
        return top_classes(class_probabilities(rgb, width, height, stride, pre), top_k);
    }

    // An RGB8 image preprocessed into the model's input tensor: NHWC [1, H, W, 3] or, for imported NCHW models,
    // [1, 3, H, W].
    xt::xarray<float> image_input(const uint8_t* rgb, int width, int height, size_t stride = 0,
                                  const io::Preprocessing* pre = nullptr) const {
        const io::Preprocessing& p = preprocessing_or_throw(pre);
        XINFER_CHECK(impl_->inputs.size() == 1 && impl_->inputs[0].shape.size() == 4, ErrorCode::invalid_argument,
                     "this needs a model with one image input");
        const Shape& in = impl_->inputs[0].shape;
        const bool nchw = in[1] == 3 && in[3] != 3;
        xt::xarray<float> x = xt::xarray<float>::from_shape({1, size_t(p.height), size_t(p.width), 3});
        io::preprocess_rgb8(rgb, width, height, stride ? stride : size_t(width) * 3, p, x.data());
        if (nchw) {
            xt::xarray<float> t = xt::xarray<float>::from_shape({1, 3, size_t(p.height), size_t(p.width)});
            kernels::ref::transpose_f32({1, p.height, p.width, 3}, {0, 3, 1, 2}, x.data(), t.data());
            x = std::move(t);
        }
        return x;
    }

    // Every class's probability for one image (softmax applied unless the graph ends in one).
    std::vector<float> class_probabilities(const uint8_t* rgb, int width, int height, size_t stride = 0,
                                           const io::Preprocessing* pre = nullptr) const {
        const xt::xarray<float> y = run(image_input(rgb, width, height, stride, pre));
        XINFER_CHECK(y.dimension() == 2 && y.shape()[0] == 1, ErrorCode::shape_mismatch,
                     "classification expects a [1, classes] output");
        std::vector<float> probs(y.data(), y.data() + y.shape()[1]);
        if (!ends_in_softmax()) {
            const float mx = *std::max_element(probs.begin(), probs.end());
            double sum = 0;
            for (auto& v : probs) sum += (v = std::exp(v - mx));
            for (auto& v : probs) v = float(v / sum);
        }
        return probs;
    }

    // The model's preprocessing (or `pre`), or an error that says how to provide one.
    const io::Preprocessing& preprocessing_or_throw(const io::Preprocessing* pre = nullptr) const {
        if (pre) return *pre;
        XINFER_CHECK(impl_->metadata.preprocessing, ErrorCode::invalid_argument,
                     "the model does not say how to preprocess images: pass --scale, --mean, --std, --size and "
                     "--resize (or set io::Preprocessing) instead of guessing");
        return *impl_->metadata.preprocessing;
    }

    // The k most probable classes, best first.
    std::vector<Prediction> top_classes(const std::vector<float>& p, int top_k) const {
        std::vector<int> order(p.size());
        std::iota(order.begin(), order.end(), 0);
        const size_t k = std::min(p.size(), size_t(std::max(top_k, 0)));
        std::partial_sort(order.begin(), order.begin() + long(k), order.end(),
                          [&](int a, int b) { return p[size_t(a)] > p[size_t(b)]; });
        std::vector<Prediction> out;
        for (size_t i = 0; i < k; ++i) out.push_back({order[i], label(order[i]), p[size_t(order[i])]});
        return out;
    }

    std::string label(int index) const {
        const auto& labels = impl_->metadata.labels;
        return index >= 0 && size_t(index) < labels.size() ? labels[size_t(index)] : "class " + std::to_string(index);
    }

    bool ends_in_softmax() const {
        return xinfer::ends_in_softmax(impl_->executor.graph());
    }

private:
    struct Session {
        explicit Session(int threads) : threads(threads), pool(threads) {}
        int threads;
        ThreadPool pool;
        Arena arena;
        std::optional<ExecutionPlan> plan;
    };

    struct Impl {
        Impl(Graph g, io::ModelMetadata meta, const ModelOptions& o)
            : options(o), metadata(std::move(meta)), executor(std::move(g), ExecutorOptions{o.kernels, o.fuse_blocks}) {
            XINFER_CHECK(o.threads >= 1 && o.threads <= 256, ErrorCode::invalid_argument, "threads must be in [1, 256]");
            for (auto& v : executor.graph().inputs) inputs.push_back({v.name, v.dtype, v.shape});
            for (auto& v : executor.graph().outputs) outputs.push_back({v.name, v.dtype, v.shape});
            for (auto& v : executor.graph().inputs)
                XINFER_CHECK(v.dtype == DataType::f32, ErrorCode::unsupported_op, "input '", v.name, "' has dtype ",
                             to_string(v.dtype), "; this build runs float32 models");
        }
        std::unique_ptr<Session> acquire(int threads) const {
            {
                std::lock_guard<std::mutex> lock(mutex);
                for (auto it = idle.begin(); it != idle.end(); ++it)
                    if ((*it)->threads == threads) {
                        auto s = std::move(*it);
                        idle.erase(it);
                        return s;
                    }
            }
            return std::make_unique<Session>(threads);
        }
        void release(std::unique_ptr<Session> s) const {
            std::lock_guard<std::mutex> lock(mutex);
            if (idle.size() < 8) idle.push_back(std::move(s));
        }

        ModelOptions options;
        io::ModelMetadata metadata;
        Executor executor;
        std::vector<TensorSpec> inputs, outputs;
        mutable std::mutex mutex;
        mutable std::vector<std::unique_ptr<Session>> idle;
    };

    explicit Model(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

    static bool is_safetensors(const std::byte* data, size_t size) {
        if (size < 9) return false;
        uint64_t n = 0;
        for (int i = 7; i >= 0; --i) n = (n << 8) | uint64_t(data[i]);
        return n >= 2 && n <= size - 8 && data[8] == std::byte{'{'};
    }

    // ONNX files start with ModelProto field 1 (ir_version, a varint): byte 0x08.
    static bool is_onnx(const std::byte* data, size_t size) { return size >= 2 && data[0] == std::byte{0x08}; }

    // A TF.js layers model.json: a JSON object (after optional whitespace) that names a modelTopology.
    static bool is_tfjs(const std::byte* data, size_t size) {
        size_t i = 0;
        while (i < size && std::isspace(int(data[i]))) ++i;
        if (i >= size || data[i] != std::byte{'{'}) return false;
        const std::string head(reinterpret_cast<const char*>(data) + i, std::min<size_t>(size - i, 1 << 16));
        return head.find("\"modelTopology\"") != std::string::npos || head.find("\"weightsManifest\"") != std::string::npos;
    }

    // mapping: the file behind data, if it is one (the ONNX importer drops its pages once copied). An ONNX
    // import lets go of owner on return; a .xinf model keeps it (its weights stay where they are).
    static io::XinfModel import_bytes(std::shared_ptr<const void> owner, const std::byte* data, size_t size,
                                      const std::string& source, const std::string& dir,
                                      const io::MappedFile* mapping = nullptr) {
        if (is_safetensors(data, size)) return io::read_xinf(std::move(owner), data, size, source);
        if (is_onnx(data, size)) return io::onnx::import_onnx(data, size, source, dir, {}, mapping);
        XINFER_CHECK(!is_tfjs(data, size), ErrorCode::invalid_argument, source,
                     ": a TF.js model.json needs its weight files: load it from its path");
        XINFER_THROW(ErrorCode::invalid_model, source, ": unrecognised model format (", size,
                     " bytes; xinfer reads .xinf (safetensors), .onnx and TF.js model.json files)");
    }

    static Model from_bytes(std::shared_ptr<const void> owner, const std::byte* data, size_t size,
                            const std::string& source, const ModelOptions& options) {
        io::XinfModel m = import_bytes(std::move(owner), data, size, source, "");
        return from_graph(std::move(m.graph), std::move(m.metadata), options);
    }

    // "mobilenet_v2?alpha=1.0&size=224&classes=1000&seed=42"
    static Model builtin(const std::string& spec, const ModelOptions& options) {
        const size_t q = spec.find('?');
        const std::string arch = spec.substr(0, q);
        XINFER_CHECK(arch == "mobilenet_v2", ErrorCode::invalid_argument, "unknown built-in model '", arch,
                     "' (available: mobilenet_v2)");
        models::MobileNetV2Options o;
        uint32_t seed = 42;
        std::stringstream params(q == std::string::npos ? "" : spec.substr(q + 1));
        for (std::string kv; std::getline(params, kv, '&');) {
            const size_t eq = kv.find('=');
            const std::string key = kv.substr(0, eq), value = eq == std::string::npos ? "" : kv.substr(eq + 1);
            try {
                size_t used = 0;
                if (key == "alpha") o.alpha = std::stod(value, &used);
                else if (key == "size") o.size = std::stoi(value, &used);
                else if (key == "classes") o.classes = std::stoi(value, &used);
                else if (key == "seed") seed = uint32_t(std::stoul(value, &used));
                else if (key == "softmax") o.softmax = value != "0", used = value.size();
                else XINFER_THROW(ErrorCode::invalid_argument, "unknown parameter '", key, "' of builtin:", arch);
                XINFER_CHECK(used == value.size(), ErrorCode::invalid_argument, "bad value '", value, "' for ", key);
            } catch (const std::logic_error&) {
                XINFER_THROW(ErrorCode::invalid_argument, "bad value '", value, "' for ", key, " in builtin:", spec);
            }
        }
        io::ModelMetadata meta;
        io::Preprocessing p;  // ImageNet statistics, as torchvision and Keras' "torch" mode use
        p.scale = 1.0f / 255.0f;
        p.mean = {0.485f, 0.456f, 0.406f};
        p.std = {0.229f, 0.224f, 0.225f};
        p.width = p.height = o.size;
        p.resize = io::ResizePolicy::crop;
        meta.preprocessing = p;
        return from_graph(models::mobilenet_v2_random(o, seed), std::move(meta), options);
    }

    std::shared_ptr<const Impl> impl_;
};

namespace quant {

// Model inputs (one tensor per graph input, as Model::run takes them) as calibration samples.
inline std::vector<CalibrationSample> samples_from(const std::vector<std::vector<xt::xarray<float>>>& inputs) {
    std::vector<CalibrationSample> samples;
    for (auto& one : inputs) {
        CalibrationSample s;
        for (auto& t : one) {
            EvaluatedValue v;
            v.shape.assign(t.shape().begin(), t.shape().end());
            v.data.resize(t.size() * sizeof(float));
            std::copy(t.data(), t.data() + t.size(), v.data.as<float>());
            s.push_back(std::move(v));
        }
        samples.push_back(std::move(s));
    }
    return samples;
}

// An fp32 graph (sorted, optimized) quantized with activation ranges calibrated on `samples`.
inline Graph quantize_model_graph(const Graph& fp32, const std::vector<CalibrationSample>& samples,
                                  const QuantizeOptions& options) {
    const Calibration cal = calibrate(fp32, samples, options);
    const auto params = cal.params(options);
    const Calibration* correction = options.bias_correction ? &cal : nullptr;
    std::set<std::string> keep = options.keep_fp32;
    Graph q = quantize_graph(fp32, params, cal.shapes, keep, correction, options.weight_bits);
    if (options.auto_fp32 > 0) {
        // Leave the least accurate layers (lowest SQNR on the calibration samples) in fp32.
        QuantReport rep = compare_graphs(fp32, q, samples);
        std::sort(rep.layers.begin(), rep.layers.end(),
                  [](const LayerReport& a, const LayerReport& b) { return a.sqnr_db < b.sqnr_db; });
        for (size_t i = 0; i < rep.layers.size() && i < size_t(options.auto_fp32); ++i) keep.insert(rep.layers[i].node);
        q = quantize_graph(fp32, params, cal.shapes, keep, correction, options.weight_bits);
    }
    return q;
}

}  // namespace quant

// Post-training int8 quantization: calibration_inputs holds one entry per sample, each with one tensor per model
// input (as Model::run takes them). The result is an ordinary Model: run, save, classify.
inline Model quantize(const Model& model, const std::vector<std::vector<xt::xarray<float>>>& calibration_inputs,
                      const quant::QuantizeOptions& options = {}, ModelOptions model_options = {}) {
    Graph q = quant::quantize_model_graph(model.graph(), quant::samples_from(calibration_inputs), options);
    model_options.optimize = false;
    return Model::from_graph(std::move(q), model.metadata(), model_options);
}

// Single-input models: one tensor per sample.
inline Model quantize(const Model& model, const std::vector<xt::xarray<float>>& calibration_inputs,
                      const quant::QuantizeOptions& options = {}, const ModelOptions& model_options = {}) {
    std::vector<std::vector<xt::xarray<float>>> wrapped;
    for (auto& t : calibration_inputs) wrapped.push_back({t});
    return quantize(model, wrapped, options, model_options);
}

// The fp32-vs-int8 report of two single-input models with the same interface (see quant/report.hpp).
inline quant::QuantReport compare_models(const Model& fp32, const Model& int8,
                                         const std::vector<xt::xarray<float>>& inputs) {
    std::vector<std::vector<xt::xarray<float>>> wrapped;
    for (auto& t : inputs) wrapped.push_back({t});
    return quant::compare_graphs(fp32.graph(), int8.graph(), quant::samples_from(wrapped));
}

}  // namespace xinfer
