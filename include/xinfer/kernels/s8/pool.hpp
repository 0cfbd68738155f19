#pragma once
// int8 global average pooling over NHWC: channels are the vector axis; exact int32 sums, one requantization.
#include <cstddef>
#include <cstdint>

#include "xinfer/kernels/params.hpp"
#include "xinfer/kernels/s8/arch.hpp"

namespace xinfer::kernels::s8 {

// x: [HW][C] -> y: [C], y[c] = requantize(sum_p (x[p][c] - x_zero), multiplier) with multiplier = s_x / (s_y HW).
template <class Arch>
void global_avg_pool_s8(size_t HW, size_t C, const int8_t* x, int32_t x_zero, float multiplier, int8_t* y,
                        Requant rq) {
    XINFER_ASSERT(rq.lo <= rq.hi && rq.lo >= -128 && rq.hi <= 127);
    const int32_t zero_sum = -int32_t(HW) * x_zero;
    size_t c = 0;
#if defined(__AVX2__)
    if constexpr (use_avx2<Arch>()) {
        const avx2::RequantVec bounds(rq);
        const __m256 factor = _mm256_set1_ps(multiplier);
        for (; c + 16 <= C; c += 16) {
            __m256i sum_lo = _mm256_set1_epi32(zero_sum), sum_hi = sum_lo;
            for (size_t p = 0; p < HW; ++p) {
                sum_lo = _mm256_add_epi32(sum_lo, avx2::load8_s32(x + p * C + c));
                sum_hi = _mm256_add_epi32(sum_hi, avx2::load8_s32(x + p * C + c + 8));
            }
            avx2::store8(y + c, avx2::pack8(avx2::round_scaled<true>(sum_lo, factor, bounds), bounds));
            avx2::store8(y + c + 8, avx2::pack8(avx2::round_scaled<true>(sum_hi, factor, bounds), bounds));
        }
    }
#endif
    for (; c < C; ++c) {
        int32_t sum = zero_sum;
        for (size_t p = 0; p < HW; ++p) sum += x[p * C + c];
        y[c] = requantize(sum, multiplier, rq);
    }
}

}  // namespace xinfer::kernels::s8
