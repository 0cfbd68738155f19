#pragma once
// Depthwise 3x3 convolution over NHWC, stride 1 or 2, explicit pads, fused bias + clamp.
// Channels are the vector axis. Packed layout (source "ghw": w[C][3][3][1], bias[C]): per block of S
// channels, S biases then the 9 taps' S weights, zero-padded past C.
//
// Register tile: P = 8 output pixels of a row (7 for rows 7 or 14 wide) x one vector of channels, 8 independent
// accumulators. Per kernel row the 3 weights are loaded once and every input column is loaded once into a
// register and fed to each output of the tile that uses it (stride 1: 10 + 3 loads for 24 FMAs; 8 + 3 + 1 of
// the 16 vector registers).
// Loop order: channel chunks (sized for L1), strips of P output columns, output rows, channel blocks. Walking down
// a strip, two of the three input rows are still in L1 from the previous output row, so each input element comes
// from L2/L3 about once (plus the 2 columns a strip shares with the next). A load that may 4K-alias a recent store
// (x and y at the same offset mod 4096) comes a whole chunk of blocks after it. At stride 1, when the input does
// not fit in L2, the next output row's new input row is prefetched (a strip walk is not a sequential stream).
// Padding rows are skipped; tiles that reach into the left/right padding test each input column.
#include <algorithm>
#include <cstddef>
#include <xsimd/xsimd.hpp>

#include "xinfer/config.hpp"
#include "xinfer/core/shape.hpp"
#include "xinfer/kernels/f32/simd_util.hpp"
#include "xinfer/kernels/params.hpp"

