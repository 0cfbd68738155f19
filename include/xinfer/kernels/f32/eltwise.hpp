#pragma once
// Element-wise kernels: residual add (+clamp), standalone clamp and per-channel affine (unfolded batch norm).
#include <cstddef>
#include <xsimd/xsimd.hpp>

#include "xinfer/kernels/params.hpp"

namespace xinfer::kernels::f32 {

template <class Arch>
void add_f32(size_t n, const float* a, const float* b, float* y, MinMax mm) {
    using B = xsimd::batch<float, Arch>;
    constexpr size_t S = B::size;
    const B lo(mm.min), hi(mm.max);
    size_t i = 0;
    for (; i + S <= n; i += S)
        xsimd::min(xsimd::max(B::load_unaligned(a + i) + B::load_unaligned(b + i), lo), hi).store_unaligned(y + i);
    for (; i < n; ++i) y[i] = clamp(a[i] + b[i], mm);
}

template <class Arch>
void channel_affine_f32(size_t pixels, size_t C, const float* x, const float* scale, const float* shift, float* y,
                        MinMax mm) {
    using B = xsimd::batch<float, Arch>;
    constexpr size_t S = B::size;
    const B lo(mm.min), hi(mm.max);
    for (size_t p = 0; p < pixels; ++p) {
        const float* xp = x + p * C;
        float* yp = y + p * C;
        size_t c = 0;
        for (; c + S <= C; c += S) {
            const B v = xsimd::fma(B::load_unaligned(xp + c), B::load_unaligned(scale + c), B::load_unaligned(shift + c));
            xsimd::min(xsimd::max(v, lo), hi).store_unaligned(yp + c);
        }
        for (; c < C; ++c) yp[c] = clamp(xp[c] * scale[c] + shift[c], mm);
    }
}

}  // namespace xinfer::kernels::f32
