#pragma once
// Reference kernels of the generic (layout-free) tensor ops that imported graphs use around the convolutional core:
// transpose, broadcasting binary ops, unary activations, concat, softmax over any axis, batched matmul and
// constant padding. Row-major tensors of any rank; plain loops.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace xinfer::kernels::ref {

using Dims = std::vector<int64_t>;

inline std::vector<size_t> row_major_strides(const Dims& d) {
    std::vector<size_t> s(d.size(), 1);
    for (size_t i = d.size(); i-- > 1;) s[i - 1] = s[i] * size_t(d[i]);
    return s;
}

// Element strides of `d` seen from an output of rank `rank` (numpy broadcasting: aligned at the last dimension;
// broadcast dimensions get stride 0).
inline std::vector<size_t> broadcast_strides(const Dims& d, size_t rank) {
    const auto s = row_major_strides(d);
    std::vector<size_t> out(rank, 0);
    const size_t off = rank - d.size();
    for (size_t i = 0; i < d.size(); ++i) out[off + i] = d[i] == 1 ? 0 : s[i];
    return out;
}

// Calls f(out_index, multi_index) over every element of `d` in row-major order.
template <class F>
void for_each_index(const Dims& d, F&& f) {
    size_t total = 1;
    for (auto v : d) total *= size_t(v);
    std::vector<int64_t> idx(d.size(), 0);
    for (size_t i = 0; i < total; ++i) {
        f(i, idx);
        for (size_t k = d.size(); k-- > 0;) {
            if (++idx[k] < d[k]) break;
            idx[k] = 0;
        }
    }
}

// y[b][j][i] = x[b][i][j] for B matrices of rows x cols, in tiles that keep reads and writes within a few lines.
namespace detail {
// A matrix with ROWS (<= 4) rows, e.g. the 3 colour planes of an image: the rows are interleaved, ROWS values per
// output step, as straight-line code the compiler can vectorise.
template <size_t ROWS>
void interleave_rows(size_t cols, const float* x, float* y) {
    for (size_t j = 0; j < cols; ++j)
        for (size_t i = 0; i < ROWS; ++i) y[j * ROWS + i] = x[i * cols + j];
}
}  // namespace detail

inline void transpose_matrices_f32(size_t B, size_t rows, size_t cols, const float* x, float* y) {
    constexpr size_t T = 32;
    if (rows >= 2 && rows <= 4) {
        auto interleave = rows == 2 ? detail::interleave_rows<2>
                          : rows == 3 ? detail::interleave_rows<3> : detail::interleave_rows<4>;
        for (size_t b = 0; b < B; ++b) interleave(cols, x + b * rows * cols, y + b * rows * cols);
        return;
    }
    for (size_t b = 0; b < B; ++b, x += rows * cols, y += rows * cols)
        for (size_t j0 = 0; j0 < cols; j0 += T)
            for (size_t i0 = 0; i0 < rows; i0 += T) {
                const size_t j1 = std::min(cols, j0 + T), i1 = std::min(rows, i0 + T);
                for (size_t j = j0; j < j1; ++j)
                    for (size_t i = i0; i < i1; ++i) y[j * rows + i] = x[i * cols + j];
            }
}

