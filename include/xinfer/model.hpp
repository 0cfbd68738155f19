#pragma once
// Model: the facade a host application uses. Load a model file (the format is detected from its bytes) or a
// built-in architecture, run batches (typed views in and out, by position or by name), classify raw RGB pixels,
// save as .xinf, and read the plan (layers, MACs, memory) or a per-layer profile.
//
// A Model is immutable after load and cheap to copy (copies share the compiled graph). run() and classify() may be
// called from many threads at once: each call borrows a run context (activation arena + thread pool + cached plan)
// from a pool and returns it afterwards; no call writes state another call reads. A Session (session.hpp) owns one
// context for a loop that writes inputs and reads outputs in place.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <random>
#include <xtensor/xadapt.hpp>
#include <xtensor/xarray.hpp>

#include "xinfer/core/tensor_view.hpp"
#include "xinfer/graph/executor.hpp"
#include "xinfer/graph/passes.hpp"
#include "xinfer/io/image.hpp"
#include "xinfer/io/model_file.hpp"
#include "xinfer/io/onnx/export.hpp"
#include "xinfer/models/builtin.hpp"

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
    std::vector<std::string> dim_names = {};  // per dimension ("batch", "height"; "" unnamed), or empty

    // "[batch, 3, height, width]": free dimensions by name (-1 when unnamed), the others by size.
    std::string describe_shape() const {
        std::string s = "[";
        for (size_t d = 0; d < shape.size(); ++d) {
            const std::string name = d < dim_names.size() ? dim_names[d] : "";
            s += (d ? ", " : "") + (shape[d] >= 0 ? std::to_string(shape[d]) : name.empty() ? "-1" : name);
        }
        return s + "]";
    }
};

struct Prediction {
    int index = 0;
    std::string label;
    float probability = 0.0f;
};


// One step of the compiled model for given input shapes (a layer, or a fused block of layers).
struct LayerInfo {
    std::string name;  // the node's name (a fused block: its first node's)
    std::string kind;  // the op and the kernel it chose, e.g. "Conv2D gemm 1x1"
    Shape output_shape;
    DataType output_dtype = DataType::f32;
    size_t macs = 0;             // multiply-accumulates of one run
    size_t parameter_bytes = 0;  // packed weights the op holds
};

// What a run with given input shapes costs, known before running.
struct ModelPlan {
    std::vector<LayerInfo> layers;
    std::vector<Shape> output_shapes;
    size_t macs = 0;
    size_t activation_bytes = 0;  // peak of the activations in the arena
    size_t workspace_bytes = 0;   // the largest op workspace
    size_t arena_bytes = 0;       // both, aligned: the memory a run needs besides the weights
};

struct ProfileOptions {
    int threads = 0;     // 0: the model's default
    int runs = 50;       // timed runs; each layer's median is reported
    int warmup = 1;
    uint32_t seed = 1;   // inputs are uniform in [0, 1) from this seed
};

struct Profile {
    ModelPlan plan;
    std::vector<double> median_ns;  // per layer
    double total_ns = 0;            // sum of the medians
    int runs = 0, threads = 0;
};

namespace detail {
// What a run borrows: a thread pool, an activation arena and the plans of the input shapes it saw last.
// Plan cache policy: a pooled context keeps the plans of up to kPooledPlans distinct sets of input shapes, the
// least recently used evicted first, so that alternating sizes do not plan again; a Session's context keeps one
// (its current shapes). The arena grows to the largest plan used and is shared by all of them.
struct RunContext {
    static constexpr size_t kPooledPlans = 4;
    explicit RunContext(int threads_, size_t max_plans_ = kPooledPlans)
        : threads(threads_), max_plans(max_plans_), pool(threads_) {}
    int threads;
    size_t max_plans;
    ThreadPool pool;
    Arena arena;
    std::vector<ExecutionPlan> plans;  // most recently used first

