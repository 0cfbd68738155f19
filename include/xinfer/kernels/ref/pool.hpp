#pragma once
// Reference pooling over NHWC images.
#include <cstddef>
#include <cstdint>
#include <limits>

#include "xinfer/core/shape.hpp"
#include "xinfer/kernels/params.hpp"
#include "xinfer/kernels/ref/requantize.hpp"

namespace xinfer::kernels::ref {

// y[c] = mean over the HW pixels of x[HW][C].
inline void global_avg_pool_f32(size_t HW, size_t C, const float* x, float* y) {
    for (size_t c = 0; c < C; ++c) {
        double sum = 0.0;
        for (size_t p = 0; p < HW; ++p) sum += x[p * C + c];
        y[c] = float(sum / double(HW));
    }
}

// x: [HW][C] -> y: [C], y[c] = requantize(sum_p (x[p][c] - x_zero), multiplier) with multiplier = s_x / (s_y HW).
inline void global_avg_pool_s8(size_t HW, size_t C, const int8_t* x, int32_t x_zero, float multiplier, int8_t* y,
                               Requant rq) {
    for (size_t c = 0; c < C; ++c) {
        int32_t acc = 0;
        for (size_t p = 0; p < HW; ++p) acc += int32_t(x[p * C + c]) - x_zero;
        y[c] = requantize(acc, multiplier, rq.zero_point, rq.lo, rq.hi);
    }
}

// Average pooling; padded positions count in the divisor only when count_include_pad.
inline void avg_pool_f32(size_t H, size_t W, size_t C, const float* x, const Window2D& win, bool count_include_pad,
                         float* y) {
    const size_t OH = size_t(win.out_h(int(H))), OW = size_t(win.out_w(int(W)));
    for (size_t oy = 0; oy < OH; ++oy)
        for (size_t ox = 0; ox < OW; ++ox)
            for (size_t c = 0; c < C; ++c) {
                float sum = 0.0f;
                int count = 0, padded_count = 0;
                for (int ky = 0; ky < win.kernel_h; ++ky)
                    for (int kx = 0; kx < win.kernel_w; ++kx) {
                        const long iy = long(oy) * win.stride_h - win.pads.top + long(ky) * win.dilation_h;
                        const long ix = long(ox) * win.stride_w - win.pads.left + long(kx) * win.dilation_w;
                        const bool inside_pads = iy >= -long(win.pads.top) && iy < long(H) + win.pads.bottom &&
                                                 ix >= -long(win.pads.left) && ix < long(W) + win.pads.right;
                        padded_count += inside_pads;
                        if (iy < 0 || iy >= long(H) || ix < 0 || ix >= long(W)) continue;
                        sum += x[(size_t(iy) * W + size_t(ix)) * C + c];
                        ++count;
                    }
                const int divisor = count_include_pad ? padded_count : count;
                y[(oy * OW + ox) * C + c] = divisor ? sum / float(divisor) : 0.0f;
            }
}

inline void max_pool_f32(size_t H, size_t W, size_t C, const float* x, const Window2D& win, float* y) {
    const size_t OH = size_t(win.out_h(int(H))), OW = size_t(win.out_w(int(W)));
    for (size_t oy = 0; oy < OH; ++oy)
        for (size_t ox = 0; ox < OW; ++ox)
            for (size_t c = 0; c < C; ++c) {
                float best = -std::numeric_limits<float>::infinity();
                for (int ky = 0; ky < win.kernel_h; ++ky)
                    for (int kx = 0; kx < win.kernel_w; ++kx) {
                        const long iy = long(oy) * win.stride_h - win.pads.top + long(ky) * win.dilation_h;
                        const long ix = long(ox) * win.stride_w - win.pads.left + long(kx) * win.dilation_w;
                        if (iy < 0 || iy >= long(H) || ix < 0 || ix >= long(W)) continue;
                        const float v = x[(size_t(iy) * W + size_t(ix)) * C + c];
                        best = v > best ? v : best;
                    }
                y[(oy * OW + ox) * C + c] = best;
            }
}

}  // namespace xinfer::kernels::ref
