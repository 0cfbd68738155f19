/* The C API from C99: every function, its error paths (null pointers, wrong sizes, bad files, wrong shapes) and
 * concurrent runs from several threads. Usage: test_c_api PHOTO TMPDIR (PHOTO: an encoded image file). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xinfer/c/xinfer.h"

static int failures = 0;
static int checks = 0;

#define CHECK(cond)                                                                       \
    do {                                                                                  \
        ++checks;                                                                         \
        if (!(cond)) {                                                                    \
            ++failures;                                                                   \
            fprintf(stderr, "%s:%d: CHECK(%s) failed; last error: %s\n", __FILE__, __LINE__, #cond, \
                    xinfer_last_error());                                                 \
        }                                                                                 \
    } while (0)

/* A failing call: the expected status and a message naming the function. */
#define CHECK_FAILS(call, status)                                                          \
    do {                                                                                   \
        xinfer_status got_ = (call);                                                       \
        ++checks;                                                                          \
        if (got_ != (status) || strlen(xinfer_last_error()) == 0) {                        \
            ++failures;                                                                    \
            fprintf(stderr, "%s:%d: %s returned %s (expected %s); message '%s'\n", __FILE__, __LINE__, #call, \
                    xinfer_status_string(got_), xinfer_status_string(status), xinfer_last_error()); \
        }                                                                                  \
    } while (0)

#define CHECK_OK(call) CHECK((call) == XINFER_OK)

#define BUILTIN "builtin:mobilenet_v2?alpha=0.35&size=32&classes=7&seed=5"
#define SIDE 32
#define CLASSES 7

static unsigned lcg_state = 12345u;
static float next_uniform(void) {
    lcg_state = lcg_state * 1664525u + 1013904223u;
    return (float)(lcg_state >> 8) / 16777216.0f;
}

static void fill(float* x, size_t n) {
    size_t i;
    for (i = 0; i < n; ++i) x[i] = next_uniform();
}

static int same(const float* a, const float* b, size_t n) { return memcmp(a, b, n * sizeof(float)) == 0; }

static xinfer_tensor tensor(void* data, xinfer_dtype dtype, size_t rank, const int64_t* dims) {
    xinfer_tensor t;
    t.data = data;
    t.dtype = dtype;
    t.rank = rank;
    t.dims = dims;
    return t;
}

static void test_library(void) {
    CHECK(strcmp(xinfer_version(), "") != 0);
    CHECK(xinfer_abi_version() == XINFER_C_ABI_VERSION);
    CHECK(strcmp(xinfer_status_string(XINFER_OK), "ok") == 0);
    CHECK(strcmp(xinfer_status_string(XINFER_ERROR_SHAPE_MISMATCH), "shape_mismatch") == 0);
    CHECK(strcmp(xinfer_status_string((xinfer_status)99), "unknown") == 0);
    xinfer_free(NULL);
    xinfer_options_free(NULL);
    xinfer_model_free(NULL);
    xinfer_result_free(NULL);
    xinfer_quantize_options_free(NULL);
}

static void test_options(void) {
    xinfer_options* o = NULL;
    CHECK_FAILS(xinfer_options_create(NULL), XINFER_ERROR_INVALID_ARGUMENT);
    CHECK_OK(xinfer_options_create(&o));
    CHECK(strcmp(xinfer_last_error(), "") == 0);
    CHECK_FAILS(xinfer_options_set_threads(o, 0), XINFER_ERROR_INVALID_ARGUMENT);
    CHECK_FAILS(xinfer_options_set_threads(o, 257), XINFER_ERROR_INVALID_ARGUMENT);
    CHECK_FAILS(xinfer_options_set_threads(NULL, 2), XINFER_ERROR_INVALID_ARGUMENT);
    CHECK_FAILS(xinfer_options_set_kernels(o, (xinfer_kernels)7), XINFER_ERROR_INVALID_ARGUMENT);
    CHECK_FAILS(xinfer_options_set_kernels(o, (xinfer_kernels)-5), XINFER_ERROR_INVALID_ARGUMENT);
    CHECK_OK(xinfer_options_set_threads(o, 2));
    CHECK_OK(xinfer_options_set_kernels(o, XINFER_KERNELS_REFERENCE));
    xinfer_options_free(o);
}

