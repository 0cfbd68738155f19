#pragma once
// Reference GEMM: the executable spec of the packed SIMD GEMM and of dense layers. Accumulates in double, so
// the spec is (nearly) exact and comparisons measure the error of the optimized kernel alone.
#include <cstddef>

#include "xinfer/config.hpp"
#include "xinfer/kernels/params.hpp"

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

}  // namespace xinfer::kernels::ref