// y = x transposed: y's dimension i is x's dimension perm[i]. A permutation that moves one axis past a block of
// others (NCHW <-> NHWC) is a batch of matrix transposes. Other ranks up to 6 run as six plain nested loops over
// the output (contiguous writes, strided reads); higher ranks take the general index walk.
inline void transpose_f32(const Dims& x_dims, const std::vector<int64_t>& perm, const float* x, float* y) {
    const size_t r = perm.size();
    // perm = [0 .. k-1, then the axes k .. r-1 rotated by `shift`]: batch = dims[0 .. k), the rest a matrix.
    size_t k = 0;
    while (k < r && perm[k] == int64_t(k)) ++k;
    if (k + 1 < r) {
        const size_t shift = size_t(perm[k]) - k;  // perm[k + i] = k + (shift + i) mod (r - k)
        bool rotation = shift > 0;
        for (size_t i = 0; rotation && i < r - k; ++i) rotation = perm[k + i] == int64_t(k + (shift + i) % (r - k));
        if (rotation) {
            size_t batch = 1, rows = 1, cols = 1;
            for (size_t i = 0; i < k; ++i) batch *= size_t(x_dims[i]);
            for (size_t i = k; i < k + shift; ++i) rows *= size_t(x_dims[i]);
            for (size_t i = k + shift; i < r; ++i) cols *= size_t(x_dims[i]);
            return transpose_matrices_f32(batch, rows, cols, x, y);
        }
    }
    const auto xs = row_major_strides(x_dims);
    if (r <= 6) {
        size_t d[6] = {1, 1, 1, 1, 1, 1}, s[6] = {0, 0, 0, 0, 0, 0};
        for (size_t i = 0; i < r; ++i) d[6 - r + i] = size_t(x_dims[size_t(perm[i])]), s[6 - r + i] = xs[size_t(perm[i])];
        for (size_t i0 = 0; i0 < d[0]; ++i0)
            for (size_t i1 = 0; i1 < d[1]; ++i1)
                for (size_t i2 = 0; i2 < d[2]; ++i2)
                    for (size_t i3 = 0; i3 < d[3]; ++i3)
                        for (size_t i4 = 0; i4 < d[4]; ++i4) {
                            const float* src = x + i0 * s[0] + i1 * s[1] + i2 * s[2] + i3 * s[3] + i4 * s[4];
                            for (size_t i5 = 0; i5 < d[5]; ++i5) *y++ = src[i5 * s[5]];
                        }
        return;
    }
    Dims y_dims(r);
    for (size_t i = 0; i < r; ++i) y_dims[i] = x_dims[size_t(perm[i])];
    for_each_index(y_dims, [&](size_t o, const std::vector<int64_t>& idx) {
        size_t src = 0;
        for (size_t i = 0; i < r; ++i) src += size_t(idx[i]) * xs[size_t(perm[i])];
        y[o] = x[src];
    });
}

enum class BinaryOp { add, sub, mul, div, max, min, pow };

inline float apply(BinaryOp op, float a, float b) {
    switch (op) {
        case BinaryOp::add: return a + b;
        case BinaryOp::sub: return a - b;
        case BinaryOp::mul: return a * b;
        case BinaryOp::div: return a / b;
        case BinaryOp::max: return a > b ? a : b;
        case BinaryOp::min: return a < b ? a : b;
        case BinaryOp::pow: return std::pow(a, b);
    }
    return 0.0f;
}

// Numpy broadcasting: a and b are aligned at their last dimension; y has y_dims.
inline void binary_f32(BinaryOp op, const Dims& a_dims, const float* a, const Dims& b_dims, const float* b,
                       const Dims& y_dims, float* y) {
    const auto as = broadcast_strides(a_dims, y_dims.size()), bs = broadcast_strides(b_dims, y_dims.size());
    for_each_index(y_dims, [&](size_t o, const std::vector<int64_t>& idx) {
        size_t ia = 0, ib = 0;
        for (size_t i = 0; i < idx.size(); ++i) ia += size_t(idx[i]) * as[i], ib += size_t(idx[i]) * bs[i];
        y[o] = apply(op, a[ia], b[ib]);
    });
}

enum class UnaryOp { relu, sigmoid, hard_sigmoid, hard_swish, tanh, exp, neg, abs, sqrt, clip, leaky_relu };

struct UnaryParams {
    float alpha = 0.2f, beta = 0.5f;  // hard_sigmoid: max(0, min(1, alpha x + beta)); leaky_relu: alpha
    float min = -INFINITY, max = INFINITY;
};

inline float apply(UnaryOp op, float x, const UnaryParams& p) {
    switch (op) {
        case UnaryOp::relu: return x > 0.0f ? x : 0.0f;
        case UnaryOp::sigmoid: return 1.0f / (1.0f + std::exp(-x));
        case UnaryOp::hard_sigmoid: return std::max(0.0f, std::min(1.0f, p.alpha * x + p.beta));
        case UnaryOp::hard_swish: return x * std::max(0.0f, std::min(1.0f, x / 6.0f + 0.5f));
        case UnaryOp::tanh: return std::tanh(x);
        case UnaryOp::exp: return std::exp(x);
        case UnaryOp::neg: return -x;
        case UnaryOp::abs: return std::fabs(x);
        case UnaryOp::sqrt: return std::sqrt(x);
        case UnaryOp::clip: return x < p.min ? p.min : (x > p.max ? p.max : x);
        case UnaryOp::leaky_relu: return x >= 0.0f ? x : p.alpha * x;
    }
    return 0.0f;
}

