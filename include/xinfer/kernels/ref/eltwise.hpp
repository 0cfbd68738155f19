#pragma once
// Reference element-wise kernels.
#include <cstddef>

#include "xinfer/kernels/params.hpp"

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

}  // namespace xinfer::kernels::ref
