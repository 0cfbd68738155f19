#pragma once
// Reference int8 kernels: the executable spec of the SIMD ones (kernels/s8/). Integer accumulation in int32 with
// the input zero point subtracted explicitly; requantization as in ref/requantize.hpp. Padding positions hold the
// input zero point, i.e. the real value 0.
#include <cstddef>
#include <cstdint>

#include "xinfer/core/shape.hpp"
#include "xinfer/kernels/params.hpp"
#include "xinfer/kernels/ref/requantize.hpp"

namespace xinfer::kernels::ref {

// Y[m][n] = requantize(bias[n] + sum_k (A[m][k] - x_zero) * W[n][k], multiplier[n]) with W "goi" [N][K];
// bias may be null.
inline void gemm_s8(size_t M, size_t N, size_t K, const int8_t* A, size_t lda, int32_t x_zero, const int8_t* W,
                    const int32_t* bias, const float* multiplier, int8_t* Y, size_t ldy, Requant rq) {
    for (size_t m = 0; m < M; ++m)
        for (size_t n = 0; n < N; ++n) {
            int32_t acc = bias ? bias[n] : 0;
            for (size_t k = 0; k < K; ++k) acc += (int32_t(A[m * lda + k]) - x_zero) * int32_t(W[n * K + k]);
            Y[m * ldy + n] = requantize(acc, multiplier[n], rq.zero_point, rq.lo, rq.hi);
        }
}

// The int32 sums of gemm_s8 before requantization: Y[m][n] = bias[n] + sum_k (A[m][k] - x_zero) * W[n][k], wrapping
// like int32 adds.
inline void gemm_s8_sums(size_t M, size_t N, size_t K, const int8_t* A, size_t lda, int32_t x_zero, const int8_t* W,
                         const int32_t* bias, int32_t* Y, size_t ldy) {
    for (size_t m = 0; m < M; ++m)
        for (size_t n = 0; n < N; ++n) {
            uint32_t acc = bias ? uint32_t(bias[n]) : 0u;
            for (size_t k = 0; k < K; ++k)
                acc += uint32_t((int32_t(A[m * lda + k]) - x_zero) * int32_t(W[n * K + k]));
            Y[m * ldy + n] = int32_t(acc);
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

// y[i] = add_requantize(a[i] - a_zero, b[i] - b_zero, ma, mb).
inline void add_s8(size_t n, const int8_t* a, int32_t a_zero, float ma, const int8_t* b, int32_t b_zero, float mb,
                   int8_t* y, Requant rq) {
    for (size_t i = 0; i < n; ++i)
        y[i] = add_requantize(int32_t(a[i]) - a_zero, int32_t(b[i]) - b_zero, ma, mb, rq.zero_point, rq.lo, rq.hi);
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

inline void quantize_f32_s8(size_t n, const float* x, float scale, int32_t zero_point, int8_t* y) {
    for (size_t i = 0; i < n; ++i) y[i] = quantize(x[i], scale, zero_point);
}

inline void dequantize_s8_f32(size_t n, const int8_t* x, float scale, int32_t zero_point, float* y) {
    for (size_t i = 0; i < n; ++i) y[i] = dequantize(x[i], scale, zero_point);
}

}  // namespace xinfer::kernels::ref