inline void unary_f32(UnaryOp op, const UnaryParams& p, size_t n, const float* x, float* y) {
    for (size_t i = 0; i < n; ++i) y[i] = apply(op, x[i], p);
}

// Concatenation along `axis` of inputs that agree on every other dimension.
inline void concat_f32(size_t count, const Dims* dims, const void* const* xs, size_t axis, float* y) {
    size_t outer = 1, inner = 1;
    for (size_t i = 0; i < axis; ++i) outer *= size_t(dims[0][i]);
    for (size_t i = axis + 1; i < dims[0].size(); ++i) inner *= size_t(dims[0][i]);
    for (size_t o = 0; o < outer; ++o)
        for (size_t k = 0; k < count; ++k) {
            const float* xk = static_cast<const float*>(xs[k]);
            const size_t run = size_t(dims[k][axis]) * inner;
            std::copy(xk + o * run, xk + (o + 1) * run, y);
            y += run;
        }
}

// Softmax over the dimensions [axis, axis + count) taken together (count = 1: one axis; ONNX before opset 13
// flattens every dimension from axis on).
inline void softmax_axes_f32(const Dims& d, size_t axis, size_t count, const float* x, float* y) {
    size_t outer = 1, len = 1, inner = 1;
    for (size_t i = 0; i < axis; ++i) outer *= size_t(d[i]);
    for (size_t i = axis; i < axis + count; ++i) len *= size_t(d[i]);
    for (size_t i = axis + count; i < d.size(); ++i) inner *= size_t(d[i]);
    for (size_t o = 0; o < outer; ++o)
        for (size_t in = 0; in < inner; ++in) {
            const float* xp = x + o * len * inner + in;
            float* yp = y + o * len * inner + in;
            float mx = xp[0];
            for (size_t l = 1; l < len; ++l) mx = std::max(mx, xp[l * inner]);
            double sum = 0;
            for (size_t l = 0; l < len; ++l) sum += (yp[l * inner] = std::exp(xp[l * inner] - mx));
            for (size_t l = 0; l < len; ++l) yp[l * inner] = float(yp[l * inner] / sum);
        }
}

// Batched matrix product with numpy broadcasting of the batch dimensions; a is [..., M, K], b is [..., K, N]
// (1-D operands already promoted by the caller), y is [..., M, N].
inline void matmul_f32(const Dims& a_dims, const float* a, const Dims& b_dims, const float* b, const Dims& y_dims,
                       float* y) {
    const size_t r = y_dims.size();
    const size_t M = size_t(y_dims[r - 2]), N = size_t(y_dims[r - 1]), K = size_t(a_dims.back());
    Dims batch(y_dims.begin(), y_dims.end() - 2);
    const auto as = broadcast_strides(Dims(a_dims.begin(), a_dims.end() - 2), batch.size()),
               bs = broadcast_strides(Dims(b_dims.begin(), b_dims.end() - 2), batch.size());
    for_each_index(batch, [&](size_t o, const std::vector<int64_t>& idx) {
        size_t ia = 0, ib = 0;
        for (size_t i = 0; i < idx.size(); ++i) ia += size_t(idx[i]) * as[i], ib += size_t(idx[i]) * bs[i];
        const float* ap = a + ia * M * K;
        const float* bp = b + ib * K * N;
        float* yp = y + o * M * N;
        for (size_t m = 0; m < M; ++m)
            for (size_t n = 0; n < N; ++n) {
                double acc = 0;
                for (size_t k = 0; k < K; ++k) acc += double(ap[m * K + k]) * double(bp[k * N + n]);
                yp[m * N + n] = float(acc);
            }
    });
}

// Constant padding: pads[i] before and pads[rank + i] after dimension i (ONNX order); negative pads crop.
inline void pad_f32(const Dims& x_dims, const std::vector<int64_t>& pads, float value, const float* x,
                    const Dims& y_dims, float* y) {
    const size_t rank = x_dims.size();
    const auto xs = row_major_strides(x_dims);
    for_each_index(y_dims, [&](size_t o, const std::vector<int64_t>& idx) {
        size_t src = 0;
        for (size_t i = 0; i < rank; ++i) {
            const int64_t xi = idx[i] - pads[i];
            if (xi < 0 || xi >= x_dims[i]) {
                y[o] = value;
                return;
            }
            src += size_t(xi) * xs[i];
        }
        y[o] = x[src];
    });
}

}  // namespace xinfer::kernels::ref
