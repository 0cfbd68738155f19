/* xinfer C API: a plain C99 interface to the xinfer inference engine, for hosts that speak C (JNI, Swift, C#, Go,
 * Rust, Python ctypes). Link libxinfer_c (CMake: xinfer::c, or xinfer::c_static plus the C++ runtime).
 *
 * Conventions
 * - Every function that can fail returns an xinfer_status; XINFER_OK is 0. On failure the message of that call is
 *   kept per thread: xinfer_last_error() returns it until the same thread's next call into the library. No C++
 *   exception crosses this interface and no bad argument aborts the process: null pointers, wrong sizes, bad files
 *   and wrong shapes are reported as statuses. What the library cannot check is the size of the memory behind a
 *   caller's pointer: buffers must hold what their shape says.
 * - Handles are opaque. Whoever receives one from a create/load function owns it and frees it with the matching
 *   free function (each accepts NULL). Strings and arrays returned by the library are owned by the handle they
 *   came from and stay valid until it is freed, unless a function says otherwise.
 * - Thread safety: a loaded xinfer_model is immutable. Any number of threads may call the xinfer_model_* functions
 *   on the same model at once (runs are truly parallel; each borrows its own scratch memory). An xinfer_options,
 *   xinfer_quantize_options or xinfer_result must not be used by two threads at once.
 * - Tensors are dense and row-major. Image inputs (rank 4 with 3 channels) also take XINFER_U8 pixels, which are
 *   normalised with the model's preprocessing on the way in.
 */
#ifndef XINFER_C_XINFER_H
#define XINFER_C_XINFER_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#define XINFER_C_API __declspec(dllexport)
#elif defined(__GNUC__)
#define XINFER_C_API __attribute__((visibility("default")))
#else
#define XINFER_C_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* The ABI version: the soname's number. It changes when a function or struct here changes incompatibly. */
#define XINFER_C_ABI_VERSION 1

/* Each enum ends with two reserved enumerators (not values to use) that make every 32-bit int a valid value of
 * it: a host may pass any int, and the library rejects the ones it does not know instead of misbehaving. */

typedef enum xinfer_status {
    XINFER_OK = 0,
    XINFER_ERROR_IO = 1,               /* a file could not be opened, read or written */
    XINFER_ERROR_INVALID_MODEL = 2,    /* the model file is malformed or inconsistent */
    XINFER_ERROR_UNSUPPORTED_OP = 3,   /* a valid model uses something xinfer cannot run */
    XINFER_ERROR_SHAPE_MISMATCH = 4,   /* a tensor's shape or dtype is not what the model takes */
    XINFER_ERROR_INVALID_ARGUMENT = 5, /* a null pointer, a bad count, a bad option value */
    XINFER_ERROR_INTERNAL = 6,         /* a bug in xinfer */
    XINFER_ERROR_OUT_OF_MEMORY = 7,
    XINFER_STATUS_MIN_ = -0x7fffffff - 1,
    XINFER_STATUS_MAX_ = 0x7fffffff
} xinfer_status;

typedef enum xinfer_dtype {
    XINFER_F32 = 0,
    XINFER_S8 = 1,
    XINFER_U8 = 2,
    XINFER_S32 = 3,
    XINFER_S64 = 4,
    XINFER_DTYPE_MIN_ = -0x7fffffff - 1,
    XINFER_DTYPE_MAX_ = 0x7fffffff
} xinfer_dtype;

typedef enum xinfer_kernels {
    XINFER_KERNELS_OPTIMIZED = 0, /* the SIMD kernels (default) */
    XINFER_KERNELS_REFERENCE = 1, /* the scalar reference kernels: slow, for checks */
    XINFER_KERNELS_MIN_ = -0x7fffffff - 1,
    XINFER_KERNELS_MAX_ = 0x7fffffff
} xinfer_kernels;

/* A caller's tensor: data, element type and shape (rank dims). Used for inputs, outputs and calibration samples. */
typedef struct xinfer_tensor {
    void* data;
    xinfer_dtype dtype;
    size_t rank;
    const int64_t* dims;
} xinfer_tensor;