static void test_load_errors(const char* tmpdir) {
    xinfer_model* m = (xinfer_model*)&lcg_state; /* must be reset to NULL on failure */
    char path[512];
    FILE* f;
    CHECK_FAILS(xinfer_model_load("/nonexistent/model.xinf", NULL, &m), XINFER_ERROR_IO);
    CHECK(m == NULL);
    CHECK_FAILS(xinfer_model_load(NULL, NULL, &m), XINFER_ERROR_INVALID_ARGUMENT);
    CHECK_FAILS(xinfer_model_load(BUILTIN, NULL, NULL), XINFER_ERROR_INVALID_ARGUMENT);
    CHECK_FAILS(xinfer_model_load("builtin:no_such_net", NULL, &m), XINFER_ERROR_INVALID_ARGUMENT);
    CHECK_FAILS(xinfer_model_load_from_memory(NULL, 0, NULL, &m), XINFER_ERROR_INVALID_ARGUMENT);
    CHECK_FAILS(xinfer_model_load_from_memory("garbage!", 8, NULL, &m), XINFER_ERROR_INVALID_MODEL);
    snprintf(path, sizeof path, "%s/garbage.onnx", tmpdir);
    f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f) {
        fputs("this is not a protobuf", f);
        fclose(f);
        CHECK(xinfer_model_load(path, NULL, &m) != XINFER_OK);
        CHECK(m == NULL);
        remove(path);
    }
}

static void test_introspection(const xinfer_model* m) {
    size_t n = 99, rank = 0, index = 99;
    const char* name = NULL;
    const int64_t* dims = NULL;
    xinfer_dtype dtype = XINFER_S64;
    int64_t out_dims[4];
    int64_t in_dims[4] = {2, SIDE, SIDE, 3};
    xinfer_tensor in = tensor(NULL, XINFER_F32, 4, in_dims);

    CHECK_OK(xinfer_model_input_count(m, &n));
    CHECK(n == 1);
    CHECK_OK(xinfer_model_output_count(m, &n));
    CHECK(n == 1);
    CHECK_FAILS(xinfer_model_input_count(NULL, &n), XINFER_ERROR_INVALID_ARGUMENT);
    CHECK_FAILS(xinfer_model_output_count(m, NULL), XINFER_ERROR_INVALID_ARGUMENT);

    CHECK_OK(xinfer_model_input_info(m, 0, &name, &dtype, &rank, &dims));
    CHECK(name != NULL && strlen(name) > 0);
    CHECK(dtype == XINFER_F32);
    CHECK(rank == 4 && dims[0] == -1 && dims[1] == SIDE && dims[2] == SIDE && dims[3] == 3);
    CHECK_OK(xinfer_model_input_index(m, name, &index));
    CHECK(index == 0);
    CHECK_OK(xinfer_model_input_info(m, 0, NULL, NULL, NULL, NULL));
    CHECK_FAILS(xinfer_model_input_info(m, 1, &name, &dtype, &rank, &dims), XINFER_ERROR_INVALID_ARGUMENT);
    CHECK_FAILS(xinfer_model_input_index(m, "no such input", &index), XINFER_ERROR_INVALID_ARGUMENT);
    CHECK_FAILS(xinfer_model_input_index(m, NULL, &index), XINFER_ERROR_INVALID_ARGUMENT);

    CHECK_OK(xinfer_model_output_info(m, 0, &name, &dtype, &rank, &dims));
    CHECK(rank == 2 && dims[1] == CLASSES);
    CHECK_OK(xinfer_model_output_index(m, name, &index));
    CHECK(index == 0);
    CHECK_FAILS(xinfer_model_output_info(m, 3, &name, NULL, NULL, NULL), XINFER_ERROR_INVALID_ARGUMENT);
    CHECK_FAILS(xinfer_model_output_index(m, "nope", &index), XINFER_ERROR_INVALID_ARGUMENT);

    CHECK_OK(xinfer_model_output_shape(m, &in, 1, 0, out_dims, 4, &rank));
    CHECK(rank == 2 && out_dims[0] == 2 && out_dims[1] == CLASSES);
    CHECK_FAILS(xinfer_model_output_shape(m, &in, 1, 0, out_dims, 1, &rank), XINFER_ERROR_INVALID_ARGUMENT);
    CHECK(rank == 2); /* the rank is reported even when the dims do not fit */
    CHECK_FAILS(xinfer_model_output_shape(m, &in, 1, 1, out_dims, 4, &rank), XINFER_ERROR_INVALID_ARGUMENT);
    CHECK_FAILS(xinfer_model_output_shape(m, &in, 2, 0, out_dims, 4, &rank), XINFER_ERROR_INVALID_ARGUMENT);
    in_dims[1] = 31;
    CHECK_FAILS(xinfer_model_output_shape(m, &in, 1, 0, out_dims, 4, &rank), XINFER_ERROR_SHAPE_MISMATCH);
}

