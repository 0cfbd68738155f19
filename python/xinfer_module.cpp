// The Python module `xinfer`: the C++ facade (Model, quantize, compare_models) over NumPy arrays.
//
// Inputs are passed to the facade as TensorViews on the arrays' own buffers (C-contiguous float32 and uint8
// arrays are not copied; other float arrays are converted to float32 first), outputs are NumPy arrays allocated
// here and written by the facade, and the GIL is released while a model loads, runs, classifies or quantizes.
// Every xinfer::Error becomes xinfer.Error with its code.
#define XINFER_STB_IMPLEMENTATION
#include "xinfer/io/image_file.hpp"

#include <pybind11/eval.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <array>
#include <charconv>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "xinfer/xinfer.hpp"

namespace py = pybind11;
using xinfer::DataType;
using xinfer::ErrorCode;
using xinfer::Shape;

namespace {

constexpr int kMaxThreads = 256;

const char* numpy_dtype_name(DataType t) {
    switch (t) {
        case DataType::f32: return "float32";
        case DataType::s8: return "int8";
        case DataType::u8: return "uint8";
        case DataType::s32: return "int32";
        case DataType::s64: return "int64";
    }
    return "unknown";
}

// The shortest text that reads back as the same float32, e.g. "0.32476145".
std::string shortest_float(float v) {
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, r.ptr);
}

py::dtype numpy_dtype(DataType t) { return py::dtype(numpy_dtype_name(t)); }

// A shape as a Python tuple: free dimensions (-1) become None.
py::tuple shape_tuple(const Shape& s) {
    py::tuple t(s.size());
    for (size_t d = 0; d < s.size(); ++d)
        t[d] = s[d] < 0 ? py::object(py::none()) : py::object(py::int_(s[d]));
    return t;
}

// A str, bytes or os.PathLike as a file name; TypeError for anything else.
std::string path_string(const py::handle& source) {
    const std::string s = py::module_::import("os").attr("fsdecode")(source).cast<std::string>();
    XINFER_CHECK(s.find('\0') == std::string::npos, ErrorCode::invalid_argument, "a path may not contain NUL bytes");
    return s;
}

bool is_path(const py::handle& h) {
    return py::isinstance<py::str>(h) || py::isinstance(h, py::module_::import("os").attr("PathLike"));
}

bool is_encoded_bytes(const py::handle& h) {
    return py::isinstance<py::bytes>(h) || py::isinstance<py::bytearray>(h) || py::isinstance<py::memoryview>(h);
}

void check_threads(int threads, int min, const char* what) {
    XINFER_CHECK(threads >= min && threads <= kMaxThreads, ErrorCode::invalid_argument, what, " must be in [", min,
                 ", ", kMaxThreads, "], got ", threads);
}

xinfer::ops::KernelSet kernel_set_from_string(const std::string& s) {
    if (s == "optimized") return xinfer::ops::KernelSet::optimized;
    if (s == "reference") return xinfer::ops::KernelSet::reference;
    XINFER_THROW(ErrorCode::invalid_argument, "unknown kernels '", s, "' (optimized, reference)");
}

std::string describe_array(const py::array& a) {
    std::string s = py::str(a.dtype()).cast<std::string>() + " [";
    for (py::ssize_t d = 0; d < a.ndim(); ++d) s += (d ? ", " : "") + std::to_string(a.shape(d));
    return s + "]";
}

Shape array_shape(const py::array& a) {
    Shape s;
    for (py::ssize_t d = 0; d < a.ndim(); ++d) s.push_back(int64_t(a.shape(d)));
    return s;
}

// Any array-like as an ndarray (np.asarray); invalid_argument when NumPy cannot make one.
py::array as_ndarray(const py::handle& h, const std::string& what) {
    XINFER_CHECK(!h.is_none(), ErrorCode::invalid_argument, what, " is None, not an array");
    py::array a = py::array::ensure(h);
    XINFER_CHECK(a, ErrorCode::invalid_argument, what, ": cannot be converted to an array (got a ",
                 py::str(py::type::of(h).attr("__name__")).cast<std::string>(), ")");
    return a;
}

bool is_uint8(const py::array& a) { return a.dtype().kind() == 'u' && a.dtype().itemsize() == 1; }

// A float array as C-contiguous float32: the same array when it already is one, else a converted copy.
py::array as_float32(const py::array& a, const std::string& what) {
    XINFER_CHECK(a.dtype().kind() == 'f', ErrorCode::invalid_argument, what, " is ", describe_array(a),
                 ": pass float32 (other float types are converted)");
    return py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(a);
}

// An input tensor for run(): C-contiguous float32 or uint8 pixels (converted only when it is not one already).
py::array as_run_input(const py::handle& h, const std::string& what) {
    py::array a = as_ndarray(h, what);
    if (is_uint8(a)) return py::array_t<uint8_t, py::array::c_style | py::array::forcecast>::ensure(a);
    XINFER_CHECK(a.dtype().kind() == 'f', ErrorCode::invalid_argument, what, " is ", describe_array(a),
                 ": pass float32 (other float types are converted) or uint8 pixels of an image");
    return as_float32(a, what);
}

