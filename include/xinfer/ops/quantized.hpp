#pragma once
// int8 ops (DESIGN.md "int8 scheme"): QConv2D, QDense, QAdd, QGlobalAvgPool and the Quantize / Dequantize
// boundaries. Build validates the quantization parameters, computes the per-channel fp32 multipliers
// s_x * s_w[c] / s_y once and packs the weights (the input zero point folded into the bias). QConv2D picks its
// kernel like Conv2D<float>: GEMM for 1x1, dwconv3x3 for depthwise 3x3, im2col + GEMM otherwise.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "xinfer/core/buffer.hpp"
#include "xinfer/core/dtype.hpp"
#include "xinfer/kernels/ref/conv2d.hpp"
#include "xinfer/kernels/ref/eltwise.hpp"
#include "xinfer/kernels/ref/gemm.hpp"
#include "xinfer/kernels/ref/pool.hpp"
#include "xinfer/kernels/ref/requantize.hpp"
#include "xinfer/kernels/s8/dwconv3x3.hpp"
#include "xinfer/kernels/s8/eltwise.hpp"
#include "xinfer/kernels/im2col.hpp"
#include "xinfer/kernels/s8/gemm.hpp"
#include "xinfer/kernels/s8/pool.hpp"
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

class Quantize : public Op {
public:
    Quantize(QuantParams y, KernelSet kernels, std::string name)
        : y_(y), reference_(kernels == KernelSet::reference), name_(std::move(name)) {}
    std::string kind() const override { return reference_ ? "Quantize reference" : "Quantize"; }
    DataType output_dtype() const override { return DataType::s8; }
    Shape output_shape(const std::vector<Shape>& in) const override { return in[0]; }
    void run(const RunArgs& a) const override {
        const float* x = static_cast<const float*>(a.inputs[0]);
        int8_t* y = static_cast<int8_t*>(a.output);
        const size_t n = checked_numel(a.input_shapes[0]);
        if (reference_) return kernels::ref::quantize_f32_s8(n, x, y_.scale, y_.zero_point, y);
        parallel_elements(a.pool, n, [&](size_t i0, size_t i1) {
            kernels::s8::quantize_f32_s8<XINFER_ARCH>(i1 - i0, x + i0, y_.scale, y_.zero_point, y + i0);
        });
    }

private:
    QuantParams y_;
    bool reference_;
    std::string name_;
};

class Dequantize : public Op {
public:
    Dequantize(QuantParams x, KernelSet kernels, std::string name)
        : x_(x), reference_(kernels == KernelSet::reference), name_(std::move(name)) {}
    std::string kind() const override { return reference_ ? "Dequantize reference" : "Dequantize"; }
    DataType input_dtype(size_t) const override { return DataType::s8; }
    Shape output_shape(const std::vector<Shape>& in) const override { return in[0]; }
    void run(const RunArgs& a) const override {
        const int8_t* x = static_cast<const int8_t*>(a.inputs[0]);
        float* y = static_cast<float*>(a.output);
        const size_t n = checked_numel(a.input_shapes[0]);
        if (reference_) return kernels::ref::dequantize_s8_f32(n, x, x_.scale, x_.zero_point, y);
        parallel_elements(a.pool, n, [&](size_t i0, size_t i1) {
            kernels::s8::dequantize_s8_f32<XINFER_ARCH>(i1 - i0, x + i0, x_.scale, x_.zero_point, y + i0);
        });
    }

private:
    QuantParams x_;
    bool reference_;
    std::string name_;
};

// " quads" in an op's kind when its packed GEMM weights run the uint8-quads kernel (7-bit weights, or any with VNNI).
inline std::string quads_suffix(const void* packed_gemm) {
    return kernels::s8::packed_gemm_s8_layout(packed_gemm) == kernels::s8::GemmS8Layout::uint8_quads ? " quads" : "";
}

// Shared parts of the int8 ops with weights: parameters, multipliers, output stage.
struct QLinearParams {
    QuantParams x, y;  // y unused with float_output
    const float* w_scale = nullptr;
    size_t w_scale_count = 0;
    kernels::MinMax clamp;
    bool float_output = false;  // QDense only: fp32 output float(sum) * s_x * s_w[n], clamped, not requantized
};

class QConv2D : public Op {
public:
    enum class Variant { gemm_1x1, dwconv3x3, im2col_gemm, reference };
    static constexpr size_t kIm2colRows = 96;  // output pixels per im2col chunk: whole register tiles of 6 rows