static void test_run(const xinfer_model* m) {
    enum { N = 2, PIXELS = N * SIDE * SIDE * 3 };
    static float x[PIXELS], y[N * CLASSES], y2[N * CLASSES], y_threads[N * CLASSES];
    static unsigned char pixels[PIXELS];
    int64_t in_dims[4] = {N, SIDE, SIDE, 3}, out_dims[2] = {N, CLASSES}, bad_dims[4] = {N, SIDE + 1, SIDE, 3};
    xinfer_tensor in = tensor(x, XINFER_F32, 4, in_dims), out = tensor(y, XINFER_F32, 2, out_dims);
    xinfer_tensor bad;
    xinfer_result* r = NULL;
    xinfer_tensor got;
    size_t count = 0, i;
    float sum = 0;

    fill(x, PIXELS);
    CHECK_OK(xinfer_model_run(m, &in, 1, &out, 1, 0));
    for (i = 0; i < N * CLASSES; ++i) sum += y[i];
    CHECK(sum > 0.5f * N && sum < 1.5f * N); /* softmax rows */

    CHECK_OK(xinfer_model_run_alloc(m, &in, 1, 0, &r));
    CHECK_OK(xinfer_result_count(r, &count));
    CHECK(count == 1);
    CHECK_OK(xinfer_result_tensor(r, 0, &got));
    CHECK(got.dtype == XINFER_F32 && got.rank == 2 && got.dims[0] == N && got.dims[1] == CLASSES);
    CHECK(same((const float*)got.data, y, N * CLASSES));
    CHECK_FAILS(xinfer_result_tensor(r, 1, &got), XINFER_ERROR_INVALID_ARGUMENT);
    CHECK_FAILS(xinfer_result_tensor(r, 0, NULL), XINFER_ERROR_INVALID_ARGUMENT);
    CHECK_FAILS(xinfer_result_count(NULL, &count), XINFER_ERROR_INVALID_ARGUMENT);
    xinfer_result_free(r);

    out.data = y_threads;
    CHECK_OK(xinfer_model_run(m, &in, 1, &out, 1, 2));
    CHECK(same(y_threads, y, N * CLASSES));

    /* A NULL output buffer skips that output. */
    out.data = NULL;
    CHECK_OK(xinfer_model_run(m, &in, 1, &out, 1, 1));
    out.data = y2;

    /* uint8 pixels for an image input: normalised with the model's preprocessing. */
    for (i = 0; i < PIXELS; ++i) pixels[i] = (unsigned char)(x[i] * 255.0f);
    bad = tensor(pixels, XINFER_U8, 4, in_dims);
    CHECK_OK(xinfer_model_run(m, &bad, 1, &out, 1, 0));

    /* Errors: shapes, dtypes, counts, nulls, threads. */
    bad = tensor(x, XINFER_F32, 4, bad_dims);
    CHECK_FAILS(xinfer_model_run(m, &bad, 1, &out, 1, 0), XINFER_ERROR_SHAPE_MISMATCH);
    bad = tensor(x, XINFER_S32, 4, in_dims);
    CHECK(xinfer_model_run(m, &bad, 1, &out, 1, 0) != XINFER_OK);
    bad = tensor(x, (xinfer_dtype)42, 4, in_dims);
    CHECK_FAILS(xinfer_model_run(m, &bad, 1, &out, 1, 0), XINFER_ERROR_INVALID_ARGUMENT);
    bad = tensor(x, (xinfer_dtype)-1, 4, in_dims);
    CHECK_FAILS(xinfer_model_run(m, &bad, 1, &out, 1, 0), XINFER_ERROR_INVALID_ARGUMENT);
    bad = tensor(x, XINFER_F32, 3, in_dims);
    CHECK_FAILS(xinfer_model_run(m, &bad, 1, &out, 1, 0), XINFER_ERROR_SHAPE_MISMATCH);
    bad = tensor(x, XINFER_F32, 4, NULL);
    CHECK_FAILS(xinfer_model_run(m, &bad, 1, &out, 1, 0), XINFER_ERROR_INVALID_ARGUMENT);
    bad = tensor(x, XINFER_F32, 100, in_dims);
    CHECK_FAILS(xinfer_model_run(m, &bad, 1, &out, 1, 0), XINFER_ERROR_INVALID_ARGUMENT);
    bad = tensor(NULL, XINFER_F32, 4, in_dims);
    CHECK_FAILS(xinfer_model_run(m, &bad, 1, &out, 1, 0), XINFER_ERROR_INVALID_ARGUMENT);
    CHECK_FAILS(xinfer_model_run(m, &in, 2, &out, 1, 0), XINFER_ERROR_INVALID_ARGUMENT);
    CHECK_FAILS(xinfer_model_run(m, NULL, 1, &out, 1, 0), XINFER_ERROR_INVALID_ARGUMENT);
    CHECK_FAILS(xinfer_model_run(m, &in, 1, &out, 0, 0), XINFER_ERROR_INVALID_ARGUMENT);
    CHECK_FAILS(xinfer_model_run(m, &in, 1, &out, 1, -1), XINFER_ERROR_INVALID_ARGUMENT);
    CHECK_FAILS(xinfer_model_run(NULL, &in, 1, &out, 1, 0), XINFER_ERROR_INVALID_ARGUMENT);
    out_dims[1] = CLASSES + 1;
    CHECK_FAILS(xinfer_model_run(m, &in, 1, &out, 1, 0), XINFER_ERROR_SHAPE_MISMATCH);
    out_dims[1] = CLASSES;
    out.dtype = XINFER_S8;
    CHECK(xinfer_model_run(m, &in, 1, &out, 1, 0) != XINFER_OK);
    CHECK_FAILS(xinfer_model_run_alloc(m, &in, 1, 0, NULL), XINFER_ERROR_INVALID_ARGUMENT);
    bad = tensor(x, XINFER_F32, 4, bad_dims);
    r = (xinfer_result*)&lcg_state;
    CHECK_FAILS(xinfer_model_run_alloc(m, &bad, 1, 0, &r), XINFER_ERROR_SHAPE_MISMATCH);
    CHECK(r == NULL);

    /* The message belongs to the last call: a success clears it. */
    CHECK_OK(xinfer_model_input_count(m, &count));
    CHECK(strcmp(xinfer_last_error(), "") == 0);
}

