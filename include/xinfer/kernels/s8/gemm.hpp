#pragma once
// Packed int8 GEMM for 1x1 convolutions, im2col convolutions and dense layers:
//   Y[m][n] = requantize(bias[n] + sum_k (A[m][k] - x_zero) * W[n][k], multiplier[n]).
// Accumulation is exact in int32. Two packed layouts, chosen by the weights when they are packed:
// - int16 pairs (any int8 weights): A and W sign-extended to int16 and multiplied in pairs of k into int32 (AVX2
//   vpmaddwd + vpaddd, or vpdpwssd with VNNI).
// - uint8 quads: A + 128 as uint8 times W in quads of k. With VNNI (vpdpbusd, Zen 4, Ice Lake and later) the quads
//   are summed straight into int32, exact for any weights, and every GEMM takes this layout. On plain AVX2 it
//   needs every weight in [-64, 63] (e.g. models quantized with 7-bit weights): vpmaddubsw sums the products in
//   int16 pairs, each at most 2 * 255 * 64 = 32640 in magnitude, so it never saturates, and vpmaddwd by ones adds
//   the pairs into int32. Either way the 128 * sum_k W[n][k] the shift adds is folded into the bias. Half the
//   weight bytes, and about 1.7x the multiply rate of the pairs on AVX2 cores.
//
// Packed layout (source "goi": W[N][K], bias[N], multiplier[N]): a 64-byte header (layout, N, K), then panels of 16
// output channels, the last one 8 wide when N % 16 is 1..8. Each panel holds
//   int32 bias[nw] (x_zero * sum_k W[n][k] subtracted, plus 128 * sum_k W[n][k] for quads), float multiplier[nw],
//   then per step of k (2 for pairs, 4 for quads; K rounded up): nw x {W[n][k], ..., W[n][k + step - 1]},
// zero-padded past N and K; a 16-wide panel stores its channels in lane_of16 order. The A rows of one register tile
// are converted once (to int16, or to uint8 + 128) on the stack, in chunks of kChunkK values of k, and reused for
// every panel.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "xinfer/config.hpp"
#include "xinfer/kernels/params.hpp"
#include "xinfer/kernels/s8/arch.hpp"

namespace xinfer::kernels::s8 {

enum class GemmS8Layout : uint32_t { int16_pairs = 1, uint8_quads = 2 };

namespace gemm_detail {

constexpr size_t kPanel = 16;
constexpr size_t kHeaderBytes = 64;                // keeps the panels' weights 32-byte aligned in a 64-byte buffer
constexpr size_t kChunkK = 2048;                   // k values of A converted at a time
constexpr size_t kWeightBlockBytes = 192 * 1024;   // packed weights swept per row tile: stays in L2
constexpr size_t kMaxBlockPanels = 16;             // bounds the partial sums kept when K spans several chunks
constexpr size_t kPartialStride = kMaxBlockPanels * kPanel;
constexpr size_t kMrGeneric = 4;
constexpr size_t kMrAvx2 = 6;                      // 6 rows x 16 columns: 12 accumulators

struct Header {
    uint32_t layout;
    uint32_t multipliers_below_one;  // 1: every |multiplier| < 1, so the int8 clamp alone suffices (arch.hpp)
    uint64_t n, k;
};

constexpr size_t k_step(GemmS8Layout layout) { return layout == GemmS8Layout::uint8_quads ? 4 : 2; }
constexpr size_t weight_bytes(GemmS8Layout layout) { return layout == GemmS8Layout::uint8_quads ? 1 : 2; }
inline size_t k_steps(size_t K, size_t step) { return (K + step - 1) / step; }
inline size_t panel_width(size_t N, size_t n0) { return N - n0 > 8 ? kPanel : 8; }
inline size_t panel_bytes(size_t nw, size_t K, GemmS8Layout layout) {
    const size_t step = k_step(layout);
    return nw * (2 * sizeof(int32_t) + k_steps(K, step) * step * weight_bytes(layout));
}
inline size_t panel_lane(size_t nw, size_t j) { return nw == kPanel ? lane_of16(j) : j; }

inline bool fits_quads(size_t count, const int8_t* W) {
    return std::all_of(W, W + count, [](int8_t w) { return w >= -64 && w <= 63; });
}

// The work of one register tile: rows of converted A against one panel, for one chunk of k. Output is the
// implementation's form of the output stage, prepared once per call.
template <class Output, class AValue, class WValue>
struct Tile {
    size_t ksteps;
    const AValue* a;        // A rows as the kernel reads them, a_stride apart
    size_t a_stride;
    const WValue* w;        // the panel's weights for this chunk
    const int32_t* init;    // starting sums: the packed bias (init_stride 0) or partial sums
    size_t init_stride;
    int32_t* partial;       // non-null: store the raw sums here (kPartialStride apart) instead of requantizing
    const float* multiplier;
    int8_t* y;
    size_t ldy;
    size_t nc;              // valid columns of the panel
    const Output* out;
    bool float_clamp;       // some |multiplier| >= 1 (or NaN): clamp in fp32 before rounding
};

// Portable C++, for either layout.
template <GemmS8Layout Layout>
struct GemmGeneric {
    static constexpr bool quads = Layout == GemmS8Layout::uint8_quads;
    static constexpr size_t mr = kMrGeneric, kstep = k_step(Layout), a_row_stride = kChunkK + 64;
    using AValue = std::conditional_t<quads, uint8_t, int16_t>;
    using WValue = std::conditional_t<quads, int8_t, int16_t>;
    using Output = Requant;
    using TileT = Tile<Output, AValue, WValue>;

