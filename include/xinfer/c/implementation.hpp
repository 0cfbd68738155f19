#pragma once
// The C API (xinfer/c/xinfer.h) on top of the C++ facade. Compiled into libxinfer_c by the project's CMake
// (cmake/xinfer_c.cpp); a host that wants the C API inside its own binary includes this header in exactly one C++
// translation unit instead. Every entry point catches everything: no exception leaves through the C interface.
#define XINFER_STB_IMPLEMENTATION
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <vector>

#include "xinfer/c/xinfer.h"
#include "xinfer/io/image_file.hpp"
#include "xinfer/xinfer.hpp"

struct xinfer_options {
    xinfer::ModelOptions options;
};

struct xinfer_quantize_options {
    xinfer::quant::QuantizeOptions options;
};

struct xinfer_model {
    explicit xinfer_model(xinfer::Model m) : model(std::move(m)) {
        const size_t classes = model.metadata().labels.size();
        for (size_t i = 0; i < classes; ++i) labels.push_back(model.label(int(i)));
    }
    xinfer::Model model;
    std::vector<std::string> labels;  // stable storage for xinfer_prediction::label
    mutable std::mutex mutex;         // guards fallback_labels
    mutable std::vector<std::unique_ptr<std::string>> fallback_labels;  // "class N" of unlabelled models, by N

    const char* label(int index) const {
        if (index >= 0 && size_t(index) < labels.size()) return labels[size_t(index)].c_str();
        std::lock_guard<std::mutex> lock(mutex);
        if (size_t(index) >= fallback_labels.size()) fallback_labels.resize(size_t(index) + 1);
        auto& s = fallback_labels[size_t(index)];
        if (!s) s = std::make_unique<std::string>(model.label(index));
        return s->c_str();
    }
};

struct xinfer_result {
    std::vector<xinfer::Shape> shapes;
    std::vector<xinfer::DataType> dtypes;
    std::vector<xinfer::AlignedBuffer> data;
};

