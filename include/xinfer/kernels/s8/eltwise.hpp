#pragma once
// Element-wise int8 kernels: residual add with requantization, and the quantize / dequantize boundaries.
// Bit-exact with ref/eltwise.hpp and ref/requantize.hpp: the add works in double (exact products, one rounding of
// the sum), quantize does a true fp32 division, dequantize one fp32 multiply.
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "xinfer/kernels/params.hpp"
#include "xinfer/kernels/s8/arch.hpp"

namespace xinfer::kernels::s8 {

// y[i] = clamp(round((a[i] - a_zero) * ma + (b[i] - b_zero) * mb) + zero_point, lo, hi).
template <class Arch>
void add_s8(size_t n, const int8_t* a, int32_t a_zero, float ma, const int8_t* b, int32_t b_zero, float mb, int8_t* y,
            Requant rq) {
    XINFER_ASSERT(rq.lo <= rq.hi && rq.lo >= -128 && rq.hi <= 127);
    size_t i = 0;
#if defined(__AVX2__)
    if constexpr (use_avx2<Arch>()) {
        const __m256d scale_a = _mm256_set1_pd(double(ma)), scale_b = _mm256_set1_pd(double(mb));
        const __m256d lo = _mm256_set1_pd(double(rq.lo - rq.zero_point));
        const __m256d hi = _mm256_set1_pd(double(rq.hi - rq.zero_point));
        const __m256i zero_a = _mm256_set1_epi32(a_zero), zero_b = _mm256_set1_epi32(b_zero);
        const __m128i zero_point16 = _mm_set1_epi16(int16_t(rq.zero_point));
        // 4 lanes: centred int32 -> double, scaled and summed, clamped (max(v, lo) gives lo for NaN), rounded.
        auto quarter = [&](__m128i a4, __m128i b4) {
            const __m256d v = _mm256_add_pd(_mm256_mul_pd(_mm256_cvtepi32_pd(a4), scale_a),
                                            _mm256_mul_pd(_mm256_cvtepi32_pd(b4), scale_b));
            return _mm256_cvtpd_epi32(_mm256_min_pd(_mm256_max_pd(v, lo), hi));
        };
        for (; i + 8 <= n; i += 8) {
            const __m256i ac = _mm256_sub_epi32(avx2::load8_s32(a + i), zero_a);
            const __m256i bc = _mm256_sub_epi32(avx2::load8_s32(b + i), zero_b);
            const __m128i q_lo = quarter(_mm256_castsi256_si128(ac), _mm256_castsi256_si128(bc));
            const __m128i q_hi = quarter(_mm256_extracti128_si256(ac, 1), _mm256_extracti128_si256(bc, 1));
            const __m128i q16 = _mm_add_epi16(_mm_packs_epi32(q_lo, q_hi), zero_point16);
            avx2::store8(y + i, _mm_packs_epi16(q16, q16));
        }
    }
#endif
    for (; i < n; ++i) y[i] = add_requantize(int32_t(a[i]) - a_zero, int32_t(b[i]) - b_zero, ma, mb, rq);
}

// QuantizeLinear: y[i] = clamp(round(x[i] / scale) + zero_point, -128, 127); NaN gives -128.
template <class Arch>
void quantize_f32_s8(size_t n, const float* x, float scale, int32_t zero_point, int8_t* y) {
    const Requant rq{zero_point, -128, 127};
    size_t i = 0;
#if defined(__AVX2__)
    if constexpr (use_avx2<Arch>()) {
        const avx2::RequantVec bounds(rq);
        const __m256 divisor = _mm256_set1_ps(scale);
        for (; i + 8 <= n; i += 8) {
            const __m256 v = _mm256_div_ps(_mm256_loadu_ps(x + i), divisor);
            const __m256i q = _mm256_cvtps_epi32(_mm256_min_ps(_mm256_max_ps(v, bounds.lo), bounds.hi));
            avx2::store8(y + i, avx2::pack8(q, bounds));
        }
    }
#endif
    for (; i < n; ++i) {
        const float v = clamp_nan_low(x[i] / scale, float(rq.lo - zero_point), float(rq.hi - zero_point));
        y[i] = int8_t(int32_t(std::nearbyint(v)) + zero_point);
    }
}

// DequantizeLinear: y[i] = float(x[i] - zero_point) * scale.
template <class Arch>
void dequantize_s8_f32(size_t n, const int8_t* x, float scale, int32_t zero_point, float* y) {
    size_t i = 0;
#if defined(__AVX2__)
    if constexpr (use_avx2<Arch>()) {
        const __m256 factor = _mm256_set1_ps(scale);
        const __m256i zero = _mm256_set1_epi32(zero_point);
        for (; i + 8 <= n; i += 8) {
            const __m256i centred = _mm256_sub_epi32(avx2::load8_s32(x + i), zero);
            _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_cvtepi32_ps(centred), factor));
        }
    }
#endif
    for (; i < n; ++i) y[i] = float(int32_t(x[i]) - zero_point) * scale;
}

}  // namespace xinfer::kernels::s8
