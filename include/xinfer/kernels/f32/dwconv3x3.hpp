#pragma once
// Depthwise 3x3 convolution over NHWC, stride 1 or 2, explicit pads, fused bias + clamp.
// Channels are the vector axis. Packed layout ("dwconv_hwg" source: w[C][3][3][1], bias[C]): per block of S
// channels, S biases then the 9 taps' S weights, zero-padded past C.
// Missing input rows (top/bottom padding) read from a caller-provided zero row with a pixel step of 0, so the
// interior loop has no branches; left/right padding is handled per edge pixel.
#include <algorithm>
#include <cstddef>
#include <xsimd/xsimd.hpp>

#include "xinfer/config.hpp"
#include "xinfer/core/shape.hpp"
#include "xinfer/kernels/params.hpp"

namespace xinfer::kernels::f32 {

inline size_t dwconv3x3_channel_block(size_t simd) { return simd; }
inline size_t packed_dwconv3x3_floats(size_t C, size_t S) { return (C + S - 1) / S * S * 10; }

inline void pack_dwconv3x3_hwg(size_t C, size_t S, const float* w, const float* bias, float* packed) {
    for (size_t c0 = 0; c0 < C; c0 += S) {
        for (size_t j = 0; j < S; ++j) *packed++ = (c0 + j < C && bias) ? bias[c0 + j] : 0.0f;
        for (size_t t = 0; t < 9; ++t)
            for (size_t j = 0; j < S; ++j) *packed++ = c0 + j < C ? w[(c0 + j) * 9 + t] : 0.0f;
    }
}

// Output rows [oy_begin, oy_end) of one image. `zeros` must hold at least round_up(C, S) + S zero floats.
template <class Arch>
void dwconv3x3_f32(size_t H, size_t W, size_t C, const float* x, const float* packed, const float* zeros, int stride,
                   const Pads& pads, float* y, size_t OH, size_t OW, MinMax mm, size_t oy_begin, size_t oy_end) {
    using B = xsimd::batch<float, Arch>;
    constexpr size_t S = B::size;
    XINFER_ASSERT(stride == 1 || stride == 2);
    XINFER_ASSERT(oy_end <= OH);
    (void)OH;
    const B lo(mm.min), hi(mm.max);
    // Output columns whose 3 taps are all inside the input.
    const long pl = pads.left;
    size_t ox_lo = size_t((pl + stride - 1) / stride);
    long hi_calc = (long(W) - 3 + pl) / stride;  // last ox with ix0 + 2 <= W - 1
    size_t ox_hi = (long(W) - 3 + pl) < 0 ? 0 : size_t(hi_calc + 1);
    ox_lo = std::min(ox_lo, OW);
    ox_hi = std::min(std::max(ox_hi, ox_lo), OW);

    for (size_t oy = oy_begin; oy < oy_end; ++oy) {
        const float* rows[3];
        size_t steps[3];
        for (int ky = 0; ky < 3; ++ky) {
            const long iy = long(oy) * stride - pads.top + ky;
            const bool inside = iy >= 0 && iy < long(H);
            rows[ky] = inside ? x + size_t(iy) * W * C : zeros;
            steps[ky] = inside ? C : 0;
        }
        float* yrow = y + oy * OW * C;
        for (size_t c0 = 0; c0 < C; c0 += S) {
            const float* wp = packed + (c0 / S) * S * 10;
            const B bias = B::load_unaligned(wp);
            B wt[9];
XINFER_UNROLL
            for (int t = 0; t < 9; ++t) wt[t] = B::load_unaligned(wp + S * (t + 1));
            const size_t cn = std::min(S, C - c0);
            auto store = [&](float* dst, B v) {
                v = xsimd::min(xsimd::max(v, lo), hi);
                if (cn == S) {
                    v.store_unaligned(dst);
                } else {
                    alignas(64) float tmp[S];
                    v.store_aligned(tmp);
                    std::copy(tmp, tmp + cn, dst);
                }
            };
            // Edge columns: check every tap.
            auto edge = [&](size_t ox) {
                B acc = bias;
                const long ix0 = long(ox) * stride - pl;
XINFER_UNROLL
                for (int ky = 0; ky < 3; ++ky)
XINFER_UNROLL
                    for (int kx = 0; kx < 3; ++kx) {
                        const long ix = ix0 + kx;
                        if (ix < 0 || ix >= long(W)) continue;
                        acc = xsimd::fma(B::load_unaligned(rows[ky] + size_t(ix) * steps[ky] + c0), wt[ky * 3 + kx], acc);
                    }
                store(yrow + ox * C + c0, acc);
            };
            for (size_t ox = 0; ox < ox_lo; ++ox) edge(ox);
            const float* r0 = rows[0] + c0;
            const float* r1 = rows[1] + c0;
            const float* r2 = rows[2] + c0;
            const size_t s0 = steps[0], s1 = steps[1], s2 = steps[2];
            for (size_t ox = ox_lo; ox < ox_hi; ++ox) {
                const size_t ix = ox * stride - size_t(pl);
                B acc = xsimd::fma(B::load_unaligned(r0 + ix * s0), wt[0], bias);
                acc = xsimd::fma(B::load_unaligned(r0 + (ix + 1) * s0), wt[1], acc);
                acc = xsimd::fma(B::load_unaligned(r0 + (ix + 2) * s0), wt[2], acc);
                acc = xsimd::fma(B::load_unaligned(r1 + ix * s1), wt[3], acc);
                acc = xsimd::fma(B::load_unaligned(r1 + (ix + 1) * s1), wt[4], acc);
                acc = xsimd::fma(B::load_unaligned(r1 + (ix + 2) * s1), wt[5], acc);
                acc = xsimd::fma(B::load_unaligned(r2 + ix * s2), wt[6], acc);
                acc = xsimd::fma(B::load_unaligned(r2 + (ix + 1) * s2), wt[7], acc);
                acc = xsimd::fma(B::load_unaligned(r2 + (ix + 2) * s2), wt[8], acc);
                store(yrow + ox * C + c0, acc);
            }
            for (size_t ox = ox_hi; ox < OW; ++ox) edge(ox);
        }
    }
}

}  // namespace xinfer::kernels::f32
