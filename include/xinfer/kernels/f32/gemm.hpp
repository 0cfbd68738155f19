#pragma once
// Packed fp32 GEMM: C[M][N] = clamp(bias + A[M][K] * W^T), W packed once into NR-wide panels.
//
// Packed layout ("gemm_goi" source: W[N][K], bias[N]): for each panel of NR output columns,
//   NR biases, then for k = 0..K-1 the NR weights W[n0..n0+NR)[k]; zero-padded past N.
// The microkernel keeps an MR x NR tile of accumulators in registers (MR = 6, NR = 2 vectors: 12 accumulators,
// 2 weight vectors and 1 broadcast = 15 of the 16 vector registers of AVX2/SSE), starts from the bias, and fuses
// the min/max clamp into the store.
#include <algorithm>
#include <cstddef>
#include <xsimd/xsimd.hpp>

#include "xinfer/config.hpp"
#include "xinfer/kernels/params.hpp"

namespace xinfer::kernels::f32 {

template <class Arch>
struct GemmConfig {
    static constexpr size_t simd = xsimd::batch<float, Arch>::size;
    static constexpr size_t nr = 2 * simd;
    static constexpr size_t mr = 6;
};

inline size_t packed_gemm_floats(size_t N, size_t K, size_t nr) { return (N + nr - 1) / nr * nr * (K + 1); }

// Packs W[N][K] ("goi") + bias[N] (may be null) into panels of nr columns: nr biases, then K x nr weights.
// `packed` holds packed_gemm_floats(N, K, nr) floats.
inline void pack_gemm_goi(size_t N, size_t K, size_t nr, const float* w, const float* bias, float* packed) {
    for (size_t n0 = 0; n0 < N; n0 += nr) {
        for (size_t j = 0; j < nr; ++j) *packed++ = (n0 + j < N && bias) ? bias[n0 + j] : 0.0f;
        for (size_t k = 0; k < K; ++k)
            for (size_t j = 0; j < nr; ++j) *packed++ = n0 + j < N ? w[(n0 + j) * K + k] : 0.0f;
    }
}

// One MR x (NV vectors) tile: rows a[0..MR) (stride lda), one packed panel w (NR = 2 vectors wide), nc <= NV
// vectors' worth of valid output columns. NV = 1 serves a last panel that is at most half used (e.g. N = 24).
template <size_t MR, size_t NV, class Arch>
XINFER_NOINLINE void gemm_ukernel_f32(size_t K, const float* a, size_t lda, const float* w, float* c, size_t ldc,
                                      size_t nc, MinMax mm) {
    using B = xsimd::batch<float, Arch>;
    constexpr size_t S = B::size;
    static_assert(NV == 1 || NV == 2, "one or two vectors of output columns");
    XINFER_ASSERT(nc >= 1 && nc <= NV * S);
    B acc[NV][MR];
XINFER_UNROLL
    for (size_t v = 0; v < NV; ++v) {
        const B bias = B::load_unaligned(w + v * S);
XINFER_UNROLL
        for (size_t r = 0; r < MR; ++r) acc[v][r] = bias;
    }
    w += 2 * S;
    for (size_t k = 0; k < K; ++k) {
        B wv[NV];
XINFER_UNROLL
        for (size_t v = 0; v < NV; ++v) wv[v] = B::load_unaligned(w + v * S);
        w += 2 * S;
        // Each row's broadcast is consumed before the next is loaded: keeps register pressure at 15.
XINFER_UNROLL
        for (size_t r = 0; r < MR; ++r) {
            const B ar(a[r * lda + k]);
XINFER_UNROLL
            for (size_t v = 0; v < NV; ++v) acc[v][r] = xsimd::fma(ar, wv[v], acc[v][r]);
        }
    }
    const B lo(mm.min), hi(mm.max);
XINFER_UNROLL
    for (size_t r = 0; r < MR; ++r) {
        float* cr = c + r * ldc;
        if (nc == NV * S) {
XINFER_UNROLL
            for (size_t v = 0; v < NV; ++v) xsimd::min(xsimd::max(acc[v][r], lo), hi).store_unaligned(cr + v * S);
        } else {
            alignas(64) float tmp[NV * S];
XINFER_UNROLL
            for (size_t v = 0; v < NV; ++v) xsimd::min(xsimd::max(acc[v][r], lo), hi).store_aligned(tmp + v * S);
            std::copy(tmp, tmp + nc, cr);
        }
    }
}

template <size_t NV, class Arch>
void gemm_tile_f32_nv(size_t mr, size_t K, const float* a, size_t lda, const float* w, float* c, size_t ldc,
                      size_t nc, MinMax mm) {
    switch (mr) {
        case 6: return gemm_ukernel_f32<6, NV, Arch>(K, a, lda, w, c, ldc, nc, mm);
        case 5: return gemm_ukernel_f32<5, NV, Arch>(K, a, lda, w, c, ldc, nc, mm);
        case 4: return gemm_ukernel_f32<4, NV, Arch>(K, a, lda, w, c, ldc, nc, mm);
        case 3: return gemm_ukernel_f32<3, NV, Arch>(K, a, lda, w, c, ldc, nc, mm);
        case 2: return gemm_ukernel_f32<2, NV, Arch>(K, a, lda, w, c, ldc, nc, mm);
        case 1: return gemm_ukernel_f32<1, NV, Arch>(K, a, lda, w, c, ldc, nc, mm);
        default: XINFER_ASSERT(false);
    }
}

template <class Arch>
void gemm_tile_f32(size_t mr, size_t K, const float* a, size_t lda, const float* w, float* c, size_t ldc, size_t nc,
                   MinMax mm) {
    constexpr size_t S = GemmConfig<Arch>::simd;
    if (nc <= S) return gemm_tile_f32_nv<1, Arch>(mr, K, a, lda, w, c, ldc, nc, mm);
    gemm_tile_f32_nv<2, Arch>(mr, K, a, lda, w, c, ldc, nc, mm);
}

// Rows [m_begin, m_end) x panels [p_begin, p_end) of the GEMM. Rows are blocked so that a block of A stays in L2
// while every weight panel streams past it. (Iterating rows outside panels when all panels fit in L1 measured the
// same, within 3 %, on the K <= 32 layers.)
template <class Arch>
void gemm_f32(size_t m_begin, size_t m_end, size_t p_begin, size_t p_end, size_t N, size_t K, const float* A,
              size_t lda, const float* packed, float* C, size_t ldc, MinMax mm) {
    constexpr size_t MR = GemmConfig<Arch>::mr, NR = GemmConfig<Arch>::nr;
    const size_t panel_floats = NR * (K + 1);
    const size_t block_rows = std::max<size_t>(MR, (96 * 1024 / (4 * std::max<size_t>(K, 1))) / MR * MR);
    for (size_t m0 = m_begin; m0 < m_end; m0 += block_rows) {
        const size_t m1 = std::min(m_end, m0 + block_rows);
        for (size_t p = p_begin; p < p_end; ++p) {
            const size_t n0 = p * NR, nc = std::min(NR, N - n0);
            const float* w = packed + p * panel_floats;
            for (size_t m = m0; m < m1; m += MR)
                gemm_tile_f32<Arch>(std::min(MR, m1 - m), K, A + m * lda, lda, w, C + m * ldc + n0, ldc, nc, mm);
        }
    }
}

}  // namespace xinfer::kernels::f32