static void test_classify(const xinfer_model* m, const char* photo) {
    enum { W = 40, H = 30 };
    static unsigned char rgb[(W + 2) * H * 3];
    xinfer_prediction p[CLASSES + 3];
    size_t count = 99, i;
    unsigned char* pixels = NULL;
    int w = 0, h = 0;
    for (i = 0; i < sizeof rgb; ++i) rgb[i] = (unsigned char)(next_uniform() * 255.0f);

    CHECK_OK(xinfer_model_classify(m, rgb, W, H, 0, 3, p, &count));
    CHECK(count == 3);
    CHECK(p[0].probability >= p[1].probability && p[1].probability >= p[2].probability);
    CHECK(p[0].index >= 0 && p[0].index < CLASSES && p[0].label && strncmp(p[0].label, "class ", 6) == 0);
    CHECK_OK(xinfer_model_classify(m, rgb, W, H, (W + 2) * 3, CLASSES + 3, p, &count));
    CHECK(count == CLASSES);
    CHECK_OK(xinfer_model_classify(m, rgb, W, H, 0, 0, NULL, &count));
    CHECK(count == 0);
    CHECK_FAILS(xinfer_model_classify(m, NULL, W, H, 0, 3, p, &count), XINFER_ERROR_INVALID_ARGUMENT);
    CHECK_FAILS(xinfer_model_classify(m, rgb, 0, H, 0, 3, p, &count), XINFER_ERROR_INVALID_ARGUMENT);
    CHECK_FAILS(xinfer_model_classify(m, rgb, W, -5, 0, 3, p, &count), XINFER_ERROR_INVALID_ARGUMENT);
    CHECK_FAILS(xinfer_model_classify(m, rgb, W, H, W, 3, p, &count), XINFER_ERROR_INVALID_ARGUMENT);
    CHECK_FAILS(xinfer_model_classify(m, rgb, W, H, 0, 3, NULL, &count), XINFER_ERROR_INVALID_ARGUMENT);
    CHECK_FAILS(xinfer_model_classify(m, rgb, W, H, 0, 3, p, NULL), XINFER_ERROR_INVALID_ARGUMENT);

    /* A real photo through the decoder. */
    CHECK_OK(xinfer_image_load(photo, &pixels, &w, &h));
    CHECK(pixels != NULL && w > 0 && h > 0);
    CHECK_OK(xinfer_model_classify(m, pixels, w, h, 0, 1, p, &count));
    CHECK(count == 1);
    { /* The same file's bytes decoded from memory: the same pixels. */
        FILE* f = fopen(photo, "rb");
        long size = -1;
        unsigned char* bytes = NULL;
        unsigned char* decoded = NULL;
        int dw = 0, dh = 0;
        CHECK(f != NULL);
        if (f && fseek(f, 0, SEEK_END) == 0) size = ftell(f);
        if (f && size > 0 && fseek(f, 0, SEEK_SET) == 0) bytes = (unsigned char*)malloc((size_t)size);
        if (bytes && fread(bytes, 1, (size_t)size, f) == (size_t)size) {
            CHECK_OK(xinfer_image_decode(bytes, (size_t)size, &decoded, &dw, &dh));
            CHECK(dw == w && dh == h && decoded && memcmp(decoded, pixels, (size_t)w * (size_t)h * 3) == 0);
            xinfer_free(decoded);
            CHECK_FAILS(xinfer_image_decode(bytes, (size_t)size / 3, &decoded, &dw, &dh), XINFER_ERROR_IO);
            CHECK(decoded == NULL);
        } else {
            CHECK(!"cannot read the photo");
        }
        if (f) fclose(f);
        free(bytes);
        xinfer_free(decoded);
    }
    xinfer_free(pixels);
    CHECK_FAILS(xinfer_image_load("/nonexistent.png", &pixels, &w, &h), XINFER_ERROR_IO);
    CHECK(pixels == NULL);
    CHECK_FAILS(xinfer_image_decode("not an image", 12, &pixels, &w, &h), XINFER_ERROR_IO);
    CHECK_FAILS(xinfer_image_decode(NULL, 0, &pixels, &w, &h), XINFER_ERROR_IO);
    CHECK_FAILS(xinfer_image_decode(rgb, 10, NULL, &w, &h), XINFER_ERROR_INVALID_ARGUMENT);
}