    // The most recently used plan, or null before the first.
    const ExecutionPlan* current() const { return plans.empty() ? nullptr : &plans.front(); }
    // The cached plan for these shapes, moved to the front; null when there is none.
    const ExecutionPlan* find(const std::vector<Shape>& shapes) {
        for (size_t i = 0; i < plans.size(); ++i)
            if (plans[i].input_shapes == shapes) {
                std::rotate(plans.begin(), plans.begin() + long(i), plans.begin() + long(i) + 1);
                return &plans.front();
            }
        return nullptr;
    }
    // Caches a new plan in front, evicting the least recently used beyond max_plans.
    const ExecutionPlan& add(ExecutionPlan p) {
        plans.insert(plans.begin(), std::move(p));
        if (plans.size() > max_plans) plans.resize(max_plans);
        return plans.front();
    }
};
}  // namespace detail

class Session;

class Model {
public:
    // A path to a model file, or "builtin:mobilenet_v2?alpha=1.0&size=224&classes=1000&seed=42" (seeded random
    // weights with re-estimated batch-norm statistics; for benchmarks and tests).
    // The format comes from the bytes: .xinf (safetensors), ONNX (protobuf) or a TF.js layers model.json (whose
    // weight shards are read from its folder).
    static Model load(const std::string& source, const ModelOptions& options = {}) {
        io::XinfModel m = source.rfind("builtin:", 0) == 0 ? models::builtin_model(source.substr(8))
                                                           : io::import_model_file(source);
        return from_graph(std::move(m.graph), std::move(m.metadata), options);
    }

    // Reads any supported model file into the graph IR and its metadata, without building it.
    static io::XinfModel import_file(const std::string& path) { return io::import_model_file(path); }

    // Loads from bytes in memory. The bytes are copied: the caller may free them as soon as this returns.
    static Model load_from_memory(const void* data, size_t size, const ModelOptions& options = {},
                                  const std::string& name = "<memory>") {
        XINFER_CHECK(data || size == 0, ErrorCode::invalid_argument, "load_from_memory: null data");
        auto copy = std::make_shared<AlignedBuffer>(size);
        if (size) std::memcpy(copy->data(), data, size);
        const std::byte* bytes = copy->data();
        io::XinfModel m = io::import_model_bytes(std::move(copy), bytes, size, name, "");
        return from_graph(std::move(m.graph), std::move(m.metadata), options);
    }

    static Model from_graph(Graph graph, io::ModelMetadata metadata = {}, const ModelOptions& options = {}) {
        if (options.optimize) optimize(graph);
        else graph.sort_and_validate();
        auto impl = std::make_shared<Impl>(std::move(graph), std::move(metadata), options);
        io::return_free_memory();  // the optimizer's and the weight packing's temporaries
        return Model(std::move(impl));
    }

    void save(const std::string& path) const { io::save_xinf(path, impl_->executor.graph(), impl_->metadata); }
    std::vector<std::byte> save_to_memory() const { return io::write_xinf(impl_->executor.graph(), impl_->metadata); }
    // The model as an ONNX file (opset 13; int8 layers in QDQ form) for other runtimes. options.exact_int8_add
    // writes int8 adds as double arithmetic that ONNX Runtime computes exactly as xinfer (see export.hpp).
    std::string to_onnx(const io::onnx::ExportOptions& options = {}) const {
        return io::onnx::export_onnx(impl_->executor.graph(), impl_->metadata, options);
    }

    const std::vector<TensorSpec>& inputs() const { return impl_->inputs; }
    const std::vector<TensorSpec>& outputs() const { return impl_->outputs; }
    const io::ModelMetadata& metadata() const { return impl_->metadata; }
    const Executor& executor() const { return impl_->executor; }
    const Graph& graph() const { return impl_->executor.graph(); }
    int threads() const { return impl_->options.threads; }

    // Position of the input / output with this name; invalid_argument naming the known ones otherwise.
    size_t input_index(const std::string& name) const { return index_of(impl_->inputs, name, "input"); }
    size_t output_index(const std::string& name) const { return index_of(impl_->outputs, name, "output"); }

