#pragma once
// int8 ops (DESIGN.md "int8 scheme"): QConv2D, QDense, QAdd, QGlobalAvgPool and the Quantize / Dequantize
// boundaries. Build validates the quantization parameters, folds the input zero point into the bias and computes
// the per-channel fp32 multipliers s_x * s_w[c] / s_y once.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "xinfer/core/buffer.hpp"
#include "xinfer/core/dtype.hpp"
#include "xinfer/kernels/ref/int8.hpp"
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

class Quantize : public Op {
public:
    Quantize(QuantParams y, std::string name) : y_(y), name_(std::move(name)) {}
    std::string kind() const override { return "Quantize"; }
    DataType output_dtype() const override { return DataType::s8; }
    Shape output_shape(const std::vector<Shape>& in) const override { return in[0]; }
    void run(const RunArgs& a) const override {
        kernels::ref::quantize_f32_s8(checked_numel(a.input_shapes[0]), static_cast<const float*>(a.inputs[0]),
                                      y_.scale, y_.zero_point, static_cast<int8_t*>(a.output));
    }

private:
    QuantParams y_;
    std::string name_;
};

class Dequantize : public Op {
public:
    Dequantize(QuantParams x, std::string name) : x_(x), name_(std::move(name)) {}
    std::string kind() const override { return "Dequantize"; }
    DataType input_dtype(size_t) const override { return DataType::s8; }
    Shape output_shape(const std::vector<Shape>& in) const override { return in[0]; }
    void run(const RunArgs& a) const override {
        kernels::ref::dequantize_s8_f32(checked_numel(a.input_shapes[0]), static_cast<const int8_t*>(a.inputs[0]),
                                        x_.scale, x_.zero_point, static_cast<float*>(a.output));
    }

private:
    QuantParams x_;
    std::string name_;
};

// Shared parts of the int8 ops with weights: parameters, multipliers, output stage.
struct QLinearParams {
    QuantParams x, y;
    const float* w_scale = nullptr;
    size_t w_scale_count = 0;
    kernels::MinMax clamp;
};

class QConv2D : public Op {
public:
    // weights: OHWI int8 [Cout][KH][KW][Cin/groups]; bias: int32 [Cout] or null.
    QConv2D(const Window2D& window, size_t groups, const QLinearParams& q, const int8_t* weights, const int32_t* bias,
            size_t cout, size_t cin_per_group, KernelSet kernels, std::string name)
        : win_(window), groups_(groups), x_(q.x), cout_(cout), cin_g_(cin_per_group), name_(std::move(name)) {
        (void)kernels;
        win_.validate();
        XINFER_CHECK(groups_ >= 1 && cout_ >= 1 && cin_g_ >= 1 && cout_ % groups_ == 0, ErrorCode::invalid_model,
                     name_, ": invalid convolution: ", cout_, " output channels, ", cin_g_,
                     " input channels per group, ", groups_, " groups");
        multiplier_ = channel_multipliers(q.x, q.w_scale, q.w_scale_count, cout_, q.y, name_);
        rq_ = make_requant(q.y, q.clamp);
        const size_t k = size_t(win_.kernel_h) * size_t(win_.kernel_w) * cin_g_;
        buffer_copy(weights_, weights, cout_ * k);
        if (bias) buffer_copy(bias_, bias, cout_);
    }
    std::string kind() const override {
        return detail::concat("QConv2D reference ", win_.kernel_h, "x", win_.kernel_w, "/", win_.stride_h,
                              groups_ > 1 ? " groups " + std::to_string(groups_) : std::string());
    }
    DataType input_dtype(size_t) const override { return DataType::s8; }
    DataType output_dtype() const override { return DataType::s8; }
    Shape output_shape(const std::vector<Shape>& in) const override {
        check_rank(in[0], 4, name_);
        const Shape& x = in[0];
        XINFER_CHECK(size_t(x[3]) == cin_g_ * groups_, ErrorCode::shape_mismatch, name_, ": expected ",
                     cin_g_ * groups_, " input channels, got shape ", to_string(x));
        const int oh = win_.out_h(int(x[1])), ow = win_.out_w(int(x[2]));
        XINFER_CHECK(oh > 0 && ow > 0, ErrorCode::shape_mismatch, name_, ": input ", to_string(x),
                     " is smaller than the ", win_.kernel_h, "x", win_.kernel_w, " window");
        return {x[0], oh, ow, int64_t(cout_)};
    }
    size_t macs(const std::vector<Shape>&, const Shape& out) const override {
        return size_t(out[0] * out[1] * out[2] * out[3]) * size_t(win_.kernel_h * win_.kernel_w) * cin_g_;
    }
    size_t parameter_bytes() const override { return weights_.size() + bias_.size() + multiplier_.size() * 4; }
    void run(const RunArgs& a) const override {
        const Shape& xs = a.input_shapes[0];
        const Shape& ys = *a.output_shape;
        const size_t N = size_t(xs[0]), H = size_t(xs[1]), W = size_t(xs[2]), C = size_t(xs[3]);
        const size_t out_image = size_t(ys[1] * ys[2]) * cout_;
        const int8_t* x = static_cast<const int8_t*>(a.inputs[0]);
        int8_t* y = static_cast<int8_t*>(a.output);
        for (size_t n = 0; n < N; ++n)
            kernels::ref::conv2d_nhwc_s8(H, W, C, x + n * H * W * C, x_.zero_point, win_, groups_, cout_,
                                         weights_.as<int8_t>(), bias_.empty() ? nullptr : bias_.as<int32_t>(),
                                         multiplier_.data(), y + n * out_image, rq_);
    }

private:
    Window2D win_;
    size_t groups_;
    QuantParams x_;
    size_t cout_, cin_g_;
    std::string name_;
    std::vector<float> multiplier_;
    kernels::Requant rq_;
    AlignedBuffer weights_, bias_;
};