/* One class of a classification: its index, probability and label (owned by the model; "class N" when the model
 * has no labels). */
typedef struct xinfer_prediction {
    int32_t index;
    float probability;
    const char* label;
} xinfer_prediction;

typedef struct xinfer_options xinfer_options;
typedef struct xinfer_model xinfer_model;
typedef struct xinfer_result xinfer_result;
typedef struct xinfer_quantize_options xinfer_quantize_options;

/* ---- Library -------------------------------------------------------------------------------------------------- */

/* "0.1.0". Static storage. */
XINFER_C_API const char* xinfer_version(void);
/* XINFER_C_ABI_VERSION of the library actually loaded (compare with the header's). */
XINFER_C_API int xinfer_abi_version(void);
/* The message of this thread's last call if it failed, "" otherwise. Valid until this thread's next call. */
XINFER_C_API const char* xinfer_last_error(void);
/* "ok", "io", "invalid_model", ... Static storage; "unknown" for other values. */
XINFER_C_API const char* xinfer_status_string(xinfer_status status);
/* Frees memory the library allocated for the caller (xinfer_model_save_to_memory, xinfer_image_decode). */
XINFER_C_API void xinfer_free(void* p);

/* ---- Load options --------------------------------------------------------------------------------------------- */

XINFER_C_API xinfer_status xinfer_options_create(xinfer_options** out);
XINFER_C_API void xinfer_options_free(xinfer_options* options);
/* Default threads of runs (1 to 256; default 1). */
XINFER_C_API xinfer_status xinfer_options_set_threads(xinfer_options* options, int threads);
XINFER_C_API xinfer_status xinfer_options_set_kernels(xinfer_options* options, xinfer_kernels kernels);

/* ---- Models --------------------------------------------------------------------------------------------------- */

/* Loads a model file (.xinf, .onnx, TF.js model.json; the format is detected) or a built-in architecture
 * ("builtin:mobilenet_v2?alpha=0.35&size=96"). options may be NULL (defaults). */
XINFER_C_API xinfer_status xinfer_model_load(const char* path, const xinfer_options* options, xinfer_model** out);
/* The same from bytes in memory (.xinf or .onnx); the bytes are copied: the caller may free them on return. */
XINFER_C_API xinfer_status xinfer_model_load_from_memory(const void* data, size_t size, const xinfer_options* options,
                                                         xinfer_model** out);
XINFER_C_API void xinfer_model_free(xinfer_model* model);

XINFER_C_API xinfer_status xinfer_model_input_count(const xinfer_model* model, size_t* count);
XINFER_C_API xinfer_status xinfer_model_output_count(const xinfer_model* model, size_t* count);
/* Name, dtype and shape of input / output `index`. A free dimension (the batch, or a size the model leaves open)
 * is -1. Any of name, dtype, rank, dims may be NULL when not wanted; *dims points into the model. */
XINFER_C_API xinfer_status xinfer_model_input_info(const xinfer_model* model, size_t index, const char** name,
                                                   xinfer_dtype* dtype, size_t* rank, const int64_t** dims);
XINFER_C_API xinfer_status xinfer_model_output_info(const xinfer_model* model, size_t index, const char** name,
                                                    xinfer_dtype* dtype, size_t* rank, const int64_t** dims);
/* Position of the input / output with this name. */
XINFER_C_API xinfer_status xinfer_model_input_index(const xinfer_model* model, const char* name, size_t* index);
XINFER_C_API xinfer_status xinfer_model_output_index(const xinfer_model* model, const char* name, size_t* index);
/* The shape of output `index` for inputs of these shapes (only rank and dims of `inputs` are read). Writes up to
 * `capacity` dims and the rank; XINFER_ERROR_INVALID_ARGUMENT when capacity is smaller than the rank. */
XINFER_C_API xinfer_status xinfer_model_output_shape(const xinfer_model* model, const xinfer_tensor* inputs,
                                                     size_t input_count, size_t index, int64_t* dims, size_t capacity,
                                                     size_t* rank);