namespace xinfer::capi {

inline std::string& last_error() {
    thread_local std::string message;
    return message;
}

inline xinfer_status status_of(ErrorCode code) {
    switch (code) {
        case ErrorCode::io: return XINFER_ERROR_IO;
        case ErrorCode::invalid_model: return XINFER_ERROR_INVALID_MODEL;
        case ErrorCode::unsupported_op: return XINFER_ERROR_UNSUPPORTED_OP;
        case ErrorCode::shape_mismatch: return XINFER_ERROR_SHAPE_MISMATCH;
        case ErrorCode::invalid_argument: return XINFER_ERROR_INVALID_ARGUMENT;
        case ErrorCode::internal: return XINFER_ERROR_INTERNAL;
    }
    return XINFER_ERROR_INTERNAL;
}

// Runs body, turning every exception into a status and this thread's message.
template <class F>
xinfer_status guarded(const char* function, F&& body) noexcept {
    try {
        last_error().clear();
        body();
        return XINFER_OK;
    } catch (const Error& e) {
        try {
            last_error() = std::string(function) + ": " + e.what();
        } catch (...) {
        }
        return status_of(e.code());
    } catch (const std::bad_alloc&) {
        try {
            last_error() = std::string(function) + ": out of memory";
        } catch (...) {
        }
        return XINFER_ERROR_OUT_OF_MEMORY;
    } catch (const std::exception& e) {
        try {
            last_error() = std::string(function) + ": " + e.what();
        } catch (...) {
        }
        return XINFER_ERROR_INTERNAL;
    } catch (...) {
        try {
            last_error() = std::string(function) + ": unknown exception";
        } catch (...) {
        }
        return XINFER_ERROR_INTERNAL;
    }
}

#define XINFER_C_REQUIRE(condition, ...) XINFER_CHECK(condition, ::xinfer::ErrorCode::invalid_argument, __VA_ARGS__)

inline DataType to_dtype(xinfer_dtype t) {
    switch (t) {
        case XINFER_F32: return DataType::f32;
        case XINFER_S8: return DataType::s8;
        case XINFER_U8: return DataType::u8;
        case XINFER_S32: return DataType::s32;
        case XINFER_S64: return DataType::s64;
        default: break;
    }
    XINFER_THROW(ErrorCode::invalid_argument, "unknown dtype value ", int(t));
}

inline xinfer_dtype c_dtype(DataType t) {
    switch (t) {
        case DataType::f32: return XINFER_F32;
        case DataType::s8: return XINFER_S8;
        case DataType::u8: return XINFER_U8;
        case DataType::s32: return XINFER_S32;
        case DataType::s64: return XINFER_S64;
    }
    return XINFER_F32;
}

inline Shape shape_of(const xinfer_tensor& t, const char* what, size_t index) {
    XINFER_C_REQUIRE(t.rank <= 16, what, " ", index, " has rank ", t.rank, " (at most 16)");
    XINFER_C_REQUIRE(t.rank == 0 || t.dims, what, " ", index, " has rank ", t.rank, " but no dims");
    return Shape(t.dims, t.dims + t.rank);
}

inline std::vector<TensorView> views_of(const xinfer_tensor* tensors, size_t count, const char* what,
                                        bool data_required) {
    XINFER_C_REQUIRE(tensors || count == 0, "null ", what, "s");
    std::vector<TensorView> views;
    for (size_t i = 0; i < count; ++i) {
        XINFER_C_REQUIRE(!data_required || tensors[i].data, what, " ", i, " has no data");
        views.emplace_back(tensors[i].data, to_dtype(tensors[i].dtype), shape_of(tensors[i], what, i));
    }
    return views;
}

inline std::vector<Shape> shapes_of(const xinfer_tensor* tensors, size_t count) {
    XINFER_C_REQUIRE(tensors || count == 0, "null inputs");
    std::vector<Shape> shapes;
    for (size_t i = 0; i < count; ++i) shapes.push_back(shape_of(tensors[i], "input", i));
    return shapes;
}

inline const Model& model_of(const xinfer_model* m) {
    XINFER_C_REQUIRE(m, "null model");
    return m->model;
}

inline ModelOptions options_of(const xinfer_options* o) { return o ? o->options : ModelOptions{}; }

inline void tensor_info(const std::vector<TensorSpec>& specs, size_t index, const char* what, const char** name,
                        xinfer_dtype* dtype, size_t* rank, const int64_t** dims) {
    XINFER_C_REQUIRE(index < specs.size(), what, " index ", index, " out of range (the model has ", specs.size(), ")");
    const TensorSpec& s = specs[index];
    if (name) *name = s.name.c_str();
    if (dtype) *dtype = c_dtype(s.dtype);
    if (rank) *rank = s.shape.size();
    if (dims) *dims = s.shape.data();
}

inline void* copy_out(const void* data, size_t size) {
    void* p = std::malloc(size ? size : 1);
    if (!p) throw std::bad_alloc();
    if (size) std::memcpy(p, data, size);
    return p;
}

inline void write_image(const io::RgbImage& img, uint8_t** pixels, int* width, int* height) {
    const size_t bytes = size_t(img.width) * size_t(img.height) * 3;
    *pixels = static_cast<uint8_t*>(copy_out(img.pixels.get(), bytes));
    *width = img.width;
    *height = img.height;
}

}  // namespace xinfer::capi