// An RGB8 image given as an HxWx3 uint8 array, C-contiguous.
py::array_t<uint8_t> as_rgb_array(const py::handle& h) {
    py::array a = as_ndarray(h, "image");
    XINFER_CHECK(is_uint8(a) && a.ndim() == 3 && a.shape(2) == 3, ErrorCode::invalid_argument,
                 "an image is a path or an HxWx3 uint8 RGB array; got ", describe_array(a));
    XINFER_CHECK(a.shape(0) >= 1 && a.shape(1) >= 1 && a.shape(0) <= INT_MAX / 3 && a.shape(1) <= INT_MAX / 3,
                 ErrorCode::invalid_argument, "image of ", a.shape(1), "x", a.shape(0), " pixels is not valid");
    return py::array_t<uint8_t, py::array::c_style | py::array::forcecast>::ensure(a);
}

py::array_t<uint8_t> rgb_to_array(const xinfer::io::RgbImage& img) {
    py::array_t<uint8_t> a({py::ssize_t(img.height), py::ssize_t(img.width), py::ssize_t(3)});
    std::memcpy(a.mutable_data(), img.pixels.get(), size_t(img.width) * size_t(img.height) * 3);
    return a;
}

py::array float_array(const xt::xarray<float>& x) {
    std::vector<py::ssize_t> dims(x.shape().begin(), x.shape().end());
    py::array_t<float> a(dims);
    std::copy(x.data(), x.data() + x.size(), a.mutable_data());
    return a;
}

// A Model and what the binding remembers beside it: the kernels it was built with and the output shapes of the
// input shapes it has seen (so that outputs can be allocated before a run without planning it twice).
struct PyModel {
    xinfer::Model model;
    std::string kernels;

    PyModel(xinfer::Model m, std::string k) : model(std::move(m)), kernels(std::move(k)) {}
    PyModel(const PyModel& other) : model(other.model), kernels(other.kernels) {}  // the cache starts empty

    // The output shapes for these input shapes; shape_mismatch when the model does not take them.
    std::vector<Shape> output_shapes(const std::vector<Shape>& input_shapes) const {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            for (auto& [in, out] : shape_cache_)
                if (in == input_shapes) return out;
        }
        std::vector<Shape> out = model.plan(input_shapes).output_shapes;
        std::lock_guard<std::mutex> lock(mutex_);
        if (shape_cache_.size() >= kCachedShapes) shape_cache_.erase(shape_cache_.begin());
        shape_cache_.emplace_back(input_shapes, out);
        return out;
    }

private:
    static constexpr size_t kCachedShapes = 16;
    mutable std::mutex mutex_;
    mutable std::vector<std::pair<std::vector<Shape>, std::vector<Shape>>> shape_cache_;
};

// The inputs of one run, in the model's order, as views on arrays this struct keeps alive.
struct RunInputs {
    std::vector<py::array> arrays;
    std::vector<xinfer::TensorView> views;
    std::vector<Shape> shapes;
    bool named = false;  // given as a dict: outputs are returned as one
};

// One array, a list/tuple in the model's order, or a dict by name -> one handle per model input.
std::vector<py::object> inputs_in_model_order(const xinfer::Model& model, const py::handle& inputs, bool* named) {
    const auto& specs = model.inputs();
    std::vector<py::object> ordered(specs.size());
    if (named) *named = false;
    if (py::isinstance<py::dict>(inputs)) {
        if (named) *named = true;
        for (auto item : py::reinterpret_borrow<py::dict>(inputs)) {
            XINFER_CHECK(py::isinstance<py::str>(item.first), ErrorCode::invalid_argument,
                         "input names are str, got a ",
                         py::str(py::type::of(item.first).attr("__name__")).cast<std::string>());
            ordered[model.input_index(item.first.cast<std::string>())] =
                py::reinterpret_borrow<py::object>(item.second);
        }
        for (size_t i = 0; i < specs.size(); ++i)
            XINFER_CHECK(ordered[i], ErrorCode::invalid_argument, "input '", specs[i].name, "' is missing");
    } else if (py::isinstance<py::list>(inputs) || py::isinstance<py::tuple>(inputs)) {
        const auto seq = py::reinterpret_borrow<py::sequence>(inputs);
        XINFER_CHECK(seq.size() == specs.size(), ErrorCode::invalid_argument, "the model takes ", specs.size(),
                     " input(s), got a sequence of ", seq.size(), " (a list or tuple holds one array per input)");
        for (size_t i = 0; i < specs.size(); ++i) ordered[i] = seq[i];
    } else {
        XINFER_CHECK(specs.size() == 1, ErrorCode::invalid_argument, "the model takes ", specs.size(),
                     " inputs: pass a list in the model's order or a dict by name");
        ordered[0] = py::reinterpret_borrow<py::object>(inputs);
    }
    return ordered;
}

RunInputs prepare_run_inputs(const PyModel& pm, const py::handle& inputs) {
    RunInputs r;
    const auto ordered = inputs_in_model_order(pm.model, inputs, &r.named);
    const auto& specs = pm.model.inputs();
    for (size_t i = 0; i < ordered.size(); ++i) {
        py::array a = as_run_input(ordered[i], "input '" + specs[i].name + "'");
        XINFER_CHECK(!is_uint8(a) || pm.model.metadata().preprocessing, ErrorCode::invalid_argument, "input '",
                     specs[i].name, "' is uint8 pixels, but the model stores no image preprocessing to normalise "
                     "them with: pass float32 (e.g. from image_input(image, preprocessing={...}))");
        Shape shape = array_shape(a);
        r.views.emplace_back(const_cast<void*>(a.data()), is_uint8(a) ? DataType::u8 : DataType::f32, shape);
        r.shapes.push_back(std::move(shape));
        r.arrays.push_back(std::move(a));
    }
    return r;
}