/* Runs the model on the caller's inputs (read in place, never written) into the caller's outputs: one xinfer_tensor
 * per model output with the output's dtype and shape (see xinfer_model_output_shape); an output whose data is NULL
 * is not written. threads: 0 for the model's default. */
XINFER_C_API xinfer_status xinfer_model_run(const xinfer_model* model, const xinfer_tensor* inputs, size_t input_count,
                                            const xinfer_tensor* outputs, size_t output_count, int threads);
/* Runs the model and returns every output in a result the library allocates (free it with xinfer_result_free). */
XINFER_C_API xinfer_status xinfer_model_run_alloc(const xinfer_model* model, const xinfer_tensor* inputs,
                                                  size_t input_count, int threads, xinfer_result** out);
XINFER_C_API void xinfer_result_free(xinfer_result* result);
XINFER_C_API xinfer_status xinfer_result_count(const xinfer_result* result, size_t* count);
/* Output `index` of a result: *out's data and dims point into the result. */
XINFER_C_API xinfer_status xinfer_result_tensor(const xinfer_result* result, size_t index, xinfer_tensor* out);

/* Interleaved RGB8 pixels of any size (row pitch `stride` bytes, 0 for width * 3) -> the model's preprocessing ->
 * run -> the `top_k` most probable classes, best first, into predictions[0 .. *count). predictions must hold top_k
 * entries; *count is set to min(top_k, classes). Labels point into the model. */
XINFER_C_API xinfer_status xinfer_model_classify(const xinfer_model* model, const uint8_t* rgb, int width, int height,
                                                 size_t stride, size_t top_k, xinfer_prediction* predictions,
                                                 size_t* count);

/* Saves the model as .xinf to a file, or to memory (*data is freed with xinfer_free). */
XINFER_C_API xinfer_status xinfer_model_save(const xinfer_model* model, const char* path);
XINFER_C_API xinfer_status xinfer_model_save_to_memory(const xinfer_model* model, void** data, size_t* size);

/* ---- Post-training int8 quantization -------------------------------------------------------------------------- */

XINFER_C_API xinfer_status xinfer_quantize_options_create(xinfer_quantize_options** out);
XINFER_C_API void xinfer_quantize_options_free(xinfer_quantize_options* options);
/* Activation calibration: "mse" (default), "minmax", "percentile", "entropy". */
XINFER_C_API xinfer_status xinfer_quantize_options_set_method(xinfer_quantize_options* options, const char* method);
XINFER_C_API xinfer_status xinfer_quantize_options_set_percentile(xinfer_quantize_options* options, double percentile);
/* 8 (default) or 7: 7-bit weights let AVX2 machines use the faster uint8 x int8 kernels, exactly. */
XINFER_C_API xinfer_status xinfer_quantize_options_set_weight_bits(xinfer_quantize_options* options, int bits);
XINFER_C_API xinfer_status xinfer_quantize_options_set_bias_correction(xinfer_quantize_options* options, int enabled);

/* Quantizes an fp32 model to int8 with activation ranges calibrated on samples: sample_count samples, each with
 * one F32 tensor per model input, laid out sample by sample (samples[s * inputs + i]). quantize_options and
 * model_options may be NULL. The new model is independent of the old one. */
XINFER_C_API xinfer_status xinfer_model_quantize(const xinfer_model* model, const xinfer_tensor* samples,
                                                 size_t sample_count, const xinfer_quantize_options* quantize_options,
                                                 const xinfer_options* model_options, xinfer_model** out);

/* ---- Images --------------------------------------------------------------------------------------------------- */

/* Decodes an encoded image (JPEG, PNG, BMP, TGA, GIF, PSD, PNM) from memory or a file into RGB8 pixels
 * (*pixels freed with xinfer_free). Sizes are limited to 16384 per side and 64 Mpixel. */
XINFER_C_API xinfer_status xinfer_image_decode(const void* data, size_t size, uint8_t** pixels, int* width, int* height);
XINFER_C_API xinfer_status xinfer_image_load(const char* path, uint8_t** pixels, int* width, int* height);

#ifdef __cplusplus
}
#endif

#endif /* XINFER_C_XINFER_H */