    static void pack_a(size_t rows, const int8_t* A, size_t lda, size_t k_count, AValue* apack) {
        const size_t padded = k_steps(k_count, kstep) * kstep;
        for (size_t r = 0; r < rows; ++r) {
            AValue* dst = apack + r * a_row_stride;
            for (size_t k = 0; k < k_count; ++k) dst[k] = AValue(quads ? A[r * lda + k] + 128 : A[r * lda + k]);
            for (size_t k = k_count; k < padded; ++k) dst[k] = 0;
        }
    }

    template <size_t MR, size_t NV>
    static void tile(const TileT& t) {
        constexpr size_t NW = 8 * NV;
        int32_t acc[MR][NW];
        for (size_t r = 0; r < MR; ++r)
            for (size_t j = 0; j < NW; ++j) acc[r][j] = t.init[r * t.init_stride + j];
        const WValue* w = t.w;
        for (size_t s = 0; s < t.ksteps; ++s, w += kstep * NW)
            for (size_t r = 0; r < MR; ++r) {
                const AValue* a = t.a + r * t.a_stride + kstep * s;
                for (size_t j = 0; j < NW; ++j)
                    for (size_t e = 0; e < kstep; ++e) acc[r][j] += int32_t(a[e]) * int32_t(w[kstep * j + e]);
            }
        for (size_t r = 0; r < MR; ++r)
            for (size_t j = 0; j < NW; ++j) {
                if (t.partial) {
                    t.partial[r * kPartialStride + j] = acc[r][j];
                } else {
                    const size_t col = panel_lane(NW, j);
                    if (col < t.nc) t.y[r * t.ldy + col] = requantize(acc[r][j], t.multiplier[j], *t.out);
                }
            }
    }
};

#if defined(__AVX2__)
// Stores a finished AVX2 tile: raw sums into the partials, or requantized, two rows per int8 pack.
template <class TileT, size_t MR, size_t NV>
void finish_tile_avx2(const __m256i (&acc)[MR][NV], const TileT& t) {
    using namespace avx2;
    if (t.partial) {
XINFER_UNROLL
        for (size_t r = 0; r < MR; ++r)
XINFER_UNROLL
            for (size_t v = 0; v < NV; ++v)
                _mm256_storeu_si256(reinterpret_cast<__m256i*>(t.partial + r * kPartialStride + 8 * v), acc[r][v]);
        return;
    }
    const __m256 m0 = _mm256_loadu_ps(t.multiplier);
    const __m256 m1 = NV == 2 ? _mm256_loadu_ps(t.multiplier + 8) : m0;
    const RequantVec& rq = *t.out;
    auto store = [&](auto float_clamp) {
        constexpr bool FloatClamp = decltype(float_clamp)::value;
XINFER_UNROLL
        for (size_t r = 0; r < MR; r += 2) {
            const bool pair = r + 1 < MR;
            const size_t r_b = pair ? r + 1 : r;
            int8_t* y_a = t.y + r * t.ldy;
            int8_t* y_b = t.y + r_b * t.ldy;
            if constexpr (NV == 2) {
                const __m256i a16 = to_int16(round_scaled<FloatClamp>(acc[r][0], m0, rq),
                                             round_scaled<FloatClamp>(acc[r][1], m1, rq), rq);
                const __m256i b16 = pair ? to_int16(round_scaled<FloatClamp>(acc[r_b][0], m0, rq),
                                                    round_scaled<FloatClamp>(acc[r_b][1], m1, rq), rq)
                                         : a16;
                const __m256i v = to_int8(a16, b16, rq);
                store_bytes(y_a, _mm256_castsi256_si128(v), t.nc);
                if (pair) store_bytes(y_b, _mm256_extracti128_si256(v, 1), t.nc);
            } else {
                const __m128i a16 = to_int16_8(round_scaled<FloatClamp>(acc[r][0], m0, rq), rq);
                const __m128i b16 = pair ? to_int16_8(round_scaled<FloatClamp>(acc[r_b][0], m0, rq), rq) : a16;
                const __m128i v = to_int8_8(a16, b16, rq);
                store_bytes(y_a, v, t.nc);
                if (pair) store_bytes(y_b, _mm_unpackhi_epi64(v, v), t.nc);
            }
        }
    };
    if (t.float_clamp)
        store(std::true_type{});
    else
        store(std::false_type{});
}

// The starting sums: the bias of each column (init_stride 0: loaded once for all rows) or partial sums.
template <class TileT, size_t MR, size_t NV>
void load_init_avx2(__m256i (&acc)[MR][NV], const TileT& t) {
    const size_t stride = t.init_stride;
    if (stride == 0) {
XINFER_UNROLL
        for (size_t v = 0; v < NV; ++v) {
            const __m256i bias = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t.init + 8 * v));
XINFER_UNROLL
            for (size_t r = 0; r < MR; ++r) acc[r][v] = bias;
        }
        return;
    }
XINFER_UNROLL
    for (size_t r = 0; r < MR; ++r)
XINFER_UNROLL
        for (size_t v = 0; v < NV; ++v)
            acc[r][v] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t.init + r * stride + 8 * v));
}

