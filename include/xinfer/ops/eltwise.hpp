#pragma once
// Element-wise ops: residual Add (+clamp; fp32, and int8 with requantization), standalone Clamp (ReLU/ReLU6 not
// fused into a producer) and ChannelAffine (a batch normalization that could not be folded into a convolution).
#include <cmath>
#include <cstdint>
#include <limits>

#include "xinfer/core/buffer.hpp"
#include "xinfer/kernels/f32/eltwise.hpp"
#include "xinfer/kernels/ref/eltwise.hpp"
#include "xinfer/kernels/s8/eltwise.hpp"
#include "xinfer/ops/op.hpp"
#include "xinfer/ops/quant_params.hpp"

namespace xinfer::ops {

template <class T> class Add;
template <class T> class ChannelAffine;

template <>
class Add<float> : public Op {
public:
    Add(kernels::MinMax clamp, KernelSet kernels, std::string name)
        : clamp_(clamp), reference_(kernels == KernelSet::reference), name_(std::move(name)) {}
    std::string kind() const override { return reference_ ? "Add reference" : "Add"; }
    bool reference() const { return reference_; }
    // y[i] = x0[i] + x1[i] for n elements with the optimized kernel (y may be x0 or x1).
    void add_elements(size_t n, const float* x0, const float* x1, float* y) const {
        kernels::f32::add_f32<XINFER_ARCH>(n, x0, x1, y, clamp_);
    }
    size_t num_inputs() const override { return 2; }
    Shape output_shape(const std::vector<Shape>& in) const override {
        XINFER_CHECK(in[0] == in[1], ErrorCode::shape_mismatch, name_, ": operands differ in shape: ",
                     to_string(in[0]), " vs ", to_string(in[1]));
        return in[0];
    }
    void run(const RunArgs& a) const override {
        const size_t n = checked_numel(*a.output_shape);
        const float* x0 = static_cast<const float*>(a.inputs[0]);
        const float* x1 = static_cast<const float*>(a.inputs[1]);
        float* y = static_cast<float*>(a.output);
        if (reference_) return kernels::ref::add_f32(n, x0, x1, y, clamp_);
        constexpr size_t kBlock = 1024;
        parallel_chunks(a.pool, (n + kBlock - 1) / kBlock, [&](size_t b0, size_t b1) {
            const size_t i0 = b0 * kBlock, i1 = std::min(n, b1 * kBlock);
            add_elements(i1 - i0, x0 + i0, x1 + i0, y + i0);
        });
    }

private:
    kernels::MinMax clamp_;
    bool reference_;
    std::string name_;
};

// y = a + b, both int8 with their own parameters, requantized to y's.
template <>
class Add<int8_t> : public Op {
public:
    Add(QuantParams a, QuantParams b, QuantParams y, kernels::MinMax clamp, KernelSet kernels, std::string name)
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

// y = clamp(x * scale[c] + shift[c]) over the last axis. A plain clamp is scale 1, shift 0.
template <>
class ChannelAffine<float> : public Op {
public:
    ChannelAffine(std::vector<float> scale, std::vector<float> shift, kernels::MinMax clamp, KernelSet kernels,
                  std::string name)
        : clamp_(clamp), reference_(kernels == KernelSet::reference), name_(std::move(name)) {
        XINFER_CHECK(scale.size() == shift.size(), ErrorCode::internal, name_, ": scale/shift size mismatch");
        channels_ = scale.size();
        scale_.resize(channels_ * sizeof(float));
        shift_.resize(channels_ * sizeof(float));
        std::copy(scale.begin(), scale.end(), scale_.as<float>());
        std::copy(shift.begin(), shift.end(), shift_.as<float>());
    }
    // A clamp alone, on any shape.
    static std::unique_ptr<ChannelAffine> clamp_only(kernels::MinMax clamp, KernelSet kernels, std::string name) {
        return std::make_unique<ChannelAffine>(std::vector<float>{1.0f}, std::vector<float>{0.0f}, clamp, kernels,
                                               std::move(name));
    }
    std::string kind() const override { return channels_ == 1 ? "Clamp" : "ChannelAffine"; }
    Shape output_shape(const std::vector<Shape>& in) const override {
        XINFER_CHECK(!in[0].empty() && (channels_ == 1 || size_t(in[0].back()) == channels_),
                     ErrorCode::shape_mismatch, name_, ": expected ", channels_, " channels, got ", to_string(in[0]));
        return in[0];
    }
    void run(const RunArgs& a) const override {
        using Arch = XINFER_ARCH;
        const size_t n = checked_numel(*a.output_shape);
        const float* x = static_cast<const float*>(a.inputs[0]);
        float* y = static_cast<float*>(a.output);
        if (channels_ == 1) {  // broadcast the single channel: treat the tensor as n pixels of 1 channel
            const float s = scale_.as<float>()[0], t = shift_.as<float>()[0];
            for (size_t i = 0; i < n; ++i) y[i] = kernels::clamp(x[i] * s + t, clamp_);
            return;
        }
        const size_t pixels = n / channels_;
        if (reference_)
            return kernels::ref::channel_affine_f32(pixels, channels_, x, scale_.as<float>(), shift_.as<float>(), y, clamp_);
        parallel_chunks(a.pool, pixels, [&](size_t p0, size_t p1) {
            kernels::f32::channel_affine_f32<Arch>(p1 - p0, channels_, x + p0 * channels_, scale_.as<float>(),
                                                   shift_.as<float>(), y + p0 * channels_, clamp_);
        });
    }

private:
    kernels::MinMax clamp_;
    bool reference_;
    std::string name_;
    size_t channels_ = 0;
    AlignedBuffer scale_, shift_;
};

}  // namespace xinfer::ops
