#pragma once
// Reference 2-D convolution over NHWC: any kernel, stride, dilation, asymmetric pads and groups. int8: exact int32
// accumulation, padding positions holding the input zero point (the real value 0), requantized as in
// ref/requantize.hpp.
#include <cstddef>
#include <cstdint>

#include "xinfer/config.hpp"
#include "xinfer/core/shape.hpp"
#include "xinfer/kernels/params.hpp"
#include "xinfer/kernels/ref/requantize.hpp"

namespace xinfer::kernels::ref {

// x: [H][W][Cin] (one image), w: OHWI [Cout][KH][KW][Cin/groups], bias: [Cout] or null, y: [OH][OW][Cout].
inline void conv2d_nhwc_f32(size_t H, size_t W, size_t Cin, const float* x, const Window2D& win, size_t groups,
                            size_t Cout, const float* w, const float* bias, float* y, MinMax mm) {
    XINFER_ASSERT(groups >= 1 && Cin % groups == 0 && Cout % groups == 0);
    const size_t OH = size_t(win.out_h(int(H))), OW = size_t(win.out_w(int(W)));
    const size_t cin_g = Cin / groups, cout_g = Cout / groups;
    for (size_t oy = 0; oy < OH; ++oy)
        for (size_t ox = 0; ox < OW; ++ox)
            for (size_t co = 0; co < Cout; ++co) {
                const size_t g = co / cout_g;
                double acc = bias ? bias[co] : 0.0;
                for (int ky = 0; ky < win.kernel_h; ++ky) {
                    const long iy = long(oy) * win.stride_h - win.pads.top + long(ky) * win.dilation_h;
                    if (iy < 0 || iy >= long(H)) continue;
                    for (int kx = 0; kx < win.kernel_w; ++kx) {
                        const long ix = long(ox) * win.stride_w - win.pads.left + long(kx) * win.dilation_w;
                        if (ix < 0 || ix >= long(W)) continue;
                        const float* xp = x + (size_t(iy) * W + size_t(ix)) * Cin + g * cin_g;
                        const float* wp = w + ((co * win.kernel_h + ky) * win.kernel_w + kx) * cin_g;
                        for (size_t ci = 0; ci < cin_g; ++ci) acc += double(xp[ci]) * double(wp[ci]);
                    }
                }
                y[(oy * OW + ox) * Cout + co] = clamp(float(acc), mm);
            }
}

// x: [H][W][Cin] (one image), w: OHWI [Cout][KH][KW][Cin/groups], y: [OH][OW][Cout].
inline void conv2d_nhwc_s8(size_t H, size_t W, size_t Cin, const int8_t* x, int32_t x_zero, const Window2D& win,
                           size_t groups, size_t Cout, const int8_t* w, const int32_t* bias, const float* multiplier,
                           int8_t* y, Requant rq) {
    const size_t OH = size_t(win.out_h(int(H))), OW = size_t(win.out_w(int(W)));
    const size_t cin_g = Cin / groups, cout_g = Cout / groups;
    for (size_t oy = 0; oy < OH; ++oy)
        for (size_t ox = 0; ox < OW; ++ox)
            for (size_t co = 0; co < Cout; ++co) {
                const size_t g = co / cout_g;
                int32_t acc = bias ? bias[co] : 0;
                for (int ky = 0; ky < win.kernel_h; ++ky) {
                    const long iy = long(oy) * win.stride_h - win.pads.top + long(ky) * win.dilation_h;
                    if (iy < 0 || iy >= long(H)) continue;  // padding: x - x_zero = 0
                    for (int kx = 0; kx < win.kernel_w; ++kx) {
                        const long ix = long(ox) * win.stride_w - win.pads.left + long(kx) * win.dilation_w;
                        if (ix < 0 || ix >= long(W)) continue;
                        const int8_t* xp = x + (size_t(iy) * W + size_t(ix)) * Cin + g * cin_g;
                        const int8_t* wp = w + ((co * size_t(win.kernel_h) + size_t(ky)) * size_t(win.kernel_w) +
                                                size_t(kx)) * cin_g;
                        for (size_t ci = 0; ci < cin_g; ++ci) acc += (int32_t(xp[ci]) - x_zero) * int32_t(wp[ci]);
                    }
                }
                y[(oy * OW + ox) * Cout + co] = requantize(acc, multiplier[co], rq.zero_point, rq.lo, rq.hi);
            }
}

}  // namespace xinfer::kernels::ref