// NumPy arrays of the outputs' dtypes and shapes, and views on them for the facade to write into.
std::vector<py::array> allocate_outputs(const PyModel& pm, const std::vector<Shape>& input_shapes,
                                        std::vector<xinfer::TensorView>& views) {
    const auto shapes = pm.output_shapes(input_shapes);
    const auto& specs = pm.model.outputs();
    std::vector<py::array> arrays;
    views.clear();
    for (size_t i = 0; i < specs.size(); ++i) {
        std::vector<py::ssize_t> dims(shapes[i].begin(), shapes[i].end());
        py::array a(numpy_dtype(specs[i].dtype), dims);
        views.emplace_back(a.mutable_data(), specs[i].dtype, shapes[i]);
        arrays.push_back(std::move(a));
    }
    return arrays;
}

xinfer::RunOptions run_options(int threads) {
    check_threads(threads, 0, "threads");
    xinfer::RunOptions ro;
    ro.threads = threads;
    return ro;
}

py::object run_model(const PyModel& pm, const py::handle& inputs, int threads) {
    const xinfer::RunOptions ro = run_options(threads);
    RunInputs in = prepare_run_inputs(pm, inputs);
    std::vector<xinfer::TensorView> out_views;
    std::vector<py::array> outputs = allocate_outputs(pm, in.shapes, out_views);
    {
        py::gil_scoped_release release;
        pm.model.run(in.views, out_views, ro);
    }
    if (!in.named) {
        py::list result;
        for (auto& a : outputs) result.append(a);
        return std::move(result);
    }
    py::dict result;
    for (size_t i = 0; i < outputs.size(); ++i) result[py::str(pm.model.outputs()[i].name)] = outputs[i];
    return std::move(result);
}