    // weights: OHWI int8 [Cout][KH][KW][Cin/groups]; bias: int32 [Cout] or null.
    QConv2D(const Window2D& window, size_t groups, const QLinearParams& q, const int8_t* weights, const int32_t* bias,
            size_t cout, size_t cin_per_group, KernelSet kernels, std::string name)
        : win_(window), groups_(groups), x_(q.x), cout_(cout), cin_g_(cin_per_group), name_(std::move(name)) {
        win_.validate();
        XINFER_CHECK(groups_ >= 1 && cout_ >= 1 && cin_g_ >= 1 && cout_ % groups_ == 0, ErrorCode::invalid_model,
                     name_, ": invalid convolution: ", cout_, " output channels, ", cin_g_,
                     " input channels per group, ", groups_, " groups");
        multiplier_ = channel_multipliers(q.x, q.w_scale, q.w_scale_count, cout_, q.y, name_);
        rq_ = make_requant(q.y, q.clamp);
        const size_t taps = size_t(win_.kernel_h) * size_t(win_.kernel_w), cin = cin_g_ * groups_;
        const size_t k_group = taps * cin_g_, cout_g = cout_ / groups_;
        const bool unit = win_.dilation_h == 1 && win_.dilation_w == 1;
        if (kernels == KernelSet::reference) {
            variant_ = Variant::reference;
        } else if (taps == 1 && win_.stride_h == 1 && win_.stride_w == 1 && win_.pads == Pads{} && groups_ == 1) {
            variant_ = Variant::gemm_1x1;
        } else if (groups_ == cin && cin_g_ == 1 && cout_ == cin && win_.kernel_h == 3 && win_.kernel_w == 3 &&
                   unit && win_.stride_h == win_.stride_w && (win_.stride_h == 1 || win_.stride_h == 2)) {
            variant_ = Variant::dwconv3x3;
        } else {
            variant_ = Variant::im2col_gemm;
        }
        switch (variant_) {
            case Variant::reference:
                buffer_copy(weights_, weights, cout_ * k_group);
                if (bias) buffer_copy(bias_, bias, cout_);
                break;
            case Variant::gemm_1x1:
            case Variant::im2col_gemm:
                for (size_t g = 0; g < groups_; ++g)  // each group's layout follows its weights
                    group_bytes_ = std::max(group_bytes_, kernels::s8::packed_gemm_s8_bytes(
                                                              cout_g, k_group, weights + g * cout_g * k_group));
                group_bytes_ = AlignedBuffer::round_up(group_bytes_, 64);
                weights_.resize(group_bytes_ * groups_);
                for (size_t g = 0; g < groups_; ++g)
                    kernels::s8::pack_gemm_goi_s8(cout_g, k_group, weights + g * cout_g * k_group,
                                              bias ? bias + g * cout_g : nullptr, x_.zero_point,
                                              multiplier_.data() + g * cout_g, weights_.data() + g * group_bytes_);
                break;
            case Variant::dwconv3x3:
                weights_.resize(kernels::s8::packed_dwconv3x3_s8_bytes(cout_));
                kernels::s8::pack_dwconv3x3_ghw_s8(cout_, weights, bias, x_.zero_point, multiplier_.data(),
                                               weights_.data());
                break;
        }
    }
    std::string kind() const override {
        static const char* names[] = {"gemm 1x1", "dwconv3x3", "im2col+gemm", "reference"};
        return detail::concat("QConv2D ", names[int(variant_)], gemm_layout_suffix(), " ", win_.kernel_h, "x",
                              win_.kernel_w, "/", win_.stride_h,
                              groups_ > 1 ? " groups " + std::to_string(groups_) : std::string());
    }
    Variant variant() const { return variant_; }
    DataType input_dtype(size_t) const override { return DataType::s8; }
    DataType output_dtype() const override { return DataType::s8; }
    Shape output_shape(const std::vector<Shape>& in) const override {
        return conv_output_shape(in[0], win_, cin_g_ * groups_, cout_, name_);
    }
    size_t workspace_bytes(const std::vector<Shape>& in, int threads) const override {
        if (variant_ == Variant::dwconv3x3) return kernels::s8::dwconv3x3_s8_workspace_bytes(size_t(in[0][3]));
        if (variant_ == Variant::im2col_gemm) return size_t(threads) * chunk_stride();
        return 0;
    }
    size_t macs(const std::vector<Shape>&, const Shape& out) const override {
        return size_t(out[0] * out[1] * out[2] * out[3]) * size_t(win_.kernel_h * win_.kernel_w) * cin_g_;
    }
    size_t parameter_bytes() const override { return weights_.size() + bias_.size() + multiplier_.size() * 4; }

