#pragma once
// Op: one layer, split into build (constructor: validate, pack weights, choose a kernel), plan (output shape and
// workspace bytes for given input shapes) and run (pointers only: no allocation, no throw).
#include <cstddef>
#include <string>
#include <vector>

#include "xinfer/core/dtype.hpp"
#include "xinfer/core/shape.hpp"
#include "xinfer/core/thread_pool.hpp"

namespace xinfer::ops {

// Which kernels an op runs: the optimized SIMD ones, or the scalar references (the executable spec).
enum class KernelSet { optimized, reference };

struct RunArgs {
    const void* const* inputs;   // one pointer per op input (activations only; weights live in the op)
    const Shape* input_shapes;
    void* output;
    const Shape* output_shape;
    void* workspace;             // workspace_bytes() bytes, 64-byte aligned
    ThreadPool* pool;
};

class Op {
public:
    virtual ~Op() = default;
    // Short description of the op and the kernel it chose, e.g. "Conv2D gemm 1x1".
    virtual std::string kind() const = 0;
    virtual size_t num_inputs() const { return 1; }
    // Element types of the activation inputs and of the output.
    virtual DataType input_dtype(size_t /*index*/) const { return DataType::f32; }
    virtual DataType output_dtype() const { return DataType::f32; }
    // Throws Error(shape_mismatch) when the input shapes do not fit the op.
    virtual Shape output_shape(const std::vector<Shape>& inputs) const = 0;
    virtual size_t workspace_bytes(const std::vector<Shape>& /*inputs*/, int /*threads*/) const { return 0; }
    virtual void run(const RunArgs& args) const = 0;
    // Multiply-accumulates of one run, for reports (0 where not meaningful).
    virtual size_t macs(const std::vector<Shape>& /*inputs*/, const Shape& /*output*/) const { return 0; }
    virtual size_t parameter_bytes() const { return 0; }
};

inline void check_rank(const Shape& s, size_t rank, const std::string& who) {
    XINFER_CHECK(s.size() == rank, ErrorCode::shape_mismatch, who, ": expected a rank-", rank, " input, got ",
                 to_string(s));
}

// [N, ...] -> [N, n_out] for a dense layer of k inputs (the trailing dimensions flattened).
inline Shape dense_output_shape(const Shape& x, size_t k, size_t n_out, const std::string& who) {
    XINFER_CHECK(x.size() >= 2, ErrorCode::shape_mismatch, who, ": expected a batched input, got ", to_string(x));
    XINFER_CHECK(checked_numel(Shape(x.begin() + 1, x.end())) == k, ErrorCode::shape_mismatch, who, ": expected ", k,
                 " input features, got shape ", to_string(x));
    return {x[0], int64_t(n_out)};
}

// NHWC [N, H, W, cin] -> [N, OH, OW, cout] for a convolution window.
inline Shape conv_output_shape(const Shape& x, const Window2D& w, size_t cin, size_t cout, const std::string& who) {
    check_rank(x, 4, who);
    XINFER_CHECK(size_t(x[3]) == cin, ErrorCode::shape_mismatch, who, ": expected ", cin, " input channels, got shape ",
                 to_string(x));
    const int oh = w.out_h(int(x[1])), ow = w.out_w(int(x[2]));
    XINFER_CHECK(oh > 0 && ow > 0, ErrorCode::shape_mismatch, who, ": input ", to_string(x), " is smaller than the ",
                 w.kernel_h, "x", w.kernel_w, " window");
    return {x[0], oh, ow, int64_t(cout)};
}

// Splits `count` items into up to `chunks_per_thread` chunks per thread; the threads claim them one at a time, so
// more chunks balance better when a core is busy elsewhere, at the cost of smaller pieces.
template <class F>
void parallel_chunks(ThreadPool* pool, size_t count, F&& fn, size_t chunks_per_thread = 4) {
    if (!pool || pool->threads() == 1) return fn(size_t(0), count);
    pool->parallel_for(count, fn, chunks_per_thread);
}

// Splits a GEMM of M rows (tiles of mr) and `panels` weight panels over the pool; fn(m0, m1, p0, p1). Many rows:
// by row tiles. Few rows (the late layers: large weights, small activations): by panels, so each thread streams
// only its share of the weights. panels == 0 means the kernel cannot split its panels.
template <class F>
void parallel_gemm(ThreadPool* pool, size_t M, size_t mr, size_t panels, F&& fn) {
    const size_t threads = pool ? size_t(pool->threads()) : 1, tiles = (M + mr - 1) / mr;
    if (threads == 1) return fn(size_t(0), M, size_t(0), panels);
    if (panels < 2 * threads || tiles >= 8 * threads)
        return parallel_chunks(
            pool, tiles, [&](size_t t0, size_t t1) { fn(t0 * mr, std::min(M, t1 * mr), size_t(0), panels); },
            tiles >= 32 * threads ? 4 : 2);
    parallel_chunks(pool, panels, [&](size_t p0, size_t p1) { fn(size_t(0), M, p0, p1); }, 2);
}

}  // namespace xinfer::ops