// Seconds of each of `runs` C++ calls of Model::run on the same inputs and output buffers.
std::vector<double> bench_cpp(const PyModel& pm, const py::handle& inputs, int runs, int threads) {
    XINFER_CHECK(runs >= 1, ErrorCode::invalid_argument, "runs must be >= 1, got ", runs);
    const xinfer::RunOptions ro = run_options(threads);
    RunInputs in = prepare_run_inputs(pm, inputs);
    std::vector<xinfer::TensorView> out_views;
    const std::vector<py::array> outputs = allocate_outputs(pm, in.shapes, out_views);
    std::vector<double> seconds;
    seconds.reserve(size_t(runs));
    py::gil_scoped_release release;
    for (int r = 0; r < runs; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        pm.model.run(in.views, out_views, ro);
        seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    return seconds;
}

// Encoded image bytes (any C-contiguous bytes-like object) decoded into RGB8, without the GIL.
xinfer::io::RgbImage decode_image_bytes(const py::handle& data) {
    Py_buffer view;
    if (PyObject_GetBuffer(data.ptr(), &view, PyBUF_C_CONTIGUOUS) != 0) throw py::error_already_set();
    struct Release {
        Py_buffer* v;
        ~Release() { PyBuffer_Release(v); }
    } release_view{&view};
    py::gil_scoped_release release;
    return xinfer::io::decode_rgb(view.buf, size_t(view.len), "image bytes");
}

xinfer::io::RgbImage read_image(const py::handle& source) {
    if (is_encoded_bytes(source)) return decode_image_bytes(source);
    const std::string path = path_string(source);
    py::gil_scoped_release release;
    return xinfer::io::load_rgb(path);
}

// An image argument: a path or the bytes of an image file (decoded), or an HxWx3 uint8 array. Calls
// fn(rgb, width, height) without the GIL.
template <class Fn>
auto with_rgb_image(const py::handle& image, Fn&& fn) {
    if (is_path(image) || is_encoded_bytes(image)) {
        const xinfer::io::RgbImage img = read_image(image);
        py::gil_scoped_release release;
        return fn(img.pixels.get(), img.width, img.height);
    }
    const py::array_t<uint8_t> rgb = as_rgb_array(image);
    const int height = int(rgb.shape(0)), width = int(rgb.shape(1));
    py::gil_scoped_release release;
    return fn(rgb.data(), width, height);
}

// The size of a model's image input (NHWC, or NCHW as imported ONNX models take it); 0 when not fixed.
std::pair<int, int> image_input_size(const xinfer::Model& model) {
    if (model.inputs().size() != 1 || model.inputs()[0].shape.size() != 4) return {0, 0};
    const Shape& s = model.inputs()[0].shape;
    const bool nchw = s[1] == 3 && s[3] != 3;
    const int64_t h = nchw ? s[2] : s[1], w = nchw ? s[3] : s[2];
    return {w > 0 && w <= INT_MAX ? int(w) : 0, h > 0 && h <= INT_MAX ? int(h) : 0};
}

float float_item(const py::handle& v, const char* key) {
    XINFER_CHECK(py::isinstance<py::float_>(v) || py::isinstance<py::int_>(v) ||
                     py::hasattr(v, "__float__"), ErrorCode::invalid_argument, "preprocessing['", key,
                 "'] must be a number");
    return v.cast<float>();
}

std::array<float, 3> rgb_triple(const py::handle& v, const char* key) {
    XINFER_CHECK(py::isinstance<py::sequence>(v) && !py::isinstance<py::str>(v) && py::len(v) == 3,
                 ErrorCode::invalid_argument, "preprocessing['", key, "'] must be 3 numbers (R, G, B)");
    const auto seq = py::reinterpret_borrow<py::sequence>(v);
    return {float_item(seq[0], key), float_item(seq[1], key), float_item(seq[2], key)};
}

// The preprocessing of an image for this model: what it stores, with the keys of `overrides` (a dict) replaced.
// A model that stores none needs the dict (width and height default to the input's size).
xinfer::io::Preprocessing image_preprocessing(const PyModel& pm, const py::object& overrides) {
    const auto& stored = pm.model.metadata().preprocessing;
    XINFER_CHECK(stored || !overrides.is_none(), ErrorCode::invalid_argument,
                 "the model stores no image preprocessing: pass preprocessing={'scale': ..., 'mean': (...), "
                 "'std': (...), 'resize': 'stretch' or 'crop'} instead of guessing");
    xinfer::io::Preprocessing p;
    if (stored) p = *stored;
    else std::tie(p.width, p.height) = image_input_size(pm.model);
    if (!overrides.is_none()) {
        XINFER_CHECK(py::isinstance<py::dict>(overrides), ErrorCode::invalid_argument,
                     "preprocessing is a dict (scale, mean, std, width, height, resize)");
        for (auto item : py::reinterpret_borrow<py::dict>(overrides)) {
            const std::string key = py::str(item.first).cast<std::string>();
            if (key == "scale") p.scale = float_item(item.second, "scale");
            else if (key == "mean") p.mean = rgb_triple(item.second, "mean");
            else if (key == "std") p.std = rgb_triple(item.second, "std");
            else if (key == "width" || key == "height") {
                XINFER_CHECK(py::isinstance<py::int_>(item.second), ErrorCode::invalid_argument, "preprocessing['",
                             key, "'] must be an int");
                const int64_t v = item.second.cast<int64_t>();
                XINFER_CHECK(v >= 1 && v <= 16384, ErrorCode::invalid_argument, "preprocessing['", key,
                             "'] must be in [1, 16384], got ", v);
                (key == "width" ? p.width : p.height) = int(v);
            } else if (key == "resize") {
                XINFER_CHECK(py::isinstance<py::str>(item.second), ErrorCode::invalid_argument,
                             "preprocessing['resize'] must be 'stretch' or 'crop'");
                p.resize = xinfer::io::resize_policy_from_string(item.second.cast<std::string>());
            } else {
                XINFER_THROW(ErrorCode::invalid_argument, "unknown preprocessing key '", key,
                             "' (scale, mean, std, width, height, resize)");
            }
        }
    }
    p.validate();
    return p;
}

// Calibration or validation samples: each one array (single-input models), a list/tuple or a dict, as run()
// takes them; copied as float32 and checked against the model's input shapes.
std::vector<std::vector<xt::xarray<float>>> float_samples(const PyModel& pm, const py::handle& samples,
                                                          const char* what) {
    XINFER_CHECK(py::isinstance<py::list>(samples) || py::isinstance<py::tuple>(samples), ErrorCode::invalid_argument,
                 what, " must be a list of samples (each an array, a list of arrays or a dict by input name)");
    std::vector<std::vector<xt::xarray<float>>> out;
    const auto& specs = pm.model.inputs();
    size_t k = 0;
    for (auto sample : py::reinterpret_borrow<py::sequence>(samples)) {
        const auto ordered = inputs_in_model_order(pm.model, sample, nullptr);
        std::vector<xt::xarray<float>> tensors;
        std::vector<Shape> shapes;
        for (size_t i = 0; i < ordered.size(); ++i) {
            const std::string name = std::string(what) + " sample " + std::to_string(k) + ", input '" +
                                     specs[i].name + "'";
            py::array a = as_ndarray(ordered[i], name);
            XINFER_CHECK(!is_uint8(a), ErrorCode::invalid_argument, name,
                         " is uint8: pass the float tensors the model takes (e.g. model.image_input(rgb))");
            a = as_float32(a, name);
            const Shape shape = array_shape(a);
            std::vector<size_t> dims(shape.begin(), shape.end());
            xt::xarray<float> x = xt::xarray<float>::from_shape(dims);
            std::memcpy(x.data(), a.data(), x.size() * sizeof(float));
            tensors.push_back(std::move(x));
            shapes.push_back(shape);
        }
        pm.output_shapes(shapes);  // shape_mismatch unless the model takes these shapes
        out.push_back(std::move(tensors));
        ++k;
    }
    return out;
}

PyModel quantize_model(const PyModel& pm, const py::handle& calibration, const std::string& method,
                       double percentile, int weight_bits, const py::object& keep_fp32, int auto_fp32,
                       bool bias_correction, int threads) {
    check_threads(threads, 1, "threads");
    xinfer::quant::QuantizeOptions q;
    q.method = xinfer::quant::calibration_method_from_string(method);
    XINFER_CHECK(std::isfinite(percentile) && percentile > 0 && percentile <= 100, ErrorCode::invalid_argument,
                 "percentile must be in (0, 100], got ", percentile);
    XINFER_CHECK(weight_bits >= 2 && weight_bits <= 8, ErrorCode::invalid_argument,
                 "weight_bits must be in [2, 8], got ", weight_bits);
    XINFER_CHECK(auto_fp32 >= 0, ErrorCode::invalid_argument, "auto_fp32 must be >= 0, got ", auto_fp32);
    q.percentile = percentile;
    q.weight_bits = weight_bits;
    q.auto_fp32 = auto_fp32;
    q.bias_correction = bias_correction;
    std::set<std::string> nodes;
    for (auto& n : pm.model.graph().nodes) nodes.insert(n.name);
    XINFER_CHECK(!py::isinstance<py::str>(keep_fp32) && py::isinstance<py::iterable>(keep_fp32),
                 ErrorCode::invalid_argument, "keep_fp32 is a collection of node names");
    for (auto item : keep_fp32) {
        XINFER_CHECK(py::isinstance<py::str>(item), ErrorCode::invalid_argument, "keep_fp32 holds node names (str)");
        const std::string name = item.cast<std::string>();
        XINFER_CHECK(nodes.count(name), ErrorCode::invalid_argument, "keep_fp32: the model has no node named '", name,
                     "'");
        q.keep_fp32.insert(name);
    }
    const auto samples = float_samples(pm, calibration, "calibration");
    xinfer::ModelOptions mo;
    mo.threads = threads;
    mo.kernels = kernel_set_from_string(pm.kernels);
    py::gil_scoped_release release;
    return PyModel(xinfer::quantize(pm.model, samples, q, mo), pm.kernels);
}

py::dict validate_models(const PyModel& fp32, const PyModel& int8, const py::handle& inputs) {
    XINFER_CHECK(fp32.model.inputs().size() == int8.model.inputs().size(), ErrorCode::invalid_argument,
                 "the models take different numbers of inputs");
    const auto samples = float_samples(fp32, inputs, "inputs");
    XINFER_CHECK(!samples.empty(), ErrorCode::invalid_argument, "validate needs at least one input sample");
    for (auto& sample : samples) {
        std::vector<Shape> shapes;
        for (auto& t : sample) shapes.emplace_back(t.shape().begin(), t.shape().end());
        const auto a = fp32.output_shapes(shapes), b = int8.output_shapes(shapes);
        XINFER_CHECK(a[0] == b[0] && !a[0].empty(), ErrorCode::shape_mismatch, "the models' first outputs differ: ",
                     xinfer::to_string(a[0]), " and ", xinfer::to_string(b[0]));
    }
    xinfer::quant::QuantReport rep;
    {
        py::gil_scoped_release release;
        rep = xinfer::quant::compare_graphs(fp32.model.graph(), int8.model.graph(),
                                            xinfer::quant::samples_from(samples));
    }
    py::list layers;
    for (auto& l : rep.layers) {
        py::dict d;
        d["value"] = l.value;
        d["node"] = l.node;
        d["op"] = l.op;
        d["sqnr_db"] = l.sqnr_db;
        d["cosine"] = l.cosine;
        d["saturation"] = l.saturation;
        layers.append(d);
    }
    py::dict r;
    r["top1_agreement"] = rep.top1_agreement;
    r["mean_abs_dp"] = rep.mean_abs_dp;
    r["max_abs_dp"] = rep.max_abs_dp;
    r["samples"] = rep.samples;
    r["rows"] = rep.rows;
    r["layers"] = layers;
    return r;
}

std::vector<Shape> shapes_argument(const PyModel& pm, const py::object& input_shapes) {
    if (input_shapes.is_none()) return pm.model.input_shapes(1);
    std::vector<Shape> shapes;
    XINFER_CHECK(py::isinstance<py::sequence>(input_shapes) && !py::isinstance<py::str>(input_shapes),
                 ErrorCode::invalid_argument, "input_shapes is a list of shapes, one per input");
    for (auto s : py::reinterpret_borrow<py::sequence>(input_shapes)) {
        XINFER_CHECK(py::isinstance<py::sequence>(s) && !py::isinstance<py::str>(s), ErrorCode::invalid_argument,
                     "input_shapes is a list of shapes (sequences of ints), one per input");
        Shape shape;
        for (auto d : py::reinterpret_borrow<py::sequence>(s)) {
            XINFER_CHECK(py::isinstance<py::int_>(d), ErrorCode::invalid_argument, "a dimension must be an int");
            shape.push_back(d.cast<int64_t>());
        }
        shapes.push_back(std::move(shape));
    }
    return shapes;
}

py::dict plan_dict(const xinfer::ModelPlan& p) {
    py::list layers, outputs;
    for (auto& l : p.layers) {
        py::dict d;
        d["name"] = l.name;
        d["kind"] = l.kind;
        d["output_shape"] = shape_tuple(l.output_shape);
        d["output_dtype"] = numpy_dtype_name(l.output_dtype);
        d["macs"] = l.macs;
        d["parameter_bytes"] = l.parameter_bytes;
        layers.append(d);
    }
    for (auto& s : p.output_shapes) outputs.append(shape_tuple(s));
    py::dict r;
    r["layers"] = layers;
    r["output_shapes"] = outputs;
    r["macs"] = p.macs;
    r["activation_bytes"] = p.activation_bytes;
    r["workspace_bytes"] = p.workspace_bytes;
    r["arena_bytes"] = p.arena_bytes;
    return r;
}

py::dict metadata_dict(const xinfer::io::ModelMetadata& m) {
    py::dict r;
    r["labels"] = m.labels;
    if (!m.preprocessing) {
        r["preprocessing"] = py::none();
        return r;
    }
    const auto& p = *m.preprocessing;
    py::dict pre;
    pre["scale"] = p.scale;
    pre["mean"] = py::make_tuple(p.mean[0], p.mean[1], p.mean[2]);
    pre["std"] = py::make_tuple(p.std[0], p.std[1], p.std[2]);
    pre["width"] = p.width;
    pre["height"] = p.height;
    pre["resize"] = xinfer::io::to_string(p.resize);
    r["preprocessing"] = pre;
    return r;
}

std::string tensor_info_repr(const xinfer::TensorSpec& s) {
    return "TensorInfo(name=" + py::repr(py::str(s.name)).cast<std::string>() +
           ", shape=" + py::repr(shape_tuple(s.shape)).cast<std::string>() + ", dtype='" +
           numpy_dtype_name(s.dtype) + "')";
}

std::string model_repr(const PyModel& pm) {
    auto list = [](const std::vector<xinfer::TensorSpec>& specs) {
        std::string s = "[";
        for (size_t i = 0; i < specs.size(); ++i)
            s += (i ? ", " : "") + specs[i].name + ": " + numpy_dtype_name(specs[i].dtype) + " " +
                 py::repr(shape_tuple(specs[i].shape)).cast<std::string>();
        return s + "]";
    };
    return "<xinfer.Model inputs=" + list(pm.model.inputs()) + " outputs=" + list(pm.model.outputs()) +
           " threads=" + std::to_string(pm.model.threads()) + ">";
}

PyModel load_model(const py::handle& source, int threads, const std::string& kernels) {
    const std::string path = path_string(source);
    xinfer::ModelOptions o;
    o.threads = threads;
    o.kernels = kernel_set_from_string(kernels);
    check_threads(threads, 1, "threads");
    py::gil_scoped_release release;
    return PyModel(xinfer::Model::load(path, o), kernels);
}

PyModel model_from_bytes(const py::buffer& data, int threads, const std::string& kernels) {
    xinfer::ModelOptions o;
    o.threads = threads;
    o.kernels = kernel_set_from_string(kernels);
    check_threads(threads, 1, "threads");
    Py_buffer view;
    if (PyObject_GetBuffer(data.ptr(), &view, PyBUF_SIMPLE) != 0) throw py::error_already_set();
    struct Release {
        Py_buffer* v;
        ~Release() { PyBuffer_Release(v); }
    } release_view{&view};
    py::gil_scoped_release release;
    return PyModel(xinfer::Model::load_from_memory(view.buf, size_t(view.len), o), kernels);
}

py::bytes to_bytes(const std::vector<std::byte>& b) {
    return py::bytes(reinterpret_cast<const char*>(b.data()), b.size());
}

const char* const kErrorClass = R"(
class Error(RuntimeError):
    """An error raised by xinfer, with the kind in ``code``.

    ``code`` is one of "io" (a file could not be opened, read or written), "invalid_model" (a malformed model
    file), "unsupported_op" (a valid model xinfer cannot run), "shape_mismatch" (a tensor's shape or dtype is not
    what the model expects), "invalid_argument" (a bad value was passed) or "internal".
    """

    def __init__(self, message="", code="internal"):
        super().__init__(message)
        self.code = code

    def __reduce__(self):
        return (type(self), (str(self), self.code))
)";

}  // namespace