    void run(const RunArgs& a) const override {
        using Arch = XINFER_ARCH;
        const Shape& xs = a.input_shapes[0];
        const Shape& ys = *a.output_shape;
        const size_t N = size_t(xs[0]), H = size_t(xs[1]), W = size_t(xs[2]), C = size_t(xs[3]);
        const size_t OH = size_t(ys[1]), OW = size_t(ys[2]), out_image = OH * OW * cout_;
        const int8_t* x = static_cast<const int8_t*>(a.inputs[0]);
        int8_t* y = static_cast<int8_t*>(a.output);
        switch (variant_) {
            case Variant::reference:
                for (size_t n = 0; n < N; ++n)
                    kernels::ref::conv2d_nhwc_s8(H, W, C, x + n * H * W * C, x_.zero_point, win_, groups_, cout_,
                                                 weights_.as<int8_t>(), bias_.empty() ? nullptr : bias_.as<int32_t>(),
                                                 multiplier_.data(), y + n * out_image, rq_);
                return;
            case Variant::gemm_1x1: {
                constexpr size_t MR = kernels::s8::gemm_s8_mr<Arch>();
                const size_t M = N * H * W;
                parallel_gemm(a.pool, M, MR, 0, [&](size_t m0, size_t m1, size_t, size_t) {
                    kernels::s8::gemm_s8<Arch>(m0, m1, cout_, C, x, C, weights_.data(), y, cout_, rq_);
                });
                return;
            }
            case Variant::dwconv3x3:
                kernels::s8::prepare_dwconv3x3_s8_workspace(C, x_.zero_point, a.workspace);
                parallel_chunks(a.pool, N * OH, [&](size_t r0, size_t r1) {
                    for (size_t r = r0; r < r1;) {
                        const size_t n = r / OH, oy0 = r % OH, oy1 = std::min(OH, oy0 + (r1 - r));
                        kernels::s8::dwconv3x3_s8<Arch>(H, W, C, x + n * H * W * C, weights_.data(), a.workspace,
                                                        win_.stride_h, win_.pads, y + n * out_image, OH, OW, rq_, oy0,
                                                        oy1);
                        r += oy1 - oy0;
                    }
                });
                return;
            case Variant::im2col_gemm: {
                const size_t k_group = size_t(win_.kernel_h) * size_t(win_.kernel_w) * cin_g_;
                const size_t cout_g = cout_ / groups_, pixels = OH * OW;
                const size_t chunks_per_image = (pixels + kIm2colRows - 1) / kIm2colRows;
                const int threads = a.pool ? a.pool->threads() : 1;
                const size_t per_part = (N * chunks_per_image + size_t(threads) - 1) / size_t(threads);
                // One contiguous range of chunks per thread, each with its own im2col buffer.
                parallel_chunks(a.pool, size_t(threads), [&](size_t t0, size_t t1) {
                    for (size_t t = t0; t < t1; ++t) {
                        int8_t* cols = static_cast<int8_t*>(a.workspace) + t * chunk_stride();
                        const size_t c_end = std::min(N * chunks_per_image, (t + 1) * per_part);
                        for (size_t chunk = t * per_part; chunk < c_end; ++chunk) {
                            const size_t n = chunk / chunks_per_image;
                            const size_t p0 = (chunk % chunks_per_image) * kIm2colRows;
                            const size_t p1 = std::min(pixels, p0 + kIm2colRows);
                            for (size_t g = 0; g < groups_; ++g) {
                                kernels::im2col_nhwc(H, W, C, x + n * H * W * C, int8_t(x_.zero_point), win_, OW,
                                                     g, cin_g_, p0, p1, cols, im2col_ld());
                                kernels::s8::gemm_s8<Arch>(0, p1 - p0, cout_g, k_group, cols, im2col_ld(),
                                                           weights_.data() + g * group_bytes_,
                                                           y + (n * pixels + p0) * cout_ + g * cout_g, cout_, rq_);
                            }
                        }
                    }
                });
                return;
            }
        }
    }

private:
    std::string gemm_layout_suffix() const {
        const bool gemm = variant_ == Variant::gemm_1x1 || variant_ == Variant::im2col_gemm;
        return gemm ? quads_suffix(weights_.data()) : "";
    }
    // im2col rows unpadded: the GEMM reads a row only within its k, and padding would cost a fill per row (for
    // the stem, K 27, two thirds of im2col's time).
    size_t im2col_ld() const { return size_t(win_.kernel_h) * size_t(win_.kernel_w) * cin_g_; }
    size_t chunk_stride() const { return AlignedBuffer::round_up(kIm2colRows * im2col_ld() + XINFER_EXTRA_BYTES, 64); }

