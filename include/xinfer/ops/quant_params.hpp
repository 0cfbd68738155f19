#pragma once
// Quantization parameters of the int8 ops (docs/int8.md): a tensor's scale and zero point, validated at
// build; the int8 output stage of a fused clamp; the per-channel requantization multipliers s_x * s_w[c] / s_y in
// fp32. Also the small helpers the int8 ops share.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "xinfer/core/buffer.hpp"
#include "xinfer/core/error.hpp"
#include "xinfer/kernels/params.hpp"
#include "xinfer/kernels/s8/gemm.hpp"
#include "xinfer/ops/op.hpp"

namespace xinfer::ops {

// A per-tensor scale and zero point of an int8 activation.
struct QuantParams {
    float scale = 1.0f;
    int32_t zero_point = 0;
};

inline void check_scale(double scale, const std::string& who, const char* what) {
    XINFER_CHECK(std::isfinite(scale) && scale > 0 && scale <= 1e30 && scale >= 1e-30, ErrorCode::invalid_model,
                 who, ": ", what, " must be a positive finite number, got ", scale);
}

inline QuantParams make_quant_params(double scale, int64_t zero_point, const std::string& who, const char* what) {
    check_scale(scale, who, what);
    XINFER_CHECK(zero_point >= -128 && zero_point <= 127, ErrorCode::invalid_model, who, ": ", what,
                 " zero point ", zero_point, " is outside the int8 range [-128, 127]");
    return {float(scale), int32_t(zero_point)};
}

// The int8 output stage for output parameters y and a fused real-valued clamp (ReLU6 = [0, 6]).
inline kernels::Requant make_requant(QuantParams y, kernels::MinMax clamp) {
    kernels::Requant rq;
    rq.zero_point = y.zero_point;
    auto bound = [&](float v, int32_t fallback) {
        if (!std::isfinite(v)) return fallback;
        const double q = std::nearbyint(double(v) / double(y.scale)) + y.zero_point;
        return int32_t(std::clamp(q, -128.0, 127.0));
    };
    rq.lo = std::max(-128, bound(clamp.min, -128));
    rq.hi = std::min(127, bound(clamp.max, 127));
    if (rq.lo > rq.hi) rq.lo = rq.hi;
    return rq;
}

// Per-channel multipliers s_x * s_w[c] / s_y in fp32, from a weight scale vector of length `count` or 1.
inline std::vector<float> channel_multipliers(QuantParams x, const float* w_scale, size_t w_scale_count,
                                              size_t count, QuantParams y, const std::string& who) {
    XINFER_CHECK(w_scale_count == count || w_scale_count == 1, ErrorCode::invalid_model, who, ": ", w_scale_count,
                 " weight scales for ", count, " output channels (expected ", count, " or 1)");
    std::vector<float> m(count);
    for (size_t c = 0; c < count; ++c) {
        const float ws = w_scale[w_scale_count == 1 ? 0 : c];
        check_scale(ws, who, "weight scale");
        m[c] = x.scale * ws / y.scale;
        XINFER_CHECK(std::isfinite(m[c]) && m[c] > 0, ErrorCode::invalid_model, who,
                     ": the requantization multiplier of channel ", c, " is not a positive finite number");
    }
    return m;
}

template <class T>
const T* buffer_copy(AlignedBuffer& buf, const T* src, size_t n) {
    buf.resize(std::max<size_t>(n, 1) * sizeof(T));
    if (src) std::copy(src, src + n, buf.as<T>());
    return buf.as<T>();
}

// Element-wise work split between threads in chunks of whole cache lines.
template <class F>
void parallel_elements(ThreadPool* pool, size_t n, F&& fn) {
    constexpr size_t kChunk = 4096;
    if (n <= kChunk) return fn(size_t(0), n);
    parallel_chunks(pool, (n + kChunk - 1) / kChunk,
                    [&](size_t c0, size_t c1) { fn(c0 * kChunk, std::min(n, c1 * kChunk)); });
}

// Shared parts of the int8 ops with weights: parameters, multipliers, output stage.
struct QLinearParams {
    QuantParams x, y;  // y unused with float_output
    const float* w_scale = nullptr;
    size_t w_scale_count = 0;
    kernels::MinMax clamp;
    bool float_output = false;  // Dense<int8_t> only: fp32 output float(sum) * s_x * s_w[n], clamped, not requantized
};

// " quads" in an op's kind when its packed GEMM weights run the uint8-quads kernel (7-bit weights, or any with VNNI).
inline std::string quads_suffix(const void* packed_gemm) {
    return kernels::s8::packed_gemm_s8_layout(packed_gemm) == kernels::s8::GemmS8Layout::uint8_quads ? " quads" : "";
}

}  // namespace xinfer::ops
