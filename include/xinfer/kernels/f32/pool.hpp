#pragma once
// Pooling over NHWC: channels are the vector axis.
#include <algorithm>
#include <cstddef>
#include <limits>
#include <xsimd/xsimd.hpp>

#include "xinfer/core/shape.hpp"

namespace xinfer::kernels::f32 {

// y[c] = mean over HW pixels of x[HW][C], channels [c_begin, c_end).
template <class Arch>
void global_avg_pool_f32(size_t HW, size_t C, const float* x, float* y, size_t c_begin, size_t c_end) {
    using B = xsimd::batch<float, Arch>;
    constexpr size_t S = B::size;
    const float inv = 1.0f / float(HW);
    size_t c = c_begin;
    for (; c + S <= c_end; c += S) {
        B sum(0.0f);
        for (size_t p = 0; p < HW; ++p) sum += B::load_unaligned(x + p * C + c);
        (sum * B(inv)).store_unaligned(y + c);
    }
    for (; c < c_end; ++c) {
        float sum = 0.0f;
        for (size_t p = 0; p < HW; ++p) sum += x[p * C + c];
        y[c] = sum * inv;
    }
}

}  // namespace xinfer::kernels::f32

namespace xinfer::kernels::f32 {

enum class PoolMode { average, max };

// Average or max pooling over NHWC, output rows [oy_begin, oy_end); channels are the vector axis.
template <class Arch>
void pool2d_f32(size_t H, size_t W, size_t C, const float* x, const Window2D& win, PoolMode mode,
                bool count_include_pad, float* y, size_t OW, size_t oy_begin, size_t oy_end) {
    using B = xsimd::batch<float, Arch>;
    constexpr size_t S = B::size;
    for (size_t oy = oy_begin; oy < oy_end; ++oy)
        for (size_t ox = 0; ox < OW; ++ox) {
            int count = 0, padded_count = 0;
            const long iy0 = long(oy) * win.stride_h - win.pads.top, ix0 = long(ox) * win.stride_w - win.pads.left;
            for (int ky = 0; ky < win.kernel_h; ++ky)
                for (int kx = 0; kx < win.kernel_w; ++kx) {
                    const long iy = iy0 + long(ky) * win.dilation_h, ix = ix0 + long(kx) * win.dilation_w;
                    padded_count += iy >= -long(win.pads.top) && iy < long(H) + win.pads.bottom &&
                                    ix >= -long(win.pads.left) && ix < long(W) + win.pads.right;
                    count += iy >= 0 && iy < long(H) && ix >= 0 && ix < long(W);
                }
            const int divisor = count_include_pad ? padded_count : count;
            const float inv = divisor ? 1.0f / float(divisor) : 0.0f;
            float* out = y + (oy * OW + ox) * C;
            for (size_t c = 0; c < C; c += S) {
                const size_t cn = std::min(S, C - c);
                B acc(mode == PoolMode::max ? -std::numeric_limits<float>::infinity() : 0.0f);
                for (int ky = 0; ky < win.kernel_h; ++ky) {
                    const long iy = iy0 + long(ky) * win.dilation_h;
                    if (iy < 0 || iy >= long(H)) continue;
                    for (int kx = 0; kx < win.kernel_w; ++kx) {
                        const long ix = ix0 + long(kx) * win.dilation_w;
                        if (ix < 0 || ix >= long(W)) continue;
                        const B v = B::load_unaligned(x + (size_t(iy) * W + size_t(ix)) * C + c);  // may over-read
                        acc = mode == PoolMode::max ? xsimd::max(acc, v) : acc + v;
                    }
                }
                if (mode == PoolMode::average) acc = acc * B(inv);
                alignas(64) float tmp[S];
                acc.store_aligned(tmp);
                std::copy(tmp, tmp + cn, out + c);
            }
        }
}

}  // namespace xinfer::kernels::f32