    // The inputs' shapes with the batch (a leading -1) set to `batch`; invalid_argument when another dimension is
    // free (then the caller must choose it).
    std::vector<Shape> input_shapes(int64_t batch = 1) const {
        XINFER_CHECK(batch >= 1, ErrorCode::invalid_argument, "batch must be at least 1, got ", batch);
        std::vector<Shape> shapes;
        for (auto& spec : impl_->inputs) {
            Shape s = spec.shape;
            for (size_t d = 0; d < s.size(); ++d) {
                if (s[d] >= 0) continue;
                XINFER_CHECK(d == 0, ErrorCode::invalid_argument, "input '", spec.name, "' has a free dimension ", d,
                             " in ", spec.describe_shape(), ": give the input shapes explicitly");
                s[d] = batch;
            }
            shapes.push_back(std::move(s));
        }
        return shapes;
    }

    // Layers, output shapes, MACs and memory of a run with these input shapes (threads 0: the model's default).
    ModelPlan plan(const std::vector<Shape>& input_shapes, int threads = 0) const {
        return describe(impl_->executor.plan(input_shapes, threads > 0 ? threads : impl_->options.threads));
    }
    // Multiply-accumulates of one run with these input shapes (default: batch 1).
    size_t macs(const std::vector<Shape>& input_shapes) const { return plan(input_shapes).macs; }
    size_t macs() const { return macs(input_shapes(1)); }
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

    // Each layer's median wall time over `runs` runs on seeded random inputs of these shapes.
    Profile profile(const std::vector<Shape>& input_shapes, const ProfileOptions& po = {}) const;

    // Inputs and outputs as typed views, in the model's order. Inputs are F32, or U8 for an image input (rank 4
    // with 3 channels, NHWC or NCHW as the model takes it): those are normalised with the model's preprocessing
    // (scale, mean, std; no resizing) on the way into the arena. Outputs are written into the caller's buffers,
    // whose dtype and shape must be the output's (see plan(...).output_shapes); a null data pointer skips that
    // output.
    void run(const std::vector<TensorView>& inputs, const std::vector<TensorView>& outputs,
             const RunOptions& ro = {}) const {
        XINFER_CHECK(inputs.size() == impl_->inputs.size(), ErrorCode::invalid_argument, "the model takes ",
                     impl_->inputs.size(), " input(s), got ", inputs.size());
        XINFER_CHECK(outputs.size() == impl_->outputs.size(), ErrorCode::invalid_argument, "the model has ",
                     impl_->outputs.size(), " output(s), got ", outputs.size(), " output buffers");
        std::vector<const TensorView*> out_ptrs;
        for (auto& o : outputs) out_ptrs.push_back(o.data ? &o : nullptr);
        run_views(inputs, out_ptrs, ro);
    }

    // By name: every input once; only the named outputs are written.
    void run(const NamedTensors& inputs, const NamedTensors& outputs, const RunOptions& ro = {}) const {
        std::vector<const TensorView*> out_ptrs(impl_->outputs.size(), nullptr);
        for (auto& [name, view] : outputs) out_ptrs[output_index(name)] = &view;
        run_views(ordered_inputs(inputs), out_ptrs, ro);
    }

    // By name, every output returned under its name.
    std::map<std::string, xt::xarray<float>> run(const NamedTensors& inputs, const RunOptions& ro = {}) const {
        std::vector<xt::xarray<float>> outs;
        run_views(ordered_inputs(inputs), {}, ro, &outs);
        std::map<std::string, xt::xarray<float>> named;
        for (size_t i = 0; i < outs.size(); ++i) named[impl_->outputs[i].name] = std::move(outs[i]);
        return named;
    }

    // The general float form: one pointer and shape per model input; outputs are resized to the model's outputs.
    void run(const std::vector<const float*>& inputs, const std::vector<Shape>& shapes,
             std::vector<xt::xarray<float>>& outputs, const RunOptions& ro = {}) const {
        XINFER_CHECK(inputs.size() == shapes.size(), ErrorCode::invalid_argument, "run: ", inputs.size(),
                     " input pointers for ", shapes.size(), " shapes");
        std::vector<TensorView> views;
        for (size_t i = 0; i < inputs.size(); ++i) views.emplace_back(inputs[i], shapes[i]);
        run_views(views, {}, ro, &outputs);
    }

