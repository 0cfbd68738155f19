#pragma once
// Reference GEMM: the executable spec of the packed SIMD GEMMs and of dense layers. fp32 accumulates in double, so
// the spec is (nearly) exact and comparisons measure the error of the optimized kernel alone; int8 accumulates
// exactly in int32, the input zero point subtracted explicitly, and requantizes as in ref/requantize.hpp.
#include <cstddef>
#include <cstdint>

#include "xinfer/config.hpp"
#include "xinfer/kernels/params.hpp"
#include "xinfer/kernels/ref/requantize.hpp"

namespace xinfer::kernels::ref {

// C[m][n] = clamp(bias[n] + sum_k A[m*lda + k] * W[n*K + k]) with W in "goi" layout [N][K]; bias may be null.
inline void gemm_f32(size_t M, size_t N, size_t K, const float* A, size_t lda, const float* W, const float* bias,
                     float* C, size_t ldc, MinMax mm) {
    XINFER_ASSERT(lda >= K && ldc >= N);
    for (size_t m = 0; m < M; ++m)
        for (size_t n = 0; n < N; ++n) {
            double acc = bias ? bias[n] : 0.0;
            for (size_t k = 0; k < K; ++k) acc += double(A[m * lda + k]) * double(W[n * K + k]);
            C[m * ldc + n] = clamp(float(acc), mm);
        }
}

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

}  // namespace xinfer::kernels::ref
