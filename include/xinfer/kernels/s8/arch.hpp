#pragma once
// The arch layer of the int8 kernels: which instruction set a kernel instantiated for an xsimd Arch uses, the
// exact int16 pair dot product, and the output stage of ref/requantize.hpp in scalar and AVX2 form (bit-exact).
//
// Each s8 kernel has one portable section (plain C++ loops) and one section per instruction set; today AVX2, taken
// when the compiler targets AVX2 and Arch is an AVX2 or AVX-512 xsimd architecture (xsimd 8 has no int8
// multiply-add, so these sections use intrinsics). A NEON section would slot in beside the AVX2 one.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <xsimd/xsimd.hpp>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

// Defined where the compiler targets 256-bit VNNI dot products into int32 (vpdpbusd, vpdpwssd): AVX512-VNNI with
// AVX512-VL, or AVX-VNNI. The kernels test this one macro; avx2::dpbusd / dpwssd below name the instruction.
#if (defined(__AVX512VNNI__) && defined(__AVX512VL__)) || defined(__AVXVNNI__)
#define XINFER_S8_VNNI 1
#endif

#include "xinfer/config.hpp"
#include "xinfer/kernels/params.hpp"

namespace xinfer::kernels::s8 {

// True where the compiler targets a uint8 x int8 dot product into int32 without saturation (AVX512-VNNI with
// AVX512-VL, or AVX-VNNI): the uint8-quads GEMM then takes any int8 weights, not only 7-bit ones.
constexpr bool quads_exact_for_any_weights() {
#if defined(XINFER_S8_VNNI)
    return true;
#else
    return false;
#endif
}

template <class Arch>
constexpr bool use_avx2() {
#if defined(__AVX2__)
    return std::is_base_of<xsimd::avx2, Arch>::value || std::is_base_of<xsimd::avx512f, Arch>::value;
#else
    return false;
#endif
}

// Clamp with the NaN behaviour of SIMD max/min (a NaN v gives lo), as in ref::clamp_like_simd.
template <class T>
inline T clamp_nan_low(T v, T lo, T hi) {
    v = v > lo ? v : lo;
    return v < hi ? v : hi;
}

// y = clamp(round_half_even(float(acc) * multiplier) + zero_point, lo, hi).
inline int8_t requantize(int32_t acc, float multiplier, const Requant& rq) {
    const float v = clamp_nan_low(float(acc) * multiplier, float(rq.lo - rq.zero_point), float(rq.hi - rq.zero_point));
    return int8_t(int32_t(std::nearbyint(v)) + rq.zero_point);
}

// Add of two centred int8 values in double (the products are exact there; only the sum rounds).
inline int8_t add_requantize(int32_t a_centered, int32_t b_centered, float ma, float mb, const Requant& rq) {
    const double v = double(a_centered) * double(ma) + double(b_centered) * double(mb);
    const double r = clamp_nan_low(v, double(rq.lo - rq.zero_point), double(rq.hi - rq.zero_point));
    return int8_t(int32_t(std::nearbyint(r)) + rq.zero_point);
}

// Lane position of column (or channel) j of a 16-wide block whose int32 accumulators are two 8-lane vectors
// holding {0-3, 8-11} and {4-7, 12-15}: the order in which packing int32 -> int16 per 128-bit half restores
// 0..15. Swaps bits 2 and 3 of j; its own inverse.
constexpr size_t lane_of16(size_t j) { return (j & ~size_t(12)) | ((j & 4) << 1) | ((j & 8) >> 1); }

#if defined(__AVX2__)
namespace avx2 {

#if defined(XINFER_S8_VNNI)
#if defined(__AVX512VNNI__) && defined(__AVX512VL__)
inline __m256i dpbusd(__m256i acc, __m256i a, __m256i b) { return _mm256_dpbusd_epi32(acc, a, b); }
inline __m256i dpwssd(__m256i acc, __m256i a, __m256i b) { return _mm256_dpwssd_epi32(acc, a, b); }
#else
inline __m256i dpbusd(__m256i acc, __m256i a, __m256i b) { return _mm256_dpbusd_avx_epi32(acc, a, b); }
inline __m256i dpwssd(__m256i acc, __m256i a, __m256i b) { return _mm256_dpwssd_avx_epi32(acc, a, b); }
#endif
#endif

// acc + a[2i] * b[2i] + a[2i+1] * b[2i+1] per int32 lane: exact for int16 inputs (wrapping like vpaddd).
// One instruction where VNNI exists (Zen 4, Ice Lake and later), vpmaddwd + vpaddd otherwise.
inline __m256i dot_pairs_add(__m256i acc, __m256i a, __m256i b) {
#if defined(XINFER_S8_VNNI)
    return dpwssd(acc, a, b);
#else
    return _mm256_add_epi32(acc, _mm256_madd_epi16(a, b));
#endif
}

// acc + the four products a[4i + e] * b[4i + e] per int32 lane, a as uint8 and b as int8. With VNNI (vpdpbusd) the
// products are summed straight into int32: exact for any int8 b. Without it, vpmaddubsw first sums them in int16
// pairs with saturation, which is exact only while each pair sum stays within int16: b in [-64, 63] (gemm.hpp).
// Fused adds the accumulator inside the VNNI instruction, whose latency then chains through acc; callers with
// few independent accumulators (a one-row tile: the classifier) pass false.
template <bool Fused = true>
inline __m256i dot_quads_add(__m256i acc, __m256i a, __m256i b) {
#if defined(XINFER_S8_VNNI)
    if constexpr (Fused) return dpbusd(acc, a, b);
    return _mm256_add_epi32(acc, dpbusd(_mm256_setzero_si256(), a, b));
#else
    return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(a, b), _mm256_set1_epi16(1)));
#endif
}

