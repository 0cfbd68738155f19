#pragma once
// Packed int8 GEMM for 1x1 convolutions, im2col convolutions and dense layers:
//   Y[m][n] = requantize(bias[n] + sum_k (A[m][k] - x_zero) * W[n][k], multiplier[n]).
// Accumulation is exact in int32 for the full int8 range of both operands: values are sign-extended to int16 and
// multiplied in pairs of k into int32 (AVX2 vpmaddwd + vpaddd, or vpdpwssd with VNNI); nothing saturates.
//
// Packed layout (source "goi": W[N][K], bias[N], multiplier[N]): panels of 16 output channels, the last one 8 wide
// when N % 16 is 1..8. Each panel holds
//   int32 bias[nw] (with x_zero * sum_k W[n][k] subtracted), float multiplier[nw],
//   then per pair of k (K rounded up to even): nw x {int16 W[n][k], int16 W[n][k + 1]},
// zero-padded past N and K; a 16-wide panel stores its channels in lane_of16 order. The A rows of one register tile
// are sign-extended once into int16 on the stack (in chunks of kChunkK values of k) and reused for every panel.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "xinfer/config.hpp"
#include "xinfer/kernels/params.hpp"
#include "xinfer/kernels/s8/arch.hpp"

namespace xinfer::kernels::s8 {

namespace gemm_detail {

constexpr size_t kPanel = 16;
constexpr size_t kChunkK = 2048;                   // k values of A packed at a time
constexpr size_t kChunkPairs = kChunkK / 2;
constexpr size_t kARowStride = kChunkK + 32;       // int16 per packed A row; the extra 64 bytes avoid 4 KiB aliasing
constexpr size_t kWeightBlockBytes = 192 * 1024;   // packed weights swept per row tile: stays in L2
constexpr size_t kMaxBlockPanels = 16;             // bounds the partial sums kept when K spans several chunks
constexpr size_t kPartialStride = kMaxBlockPanels * kPanel;
constexpr size_t kMrGeneric = 4;
constexpr size_t kMrAvx2 = 6;                      // 6 rows x 16 columns: 12 accumulators + 2 weights + 2 temps

inline size_t k_pairs(size_t K) { return (K + 1) / 2; }
inline size_t panel_width(size_t N, size_t n0) { return N - n0 > 8 ? kPanel : 8; }
inline size_t panel_bytes(size_t nw, size_t K) { return nw * (2 * sizeof(int32_t) + k_pairs(K) * 2 * sizeof(int16_t)); }
inline size_t panel_lane(size_t nw, size_t j) { return nw == kPanel ? lane_of16(j) : j; }

// The work of one register tile: rows of packed A against one panel, for one chunk of k. Output is the
// implementation's form of the output stage, prepared once per call.
template <class Output>
struct Tile {
    size_t kpairs;
    const int16_t* a;       // packed A rows, kARowStride apart
    const int16_t* w;       // the panel's weight pairs for this chunk
    const int32_t* init;    // starting sums: the packed bias (init_stride 0) or partial sums
    size_t init_stride;
    int32_t* partial;       // non-null: store the raw sums here (kPartialStride apart) instead of requantizing
    const float* multiplier;
    int8_t* y;
    size_t ldy;
    size_t nc;              // valid columns of the panel
    const Output* out;
};

// Portable C++.
struct GemmGeneric {
    static constexpr size_t mr = kMrGeneric;
    using Output = Requant;

    static void pack_a(size_t rows, const int8_t* A, size_t lda, size_t k_count, int16_t* apack) {
        for (size_t r = 0; r < rows; ++r) {
            int16_t* dst = apack + r * kARowStride;
            for (size_t k = 0; k < k_count; ++k) dst[k] = A[r * lda + k];
            if (k_count % 2) dst[k_count] = 0;
        }
    }