static void run_one(const xinfer_model* m, const float* x, float* y) {
    int64_t in_dims[4] = {1, SIDE, SIDE, 3}, out_dims[2] = {1, CLASSES};
    xinfer_tensor in = tensor((void*)x, XINFER_F32, 4, in_dims), out = tensor(y, XINFER_F32, 2, out_dims);
    CHECK_OK(xinfer_model_run(m, &in, 1, &out, 1, 0));
}

static void test_save_load(const xinfer_model* m, const char* tmpdir) {
    static float x[SIDE * SIDE * 3], y[CLASSES], y2[CLASSES];
    char path[512];
    void* bytes = NULL;
    size_t size = 0;
    xinfer_model* loaded = NULL;
    fill(x, SIDE * SIDE * 3);
    run_one(m, x, y);

    snprintf(path, sizeof path, "%s/c_api_model.xinf", tmpdir);
    CHECK_OK(xinfer_model_save(m, path));
    CHECK_OK(xinfer_model_load(path, NULL, &loaded));
    run_one(loaded, x, y2);
    CHECK(same(y, y2, CLASSES));
    xinfer_model_free(loaded);
    remove(path);
    CHECK_FAILS(xinfer_model_save(m, "/nonexistent/dir/m.xinf"), XINFER_ERROR_IO);
    CHECK_FAILS(xinfer_model_save(m, NULL), XINFER_ERROR_INVALID_ARGUMENT);

    CHECK_OK(xinfer_model_save_to_memory(m, &bytes, &size));
    CHECK(bytes != NULL && size > 1000);
    CHECK_OK(xinfer_model_load_from_memory(bytes, size, NULL, &loaded));
    memset(y2, 0, sizeof y2);
    run_one(loaded, x, y2);
    CHECK(same(y, y2, CLASSES));
    xinfer_model_free(loaded);
    loaded = NULL;
    /* Truncated anywhere: an error, never a crash. */
    {
        size_t cut;
        for (cut = 1; cut < size; cut = cut * 2 + 7) {
            CHECK(xinfer_model_load_from_memory(bytes, cut, NULL, &loaded) != XINFER_OK);
            CHECK(loaded == NULL);
        }
    }
    xinfer_free(bytes);
    CHECK_FAILS(xinfer_model_save_to_memory(m, NULL, &size), XINFER_ERROR_INVALID_ARGUMENT);
}