// The last k_count % 8 of k_count >= 8 int8 values at src, at the bottom of a little-endian word with zeros above:
// one load that ends at the row's last value (within the row) instead of a byte loop.
inline uint64_t last_values(const int8_t* src, size_t k_count) {
    uint64_t v;
    std::memcpy(&v, src + k_count - 8, sizeof v);
    return v >> (64 - 8 * (k_count % 8));
}

// int16 pairs.
struct GemmAvx2Pairs {
    static constexpr size_t mr = kMrAvx2, kstep = 2, a_row_stride = kChunkK + 32;  // +64 bytes: no 4 KiB aliasing
    using AValue = int16_t;
    using WValue = int16_t;
    using Output = avx2::RequantVec;
    using TileT = Tile<Output, AValue, WValue>;

    static void pack_a(size_t rows, const int8_t* A, size_t lda, size_t k_count, int16_t* apack) {
        for (size_t r = 0; r < rows; ++r) {
            const int8_t* src = A + r * lda;
            int16_t* dst = apack + r * a_row_stride;
            size_t k = 0;
            for (; k + 16 <= k_count; k += 16)
                _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + k), avx2::load16_s16(src + k));
            if (k + 8 <= k_count) {
                const __m128i v = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(src + k));
                _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + k), _mm_cvtepi8_epi16(v));
                k += 8;
            }
            if (k == k_count) continue;
            if (k_count < 8) {
                pack_short_row(src, k_count, dst);
                continue;
            }
            const __m128i v = _mm_cvtsi64_si128(int64_t(last_values(src, k_count)));
            _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + k), _mm_cvtepi8_epi16(v));  // zeros past it: the pad
        }
    }

    // Rows of fewer than 8 values (K < 8). Out of line: inlined, its byte loop slowed gemm_rows' other paths.
    XINFER_NOINLINE static void pack_short_row(const int8_t* src, size_t k_count, int16_t* dst) {
        for (size_t k = 0; k < k_count; ++k) dst[k] = src[k];
        if (k_count % 2) dst[k_count] = 0;
    }

    // acc + the pair products of a and w. With one or two rows the fused VNNI form would chain its latency through
    // each accumulator, so those tiles keep vpmaddwd (off the chain) + vpaddd.
    template <size_t MR>
    static __m256i accumulate(__m256i acc, __m256i a, __m256i w) {
        if constexpr (MR >= 3)
            return avx2::dot_pairs_add(acc, a, w);
        else
            return _mm256_add_epi32(acc, _mm256_madd_epi16(a, w));
    }

    // MR rows x NV vectors of 8 columns; each step broadcasts a row's pair of k and multiplies it into the pairs of
    // weights of 8 columns (vpmaddwd + vpaddd, or vpdpwssd), adding two exact products per int32 lane.
    template <size_t MR, size_t NV>
    static void tile(const TileT& t) {
        __m256i acc[MR][NV];
        load_init_avx2(acc, t);
        const int16_t* w = t.w;
        const int16_t* a = t.a;
        for (size_t k = 0; k < t.ksteps; ++k, w += 16 * NV, a += 2) {
            const __m256i w0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w));
            const __m256i w1 = NV == 2 ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + 16)) : w0;