    Window2D win_;
    size_t groups_;
    QuantParams x_;
    size_t cout_, cin_g_;
    std::string name_;
    Variant variant_ = Variant::reference;
    std::vector<float> multiplier_;
    kernels::Requant rq_;
    AlignedBuffer weights_, bias_;
    size_t group_bytes_ = 0;
};

class QDense : public Op {
public:
    // weights: int8 [Nout][K]; bias: int32 [Nout] or null.
    QDense(const QLinearParams& q, const int8_t* weights, const int32_t* bias, size_t n_out, size_t k,
           KernelSet kernels, std::string name)
        : x_(q.x), n_(n_out), k_(k), reference_(kernels == KernelSet::reference), float_output_(q.float_output),
          clamp_(q.clamp), name_(std::move(name)) {
        XINFER_CHECK(n_ >= 1 && k_ >= 1, ErrorCode::invalid_model, name_, ": invalid dense layer ", k_, " -> ", n_);
        const QuantParams y_scale_one{1.0f, 0};  // float output: the multiplier is s_x * s_w[n]
        multiplier_ = channel_multipliers(q.x, q.w_scale, q.w_scale_count, n_, float_output_ ? y_scale_one : q.y,
                                          name_);
        if (!float_output_) rq_ = make_requant(q.y, q.clamp);
        if (reference_) {
            buffer_copy(weights_, weights, n_ * k_);
            if (bias) buffer_copy(bias_, bias, n_);
        } else {
            weights_.resize(kernels::s8::packed_gemm_s8_bytes(n_, k_, weights));
            kernels::s8::pack_gemm_goi_s8(n_, k_, weights, bias, x_.zero_point, multiplier_.data(), weights_.data());
        }
    }
    std::string kind() const override {
        return reference_ ? "QDense reference" : "QDense gemm" + quads_suffix(weights_.data());
    }
    DataType input_dtype(size_t) const override { return DataType::s8; }
    DataType output_dtype() const override { return float_output_ ? DataType::f32 : DataType::s8; }
    Shape output_shape(const std::vector<Shape>& in) const override {
        return dense_output_shape(in[0], k_, n_, name_);
    }
    size_t macs(const std::vector<Shape>& in, const Shape&) const override { return size_t(in[0][0]) * n_ * k_; }
    size_t parameter_bytes() const override { return weights_.size() + bias_.size() + multiplier_.size() * 4; }
    void run(const RunArgs& a) const override {
        const size_t M = size_t(a.input_shapes[0][0]);
        const int8_t* x = static_cast<const int8_t*>(a.inputs[0]);
        if (float_output_) return run_float(M, x, static_cast<float*>(a.output));
        int8_t* y = static_cast<int8_t*>(a.output);
        if (reference_)
            return kernels::ref::gemm_s8(M, n_, k_, x, k_, x_.zero_point, weights_.as<int8_t>(),
                                         bias_.empty() ? nullptr : bias_.as<int32_t>(), multiplier_.data(), y, n_,
                                         rq_);
        kernels::s8::gemm_s8<XINFER_ARCH>(0, M, n_, k_, x, k_, weights_.data(), y, n_, rq_);
    }

private:
    // The int32 sums are written into the output (int32 and float have the same size) and scaled in place.
    void run_float(size_t M, const int8_t* x, float* y) const {
        static_assert(sizeof(int32_t) == sizeof(float));
        auto* sums = reinterpret_cast<int32_t*>(y);
        if (reference_)
            kernels::ref::gemm_s8_sums(M, n_, k_, x, k_, x_.zero_point, weights_.as<int8_t>(),
                                       bias_.empty() ? nullptr : bias_.as<int32_t>(), sums, n_);
        else
            kernels::s8::gemm_s8_sums<XINFER_ARCH>(0, M, n_, k_, x, k_, weights_.data(), sums, n_);
        for (size_t i = 0; i < M * n_; ++i) {
            int32_t acc;
            std::memcpy(&acc, y + i, sizeof acc);
            const float v = float(acc) * multiplier_[i % n_];
            y[i] = std::min(std::max(v, clamp_.min), clamp_.max);
        }
    }

