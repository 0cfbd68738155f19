#pragma once
// Direct convolution over NHWC for few input channels (e.g. MobileNetV2's 3x3 stride-2 stem with Cin = 3):
// output channels are the vector axis, every input value is broadcast once per tap.
// Packed layout ("conv_ohwi" source: w[Cout][KH][KW][Cin], groups = 1): per panel of NR = 2 vectors of output
// channels, NR biases, then [KH][KW][Cin][NR] weights, zero-padded past Cout.
// Two output pixels per step share each weight load (4 accumulators).
#include <algorithm>
#include <cstddef>
#include <xsimd/xsimd.hpp>

#include "xinfer/config.hpp"
#include "xinfer/core/shape.hpp"
#include "xinfer/kernels/params.hpp"

namespace xinfer::kernels::f32 {

inline size_t packed_conv_direct_floats(size_t Cout, size_t taps_cin, size_t nr) {
    return (Cout + nr - 1) / nr * nr * (taps_cin + 1);
}

// taps_cin = KH * KW * Cin; w is OHWI, i.e. [Cout][taps_cin].
inline void pack_conv_direct_ohwi(size_t Cout, size_t taps_cin, size_t nr, const float* w, const float* bias,
                                  float* packed) {
    for (size_t c0 = 0; c0 < Cout; c0 += nr) {
        for (size_t j = 0; j < nr; ++j) *packed++ = (c0 + j < Cout && bias) ? bias[c0 + j] : 0.0f;
        for (size_t t = 0; t < taps_cin; ++t)
            for (size_t j = 0; j < nr; ++j) *packed++ = c0 + j < Cout ? w[(c0 + j) * taps_cin + t] : 0.0f;
    }
}

// Output rows [oy_begin, oy_end) of one image.
template <class Arch>
void conv_direct_f32(size_t H, size_t W, size_t Cin, const float* x, const Window2D& win, size_t Cout,
                     const float* packed, float* y, size_t OW, MinMax mm, size_t oy_begin, size_t oy_end) {
    using B = xsimd::batch<float, Arch>;
    constexpr size_t S = B::size, NR = 2 * S;
    const size_t taps_cin = size_t(win.kernel_h) * size_t(win.kernel_w) * Cin;
    const B lo(mm.min), hi(mm.max);
    auto store = [&](float* dst, B v0, B v1, size_t nc) {
        v0 = xsimd::min(xsimd::max(v0, lo), hi);
        v1 = xsimd::min(xsimd::max(v1, lo), hi);
        if (nc == NR) {
            v0.store_unaligned(dst);
            v1.store_unaligned(dst + S);
        } else {
            alignas(64) float tmp[NR];
            v0.store_aligned(tmp);
            v1.store_aligned(tmp + S);
            std::copy(tmp, tmp + nc, dst);
        }
    };
    auto tap_inside = [&](long iy, long ix) { return iy >= 0 && iy < long(H) && ix >= 0 && ix < long(W); };
    for (size_t oy = oy_begin; oy < oy_end; ++oy) {
        for (size_t c0 = 0; c0 < Cout; c0 += NR) {
            const float* wp = packed + (c0 / NR) * NR * (taps_cin + 1);
            const size_t nc = std::min(NR, Cout - c0);
            const B b0 = B::load_unaligned(wp), b1 = B::load_unaligned(wp + S);
            size_t ox = 0;
            for (; ox + 2 <= OW; ox += 2) {
                B a0 = b0, a1 = b1, c0v = b0, c1v = b1;
                const float* w = wp + NR;
                for (int ky = 0; ky < win.kernel_h; ++ky) {
                    const long iy = long(oy) * win.stride_h - win.pads.top + long(ky) * win.dilation_h;
                    for (int kx = 0; kx < win.kernel_w; ++kx, w += Cin * NR) {
                        const long ixa = long(ox) * win.stride_w - win.pads.left + long(kx) * win.dilation_w;
                        const long ixb = ixa + win.stride_w;
                        const bool ina = tap_inside(iy, ixa), inb = tap_inside(iy, ixb);
                        if (!ina && !inb) continue;
                        const float* xa = ina ? x + (size_t(iy) * W + size_t(ixa)) * Cin : nullptr;
                        const float* xb = inb ? x + (size_t(iy) * W + size_t(ixb)) * Cin : nullptr;
                        for (size_t ci = 0; ci < Cin; ++ci) {
                            const B w0 = B::load_unaligned(w + ci * NR), w1 = B::load_unaligned(w + ci * NR + S);
                            if (ina) {
                                const B va(xa[ci]);
                                a0 = xsimd::fma(va, w0, a0);
                                a1 = xsimd::fma(va, w1, a1);
                            }
                            if (inb) {
                                const B vb(xb[ci]);
                                c0v = xsimd::fma(vb, w0, c0v);
                                c1v = xsimd::fma(vb, w1, c1v);
                            }
                        }
                    }
                }
                store(y + (oy * OW + ox) * Cout + c0, a0, a1, nc);
                store(y + (oy * OW + ox + 1) * Cout + c0, c0v, c1v, nc);
            }
            for (; ox < OW; ++ox) {
                B a0 = b0, a1 = b1;
                const float* w = wp + NR;
                for (int ky = 0; ky < win.kernel_h; ++ky) {
                    const long iy = long(oy) * win.stride_h - win.pads.top + long(ky) * win.dilation_h;
                    for (int kx = 0; kx < win.kernel_w; ++kx, w += Cin * NR) {
                        const long ix = long(ox) * win.stride_w - win.pads.left + long(kx) * win.dilation_w;
                        if (!tap_inside(iy, ix)) continue;
                        const float* xa = x + (size_t(iy) * W + size_t(ix)) * Cin;
                        for (size_t ci = 0; ci < Cin; ++ci) {
                            const B va(xa[ci]);
                            a0 = xsimd::fma(va, B::load_unaligned(w + ci * NR), a0);
                            a1 = xsimd::fma(va, B::load_unaligned(w + ci * NR + S), a1);
                        }
                    }
                }
                store(y + (oy * OW + ox) * Cout + c0, a0, a1, nc);
            }
        }
    }
}

}  // namespace xinfer::kernels::f32