XINFER_UNROLL
            for (size_t r = 0; r < MR; ++r) {
                int32_t pair;
                std::memcpy(&pair, a + r * t.a_stride, sizeof pair);
                const __m256i ar = _mm256_set1_epi32(pair);
                acc[r][0] = accumulate<MR>(acc[r][0], ar, w0);
                if constexpr (NV == 2) acc[r][1] = accumulate<MR>(acc[r][1], ar, w1);
            }
        }
        finish_tile_avx2(acc, t);
    }
};

// uint8 quads (any weights with VNNI, [-64, 63] without).
struct GemmAvx2Quads {
    static constexpr size_t mr = kMrAvx2, kstep = 4, a_row_stride = kChunkK + 64;
    using AValue = uint8_t;
    using WValue = int8_t;
    using Output = avx2::RequantVec;
    using TileT = Tile<Output, AValue, WValue>;

    // The rows as A + 128 in uint8 (the sign bit flipped), zero-padded to a whole quad (a padded k meets a zero
    // weight). Flipping here once costs less than flipping each broadcast quad once per panel in the tile.
    static void pack_a(size_t rows, const int8_t* A, size_t lda, size_t k_count, uint8_t* apack) {
        const __m256i flip = _mm256_set1_epi8(-128);
        for (size_t r = 0; r < rows; ++r) {
            const int8_t* src = A + r * lda;
            uint8_t* dst = apack + r * a_row_stride;
            size_t k = 0;
            for (; k + 32 <= k_count; k += 32) {
                const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + k));
                _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + k), _mm256_xor_si256(v, flip));
            }
            if (k + 16 <= k_count) {
                const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + k));
                _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + k), _mm_xor_si128(v, _mm256_castsi256_si128(flip)));
                k += 16;
            }
            if (k + 8 <= k_count) {
                const __m128i v = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(src + k));
                _mm_storel_epi64(reinterpret_cast<__m128i*>(dst + k), _mm_xor_si128(v, _mm256_castsi256_si128(flip)));
                k += 8;
            }
            if (k == k_count) continue;
            if (k_count < 8) {
                pack_short_row(src, k_count, dst);
                continue;
            }
            const size_t tail_bits = 8 * (k_count - k);
            const uint64_t v = last_values(src, k_count) ^ (0x8080808080808080ull >> (64 - tail_bits));
            std::memcpy(dst + k, &v, sizeof v);  // zeros past the tail: the quad's pad
        }
    }

    // Rows of fewer than 8 values (K < 8), out of line as in GemmAvx2Pairs.
    XINFER_NOINLINE static void pack_short_row(const int8_t* src, size_t k_count, uint8_t* dst) {
        size_t k = 0;
        for (; k < k_count; ++k) dst[k] = uint8_t(src[k] + 128);
        for (; k % kstep; ++k) dst[k] = 0;
    }

    // Each step broadcasts a row's quad of k and adds its products with the weights of 8 columns into int32
    // (avx2::dot_quads_add; exact: see the top of the file). With one or two rows the fused VNNI form would chain
    // its latency through each accumulator.
    template <size_t MR, size_t NV>
    static void tile(const TileT& t) {
        __m256i acc[MR][NV];
        load_init_avx2(acc, t);
        const int8_t* w = t.w;
        const uint8_t* a = t.a;
        for (size_t k = 0; k < t.ksteps; ++k, w += 32 * NV, a += 4) {
            const __m256i w0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w));
            const __m256i w1 = NV == 2 ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + 32)) : w0;