    QuantParams x_;
    size_t n_, k_;
    bool reference_, float_output_;
    kernels::MinMax clamp_;
    std::string name_;
    std::vector<float> multiplier_;
    kernels::Requant rq_;
    AlignedBuffer weights_, bias_;
};

// y = a + b, both int8 with their own parameters, requantized to y's.
class QAdd : public Op {
public:
    QAdd(QuantParams a, QuantParams b, QuantParams y, kernels::MinMax clamp, KernelSet kernels, std::string name)
        : a_(a), b_(b), ma_(a.scale / y.scale), mb_(b.scale / y.scale), rq_(make_requant(y, clamp)),
          reference_(kernels == KernelSet::reference), name_(std::move(name)) {
        XINFER_CHECK(std::isfinite(ma_) && std::isfinite(mb_) && ma_ > 0 && mb_ > 0, ErrorCode::invalid_model, name_,
                     ": input/output scale ratios are not positive finite numbers");
    }
    std::string kind() const override { return reference_ ? "QAdd reference" : "QAdd"; }
    size_t num_inputs() const override { return 2; }
    DataType input_dtype(size_t) const override { return DataType::s8; }
    DataType output_dtype() const override { return DataType::s8; }
    Shape output_shape(const std::vector<Shape>& in) const override {
        XINFER_CHECK(in[0] == in[1], ErrorCode::shape_mismatch, name_, ": operands differ in shape: ",
                     to_string(in[0]), " and ", to_string(in[1]));
        return in[0];
    }
    void run(const RunArgs& a) const override {
        const int8_t* x0 = static_cast<const int8_t*>(a.inputs[0]);
        const int8_t* x1 = static_cast<const int8_t*>(a.inputs[1]);
        int8_t* y = static_cast<int8_t*>(a.output);
        const size_t n = checked_numel(a.input_shapes[0]);
        if (reference_) return kernels::ref::add_s8(n, x0, a_.zero_point, ma_, x1, b_.zero_point, mb_, y, rq_);
        parallel_elements(a.pool, n, [&](size_t i0, size_t i1) {
            kernels::s8::add_s8<XINFER_ARCH>(i1 - i0, x0 + i0, a_.zero_point, ma_, x1 + i0, b_.zero_point, mb_,
                                             y + i0, rq_);
        });
    }

private:
    QuantParams a_, b_;
    float ma_, mb_;
    kernels::Requant rq_;
    bool reference_;
    std::string name_;
};

// [N, H, W, C] int8 -> [N, 1, 1, C] int8.
class QGlobalAvgPool : public Op {
public:
    QGlobalAvgPool(QuantParams x, QuantParams y, KernelSet kernels, std::string name)
        : x_(x), y_(y), reference_(kernels == KernelSet::reference), name_(std::move(name)) {}
    std::string kind() const override { return reference_ ? "QGlobalAvgPool reference" : "QGlobalAvgPool"; }
    DataType input_dtype(size_t) const override { return DataType::s8; }
    DataType output_dtype() const override { return DataType::s8; }
    Shape output_shape(const std::vector<Shape>& in) const override {
        check_rank(in[0], 4, name_);
        XINFER_CHECK(in[0][1] > 0 && in[0][2] > 0, ErrorCode::shape_mismatch, name_, ": empty input ", to_string(in[0]));
        XINFER_CHECK(in[0][1] * in[0][2] <= (int64_t(1) << 23), ErrorCode::shape_mismatch, name_,
                     ": the window is too large for int32 accumulation");
        return {in[0][0], 1, 1, in[0][3]};
    }
    void run(const RunArgs& a) const override {
        const Shape& s = a.input_shapes[0];
        const size_t N = size_t(s[0]), HW = size_t(s[1] * s[2]), C = size_t(s[3]);
        const float m = x_.scale / (y_.scale * float(HW));
        const kernels::Requant rq{y_.zero_point, -128, 127};
        const int8_t* x = static_cast<const int8_t*>(a.inputs[0]);
        int8_t* y = static_cast<int8_t*>(a.output);
        for (size_t n = 0; n < N; ++n) {
            if (reference_)
                kernels::ref::global_avg_pool_s8(HW, C, x + n * HW * C, x_.zero_point, m, y + n * C, rq);
            else
                kernels::s8::global_avg_pool_s8<XINFER_ARCH>(HW, C, x + n * HW * C, x_.zero_point, m, y + n * C, rq);
        }
    }

private:
    QuantParams x_, y_;
    bool reference_;
    std::string name_;
};

}  // namespace xinfer::ops
