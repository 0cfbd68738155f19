#pragma once
// The int8 arithmetic spec (docs/int8.md). Every int8 kernel, scalar or SIMD, must produce exactly
// these values. Rounding is round-half-to-even (the default floating-point rounding mode), as in ONNX.
//
// Each function does a single fp32 rounding step before the final rounding (one multiply or one divide), so
// whether a compiler contracts expressions into FMAs cannot change the result. Where two scaled terms are summed
// (Add), the products are exact in double and only the sum rounds, for the same reason.
#include <cmath>
#include <cstddef>
#include <cstdint>

namespace xinfer::kernels::ref {

// Clamp written as the SIMD max/min instructions behave: a NaN v gives lo.
inline float clamp_like_simd(float v, float lo, float hi) {
    v = v > lo ? v : lo;
    return v < hi ? v : hi;
}
inline double clamp_like_simd(double v, double lo, double hi) {
    v = v > lo ? v : lo;
    return v < hi ? v : hi;
}

// Output stage of int8 convolutions, dense layers and pooling:
//   y = clamp(round(float(acc) * multiplier) + zero_point, lo, hi),   multiplier = s_x * s_w[c] / s_y in fp32.
// Clamping before rounding gives the same value (the bounds are integers) and keeps the conversion in range.
inline int8_t requantize(int32_t acc, float multiplier, int32_t zero_point, int32_t lo, int32_t hi) {
    const float v = clamp_like_simd(float(acc) * multiplier, float(lo - zero_point), float(hi - zero_point));
    return int8_t(int32_t(std::nearbyint(v)) + zero_point);
}

// QuantizeLinear: q = clamp(round(x / scale) + zero_point, lo, hi). NaN maps to lo.
inline int8_t quantize(float x, float scale, int32_t zero_point, int32_t lo = -128, int32_t hi = 127) {
    const float v = clamp_like_simd(x / scale, float(lo - zero_point), float(hi - zero_point));
    return int8_t(int32_t(std::nearbyint(v)) + zero_point);
}

// DequantizeLinear: x = float(q - zero_point) * scale.
inline float dequantize(int32_t q, float scale, int32_t zero_point) { return float(q - zero_point) * scale; }

// Add of two int8 tensors: y = clamp(round((a - za) * ma + (b - zb) * mb) + zy, lo, hi) with ma = s_a / s_y and
// mb = s_b / s_y (fp32); a_centered = a - za, b_centered = b - zb. The products of a 9-bit integer and an fp32
// value are exact in double.
inline int8_t add_requantize(int32_t a_centered, int32_t b_centered, float ma, float mb, int32_t zy, int32_t lo,
                             int32_t hi) {
    const double v = double(a_centered) * double(ma) + double(b_centered) * double(mb);
    return int8_t(int32_t(std::nearbyint(clamp_like_simd(v, double(lo - zy), double(hi - zy)))) + zy);
}

// Element-wise QuantizeLinear and DequantizeLinear.
inline void quantize_f32_s8(size_t n, const float* x, float scale, int32_t zero_point, int8_t* y) {
    for (size_t i = 0; i < n; ++i) y[i] = quantize(x[i], scale, zero_point);
}

inline void dequantize_s8_f32(size_t n, const int8_t* x, float scale, int32_t zero_point, float* y) {
    for (size_t i = 0; i < n; ++i) y[i] = dequantize(x[i], scale, zero_point);
}

}  // namespace xinfer::kernels::ref