XINFER_UNROLL
            for (size_t r = 0; r < MR; ++r) {
                int32_t quad;
                std::memcpy(&quad, a + r * t.a_stride, sizeof quad);
                const __m256i ar = _mm256_set1_epi32(quad);
                acc[r][0] = avx2::dot_quads_add<MR >= 3>(acc[r][0], ar, w0);
                if constexpr (NV == 2) acc[r][1] = avx2::dot_quads_add<MR >= 3>(acc[r][1], ar, w1);
            }
        }
        finish_tile_avx2(acc, t);
    }
};
#endif

template <class Impl, size_t MR>
void run_tile(size_t rows, size_t nv, const typename Impl::TileT& t) {
    if (rows == MR) {
        if (nv == 2)
            Impl::template tile<MR, 2>(t);
        else
            Impl::template tile<MR, 1>(t);
    } else if constexpr (MR > 1) {
        run_tile<Impl, MR - 1>(rows, nv, t);
    }
}

// Rows [m0, m1): panels are swept in blocks that stay in L2 while the row tiles of A pass by. With `sums` set, the
// int32 sums (bias included) go there (row stride ldy) instead of requantized values to Y.
template <class Impl>
void gemm_rows(size_t m0, size_t m1, size_t N, size_t K, const int8_t* A, size_t lda, const void* packed, int8_t* Y,
               size_t ldy, const Requant& rq, GemmS8Layout layout, bool float_clamp, int32_t* sums = nullptr) {
    constexpr size_t MR = Impl::mr, KS = Impl::kstep, chunk_steps = kChunkK / KS;
    using WValue = typename Impl::WValue;
    alignas(64) typename Impl::AValue apack[MR * Impl::a_row_stride];
    alignas(64) int32_t partial[MR * kPartialStride];
    const size_t ksteps = k_steps(K, KS), panels = (N + kPanel - 1) / kPanel;
    const size_t full_panel_bytes = panel_bytes(kPanel, K, layout);
    const size_t block_panels = std::clamp<size_t>(kWeightBlockBytes / full_panel_bytes, 1, kMaxBlockPanels);
    const auto* base = static_cast<const unsigned char*>(packed) + kHeaderBytes;
    const typename Impl::Output out(rq);
    for (size_t pb = 0; pb < panels; pb += block_panels) {
        const size_t pe = std::min(panels, pb + block_panels);
        for (size_t m = m0; m < m1; m += MR) {
            const size_t rows = std::min(MR, m1 - m);
            size_t kc = 0;  // first step of k of the chunk
            do {
                const size_t chunk = std::min(chunk_steps, ksteps - kc);
                const bool first = kc == 0, last = kc + chunk == ksteps;
                const int8_t* a_chunk = A + m * lda + KS * kc;
                if (chunk) Impl::pack_a(rows, a_chunk, lda, std::min(KS * chunk, K - KS * kc), apack);
                for (size_t p = pb; p < pe; ++p) {
                    const size_t n0 = p * kPanel, nw = panel_width(N, n0);
                    const unsigned char* panel = base + p * full_panel_bytes;
                    int32_t* panel_partial = partial + (p - pb) * kPanel;
                    typename Impl::TileT t;
                    t.ksteps = chunk;
                    t.a = apack;
                    t.a_stride = Impl::a_row_stride;
                    t.w = reinterpret_cast<const WValue*>(panel + nw * 8) + kc * KS * nw;
                    t.init = first ? reinterpret_cast<const int32_t*>(panel) : panel_partial;
                    t.init_stride = first ? 0 : kPartialStride;
                    t.partial = last && !sums ? nullptr : panel_partial;
                    t.multiplier = reinterpret_cast<const float*>(panel + nw * 4);
                    t.y = Y ? Y + m * ldy + n0 : nullptr;
                    t.ldy = ldy;
                    t.nc = std::min(nw, N - n0);
                    t.out = &out;
                    t.float_clamp = float_clamp;
                    run_tile<Impl, MR>(rows, nw / 8, t);
                    if (sums && last)
                        for (size_t r = 0; r < rows; ++r)
                            for (size_t c = 0; c < t.nc; ++c)
                                sums[(m + r) * ldy + n0 + c] = panel_partial[r * kPartialStride + panel_lane(nw, c)];
                }
                kc += chunk;
            } while (kc < ksteps);
        }
    }
}