// 16 int8 at p sign-extended to int16.
inline __m256i load16_s16(const int8_t* p) {
    return _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

// 8 int8 at p sign-extended to int32.
inline __m256i load8_s32(const int8_t* p) {
    return _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
}

inline void store8(int8_t* p, __m128i v) { _mm_storel_epi64(reinterpret_cast<__m128i*>(p), v); }

// The output stage as vectors. Rounding happens on the scaled fp32 value; the clamp to [lo, hi] happens either in
// fp32 before rounding (exact for any multiplier, NaN included) or, when every |multiplier| < 1 (so the scaled
// value is a finite number inside int32 range), on int8 after saturating packs, which gives the same result since
// rounding is monotonic and the bounds are integers.
struct RequantVec {
    __m256 lo, hi;  // relative to the zero point
    __m256i zero_point16, lo8, hi8;
    explicit RequantVec(const Requant& rq)
        : lo(_mm256_set1_ps(float(rq.lo - rq.zero_point))),
          hi(_mm256_set1_ps(float(rq.hi - rq.zero_point))),
          zero_point16(_mm256_set1_epi16(int16_t(rq.zero_point))),
          lo8(_mm256_set1_epi8(int8_t(rq.lo))),
          hi8(_mm256_set1_epi8(int8_t(rq.hi))) {}
};

// True when |m| < 1 in every lane (false for NaN): the int8 clamp suffices.
inline bool below_one(__m256 m) {
    const __m256 magnitude = _mm256_and_ps(m, _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff)));
    return _mm256_movemask_ps(_mm256_cmp_ps(magnitude, _mm256_set1_ps(1.0f), _CMP_LT_OQ)) == 0xff;
}

// 8 accumulators -> 8 rounded values (relative to the zero point). max(v, lo) returns lo for a NaN v.
template <bool FloatClamp>
inline __m256i round_scaled(__m256i acc, __m256 multiplier, const RequantVec& p) {
    __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(acc), multiplier);
    if constexpr (FloatClamp) v = _mm256_min_ps(_mm256_max_ps(v, p.lo), p.hi);
    return _mm256_cvtps_epi32(v);
}

// Rounded lanes {0-3, 8-11} and {4-7, 12-15} of 16 outputs -> the 16 values in order as int16, plus the zero point.
inline __m256i to_int16(__m256i q_a, __m256i q_b, const RequantVec& p) {
    return _mm256_adds_epi16(_mm256_packs_epi32(q_a, q_b), p.zero_point16);
}

// Two rows of 16 int16 -> clamped int8: row a in the low half, row b in the high half.
inline __m256i to_int8(__m256i a16, __m256i b16, const RequantVec& p) {
    const __m256i v = _mm256_permute4x64_epi64(_mm256_packs_epi16(a16, b16), 0xd8);
    return _mm256_min_epi8(_mm256_max_epi8(v, p.lo8), p.hi8);
}

// 8 rounded outputs in order -> int16 plus the zero point.
inline __m128i to_int16_8(__m256i q, const RequantVec& p) {
    return _mm_adds_epi16(_mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1)),
                          _mm256_castsi256_si128(p.zero_point16));
}

// Two rows of 8 int16 -> clamped int8: row a in the low 8 bytes, row b in the high 8.
inline __m128i to_int8_8(__m128i a16, __m128i b16, const RequantVec& p) {
    return _mm_min_epi8(_mm_max_epi8(_mm_packs_epi16(a16, b16), _mm256_castsi256_si128(p.lo8)),
                        _mm256_castsi256_si128(p.hi8));
}

// The 16 outputs of one row.
inline __m128i pack16(__m256i q_a, __m256i q_b, const RequantVec& p) {
    const __m256i v16 = to_int16(q_a, q_b, p);
    return _mm256_castsi256_si128(to_int8(v16, v16, p));
}

// The 8 outputs of one row, in the low half.
inline __m128i pack8(__m256i q, const RequantVec& p) {
    const __m128i v16 = to_int16_8(q, p);
    return to_int8_8(v16, v16, p);
}

// Stores the first n (<= 16) bytes of v.
inline void store_bytes(int8_t* dst, __m128i v, size_t n) {
    if (n == 16) {
        _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), v);
    } else if (n == 8) {
        _mm_storel_epi64(reinterpret_cast<__m128i*>(dst), v);
    } else {
        alignas(16) int8_t tmp[16];
        _mm_store_si128(reinterpret_cast<__m128i*>(tmp), v);
        std::memcpy(dst, tmp, n);
    }
}

}  // namespace avx2
#endif

}  // namespace xinfer::kernels::s8