class QDense : public Op {
public:
    // weights: int8 [Nout][K]; bias: int32 [Nout] or null.
    QDense(const QLinearParams& q, const int8_t* weights, const int32_t* bias, size_t n_out, size_t k,
           KernelSet kernels, std::string name)
        : x_(q.x), n_(n_out), k_(k), name_(std::move(name)) {
        (void)kernels;
        XINFER_CHECK(n_ >= 1 && k_ >= 1, ErrorCode::invalid_model, name_, ": invalid dense layer ", k_, " -> ", n_);
        multiplier_ = channel_multipliers(q.x, q.w_scale, q.w_scale_count, n_, q.y, name_);
        rq_ = make_requant(q.y, q.clamp);
        buffer_copy(weights_, weights, n_ * k_);
        if (bias) buffer_copy(bias_, bias, n_);
    }
    std::string kind() const override { return "QDense reference"; }
    DataType input_dtype(size_t) const override { return DataType::s8; }
    DataType output_dtype() const override { return DataType::s8; }
    Shape output_shape(const std::vector<Shape>& in) const override {
        const Shape& x = in[0];
        XINFER_CHECK(x.size() >= 2, ErrorCode::shape_mismatch, name_, ": expected a batched input, got ", to_string(x));
        const size_t k = checked_numel(Shape(x.begin() + 1, x.end()));
        XINFER_CHECK(k == k_, ErrorCode::shape_mismatch, name_, ": expected ", k_, " input features, got shape ",
                     to_string(x));
        return {x[0], int64_t(n_)};
    }
    size_t macs(const std::vector<Shape>& in, const Shape&) const override { return size_t(in[0][0]) * n_ * k_; }
    size_t parameter_bytes() const override { return weights_.size() + bias_.size() + multiplier_.size() * 4; }
    void run(const RunArgs& a) const override {
        const size_t M = size_t(a.input_shapes[0][0]);
        kernels::ref::gemm_s8(M, n_, k_, static_cast<const int8_t*>(a.inputs[0]), k_, x_.zero_point,
                              weights_.as<int8_t>(), bias_.empty() ? nullptr : bias_.as<int32_t>(), multiplier_.data(),
                              static_cast<int8_t*>(a.output), n_, rq_);
    }

private:
    QuantParams x_;
    size_t n_, k_;
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
          name_(std::move(name)) {
        (void)kernels;
        XINFER_CHECK(std::isfinite(ma_) && std::isfinite(mb_) && ma_ > 0 && mb_ > 0, ErrorCode::invalid_model, name_,
                     ": input/output scale ratios are not positive finite numbers");
    }
    std::string kind() const override { return "QAdd reference"; }
    size_t num_inputs() const override { return 2; }
    DataType input_dtype(size_t) const override { return DataType::s8; }
    DataType output_dtype() const override { return DataType::s8; }
    Shape output_shape(const std::vector<Shape>& in) const override {
        XINFER_CHECK(in[0] == in[1], ErrorCode::shape_mismatch, name_, ": operands differ in shape: ",
                     to_string(in[0]), " and ", to_string(in[1]));
        return in[0];
    }
    void run(const RunArgs& a) const override {
        kernels::ref::add_s8(checked_numel(a.input_shapes[0]), static_cast<const int8_t*>(a.inputs[0]), a_.zero_point,
                             ma_, static_cast<const int8_t*>(a.inputs[1]), b_.zero_point, mb_,
                             static_cast<int8_t*>(a.output), rq_);
    }

private:
    QuantParams a_, b_;
    float ma_, mb_;
    kernels::Requant rq_;
    std::string name_;
};

// [N, H, W, C] int8 -> [N, 1, 1, C] int8.
class QGlobalAvgPool : public Op {
public:
    QGlobalAvgPool(QuantParams x, QuantParams y, KernelSet kernels, std::string name)
        : x_(x), y_(y), name_(std::move(name)) {
        (void)kernels;
    }
    std::string kind() const override { return "QGlobalAvgPool reference"; }
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
        for (size_t n = 0; n < N; ++n)
            kernels::ref::global_avg_pool_s8(HW, C, static_cast<const int8_t*>(a.inputs[0]) + n * HW * C,
                                             x_.zero_point, m, static_cast<int8_t*>(a.output) + n * C, rq);
    }

private:
    QuantParams x_, y_;
    std::string name_;
};

}  // namespace xinfer::ops