inline GemmS8Layout choose_layout(size_t N, size_t K, const int8_t* W) {
    return W && (quads_exact_for_any_weights() || fits_quads(N * K, W)) ? GemmS8Layout::uint8_quads
                                                                         : GemmS8Layout::int16_pairs;
}

}  // namespace gemm_detail

// Bytes of the packed form of W [N][K]: the layout depends on the values (W null: the int16-pairs size, an upper
// bound for any W).
inline size_t packed_gemm_s8_bytes(size_t N, size_t K, const int8_t* W) {
    using namespace gemm_detail;
    const GemmS8Layout layout = choose_layout(N, K, W);
    const size_t rem = N % kPanel;
    return kHeaderBytes + N / kPanel * panel_bytes(kPanel, K, layout) +
           (rem ? panel_bytes(panel_width(N, N - rem), K, layout) : 0);
}

// Packs W[N][K] ("goi") into a header + 16-column panels: folded int32 biases, multipliers, k-steps of weights.
// bias may be null; multiplier[n] = s_x * s_w[n] / s_y. `packed` holds packed_gemm_s8_bytes(N, K, W)
// bytes, 4-byte aligned (at least; 64 keeps the weight loads within cache lines).
inline void pack_gemm_goi_s8(size_t N, size_t K, const int8_t* W, const int32_t* bias, int32_t x_zero,
                             const float* multiplier, void* packed) {
    using namespace gemm_detail;
    XINFER_ASSERT(reinterpret_cast<uintptr_t>(packed) % alignof(uint64_t) == 0);
    const GemmS8Layout layout = choose_layout(N, K, W);
    const bool quads = layout == GemmS8Layout::uint8_quads;
    const size_t step = k_step(layout), steps = k_steps(K, step);
    auto* out = static_cast<unsigned char*>(packed);
    std::memset(out, 0, kHeaderBytes);
    const bool below_one = std::all_of(multiplier, multiplier + N, [](float m) { return std::fabs(m) < 1.0f; });
    const Header header{uint32_t(layout), below_one ? 1u : 0u, N, K};
    std::memcpy(out, &header, sizeof header);
    out += kHeaderBytes;
    for (size_t n0 = 0; n0 < N; n0 += kPanel) {
        const size_t nw = panel_width(N, n0);
        auto* panel_bias = reinterpret_cast<int32_t*>(out);
        auto* panel_multiplier = reinterpret_cast<float*>(out + nw * 4);
        unsigned char* panel_weights = out + nw * 8;
        for (size_t j = 0; j < nw; ++j) {
            const size_t n = n0 + j, lane = panel_lane(nw, j);
            const bool valid = n < N;
            int64_t weight_sum = 0;
            for (size_t k = 0; valid && k < K; ++k) weight_sum += W[n * K + k];
            const int64_t shift = quads ? 128 : 0;  // sum_k (A + 128) W = sum_k A W + 128 sum_k W
            const int64_t folded = (valid && bias ? int64_t(bias[n]) : 0) - (int64_t(x_zero) + shift) * weight_sum;
            panel_bias[lane] = valid ? int32_t(uint32_t(uint64_t(folded))) : 0;
            panel_multiplier[lane] = valid ? multiplier[n] : 0.0f;
            for (size_t s = 0; s < steps; ++s)
                for (size_t e = 0; e < step; ++e) {
                    const size_t k = step * s + e, index = (s * nw + lane) * step + e;
                    const int8_t w = valid && k < K ? W[n * K + k] : 0;
                    if (quads) {
                        panel_weights[index] = static_cast<unsigned char>(w);
                    } else {
                        const int16_t w16 = w;
                        std::memcpy(panel_weights + 2 * index, &w16, sizeof w16);
                    }
                }
        }
        out += panel_bytes(nw, K, layout);
    }
}

