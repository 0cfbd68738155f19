#pragma once
// Direct convolution over NHWC for few input channels (e.g. MobileNetV2's 3x3 stride-2 stem with Cin = 3):
// output channels are the vector axis, every input value is broadcast once per tap.
// Packed layout ("conv_ohwi" source: w[Cout][KH][KW][Cin], groups = 1): per panel of nr = conv_direct_nr(S)
// = 4 vectors of output channels, nr biases, then [KH][KW][Cin][nr] weights, zero-padded past Cout.
//
// Register tile: Q output pixels of a row x NV vectors of output channels (the stem: 3 pixels x 4 vectors = 12
// accumulators). Per tap the Q input values are broadcast and each weight vector is loaded once and used Q times:
// 7 loads per 12 FMAs and 12 + 3 + 1 = 16 vector registers (the weight is pinned in a register, or GCC re-reads
// it as a memory operand of every FMA: 15 loads per 12 FMAs, load-bound).
// With dilation 1 the taps of a kernel row are one contiguous run of KW * Cin input floats per pixel.
// Pixels whose window crosses the left/right border take a per-pixel path that tests each kernel column;
// padding rows are skipped.
#include <algorithm>
#include <cstddef>
#include <xsimd/xsimd.hpp>

#include "xinfer/config.hpp"
#include "xinfer/core/shape.hpp"
#include "xinfer/kernels/f32/simd_util.hpp"
#include "xinfer/kernels/params.hpp"