    template <size_t MR, size_t NV>
    static void tile(const Tile<Output>& t) {
        constexpr size_t NW = 8 * NV;
        int32_t acc[MR][NW];
        for (size_t r = 0; r < MR; ++r)
            for (size_t j = 0; j < NW; ++j) acc[r][j] = t.init[r * t.init_stride + j];
        const int16_t* w = t.w;
        for (size_t k = 0; k < t.kpairs; ++k, w += 2 * NW)
            for (size_t r = 0; r < MR; ++r) {
                const int32_t a0 = t.a[r * kARowStride + 2 * k], a1 = t.a[r * kARowStride + 2 * k + 1];
                for (size_t j = 0; j < NW; ++j) acc[r][j] += a0 * w[2 * j] + a1 * w[2 * j + 1];
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
struct GemmAvx2 {
    static constexpr size_t mr = kMrAvx2;
    using Output = avx2::RequantVec;

    static void pack_a(size_t rows, const int8_t* A, size_t lda, size_t k_count, int16_t* apack) {
        for (size_t r = 0; r < rows; ++r) {
            const int8_t* src = A + r * lda;
            int16_t* dst = apack + r * kARowStride;
            size_t k = 0;
            for (; k + 16 <= k_count; k += 16)
                _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + k), avx2::load16_s16(src + k));
            if (k + 8 <= k_count) {
                const __m128i v = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(src + k));
                _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + k), _mm_cvtepi8_epi16(v));
                k += 8;
            }
            for (; k < k_count; ++k) dst[k] = src[k];
            if (k_count % 2) dst[k_count] = 0;
        }
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
    static void tile(const Tile<Output>& t) {
        __m256i acc[MR][NV];
XINFER_UNROLL
        for (size_t r = 0; r < MR; ++r)
XINFER_UNROLL
            for (size_t v = 0; v < NV; ++v)
                acc[r][v] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t.init + r * t.init_stride + 8 * v));
        const int16_t* w = t.w;
        const int16_t* a = t.a;
        for (size_t k = 0; k < t.kpairs; ++k, w += 16 * NV, a += 2) {
            const __m256i w0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w));
            const __m256i w1 = NV == 2 ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + 16)) : w0;
XINFER_UNROLL
            for (size_t r = 0; r < MR; ++r) {
                int32_t pair;
                std::memcpy(&pair, a + r * kARowStride, sizeof pair);
                const __m256i ar = _mm256_set1_epi32(pair);
                acc[r][0] = accumulate<MR>(acc[r][0], ar, w0);
                if constexpr (NV == 2) acc[r][1] = accumulate<MR>(acc[r][1], ar, w1);
            }
        }
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
        if (avx2::below_one(m0) && avx2::below_one(m1))
            store_rows<false>(acc, m0, m1, t);
        else
            store_rows<true>(acc, m0, m1, t);
    }

    // Requantizes and stores the tile, two rows per int8 pack.
    template <bool FloatClamp, size_t MR, size_t NV>
    static void store_rows(const __m256i (&acc)[MR][NV], __m256 m0, __m256 m1, const Tile<Output>& t) {
        using namespace avx2;
        const RequantVec& rq = *t.out;
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
    }
};
#endif

template <class Impl, size_t MR>
void run_tile(size_t rows, size_t nv, const Tile<typename Impl::Output>& t) {
    if (rows == MR) {
        if (nv == 2)
            Impl::template tile<MR, 2>(t);
        else
            Impl::template tile<MR, 1>(t);
    } else if constexpr (MR > 1) {
        run_tile<Impl, MR - 1>(rows, nv, t);
    }
}

// Rows [m0, m1): panels are swept in blocks that stay in L2 while the row tiles of A pass by.
template <class Impl>
void gemm_rows(size_t m0, size_t m1, size_t N, size_t K, const int8_t* A, size_t lda, const void* packed, int8_t* Y,
               size_t ldy, const Requant& rq) {
    constexpr size_t MR = Impl::mr;
    alignas(64) int16_t apack[MR * kARowStride];
    alignas(64) int32_t partial[MR * kPartialStride];
    const size_t kpairs = k_pairs(K), panels = (N + kPanel - 1) / kPanel;
    const size_t full_panel_bytes = panel_bytes(kPanel, K);
    const size_t block_panels = std::clamp<size_t>(kWeightBlockBytes / full_panel_bytes, 1, kMaxBlockPanels);
    const auto* base = static_cast<const unsigned char*>(packed);
    const typename Impl::Output out(rq);
    for (size_t pb = 0; pb < panels; pb += block_panels) {
        const size_t pe = std::min(panels, pb + block_panels);
        for (size_t m = m0; m < m1; m += MR) {
            const size_t rows = std::min(MR, m1 - m);
            size_t kc = 0;  // first pair of k of the chunk
            do {
                const size_t chunk_pairs = std::min(kChunkPairs, kpairs - kc);
                const bool first = kc == 0, last = kc + chunk_pairs == kpairs;
                if (chunk_pairs)
                    Impl::pack_a(rows, A + m * lda + 2 * kc, lda, std::min(2 * chunk_pairs, K - 2 * kc), apack);
                for (size_t p = pb; p < pe; ++p) {
                    const size_t n0 = p * kPanel, nw = panel_width(N, n0);
                    const unsigned char* panel = base + p * full_panel_bytes;
                    int32_t* panel_partial = partial + (p - pb) * kPanel;
                    Tile<typename Impl::Output> t;
                    t.kpairs = chunk_pairs;
                    t.a = apack;
                    t.w = reinterpret_cast<const int16_t*>(panel + nw * 8) + kc * 2 * nw;
                    t.init = first ? reinterpret_cast<const int32_t*>(panel) : panel_partial;
                    t.init_stride = first ? 0 : kPartialStride;
                    t.partial = last ? nullptr : panel_partial;
                    t.multiplier = reinterpret_cast<const float*>(panel + nw * 4);
                    t.y = Y + m * ldy + n0;
                    t.ldy = ldy;
                    t.nc = std::min(nw, N - n0);
                    t.out = &out;
                    run_tile<Impl, MR>(rows, nw / 8, t);
                }
                kc += chunk_pairs;
            } while (kc < kpairs);
        }
    }
}

}  // namespace gemm_detail