static void test_quantize(const xinfer_model* m) {
    enum { SAMPLES = 4, PIXELS = SIDE * SIDE * 3 };
    static float calib[SAMPLES][PIXELS], y[CLASSES], yq[CLASSES];
    int64_t dims[4] = {1, SIDE, SIDE, 3};
    xinfer_tensor samples[SAMPLES];
    xinfer_quantize_options* qo = NULL;
    xinfer_options* mo = NULL;
    xinfer_model* q = NULL;
    size_t s, agree = 0;
    int k;
    for (s = 0; s < SAMPLES; ++s) {
        fill(calib[s], PIXELS);
        samples[s] = tensor(calib[s], XINFER_F32, 4, dims);
    }
    CHECK_OK(xinfer_quantize_options_create(&qo));
    CHECK_FAILS(xinfer_quantize_options_set_method(qo, "median"), XINFER_ERROR_INVALID_ARGUMENT);
    CHECK_FAILS(xinfer_quantize_options_set_method(qo, NULL), XINFER_ERROR_INVALID_ARGUMENT);
    CHECK_FAILS(xinfer_quantize_options_set_weight_bits(qo, 9), XINFER_ERROR_INVALID_ARGUMENT);
    CHECK_FAILS(xinfer_quantize_options_set_percentile(qo, 0.0), XINFER_ERROR_INVALID_ARGUMENT);
    CHECK_FAILS(xinfer_quantize_options_create(NULL), XINFER_ERROR_INVALID_ARGUMENT);
    CHECK_OK(xinfer_quantize_options_set_method(qo, "percentile"));
    CHECK_OK(xinfer_quantize_options_set_percentile(qo, 99.9));
    CHECK_OK(xinfer_quantize_options_set_weight_bits(qo, 7));
    CHECK_OK(xinfer_quantize_options_set_bias_correction(qo, 0));
    CHECK_OK(xinfer_options_create(&mo));
    CHECK_OK(xinfer_options_set_threads(mo, 2));

    CHECK_OK(xinfer_model_quantize(m, samples, SAMPLES, qo, mo, &q));
    CHECK(q != NULL);
    /* The int8 model is a model: it runs, and mostly agrees with fp32 on the calibration inputs. */
    for (s = 0; s < SAMPLES && q; ++s) {
        int best = 0, best_q = 0;
        run_one(m, calib[s], y);
        run_one(q, calib[s], yq);
        for (k = 1; k < CLASSES; ++k) {
            if (y[k] > y[best]) best = k;
            if (yq[k] > yq[best_q]) best_q = k;
        }
        agree += best == best_q;
    }
    CHECK(agree >= SAMPLES / 2);
    xinfer_model_free(q);
    q = NULL;
    CHECK_OK(xinfer_model_quantize(m, samples, 2, NULL, NULL, &q));
    xinfer_model_free(q);

    CHECK_FAILS(xinfer_model_quantize(m, samples, 0, qo, mo, &q), XINFER_ERROR_INVALID_ARGUMENT);
    CHECK_FAILS(xinfer_model_quantize(m, NULL, 2, qo, mo, &q), XINFER_ERROR_INVALID_ARGUMENT);
    CHECK_FAILS(xinfer_model_quantize(m, samples, 2, qo, mo, NULL), XINFER_ERROR_INVALID_ARGUMENT);
    samples[1].dtype = XINFER_U8;
    CHECK_FAILS(xinfer_model_quantize(m, samples, 2, qo, mo, &q), XINFER_ERROR_INVALID_ARGUMENT);
    samples[1].dtype = XINFER_F32;
    dims[1] = 5;
    CHECK(xinfer_model_quantize(m, samples, 2, qo, mo, &q) != XINFER_OK);
    CHECK(q == NULL);
    xinfer_options_free(mo);
    xinfer_quantize_options_free(qo);
}