    std::vector<xt::xarray<float>> run(const std::vector<xt::xarray<float>>& inputs, const RunOptions& ro = {}) const {
        std::vector<TensorView> views;
        for (auto& in : inputs) views.emplace_back(in.data(), Shape(in.shape().begin(), in.shape().end()));
        std::vector<xt::xarray<float>> outs;
        run_views(views, {}, ro, &outs);
        return outs;
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
        xt::xarray<float> x = xt::xarray<float>::from_shape({1, size_t(p.height), size_t(p.width), 3});
        io::preprocess_rgb8(rgb, width, height, stride ? stride : size_t(width) * 3, p, x.data());
        if (image_channel_axis(0) == 1) {
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
        return to_probabilities(std::vector<float>(y.data(), y.data() + y.shape()[1]));
    }

    // One image's class scores as probabilities: softmax, unless the graph already ends in one.
    std::vector<float> to_probabilities(std::vector<float> scores) const {
        if (ends_in_softmax() || scores.empty()) return scores;
        const float mx = *std::max_element(scores.begin(), scores.end());
        double sum = 0;
        for (auto& v : scores) sum += (v = std::exp(v - mx));
        for (auto& v : scores) v = float(v / sum);
        return scores;
    }

    // The model's preprocessing (or `pre`), or an error that says how to provide one.
    const io::Preprocessing& preprocessing_or_throw(const io::Preprocessing* pre = nullptr) const {
        if (pre) return *pre;
        XINFER_CHECK(impl_->metadata.preprocessing, ErrorCode::invalid_argument,
                     "the model does not say how to preprocess images: give the preprocessing (scale, mean, std, "
                     "size, resize; io::Preprocessing, or the CLI's --scale, --mean, --std, --size, --resize) "
                     "instead of guessing");
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
    friend class Session;

    struct Impl {
        Impl(Graph g, io::ModelMetadata meta, const ModelOptions& o)
            : options(o), metadata(std::move(meta)), executor(std::move(g), ExecutorOptions{o.kernels, o.fuse_blocks}) {
            XINFER_CHECK(o.threads >= 1 && o.threads <= 256, ErrorCode::invalid_argument, "threads must be in [1, 256]");
            for (auto& v : executor.graph().inputs) inputs.push_back({v.name, v.dtype, v.shape, v.dim_names});
            for (auto& v : executor.graph().outputs) outputs.push_back({v.name, v.dtype, v.shape, v.dim_names});
            for (auto& v : executor.graph().inputs)
                XINFER_CHECK(v.dtype == DataType::f32, ErrorCode::unsupported_op, "input '", v.name, "' has dtype ",
                             to_string(v.dtype), "; this build runs float32 models");
        }
        std::unique_ptr<detail::RunContext> acquire(int threads) const {
            {
                std::lock_guard<std::mutex> lock(mutex);
                for (auto it = idle.begin(); it != idle.end(); ++it)
                    if ((*it)->threads == threads) {
                        auto s = std::move(*it);
                        idle.erase(it);
                        return s;
                    }
            }
            return std::make_unique<detail::RunContext>(threads);
        }
        void release(std::unique_ptr<detail::RunContext> s) const {
            std::lock_guard<std::mutex> lock(mutex);
            if (idle.size() < 8) idle.push_back(std::move(s));
        }

        ModelOptions options;
        io::ModelMetadata metadata;
        Executor executor;
        std::vector<TensorSpec> inputs, outputs;
        mutable std::mutex mutex;
        mutable std::vector<std::unique_ptr<detail::RunContext>> idle;
    };

    explicit Model(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

    static size_t index_of(const std::vector<TensorSpec>& specs, const std::string& name, const char* what) {
        std::string known;
        for (size_t i = 0; i < specs.size(); ++i) {
            if (specs[i].name == name) return i;
            known += (i ? ", '" : "'") + specs[i].name + "'";
        }
        XINFER_THROW(ErrorCode::invalid_argument, "the model has no ", what, " named '", name, "' (its ", what,
                     "s: ", known, ")");
    }

    std::vector<TensorView> ordered_inputs(const NamedTensors& named) const {
        std::vector<TensorView> views(impl_->inputs.size());
        std::vector<bool> given(views.size(), false);
        for (auto& [name, view] : named) {
            const size_t i = input_index(name);
            views[i] = view;
            given[i] = true;
        }
        for (size_t i = 0; i < views.size(); ++i)
            XINFER_CHECK(given[i], ErrorCode::invalid_argument, "input '", impl_->inputs[i].name, "' is missing");
        return views;
    }

    // The plan for these shapes from the context's cache, planned and cached when it has none.
    const ExecutionPlan& ensure_plan(detail::RunContext& ctx, const std::vector<Shape>& shapes,
                                     bool pin_inputs = false) const {
        if (const ExecutionPlan* cached = ctx.find(shapes)) return *cached;
        return ctx.add(impl_->executor.plan(shapes, ctx.threads, pin_inputs));
    }

    // The axis that holds an image input's 3 channels: 3 (NHWC) or, for imported NCHW models, 1.
    size_t image_channel_axis(size_t input) const {
        const Shape& in = impl_->inputs[input].shape;
        return in.size() == 4 && in[1] == 3 && in[3] != 3 ? 1 : 3;
    }

    // Writes input `i` from a view into the arena as the F32 the graph takes.
    void write_input(size_t i, const TensorView& view, float* dst) const {
        const size_t n = checked_numel(view.shape);
        XINFER_CHECK(view.data || n == 0, ErrorCode::invalid_argument, "input '", impl_->inputs[i].name,
                     "': null data");
        if (view.dtype == DataType::f32) {
            std::memcpy(dst, view.data, n * sizeof(float));
            return;
        }
        const size_t axis = image_channel_axis(i);
        XINFER_CHECK(view.dtype == DataType::u8 && view.shape.size() == 4 && view.shape[axis] == 3,
                     ErrorCode::invalid_argument, "input '", impl_->inputs[i].name, "' takes F32, or U8 pixels of ",
                     "an image (rank 4, 3 channels); got ", to_string(view.dtype), " ", to_string(view.shape));
        const io::Preprocessing& p = preprocessing_or_throw();
        const size_t inner = axis == 1 ? size_t(view.shape[2] * view.shape[3]) : 1;  // elements per channel step
        io::normalize_rgb8(static_cast<const uint8_t*>(view.data), n, inner, p, dst);
    }

    // The core of every run: inputs in the model's order; outputs[i] null skips output i. `arrays`, when given,
    // are sized to the planned output shapes (kept when they already have them) and receive every output instead.
    void run_views(const std::vector<TensorView>& inputs, std::vector<const TensorView*> outputs,
                   const RunOptions& ro, std::vector<xt::xarray<float>>* arrays = nullptr) const {
        XINFER_CHECK(inputs.size() == impl_->inputs.size(), ErrorCode::invalid_argument, "the model takes ",
                     impl_->inputs.size(), " input(s), got ", inputs.size());
        XINFER_CHECK(ro.threads >= 0 && ro.threads <= 256, ErrorCode::invalid_argument,
                     "run threads must be in [0, 256] (0: the model's default), got ", ro.threads);
        const int threads = ro.threads > 0 ? ro.threads : impl_->options.threads;
        auto ctx = impl_->acquire(threads);
        std::vector<Shape> shapes;
        for (auto& v : inputs) shapes.push_back(v.shape);
        const ExecutionPlan& plan = ensure_plan(*ctx, shapes);
        std::vector<TensorView> array_views;
        if (arrays) outputs = size_arrays(plan, *arrays, array_views);
        for (size_t i = 0; i < outputs.size(); ++i)
            if (outputs[i]) check_output_view(i, *outputs[i], plan);
        const Executor& ex = impl_->executor;
        Executor::prepare_arena(plan, ctx->arena);
        for (size_t i = 0; i < inputs.size(); ++i)
            write_input(i, inputs[i],
                        reinterpret_cast<float*>(Executor::value_data(plan, ctx->arena, ex.input_ids()[i])));
        ex.run_steps(plan, ctx->arena, ctx->pool, ro.op_ns);
        for (size_t i = 0; i < outputs.size(); ++i)
            if (outputs[i])
                std::memcpy(outputs[i]->data, Executor::value_data(plan, ctx->arena, ex.output_ids()[i]),
                            outputs[i]->bytes());
        impl_->release(std::move(ctx));
    }

    void check_output_view(size_t i, const TensorView& view, const ExecutionPlan& plan) const {
        const Shape& want = plan.shapes[size_t(impl_->executor.output_ids()[i])];
        XINFER_CHECK(view.dtype == impl_->outputs[i].dtype && view.shape == want, ErrorCode::shape_mismatch,
                     "output '", impl_->outputs[i].name, "' is ", to_string(impl_->outputs[i].dtype), " ",
                     to_string(want), ", the buffer given is ", to_string(view.dtype), " ", to_string(view.shape));
    }

    // Sizes `arrays` to the plan's output shapes (reusing those already of that shape); views of them in `views`.
    std::vector<const TensorView*> size_arrays(const ExecutionPlan& plan, std::vector<xt::xarray<float>>& arrays,
                                               std::vector<TensorView>& views) const {
        const auto& ids = impl_->executor.output_ids();
        arrays.resize(ids.size());
        views.clear();
        for (size_t i = 0; i < ids.size(); ++i) {
            const Shape& s = plan.shapes[size_t(ids[i])];
            const std::vector<size_t> dims(s.begin(), s.end());
            if (arrays[i].shape() != typename xt::xarray<float>::shape_type(dims.begin(), dims.end()))
                arrays[i] = xt::xarray<float>::from_shape(dims);
            views.emplace_back(arrays[i].data(), s);
        }
        std::vector<const TensorView*> ptrs;
        for (auto& v : views) ptrs.push_back(&v);
        return ptrs;
    }

    ModelPlan describe(const ExecutionPlan& p) const {
        const Executor& ex = impl_->executor;
        ModelPlan mp;
        for (size_t s = 0; s < ex.steps().size(); ++s) {
            const auto& st = ex.steps()[s];
            LayerInfo l;
            l.name = st.name;
            l.kind = st.op->kind();
            l.output_shape = p.shapes[size_t(st.output)];
            l.output_dtype = st.op->output_dtype();
            l.macs = st.op->macs(p.step_inputs[s], l.output_shape);
            l.parameter_bytes = st.op->parameter_bytes();
            mp.macs += l.macs;
            mp.layers.push_back(std::move(l));
        }
        for (int id : ex.output_ids()) mp.output_shapes.push_back(p.shapes[size_t(id)]);
        mp.activation_bytes = p.activation_bytes;
        mp.workspace_bytes = p.workspace_bytes;
        mp.arena_bytes = p.arena_bytes;
        return mp;
    }

    std::shared_ptr<const Impl> impl_;
};

inline Profile Model::profile(const std::vector<Shape>& input_shapes, const ProfileOptions& po) const {
    XINFER_CHECK(po.runs >= 1 && po.warmup >= 0, ErrorCode::invalid_argument, "profile: runs must be >= 1");
    Profile prof;
    prof.threads = po.threads > 0 ? po.threads : impl_->options.threads;
    prof.runs = po.runs;
    prof.plan = plan(input_shapes, prof.threads);
    std::mt19937 rng(po.seed);
    std::uniform_real_distribution<float> dist(0.0f, 1.0f);
    std::vector<std::vector<float>> data;
    std::vector<TensorView> views;
    for (auto& s : input_shapes) {
        data.emplace_back(checked_numel(s));
        for (auto& v : data.back()) v = dist(rng);
    }
    for (size_t i = 0; i < input_shapes.size(); ++i) views.emplace_back(data[i].data(), input_shapes[i]);
    const std::vector<const TensorView*> no_outputs(impl_->outputs.size(), nullptr);
    std::vector<double> ns;
    RunOptions ro;
    ro.threads = prof.threads;
    ro.op_ns = &ns;
    for (int r = 0; r < po.warmup; ++r) run_views(views, no_outputs, ro);
    std::vector<std::vector<double>> per_layer(prof.plan.layers.size());
    for (int r = 0; r < po.runs; ++r) {
        run_views(views, no_outputs, ro);
        for (size_t s = 0; s < ns.size(); ++s) per_layer[s].push_back(ns[s]);
    }
    for (auto& times : per_layer) {
        std::sort(times.begin(), times.end());
        prof.median_ns.push_back(times[times.size() / 2]);
        prof.total_ns += prof.median_ns.back();
    }
    return prof;
}

}  // namespace xinfer