extern "C" {

using xinfer::capi::guarded;

XINFER_C_API const char* xinfer_version(void) { return XINFER_VERSION_STRING; }
XINFER_C_API int xinfer_abi_version(void) { return XINFER_C_ABI_VERSION; }
XINFER_C_API const char* xinfer_last_error(void) { return xinfer::capi::last_error().c_str(); }

XINFER_C_API const char* xinfer_status_string(xinfer_status status) {
    switch (status) {
        case XINFER_OK: return "ok";
        case XINFER_ERROR_IO: return "io";
        case XINFER_ERROR_INVALID_MODEL: return "invalid_model";
        case XINFER_ERROR_UNSUPPORTED_OP: return "unsupported_op";
        case XINFER_ERROR_SHAPE_MISMATCH: return "shape_mismatch";
        case XINFER_ERROR_INVALID_ARGUMENT: return "invalid_argument";
        case XINFER_ERROR_INTERNAL: return "internal";
        case XINFER_ERROR_OUT_OF_MEMORY: return "out_of_memory";
        default: break;
    }
    return "unknown";
}

XINFER_C_API void xinfer_free(void* p) { std::free(p); }

XINFER_C_API xinfer_status xinfer_options_create(xinfer_options** out) {
    return guarded(__func__, [&] {
        XINFER_C_REQUIRE(out, "null out");
        *out = new xinfer_options();
    });
}

XINFER_C_API void xinfer_options_free(xinfer_options* options) { delete options; }

XINFER_C_API xinfer_status xinfer_options_set_threads(xinfer_options* options, int threads) {
    return guarded(__func__, [&] {
        XINFER_C_REQUIRE(options, "null options");
        XINFER_C_REQUIRE(threads >= 1 && threads <= 256, "threads must be in [1, 256], got ", threads);
        options->options.threads = threads;
    });
}

XINFER_C_API xinfer_status xinfer_options_set_kernels(xinfer_options* options, xinfer_kernels kernels) {
    return guarded(__func__, [&] {
        XINFER_C_REQUIRE(options, "null options");
        XINFER_C_REQUIRE(kernels == XINFER_KERNELS_OPTIMIZED || kernels == XINFER_KERNELS_REFERENCE,
                         "unknown kernels value ", int(kernels));
        options->options.kernels =
            kernels == XINFER_KERNELS_REFERENCE ? xinfer::ops::KernelSet::reference : xinfer::ops::KernelSet::optimized;
    });
}

XINFER_C_API xinfer_status xinfer_model_load(const char* path, const xinfer_options* options, xinfer_model** out) {
    return guarded(__func__, [&] {
        XINFER_C_REQUIRE(out, "null out");
        *out = nullptr;
        XINFER_C_REQUIRE(path, "null path");
        *out = new xinfer_model(xinfer::Model::load(path, xinfer::capi::options_of(options)));
    });
}

XINFER_C_API xinfer_status xinfer_model_load_from_memory(const void* data, size_t size, const xinfer_options* options,
                                                         xinfer_model** out) {
    return guarded(__func__, [&] {
        XINFER_C_REQUIRE(out, "null out");
        *out = nullptr;
        XINFER_C_REQUIRE(data && size > 0, "no model bytes");
        *out = new xinfer_model(xinfer::Model::load_from_memory(data, size, xinfer::capi::options_of(options)));
    });
}

XINFER_C_API void xinfer_model_free(xinfer_model* model) { delete model; }

XINFER_C_API xinfer_status xinfer_model_input_count(const xinfer_model* model, size_t* count) {
    return guarded(__func__, [&] {
        XINFER_C_REQUIRE(count, "null count");
        *count = xinfer::capi::model_of(model).inputs().size();
    });
}

XINFER_C_API xinfer_status xinfer_model_output_count(const xinfer_model* model, size_t* count) {
    return guarded(__func__, [&] {
        XINFER_C_REQUIRE(count, "null count");
        *count = xinfer::capi::model_of(model).outputs().size();
    });
}

XINFER_C_API xinfer_status xinfer_model_input_info(const xinfer_model* model, size_t index, const char** name,
                                                   xinfer_dtype* dtype, size_t* rank, const int64_t** dims) {
    return guarded(__func__, [&] {
        xinfer::capi::tensor_info(xinfer::capi::model_of(model).inputs(), index, "input", name, dtype, rank, dims);
    });
}

XINFER_C_API xinfer_status xinfer_model_output_info(const xinfer_model* model, size_t index, const char** name,
                                                    xinfer_dtype* dtype, size_t* rank, const int64_t** dims) {
    return guarded(__func__, [&] {
        xinfer::capi::tensor_info(xinfer::capi::model_of(model).outputs(), index, "output", name, dtype, rank, dims);
    });
}

XINFER_C_API xinfer_status xinfer_model_input_index(const xinfer_model* model, const char* name, size_t* index) {
    return guarded(__func__, [&] {
        XINFER_C_REQUIRE(name && index, "null name or index");
        *index = xinfer::capi::model_of(model).input_index(name);
    });
}

XINFER_C_API xinfer_status xinfer_model_output_index(const xinfer_model* model, const char* name, size_t* index) {
    return guarded(__func__, [&] {
        XINFER_C_REQUIRE(name && index, "null name or index");
        *index = xinfer::capi::model_of(model).output_index(name);
    });
}

XINFER_C_API xinfer_status xinfer_model_output_shape(const xinfer_model* model, const xinfer_tensor* inputs,
                                                     size_t input_count, size_t index, int64_t* dims, size_t capacity,
                                                     size_t* rank) {
    return guarded(__func__, [&] {
        const xinfer::Model& m = xinfer::capi::model_of(model);
        XINFER_C_REQUIRE(rank && (dims || capacity == 0), "null dims or rank");
        XINFER_C_REQUIRE(input_count == m.inputs().size(), "the model takes ", m.inputs().size(), " input(s), got ",
                         input_count);
        XINFER_C_REQUIRE(index < m.outputs().size(), "output index ", index, " out of range (the model has ",
                         m.outputs().size(), ")");
        const xinfer::Shape s = m.plan(xinfer::capi::shapes_of(inputs, input_count)).output_shapes[index];
        *rank = s.size();
        XINFER_C_REQUIRE(capacity >= s.size(), "output ", index, " has rank ", s.size(), ", more than capacity ",
                         capacity);
        std::copy(s.begin(), s.end(), dims);
    });
}

XINFER_C_API xinfer_status xinfer_model_run(const xinfer_model* model, const xinfer_tensor* inputs, size_t input_count,
                                            const xinfer_tensor* outputs, size_t output_count, int threads) {
    return guarded(__func__, [&] {
        const xinfer::Model& m = xinfer::capi::model_of(model);
        XINFER_C_REQUIRE(threads >= 0 && threads <= 256, "threads must be in [0, 256], got ", threads);
        const auto in = xinfer::capi::views_of(inputs, input_count, "input", true);
        const auto out = xinfer::capi::views_of(outputs, output_count, "output", false);
        xinfer::RunOptions ro;
        ro.threads = threads;
        m.run(in, out, ro);
    });
}

XINFER_C_API xinfer_status xinfer_model_run_alloc(const xinfer_model* model, const xinfer_tensor* inputs,
                                                  size_t input_count, int threads, xinfer_result** out) {
    return guarded(__func__, [&] {
        XINFER_C_REQUIRE(out, "null out");
        *out = nullptr;
        const xinfer::Model& m = xinfer::capi::model_of(model);
        XINFER_C_REQUIRE(threads >= 0 && threads <= 256, "threads must be in [0, 256], got ", threads);
        const auto in = xinfer::capi::views_of(inputs, input_count, "input", true);
        XINFER_C_REQUIRE(input_count == m.inputs().size(), "the model takes ", m.inputs().size(), " input(s), got ",
                         input_count);
        std::vector<xinfer::Shape> shapes;
        for (auto& v : in) shapes.push_back(v.shape);
        auto result = std::make_unique<xinfer_result>();
        result->shapes = m.plan(shapes, threads).output_shapes;
        std::vector<xinfer::TensorView> views;
        for (size_t i = 0; i < result->shapes.size(); ++i) {
            const xinfer::DataType t = m.outputs()[i].dtype;
            result->dtypes.push_back(t);
            result->data.emplace_back(xinfer::checked_numel(result->shapes[i]) * xinfer::size_of(t));
        }
        for (size_t i = 0; i < result->shapes.size(); ++i)
            views.emplace_back(result->data[i].data(), result->dtypes[i], result->shapes[i]);
        xinfer::RunOptions ro;
        ro.threads = threads;
        m.run(in, views, ro);
        *out = result.release();
    });
}

XINFER_C_API void xinfer_result_free(xinfer_result* result) { delete result; }

XINFER_C_API xinfer_status xinfer_result_count(const xinfer_result* result, size_t* count) {
    return guarded(__func__, [&] {
        XINFER_C_REQUIRE(result && count, "null result or count");
        *count = result->shapes.size();
    });
}

XINFER_C_API xinfer_status xinfer_result_tensor(const xinfer_result* result, size_t index, xinfer_tensor* out) {
    return guarded(__func__, [&] {
        XINFER_C_REQUIRE(result && out, "null result or out");
        XINFER_C_REQUIRE(index < result->shapes.size(), "output index ", index, " out of range (the result has ",
                         result->shapes.size(), ")");
        out->data = const_cast<std::byte*>(result->data[index].data());
        out->dtype = xinfer::capi::c_dtype(result->dtypes[index]);
        out->rank = result->shapes[index].size();
        out->dims = result->shapes[index].data();
    });
}

XINFER_C_API xinfer_status xinfer_model_classify(const xinfer_model* model, const uint8_t* rgb, int width, int height,
                                                 size_t stride, size_t top_k, xinfer_prediction* predictions,
                                                 size_t* count) {
    return guarded(__func__, [&] {
        const xinfer::Model& m = xinfer::capi::model_of(model);
        XINFER_C_REQUIRE(rgb, "null pixels");
        XINFER_C_REQUIRE(count && (predictions || top_k == 0), "null predictions or count");
        XINFER_C_REQUIRE(width > 0 && height > 0 && width <= 65536 && height <= 65536, "bad image size ", width, "x",
                         height);
        XINFER_C_REQUIRE(stride == 0 || stride >= size_t(width) * 3, "row stride ", stride, " is less than width * 3");
        XINFER_C_REQUIRE(top_k <= 1u << 20, "top_k ", top_k, " is too large");
        const auto top = m.classify(rgb, width, height, int(top_k), stride);
        for (size_t i = 0; i < top.size(); ++i)
            predictions[i] = {int32_t(top[i].index), top[i].probability, model->label(top[i].index)};
        *count = top.size();
    });
}

XINFER_C_API xinfer_status xinfer_model_save(const xinfer_model* model, const char* path) {
    return guarded(__func__, [&] {
        const xinfer::Model& m = xinfer::capi::model_of(model);
        XINFER_C_REQUIRE(path, "null path");
        m.save(path);
    });
}

XINFER_C_API xinfer_status xinfer_model_save_to_memory(const xinfer_model* model, void** data, size_t* size) {
    return guarded(__func__, [&] {
        const xinfer::Model& m = xinfer::capi::model_of(model);
        XINFER_C_REQUIRE(data && size, "null data or size");
        const std::vector<std::byte> bytes = m.save_to_memory();
        *data = xinfer::capi::copy_out(bytes.data(), bytes.size());
        *size = bytes.size();
    });
}

XINFER_C_API xinfer_status xinfer_quantize_options_create(xinfer_quantize_options** out) {
    return guarded(__func__, [&] {
        XINFER_C_REQUIRE(out, "null out");
        *out = new xinfer_quantize_options();
    });
}

XINFER_C_API void xinfer_quantize_options_free(xinfer_quantize_options* options) { delete options; }

XINFER_C_API xinfer_status xinfer_quantize_options_set_method(xinfer_quantize_options* options, const char* method) {
    return guarded(__func__, [&] {
        XINFER_C_REQUIRE(options && method, "null options or method");
        options->options.method = xinfer::quant::calibration_method_from_string(method);
    });
}

XINFER_C_API xinfer_status xinfer_quantize_options_set_percentile(xinfer_quantize_options* options, double percentile) {
    return guarded(__func__, [&] {
        XINFER_C_REQUIRE(options, "null options");
        XINFER_C_REQUIRE(percentile > 0 && percentile <= 100, "percentile must be in (0, 100], got ", percentile);
        options->options.percentile = percentile;
    });
}

XINFER_C_API xinfer_status xinfer_quantize_options_set_weight_bits(xinfer_quantize_options* options, int bits) {
    return guarded(__func__, [&] {
        XINFER_C_REQUIRE(options, "null options");
        XINFER_C_REQUIRE(bits == 7 || bits == 8, "weight bits must be 7 or 8, got ", bits);
        options->options.weight_bits = bits;
    });
}

XINFER_C_API xinfer_status xinfer_quantize_options_set_bias_correction(xinfer_quantize_options* options, int enabled) {
    return guarded(__func__, [&] {
        XINFER_C_REQUIRE(options, "null options");
        options->options.bias_correction = enabled != 0;
    });
}

XINFER_C_API xinfer_status xinfer_model_quantize(const xinfer_model* model, const xinfer_tensor* samples,
                                                 size_t sample_count, const xinfer_quantize_options* quantize_options,
                                                 const xinfer_options* model_options, xinfer_model** out) {
    return guarded(__func__, [&] {
        XINFER_C_REQUIRE(out, "null out");
        *out = nullptr;
        const xinfer::Model& m = xinfer::capi::model_of(model);
        XINFER_C_REQUIRE(samples && sample_count > 0, "no calibration samples");
        const size_t inputs = m.inputs().size();
        std::vector<std::vector<xt::xarray<float>>> calibration(sample_count);
        for (size_t s = 0; s < sample_count; ++s) {
            for (size_t i = 0; i < inputs; ++i) {
                const xinfer_tensor& t = samples[s * inputs + i];
                XINFER_C_REQUIRE(t.dtype == XINFER_F32 && t.data, "calibration sample ", s, " input ", i,
                                 " must be F32 with data");
                const xinfer::Shape shape = xinfer::capi::shape_of(t, "calibration input", i);
                std::vector<size_t> xshape(shape.size());
                for (size_t d = 0; d < shape.size(); ++d) {
                    XINFER_C_REQUIRE(shape[d] >= 0, "calibration sample ", s, " has a negative dimension");
                    xshape[d] = size_t(shape[d]);
                }
                const size_t n = xinfer::checked_numel(shape);
                const float* p = static_cast<const float*>(t.data);
                calibration[s].emplace_back(xt::adapt(p, n, xt::no_ownership(), xshape));
            }
        }
        const xinfer::quant::QuantizeOptions qo = quantize_options ? quantize_options->options
                                                                   : xinfer::quant::QuantizeOptions{};
        xinfer::ModelOptions mo = xinfer::capi::options_of(model_options);
        if (!model_options) mo.threads = m.threads();
        *out = new xinfer_model(xinfer::quantize(m, calibration, qo, mo));
    });
}

XINFER_C_API xinfer_status xinfer_image_decode(const void* data, size_t size, uint8_t** pixels, int* width,
                                               int* height) {
    return guarded(__func__, [&] {
        XINFER_C_REQUIRE(pixels && width && height, "null pixels, width or height");
        *pixels = nullptr;
        xinfer::capi::write_image(xinfer::io::decode_rgb(data, size), pixels, width, height);
    });
}

XINFER_C_API xinfer_status xinfer_image_load(const char* path, uint8_t** pixels, int* width, int* height) {
    return guarded(__func__, [&] {
        XINFER_C_REQUIRE(path && pixels && width && height, "null path, pixels, width or height");
        *pixels = nullptr;
        xinfer::capi::write_image(xinfer::io::load_rgb(path), pixels, width, height);
    });
}

}  // extern "C"

#undef XINFER_C_REQUIRE