/* Several threads run the same model at once; each checks its results against a sequential run, and its own
 * error message (another thread's failure must not leak into it). */
enum { THREADS = 4, RUNS_PER_THREAD = 12 };
typedef struct {
    const xinfer_model* model;
    float x[SIDE * SIDE * 3];
    float expected[CLASSES];
    int mismatches;
    int message_leaks;
} worker_state;

static void* worker(void* arg) {
    worker_state* st = (worker_state*)arg;
    float y[CLASSES];
    int64_t in_dims[4] = {1, SIDE, SIDE, 3}, out_dims[2] = {1, CLASSES}, bad_dims[4] = {1, 3, 3, 3};
    int r;
    for (r = 0; r < RUNS_PER_THREAD; ++r) {
        xinfer_tensor in = tensor(st->x, XINFER_F32, 4, in_dims), out = tensor(y, XINFER_F32, 2, out_dims);
        xinfer_tensor bad = tensor(st->x, XINFER_F32, 4, bad_dims);
        if (xinfer_model_run(st->model, &in, 1, &out, 1, 0) != XINFER_OK || !same(y, st->expected, CLASSES))
            ++st->mismatches;
        if (strcmp(xinfer_last_error(), "") != 0) ++st->message_leaks;
        if (xinfer_model_run(st->model, &bad, 1, &out, 1, 0) == XINFER_OK || strlen(xinfer_last_error()) == 0)
            ++st->mismatches;
    }
    return NULL;
}

static void test_threads(const xinfer_model* m) {
    static worker_state states[THREADS];
    pthread_t threads[THREADS];
    int t;
    for (t = 0; t < THREADS; ++t) {
        states[t].model = m;
        fill(states[t].x, SIDE * SIDE * 3);
        run_one(m, states[t].x, states[t].expected);
        states[t].mismatches = states[t].message_leaks = 0;
    }
    for (t = 0; t < THREADS; ++t) CHECK(pthread_create(&threads[t], NULL, worker, &states[t]) == 0);
    for (t = 0; t < THREADS; ++t) pthread_join(threads[t], NULL);
    for (t = 0; t < THREADS; ++t) {
        CHECK(states[t].mismatches == 0);
        CHECK(states[t].message_leaks == 0);
    }
}

int main(int argc, char** argv) {
    xinfer_model* m = NULL;
    xinfer_options* o = NULL;
    if (argc != 3) {
        fprintf(stderr, "usage: %s PHOTO TMPDIR\n", argv[0]);
        return 2;
    }
    test_library();
    test_options();
    test_load_errors(argv[2]);
    CHECK_OK(xinfer_options_create(&o));
    CHECK_OK(xinfer_options_set_threads(o, 2));
    CHECK_OK(xinfer_model_load(BUILTIN, o, &m));
    xinfer_options_free(o);
    if (!m) {
        fprintf(stderr, "cannot load the built-in model: %s\n", xinfer_last_error());
        return 1;
    }
    test_introspection(m);
    test_run(m);
    test_classify(m, argv[1]);
    test_save_load(m, argv[2]);
    test_quantize(m);
    test_threads(m);
    xinfer_model_free(m);
    printf("%d checks, %d failed\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
