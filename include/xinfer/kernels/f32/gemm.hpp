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

// Packs W[N][K] (+ bias[N], may be null) into `packed` (packed_gemm_floats(N, K, nr) floats).
inline void pack_gemm_goi(size_t N, size_t K, size_t nr, const float* w, const float* bias, float* packed) {
    for (size_t n0 = 0; n0 < N; n0 += nr) {
        for (size_t j = 0; j < nr; ++j) *packed++ = (n0 + j < N && bias) ? bias[n0 + j] : 0.0f;
        for (size_t k = 0; k < K; ++k)
            for (size_t j = 0; j < nr; ++j) *packed++ = n0 + j < N ? w[(n0 + j) * K + k] : 0.0f;
    }
}

// One MR x NR tile: rows a[0..MR) (stride lda), one packed panel w, nc <= NR valid output columns.
template <size_t MR, class Arch>
void gemm_ukernel_f32(size_t K, const float* a, size_t lda, const float* w, float* c, size_t ldc, size_t nc,
                      MinMax mm) {
    using B = xsimd::batch<float, Arch>;
    constexpr size_t S = B::size;
    XINFER_ASSERT(nc >= 1 && nc <= 2 * S);
    B acc0[MR], acc1[MR];
    const B bias0 = B::load_unaligned(w), bias1 = B::load_unaligned(w + S);
XINFER_UNROLL
    for (size_t r = 0; r < MR; ++r) acc0[r] = bias0, acc1[r] = bias1;
    w += 2 * S;
    for (size_t k = 0; k < K; ++k) {
        const B w0 = B::load_unaligned(w), w1 = B::load_unaligned(w + S);
        w += 2 * S;
        // Each row's broadcast is consumed before the next is loaded: keeps register pressure at 15.
XINFER_UNROLL
        for (size_t r = 0; r < MR; ++r) {
            const B ar(a[r * lda + k]);
            acc0[r] = xsimd::fma(ar, w0, acc0[r]);
            acc1[r] = xsimd::fma(ar, w1, acc1[r]);
        }
    }
    const B lo(mm.min), hi(mm.max);
XINFER_UNROLL
    for (size_t r = 0; r < MR; ++r) {
        const B v0 = xsimd::min(xsimd::max(acc0[r], lo), hi);
        const B v1 = xsimd::min(xsimd::max(acc1[r], lo), hi);
        float* cr = c + r * ldc;
        if (nc == 2 * S) {
            v0.store_unaligned(cr);
            v1.store_unaligned(cr + S);
        } else {
            alignas(64) float tmp[2 * S];
            v0.store_aligned(tmp);
            v1.store_aligned(tmp + S);
            std::copy(tmp, tmp + nc, cr);
        }
    }
}

template <class Arch>
void gemm_tile_f32(size_t mr, size_t K, const float* a, size_t lda, const float* w, float* c, size_t ldc, size_t nc,
                   MinMax mm) {
    switch (mr) {
        case 6: return gemm_ukernel_f32<6, Arch>(K, a, lda, w, c, ldc, nc, mm);
        case 5: return gemm_ukernel_f32<5, Arch>(K, a, lda, w, c, ldc, nc, mm);
        case 4: return gemm_ukernel_f32<4, Arch>(K, a, lda, w, c, ldc, nc, mm);
        case 3: return gemm_ukernel_f32<3, Arch>(K, a, lda, w, c, ldc, nc, mm);
        case 2: return gemm_ukernel_f32<2, Arch>(K, a, lda, w, c, ldc, nc, mm);
        case 1: return gemm_ukernel_f32<1, Arch>(K, a, lda, w, c, ldc, nc, mm);
        default: XINFER_ASSERT(false);
    }
}

// Rows [m_begin, m_end) x panels [p_begin, p_end) of the GEMM. Rows are blocked so that a block of A stays in L2
// while every weight panel streams past it.
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