namespace xinfer::kernels::f32 {

// Output channels per packed panel for vectors of S floats.
inline size_t conv_direct_nr(size_t S) { return 4 * S; }

inline size_t packed_conv_direct_floats(size_t Cout, size_t taps_cin, size_t nr) {
    return (Cout + nr - 1) / nr * nr * (taps_cin + 1);
}

// Packs w OHWI [Cout][KH][KW][Cin] = [Cout][taps_cin] + bias (may be null) into panels of nr output channels:
// nr biases, then taps_cin x nr weights.
inline void pack_conv_direct_ohwi(size_t Cout, size_t taps_cin, size_t nr, const float* w, const float* bias,
                                  float* packed) {
    for (size_t c0 = 0; c0 < Cout; c0 += nr) {
        for (size_t j = 0; j < nr; ++j) *packed++ = (c0 + j < Cout && bias) ? bias[c0 + j] : 0.0f;
        for (size_t t = 0; t < taps_cin; ++t)
            for (size_t j = 0; j < nr; ++j) *packed++ = c0 + j < Cout ? w[(c0 + j) * taps_cin + t] : 0.0f;
    }
}

namespace direct_detail {

// Geometry shared by the tiles of one call.
struct Geometry {
    size_t W, Cin, Cout;
    int KW, sw, dw;
    long pad_left;
    size_t runs, run;  // per kernel row: `runs` runs of `run` consecutive input floats (taps x Cin)
    size_t run_step;   // input floats between runs (dw * Cin)
    size_t row_step;   // input floats between kernel rows (dilation_h * W * Cin)
};

// The kernel rows of one output row that fall inside the image: `rows` rows from input row `x_row`, starting at
// packed weight offset `w_offset` (after the bias).
struct RowSpan {
    const float* x_row;
    size_t rows, w_offset;
};

template <class B, int NV>
XINFER_ALWAYS_INLINE void store_tile_row(float* dst, const B* acc, size_t nc, const B& lo, const B& hi) {
    constexpr size_t S = B::size;
XINFER_UNROLL
    for (int v = 0; v < NV; ++v) {
        const B r = xsimd::min(xsimd::max(acc[v], lo), hi);
        if (nc >= size_t(v + 1) * S) {
            r.store_unaligned(dst + size_t(v) * S);
        } else if (nc > size_t(v) * S) {
            alignas(64) float tmp[S];
            r.store_aligned(tmp);
            std::copy(tmp, tmp + (nc - size_t(v) * S), dst + size_t(v) * S);
        }
    }
}

// Q pixels whose windows start at input column ix0, every tap inside the row; NV vectors of panel `wp`.
template <class B, int Q, int NV>
XINFER_ALWAYS_INLINE void tile(const Geometry& g, const RowSpan& rs, long ix0, const float* wp, float* out,
                               size_t nc, const B& lo, const B& hi) {
    constexpr size_t S = B::size, NR = 4 * S;
    B acc[Q][NV];
XINFER_UNROLL
    for (int v = 0; v < NV; ++v) {
        const B b = B::load_unaligned(wp + size_t(v) * S);
XINFER_UNROLL
        for (int q = 0; q < Q; ++q) acc[q][v] = b;
    }
    const float* w = wp + NR + rs.w_offset;
    const size_t pixel_step = size_t(g.sw) * g.Cin;
    const float* row = rs.x_row + size_t(ix0) * g.Cin;
    for (size_t ky = 0; ky < rs.rows; ++ky, row += g.row_step) {
        const float* xr = row;
        for (size_t k = 0; k < g.runs; ++k, xr += g.run_step) {
            for (size_t j = 0; j < g.run; ++j, w += NR) {
                // Order chosen to stay within 16 registers: Q broadcasts + 1 weight, or NV weights + 1 broadcast.
                if constexpr (Q <= NV) {
                    B xb[Q];
XINFER_UNROLL
                    for (int q = 0; q < Q; ++q) xb[q] = B(xr[size_t(q) * pixel_step + j]);
XINFER_UNROLL
                    for (int v = 0; v < NV; ++v) {
                        B wv = B::load_unaligned(w + size_t(v) * S);
                        keep_in_register(wv);
XINFER_UNROLL
                        for (int q = 0; q < Q; ++q) acc[q][v] = xsimd::fma(xb[q], wv, acc[q][v]);
                    }
                } else {
                    B wv[NV];
XINFER_UNROLL
                    for (int v = 0; v < NV; ++v) {
                        wv[v] = B::load_unaligned(w + size_t(v) * S);
                        keep_in_register(wv[v]);
                    }
XINFER_UNROLL
                    for (int q = 0; q < Q; ++q) {
                        const B xb(xr[size_t(q) * pixel_step + j]);
XINFER_UNROLL
                        for (int v = 0; v < NV; ++v) acc[q][v] = xsimd::fma(xb, wv[v], acc[q][v]);
                    }
                }
            }
        }
    }
XINFER_UNROLL
    for (int q = 0; q < Q; ++q) store_tile_row<B, NV>(out + size_t(q) * g.Cout, acc[q], nc, lo, hi);
}

// One pixel whose window may cross the left/right border.
template <class B, int NV>
void edge_pixel(const Geometry& g, const RowSpan& rs, long ix0, const float* wp, float* out, size_t nc, const B& lo,
                const B& hi) {
    constexpr size_t S = B::size, NR = 4 * S;
    B acc[NV];
XINFER_UNROLL
    for (int v = 0; v < NV; ++v) acc[v] = B::load_unaligned(wp + size_t(v) * S);
    const float* row = rs.x_row;
    for (size_t ky = 0; ky < rs.rows; ++ky, row += g.row_step) {
        for (int kx = 0; kx < g.KW; ++kx) {
            const long ix = ix0 + long(kx) * g.dw;
            if (ix < 0 || ix >= long(g.W)) continue;
            const float* xp = row + size_t(ix) * g.Cin;
            const float* w = wp + NR + rs.w_offset + ((ky * size_t(g.KW) + size_t(kx)) * g.Cin) * NR;
            for (size_t ci = 0; ci < g.Cin; ++ci, w += NR) {
                const B xb(xp[ci]);
XINFER_UNROLL
                for (int v = 0; v < NV; ++v) acc[v] = xsimd::fma(xb, B::load_unaligned(w + size_t(v) * S), acc[v]);
            }
        }
    }
    store_tile_row<B, NV>(out, acc, nc, lo, hi);
}

// Pixels of one output row for one panel of NV vectors: tiles of Q inside [ox_lo, ox_hi), single pixels elsewhere.
template <class B, int NV>
void panel_row(const Geometry& g, const RowSpan& rs, size_t OW, size_t ox_lo, size_t ox_hi, const float* wp,
               float* yrow, size_t nc, const B& lo, const B& hi) {
    constexpr int Q = NV == 4 ? 3 : NV == 3 ? 4 : 6;  // 12 accumulators (6 for one vector)
    auto ix_of = [&](size_t ox) { return long(ox) * g.sw - g.pad_left; };
    size_t ox = 0;
    for (; ox < ox_lo; ++ox) edge_pixel<B, NV>(g, rs, ix_of(ox), wp, yrow + ox * g.Cout, nc, lo, hi);
    for (; ox + Q <= ox_hi; ox += Q) tile<B, Q, NV>(g, rs, ix_of(ox), wp, yrow + ox * g.Cout, nc, lo, hi);
    for (; ox < ox_hi; ++ox) tile<B, 1, NV>(g, rs, ix_of(ox), wp, yrow + ox * g.Cout, nc, lo, hi);
    for (; ox < OW; ++ox) edge_pixel<B, NV>(g, rs, ix_of(ox), wp, yrow + ox * g.Cout, nc, lo, hi);
}

}  // namespace direct_detail

// Output rows [oy_begin, oy_end) of one image. `packed` from pack_conv_direct_ohwi with nr = conv_direct_nr(S).
template <class Arch>
void conv_direct_f32(size_t H, size_t W, size_t Cin, const float* x, const Window2D& win, size_t Cout,
                     const float* packed, float* y, size_t OW, MinMax mm, size_t oy_begin, size_t oy_end) {
    using B = xsimd::batch<float, Arch>;
    constexpr size_t S = B::size, NR = 4 * S;
    direct_detail::Geometry g;
    g.W = W, g.Cin = Cin, g.Cout = Cout;
    g.KW = win.kernel_w, g.sw = win.stride_w, g.dw = win.dilation_w;
    g.pad_left = win.pads.left;
    g.row_step = size_t(win.dilation_h) * W * Cin;
    g.runs = g.dw == 1 ? 1 : size_t(g.KW);
    g.run = g.dw == 1 ? size_t(g.KW) * Cin : Cin;
    g.run_step = size_t(g.dw) * Cin;
    const size_t taps_cin = size_t(win.kernel_h) * size_t(g.KW) * Cin;
    // Output columns whose whole window is inside the row: [ox_lo, ox_hi).
    const long span = long(g.KW - 1) * g.dw;
    const size_t ox_lo = std::min(OW, size_t((g.pad_left + g.sw - 1) / g.sw));
    const long last = long(W) - 1 - span + g.pad_left;  // ox * sw <= last
    const size_t ox_hi = std::min(OW, std::max(ox_lo, last < 0 ? size_t(0) : size_t(last / g.sw + 1)));
    const B lo(mm.min), hi(mm.max);
    for (size_t oy = oy_begin; oy < oy_end; ++oy) {
        // Kernel rows inside the image: iy0 + ky * dh in [0, H) for ky in [ky_lo, ky_hi).
        const long iy0 = long(oy) * win.stride_h - win.pads.top, dh = win.dilation_h;
        const long ky_lo = iy0 >= 0 ? 0 : (-iy0 + dh - 1) / dh;
        const long ky_hi = iy0 >= long(H) ? 0 : std::min<long>(win.kernel_h, (long(H) - 1 - iy0) / dh + 1);
        direct_detail::RowSpan rs{x, 0, 0};
        if (ky_hi > ky_lo)
            rs = {x + size_t(iy0 + ky_lo * dh) * W * Cin, size_t(ky_hi - ky_lo),
                  size_t(ky_lo) * size_t(g.KW) * Cin * NR};
        float* yrow = y + oy * OW * Cout;
        for (size_t c0 = 0; c0 < Cout; c0 += NR) {
            const float* wp = packed + (c0 / NR) * NR * (taps_cin + 1);
            const size_t nc = std::min(NR, Cout - c0);
            switch ((nc + S - 1) / S) {
                case 4: direct_detail::panel_row<B, 4>(g, rs, OW, ox_lo, ox_hi, wp, yrow + c0, nc, lo, hi); break;
                case 3: direct_detail::panel_row<B, 3>(g, rs, OW, ox_lo, ox_hi, wp, yrow + c0, nc, lo, hi); break;
                case 2: direct_detail::panel_row<B, 2>(g, rs, OW, ox_lo, ox_hi, wp, yrow + c0, nc, lo, hi); break;
                default: direct_detail::panel_row<B, 1>(g, rs, OW, ox_lo, ox_hi, wp, yrow + c0, nc, lo, hi); break;
            }
        }
    }
}

}  // namespace xinfer::kernels::f32