namespace xinfer::kernels::f32 {

inline size_t packed_dwconv3x3_floats(size_t C, size_t S) { return (C + S - 1) / S * S * 10; }

// Packs w[C][3][3] ("ghw") + bias[C] (may be null) into per-S-channel blocks: S biases, then 9 taps x S weights.
inline void pack_dwconv3x3_ghw(size_t C, size_t S, const float* w, const float* bias, float* packed) {
    for (size_t c0 = 0; c0 < C; c0 += S) {
        for (size_t j = 0; j < S; ++j) *packed++ = (c0 + j < C && bias) ? bias[c0 + j] : 0.0f;
        for (size_t t = 0; t < 9; ++t)
            for (size_t j = 0; j < S; ++j) *packed++ = c0 + j < C ? w[(c0 + j) * 9 + t] : 0.0f;
    }
}

namespace dwconv_detail {

// One tile: P output pixels x one channel block. rows[ky] points at the block's channels of input row ky (null for
// a padding row); ix0 is the input column of the tile's first tap. Guard: bit c of `valid` tells whether input
// column ix0 + c lies inside the row.
// Prefetch: also prefetch the tile's columns of input row `pf` (unless null).
template <class B, int ST, int P, bool Guard, bool Prefetch>
XINFER_ALWAYS_INLINE void dw_tile(const float* const rows[3], long ix0, size_t C, unsigned valid, const float* wp,
                                  float* out, size_t cn, const B& lo, const B& hi, const float* pf) {
    constexpr size_t S = B::size;
    constexpr int NC = (P - 1) * ST + 3;  // input columns of a tile
    const B bias = B::load_unaligned(wp);
    B acc[P];
XINFER_UNROLL
    for (int p = 0; p < P; ++p) acc[p] = bias;
XINFER_UNROLL
    for (int ky = 0; ky < 3; ++ky) {
        if (!rows[ky]) continue;
        const B w0 = B::load_unaligned(wp + S * size_t(1 + 3 * ky));
        const B w1 = B::load_unaligned(wp + S * size_t(2 + 3 * ky));
        const B w2 = B::load_unaligned(wp + S * size_t(3 + 3 * ky));
        const float* base = Guard ? rows[ky] : rows[ky] + size_t(ix0) * C;
        unrolled<NC>([&](auto cc) {
            constexpr int c = decltype(cc)::value;
            if (Guard && !((valid >> c) & 1u)) return;
            B v = B::load_unaligned(Guard ? base + size_t(ix0 + c) * C : base + size_t(c) * C);
            keep_in_register(v);
            if (Prefetch && ky == 2 && pf) __builtin_prefetch(pf + size_t(ix0 + c) * C);
            // Column c is tap kx of output (c - kx) / ST where that divides evenly.
            if constexpr (c % ST == 0 && c / ST < P) acc[c / ST] = xsimd::fma(v, w0, acc[c / ST]);
            if constexpr (c >= 1 && (c - 1) % ST == 0 && (c - 1) / ST < P)
                acc[(c - 1) / ST] = xsimd::fma(v, w1, acc[(c - 1) / ST]);
            if constexpr (c >= 2 && (c - 2) % ST == 0 && (c - 2) / ST < P)
                acc[(c - 2) / ST] = xsimd::fma(v, w2, acc[(c - 2) / ST]);
        });
    }
XINFER_UNROLL
    for (int p = 0; p < P; ++p) {
        const B v = xsimd::min(xsimd::max(acc[p], lo), hi);
        float* dst = out + size_t(p) * C;
        if (cn == S) {
            v.store_unaligned(dst);
        } else {
            alignas(64) float tmp[S];
            v.store_aligned(tmp);
            std::copy(tmp, tmp + cn, dst);
        }
    }
}

// x holds input rows [x_row0, ...) of the image; y holds output rows [oy_begin, oy_end).
template <class B, int ST>
void dw_strips(size_t H, size_t W, size_t C, const float* x, size_t x_row0, const float* packed, long pad_top,
               long pad_left, float* y, size_t OW, MinMax mm, size_t oy_begin, size_t oy_end) {
    constexpr size_t S = B::size;
    constexpr int P = 8;
    const B lo(mm.min), hi(mm.max);
    const size_t ox_lo = std::min(OW, size_t((pad_left + ST - 1) / ST));
    const long last = long(W) - 3 + pad_left;
    const size_t ox_hi = std::min(OW, std::max(ox_lo, last < 0 ? size_t(0) : size_t(last / ST + 1)));
    // Channels per chunk: the 3 input rows of a strip, its output row and the weights in about 20 KB of L1.
    constexpr size_t per_channel = sizeof(float) * (3 * ((P - 1) * ST + 3) + P) + 40;
    const size_t cmax = std::max(S, size_t(20 * 1024) / per_channel / S * S);
    const size_t nchunks = (C + cmax - 1) / cmax;
    const size_t chunk = ((C + nchunks - 1) / nchunks + S - 1) / S * S;
    // Software prefetch pays when the input streams from L3 (measured +5-10% at 112x112x32 and 56x56x144; it
    // costs a few % when the input is in L2, and did not help at stride 2, which is bound by memory bandwidth).
    const bool prefetch = ST == 1 && H * W * C * sizeof(float) > (1u << 20);
    for (size_t cc = 0; cc < C; cc += chunk) {
        const size_t cc_end = std::min(C, cc + chunk);
        // A strip of output columns [ox, ox + TP) over rows [oy_begin, oy_end), every channel block of the chunk.
        auto strip = [&](auto tile_p, size_t ox, auto guard, auto pf) {
            constexpr int TP = decltype(tile_p)::value;
            const long ix0 = long(ox) * ST - pad_left;
            unsigned valid = 0;
            if (guard)
                for (int c = 0; c < (TP - 1) * ST + 3; ++c) valid |= unsigned(ix0 + c >= 0 && ix0 + c < long(W)) << c;
            for (size_t oy = oy_begin; oy < oy_end; ++oy) {
                const float* rows[3];
                for (int ky = 0; ky < 3; ++ky) {
                    const long iy = long(oy) * ST - pad_top + ky;
                    rows[ky] = iy >= 0 && iy < long(H) ? x + (size_t(iy) - x_row0) * W * C : nullptr;
                }
                float* yo = y + ((oy - oy_begin) * OW + ox) * C;
                // The input row that the next output row adds, when the input streams from L3.
                const long iy_next = long(oy + 1) - pad_top + 2;
                const float* next =
                    pf && oy + 1 < oy_end && iy_next < long(H) ? x + (size_t(iy_next) - x_row0) * W * C : nullptr;
                for (size_t c0 = cc; c0 < cc_end; c0 += S) {
                    const float* r[3] = {rows[0] ? rows[0] + c0 : nullptr, rows[1] ? rows[1] + c0 : nullptr,
                                         rows[2] ? rows[2] + c0 : nullptr};
                    const bool line = (c0 - cc) % (64 / sizeof(float)) == 0;  // one prefetch per cache line
                    dw_tile<B, ST, TP, decltype(guard)::value, decltype(pf)::value>(
                        r, ix0, C, valid, packed + c0 * 10, yo + c0, std::min(S, C - c0), lo, hi,
                        next && line ? next + c0 : nullptr);
                }
            }
        };
        auto any = [&](auto tile_p, size_t ox) {
            constexpr size_t TP = size_t(decltype(tile_p)::value);
            if (ox < ox_lo || ox + TP > ox_hi)
                strip(tile_p, ox, std::true_type{}, std::false_type{});
            else if (ST == 1 && TP == P && prefetch)
                strip(tile_p, ox, std::false_type{}, std::integral_constant<bool, ST == 1 && TP == P>{});
            else
                strip(tile_p, ox, std::false_type{}, std::false_type{});
        };
        using P8 = std::integral_constant<int, P>;
        size_t ox = 0;
        if (OW % P != 0 && OW % 7 == 0 && OW < 3 * 7)  // 7 or 14 wide (MobileNet's last stages): no remainder
            for (; ox < OW; ox += 7) any(std::integral_constant<int, 7>{}, ox);
        for (; OW - ox >= size_t(P); ox += P) any(P8{}, ox);
        if (OW - ox >= 4) any(std::integral_constant<int, 4>{}, ox), ox += 4;
        if (OW - ox >= 2) any(std::integral_constant<int, 2>{}, ox), ox += 2;
        if (OW - ox >= 1) any(std::integral_constant<int, 1>{}, ox);
    }
}

}  // namespace dwconv_detail

// Output rows [oy_begin, oy_end) of one image, written from y (row oy_begin). x holds the image's input rows from
// x_row0 on; it must hold every row the window of those outputs reaches (a band of an image, or all of it).
template <class Arch>
void dwconv3x3_f32_band(size_t H, size_t W, size_t C, const float* x, size_t x_row0, const float* packed,
                        int stride, const Pads& pads, float* y, size_t OH, size_t OW, MinMax mm, size_t oy_begin,
                        size_t oy_end) {
    using B = xsimd::batch<float, Arch>;
    XINFER_ASSERT(stride == 1 || stride == 2);
    XINFER_ASSERT(oy_begin <= oy_end && oy_end <= OH);
    XINFER_ASSERT(oy_begin == oy_end || long(x_row0) <= std::max(0L, long(oy_begin) * stride - pads.top));
    (void)OH;
    if (stride == 1)
        dwconv_detail::dw_strips<B, 1>(H, W, C, x, x_row0, packed, pads.top, pads.left, y, OW, mm, oy_begin, oy_end);
    else
        dwconv_detail::dw_strips<B, 2>(H, W, C, x, x_row0, packed, pads.top, pads.left, y, OW, mm, oy_begin, oy_end);
}

// Output rows [oy_begin, oy_end) of one image (x and y: the whole image).
template <class Arch>
void dwconv3x3_f32(size_t H, size_t W, size_t C, const float* x, const float* packed, int stride, const Pads& pads,
                   float* y, size_t OH, size_t OW, MinMax mm, size_t oy_begin, size_t oy_end) {
    dwconv3x3_f32_band<Arch>(H, W, C, x, 0, packed, stride, pads, y + oy_begin * OW * C, OH, OW, mm, oy_begin,
                             oy_end);
}

}  // namespace xinfer::kernels::f32