PYBIND11_MODULE(xinfer, m) {
    m.doc() =
        "xinfer: run, classify with and quantize CNN models on NumPy arrays.\n\n"
        "Models are ONNX, TF.js layers model.json or .xinf files, or built-in MobileNetV2s with random weights.";
    m.attr("__version__") = XINFER_VERSION_STRING;

    const py::object module_dict = m.attr("__dict__");
    py::exec(kErrorClass, module_dict);
    static PyObject* error_type = m.attr("Error").ptr();
    Py_INCREF(error_type);  // kept for the life of the process, like the module
    py::register_exception_translator([](std::exception_ptr p) {
        try {
            if (p) std::rethrow_exception(p);
        } catch (const xinfer::Error& e) {
            py::object instance = py::reinterpret_borrow<py::object>(error_type)(e.what(), to_string(e.code()));
            PyErr_SetObject(error_type, instance.ptr());
        }
    });

    py::class_<xinfer::TensorSpec>(m, "TensorInfo", "A model input or output: its name, shape and dtype.")
        .def_readonly("name", &xinfer::TensorSpec::name, "The tensor's name in the model.")
        .def_property_readonly(
            "shape", [](const xinfer::TensorSpec& s) { return shape_tuple(s.shape); },
            "The shape as a tuple; None marks a free dimension (the batch, or e.g. a free height).")
        .def_property_readonly(
            "dtype", [](const xinfer::TensorSpec& s) { return numpy_dtype_name(s.dtype); },
            "The element type as a NumPy dtype name, e.g. 'float32'.")
        .def_property_readonly(
            "dim_names",
            [](const xinfer::TensorSpec& s) {
                py::tuple t(s.shape.size());
                for (size_t d = 0; d < s.shape.size(); ++d)
                    t[d] = d < s.dim_names.size() && !s.dim_names[d].empty() ? py::object(py::str(s.dim_names[d]))
                                                                            : py::object(py::none());
                return t;
            },
            "Each dimension's name (e.g. 'batch'), or None where it has none.")
        .def("__repr__", &tensor_info_repr, "TensorInfo(name=..., shape=..., dtype=...).");

    py::class_<xinfer::Prediction>(m, "Prediction", "One class of a classification: index, label and probability.")
        .def_readonly("index", &xinfer::Prediction::index, "The class index in the model's output.")
        .def_readonly("label", &xinfer::Prediction::label,
                      "The class label stored in the model, or 'class <index>' when it stores none.")
        .def_readonly("probability", &xinfer::Prediction::probability, "The class probability in [0, 1].")
        .def("__repr__",
             [](const xinfer::Prediction& p) {
                 return "Prediction(index=" + std::to_string(p.index) +
                        ", label=" + py::repr(py::str(p.label)).cast<std::string>() +
                        ", probability=" + shortest_float(p.probability) + ")";
             },
             "Prediction(index=..., label=..., probability=...).");

    py::class_<PyModel>(m, "Model",
                        "A loaded model: immutable, safe to use from many threads at once.\n\n"
                        "Model(source, threads=1, kernels='optimized') loads a .xinf, ONNX or TF.js layers "
                        "model.json file (the format is read from the bytes), or a built-in architecture with "
                        "seeded random weights such as 'builtin:mobilenet_v2?alpha=1.0&size=224&classes=1000'. "
                        "threads is the default of run() and classify(); kernels 'reference' selects the slow "
                        "scalar spec kernels.")
        .def(py::init(&load_model), py::arg("source"), py::arg("threads") = 1, py::arg("kernels") = "optimized",
             "Loads a model file (str or os.PathLike) or a 'builtin:...' architecture.")
        .def_static("from_bytes", &model_from_bytes, py::arg("data"), py::arg("threads") = 1,
                    py::arg("kernels") = "optimized",
                    "Loads a model from the bytes of a model file (any bytes-like object; the bytes are copied).")
        .def_property_readonly(
            "inputs", [](const PyModel& pm) { return pm.model.inputs(); }, "The inputs, in the model's order.")
        .def_property_readonly(
            "outputs", [](const PyModel& pm) { return pm.model.outputs(); }, "The outputs, in the model's order.")
        .def_property_readonly(
            "threads", [](const PyModel& pm) { return pm.model.threads(); },
            "The default number of threads of a run.")
        .def_property_readonly(
            "kernels", [](const PyModel& pm) { return pm.kernels; }, "The kernel set: 'optimized' or 'reference'.")
        .def_property_readonly(
            "labels", [](const PyModel& pm) { return pm.model.metadata().labels; },
            "The class labels stored in the model ([] when it stores none).")
        .def_property_readonly(
            "metadata", [](const PyModel& pm) { return metadata_dict(pm.model.metadata()); },
            "What the model stores beside the graph: {'labels': [...], 'preprocessing': dict or None}.")
        .def_property_readonly(
            "weight_bytes", [](const PyModel& pm) { return pm.model.weight_bytes(); },
            "Bytes of the packed weights the model holds.")
        .def(
            "input_shapes",
            [](const PyModel& pm, int64_t batch) {
                XINFER_CHECK(batch >= 1, ErrorCode::invalid_argument, "batch must be >= 1, got ", batch);
                py::list shapes;
                for (auto& s : pm.model.input_shapes(batch)) shapes.append(shape_tuple(s));
                return shapes;
            },
            py::arg("batch") = 1,
            "The inputs' shapes with the batch set to `batch` (an error when another dimension is free).")
        .def(
            "macs",
            [](const PyModel& pm, const py::object& input_shapes) {
                return pm.model.macs(shapes_argument(pm, input_shapes));
            },
            py::arg("input_shapes") = py::none(),
            "Multiply-accumulates of one run with these input shapes (default: batch 1).")
        .def(
            "plan",
            [](const PyModel& pm, const py::object& input_shapes, int threads) {
                check_threads(threads, 0, "threads");
                return plan_dict(pm.model.plan(shapes_argument(pm, input_shapes), threads));
            },
            py::arg("input_shapes") = py::none(), py::arg("threads") = 0,
            "The plan of a run with these input shapes (default: batch 1): layers, output shapes, MACs, memory.")
        .def("run", &run_model, py::arg("inputs"), py::arg("threads") = 0,
             "Runs the model and returns its outputs.\n\n"
             "inputs: one array (single-input models), a list/tuple in the model's input order, or a dict by "
             "input name. Arrays are float32 (other float types are converted; C-contiguous float32 is used "
             "without a copy) or, for an image input, uint8 pixels normalised with the model's preprocessing. "
             "Returns a list of arrays in output order, or a dict by output name when inputs is a dict. "
             "threads 0: the model's default. The GIL is released during the run.")
        .def(
            "classify",
            [](const PyModel& pm, const py::handle& image, int top, const py::object& preprocessing) {
                XINFER_CHECK(top >= 0, ErrorCode::invalid_argument, "top must be >= 0, got ", top);
                const xinfer::io::Preprocessing pre = image_preprocessing(pm, preprocessing);
                return with_rgb_image(image, [&](const uint8_t* rgb, int w, int h) {
                    return pm.model.classify(rgb, w, h, top, 0, &pre);
                });
            },
            py::arg("image"), py::arg("top") = 5, py::arg("preprocessing") = py::none(),
            "The `top` most probable classes of an image, best first.\n\n"
            "image: a path or the bytes of an image file (JPEG, PNG, ...), or an HxWx3 uint8 RGB array of any "
            "size; it is resized and normalised with the preprocessing the model stores. preprocessing: a dict "
            "that overrides some or all of it (keys as in metadata['preprocessing']: scale, mean, std, width, "
            "height, resize 'stretch' or 'crop').")
        .def(
            "image_input",
            [](const PyModel& pm, const py::handle& image, const py::object& preprocessing) {
                const xinfer::io::Preprocessing pre = image_preprocessing(pm, preprocessing);
                const xt::xarray<float> x = with_rgb_image(image, [&](const uint8_t* rgb, int w, int h) {
                    return pm.model.image_input(rgb, w, h, 0, &pre);
                });
                return float_array(x);
            },
            py::arg("image"), py::arg("preprocessing") = py::none(),
            "An image preprocessed into the model's float input (batch 1).\n\n"
            "image: a path, the bytes of an image file or an HxWx3 uint8 array; preprocessing overrides what the "
            "model stores, as in classify().")
        .def(
            "save",
            [](const PyModel& pm, const py::handle& path) {
                const std::string p = path_string(path);
                py::gil_scoped_release release;
                pm.model.save(p);
            },
            py::arg("path"), "Saves the model as a .xinf file (with its labels and preprocessing).")
        .def(
            "to_bytes",
            [](const PyModel& pm) {
                std::vector<std::byte> b;
                {
                    py::gil_scoped_release release;
                    b = pm.model.save_to_memory();
                }
                return to_bytes(b);
            },
            "The model as the bytes of a .xinf file.")
        .def(
            "to_onnx",
            [](const PyModel& pm, bool exact_int8_add) {
                xinfer::io::onnx::ExportOptions o;
                o.exact_int8_add = exact_int8_add;
                std::string s;
                {
                    py::gil_scoped_release release;
                    s = pm.model.to_onnx(o);
                }
                return py::bytes(s);
            },
            py::arg("exact_int8_add") = false,
            "The model as the bytes of an ONNX file (opset 13; int8 layers as QuantizeLinear/DequantizeLinear).")
        .def("_bench_cpp", &bench_cpp, py::arg("inputs"), py::arg("runs") = 50, py::arg("threads") = 0,
             "Seconds of each of `runs` C++ calls of Model::run on these inputs.\n\n"
             "The inputs and outputs are prepared once: compared with run() from Python, this measures the "
             "module's call overhead.")
        .def("__repr__", &model_repr, "<xinfer.Model inputs=... outputs=... threads=...>.")
        .def(py::pickle(
            [](const PyModel& pm) {
                return py::make_tuple(to_bytes(pm.model.save_to_memory()), pm.model.threads(), pm.kernels);
            },
            [](const py::tuple& t) {
                XINFER_CHECK(t.size() == 3, ErrorCode::invalid_argument, "bad pickled xinfer.Model");
                return model_from_bytes(t[0].cast<py::buffer>(), t[1].cast<int>(), t[2].cast<std::string>());
            }));

    m.def("quantize", &quantize_model, py::arg("model"), py::arg("calibration"), py::arg("method") = "mse",
          py::arg("percentile") = 99.99, py::arg("weight_bits") = 8,
          py::arg("keep_fp32") = py::tuple(), py::arg("auto_fp32") = 0,
          py::arg("bias_correction") = true, py::arg("threads") = 1,
          "Post-training int8 quantization; returns a new Model.\n\n"
          "calibration: a list of samples, each an array (single-input models), a list of arrays or a dict by "
          "input name, as run() takes them (float). method: 'mse', 'minmax', 'percentile' (with `percentile`) "
          "or 'entropy'. weight_bits: 2..8. keep_fp32: node names to leave in fp32; auto_fp32: also leave that "
          "many of the least accurate layers in fp32. bias_correction folds the mean weight rounding error into "
          "the biases. threads: the new model's default.");
    m.def("validate", &validate_models, py::arg("fp32_model"), py::arg("int8_model"), py::arg("inputs"),
          "How faithful an int8 model is to its fp32 original on these inputs.\n\n"
          "inputs: a list of samples as quantize() takes them. Returns a dict with top1_agreement, mean_abs_dp, "
          "max_abs_dp, samples, rows and layers (per int8 layer: value, node, op, sqnr_db, cosine, saturation).");
    m.def(
        "load_image", [](const py::handle& source) { return rgb_to_array(read_image(source)); }, py::arg("source"),
        "Decodes an image file (JPEG, PNG, BMP, ...), given as a path or its bytes, into an HxWx3 uint8 RGB array.");
}