inline GemmS8Layout packed_gemm_s8_layout(const void* packed) {
    gemm_detail::Header header;
    std::memcpy(&header, packed, sizeof header);
    return GemmS8Layout(header.layout);
}

// Rows per register tile: callers that split rows between threads do it in multiples of this.
template <class Arch>
constexpr size_t gemm_s8_mr() {
    return use_avx2<Arch>() ? gemm_detail::kMrAvx2 : gemm_detail::kMrGeneric;
}

namespace gemm_detail {
template <class Arch>
void gemm_s8_any(size_t m0, size_t m1, size_t N, size_t K, const int8_t* A, size_t lda, const void* packed, int8_t* Y,
                 size_t ldy, Requant rq, int32_t* sums) {
    XINFER_ASSERT(m0 <= m1 && ldy >= N && (K == 0 || lda >= K || m1 - m0 <= 1));
    XINFER_ASSERT(rq.lo <= rq.hi && rq.lo >= -128 && rq.hi <= 127);
    Header header;
    std::memcpy(&header, packed, sizeof header);
    XINFER_ASSERT(header.n == N && header.k == K);
    const auto layout = GemmS8Layout(header.layout);
    const bool float_clamp = header.multipliers_below_one != 1;
    const bool quads = layout == GemmS8Layout::uint8_quads;
#if defined(__AVX2__)
    if constexpr (use_avx2<Arch>()) {
        if (quads)
            gemm_rows<GemmAvx2Quads>(m0, m1, N, K, A, lda, packed, Y, ldy, rq, layout, float_clamp, sums);
        else
            gemm_rows<GemmAvx2Pairs>(m0, m1, N, K, A, lda, packed, Y, ldy, rq, layout, float_clamp, sums);
        return;
    }
#endif
    if (quads)
        gemm_rows<GemmGeneric<GemmS8Layout::uint8_quads>>(m0, m1, N, K, A, lda, packed, Y, ldy, rq, layout,
                                                          float_clamp, sums);
    else
        gemm_rows<GemmGeneric<GemmS8Layout::int16_pairs>>(m0, m1, N, K, A, lda, packed, Y, ldy, rq, layout,
                                                          float_clamp, sums);
}
}  // namespace gemm_detail

// Rows [m0, m1) of Y (ldy >= N) from rows of A (lda >= K; read within their K columns) and the packed weights.
template <class Arch>
void gemm_s8(size_t m0, size_t m1, size_t N, size_t K, const int8_t* A, size_t lda, const void* packed, int8_t* Y,
             size_t ldy, Requant rq) {
    gemm_detail::gemm_s8_any<Arch>(m0, m1, N, K, A, lda, packed, Y, ldy, rq, nullptr);
}

// The same rows as int32 sums, bias[n] + sum_k (A[m][k] - x_zero) * W[n][k] (wrapping like int32 adds), before
// requantization: for layers whose output is not int8 (a classifier read in fp32).
template <class Arch>
void gemm_s8_sums(size_t m0, size_t m1, size_t N, size_t K, const int8_t* A, size_t lda, const void* packed,
                  int32_t* Y, size_t ldy) {
    gemm_detail::gemm_s8_any<Arch>(m0, m1, N, K, A, lda, packed, nullptr, ldy, Requant{0, -128, 127}, Y);
}

}  // namespace xinfer::kernels::s8