inline size_t packed_gemm_s8_bytes(size_t N, size_t K) {
    using namespace gemm_detail;
    const size_t rem = N % kPanel;
    return N / kPanel * panel_bytes(kPanel, K) + (rem ? panel_bytes(panel_width(N, N - rem), K) : 0);
}

// W: [N][K]; bias may be null; multiplier[n] = s_x * s_w[n] / s_y. `packed` holds packed_gemm_s8_bytes(N, K)
// bytes, 4-byte aligned (at least).
inline void pack_gemm_s8(size_t N, size_t K, const int8_t* W, const int32_t* bias, int32_t x_zero,
                         const float* multiplier, void* packed) {
    using namespace gemm_detail;
    XINFER_ASSERT(reinterpret_cast<uintptr_t>(packed) % alignof(int32_t) == 0);
    const size_t kpairs = k_pairs(K);
    auto* out = static_cast<unsigned char*>(packed);
    for (size_t n0 = 0; n0 < N; n0 += kPanel) {
        const size_t nw = panel_width(N, n0);
        auto* panel_bias = reinterpret_cast<int32_t*>(out);
        auto* panel_multiplier = reinterpret_cast<float*>(out + nw * 4);
        auto* panel_weights = reinterpret_cast<int16_t*>(out + nw * 8);
        for (size_t j = 0; j < nw; ++j) {
            const size_t n = n0 + j, lane = panel_lane(nw, j);
            const bool valid = n < N;
            int64_t weight_sum = 0;
            for (size_t k = 0; valid && k < K; ++k) weight_sum += W[n * K + k];
            const int64_t folded = (valid && bias ? int64_t(bias[n]) : 0) - int64_t(x_zero) * weight_sum;
            panel_bias[lane] = valid ? int32_t(uint32_t(uint64_t(folded))) : 0;
            panel_multiplier[lane] = valid ? multiplier[n] : 0.0f;
            for (size_t kp = 0; kp < kpairs; ++kp)
                for (size_t e = 0; e < 2; ++e) {
                    const size_t k = 2 * kp + e;
                    panel_weights[(kp * nw + lane) * 2 + e] = valid && k < K ? W[n * K + k] : 0;
                }
        }
        out += panel_bytes(nw, K);
    }
}

// Rows per register tile: callers that split rows between threads do it in multiples of this.
template <class Arch>
constexpr size_t gemm_s8_mr() {
    return use_avx2<Arch>() ? gemm_detail::kMrAvx2 : gemm_detail::kMrGeneric;
}

// Rows [m0, m1) of Y (ldy >= N) from rows of A (lda >= K; read only within their K columns) and the packed weights.
template <class Arch>
void gemm_s8(size_t m0, size_t m1, size_t N, size_t K, const int8_t* A, size_t lda, const void* packed, int8_t* Y,
             size_t ldy, Requant rq) {
    XINFER_ASSERT(m0 <= m1 && ldy >= N && (K == 0 || lda >= K || m1 - m0 <= 1));
    XINFER_ASSERT(rq.lo <= rq.hi && rq.lo >= -128 && rq.hi <= 127);
#if defined(__AVX2__)
    if constexpr (use_avx2<Arch>())
        gemm_detail::gemm_rows<gemm_detail::GemmAvx2>(m0, m1, N, K, A, lda, packed, Y, ldy, rq);
    else
#endif
        gemm_detail::gemm_rows<gemm_detail::GemmGeneric>(m0, m1, N, K, A, lda, packed, Y, ldy, rq);
}

}  // namespace xinfer::kernels::s8
