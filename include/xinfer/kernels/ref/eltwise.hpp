#pragma once
// Reference element-wise kernels.
#include <cstddef>
#include <cstdint>

#include "xinfer/kernels/params.hpp"
#include "xinfer/kernels/ref/requantize.hpp"

namespace xinfer::kernels::ref {

// y = clamp(a + b): the residual add of an inverted-residual block.
inline void add_f32(size_t n, const float* a, const float* b, float* y, MinMax mm) {
    for (size_t i = 0; i < n; ++i) y[i] = clamp(a[i] + b[i], mm);
}

// y[p][c] = clamp(x[p][c] * scale[c] + shift[c]): a standalone (unfolded) batch normalization.
inline void channel_affine_f32(size_t pixels, size_t C, const float* x, const float* scale, const float* shift,
                               float* y, MinMax mm) {
    for (size_t p = 0; p < pixels; ++p)
        for (size_t c = 0; c < C; ++c) y[p * C + c] = clamp(x[p * C + c] * scale[c] + shift[c], mm);
}

// y[i] = add_requantize(a[i] - a_zero, b[i] - b_zero, ma, mb).
inline void add_s8(size_t n, const int8_t* a, int32_t a_zero, float ma, const int8_t* b, int32_t b_zero, float mb,
                   int8_t* y, Requant rq) {
    for (size_t i = 0; i < n; ++i)
        y[i] = add_requantize(int32_t(a[i]) - a_zero, int32_t(b[i]) - b_zero, ma, mb, rq.zero_point, rq.lo, rq.hi);
}

}  // namespace xinfer::kernels::ref
