#pragma once
// Dense (fully connected): y[N][Nout] = clamp(x[N][K] W^T + b), a packed GEMM with M = batch. The input may have
// any rank; its trailing dimensions are flattened (in NHWC order). Dense<int8_t> requantizes its int32 sums to int8,
// or, read in fp32 (a classifier with no QuantizeLinear after it), scales them to fp32 outputs.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <xsimd/xsimd.hpp>

#include "xinfer/core/buffer.hpp"
#include "xinfer/kernels/f32/gemm.hpp"
#include "xinfer/kernels/ref/gemm.hpp"
#include "xinfer/kernels/s8/gemm.hpp"
#include "xinfer/ops/op.hpp"
#include "xinfer/ops/quant_params.hpp"

namespace xinfer::ops {

template <class T> class Dense;

template <>
class Dense<float> : public Op {
public:
    // weights: [Nout][K] ("goi"); bias: [Nout] or null.
    Dense(const float* weights, const float* bias, size_t n_out, size_t k, kernels::MinMax clamp, KernelSet kernels,
          std::string name)
        : n_(n_out), k_(k), clamp_(clamp), reference_(kernels == KernelSet::reference), name_(std::move(name)) {
        using Arch = XINFER_ARCH;
        XINFER_CHECK(n_ >= 1 && k_ >= 1, ErrorCode::invalid_model, name_, ": invalid dense layer ", k_, " -> ", n_);
        if (reference_) {
            packed_.resize(n_ * k_ * sizeof(float));
            std::copy(weights, weights + n_ * k_, packed_.as<float>());
            bias_.resize(n_ * sizeof(float));
            for (size_t i = 0; i < n_; ++i) bias_.as<float>()[i] = bias ? bias[i] : 0.0f;
        } else {
            constexpr size_t NR = kernels::f32::GemmConfig<Arch>::nr;
            packed_.resize(kernels::f32::packed_gemm_floats(n_, k_, NR) * sizeof(float));
            kernels::f32::pack_gemm_goi(n_, k_, NR, weights, bias, packed_.as<float>());
        }
    }
    std::string kind() const override { return reference_ ? "Dense reference" : "Dense gemm"; }

    Shape output_shape(const std::vector<Shape>& in) const override {
        return dense_output_shape(in[0], k_, n_, name_);
    }
    size_t macs(const std::vector<Shape>& in, const Shape&) const override { return size_t(in[0][0]) * n_ * k_; }
    size_t parameter_bytes() const override { return packed_.size() + bias_.size(); }

    void run(const RunArgs& a) const override {
        using Arch = XINFER_ARCH;
        const size_t M = size_t(a.input_shapes[0][0]);
        const float* x = static_cast<const float*>(a.inputs[0]);
        float* y = static_cast<float*>(a.output);
        if (reference_) return kernels::ref::gemm_f32(M, n_, k_, x, k_, packed_.as<float>(), bias_.as<float>(), y, n_, clamp_);
        constexpr size_t NR = kernels::f32::GemmConfig<Arch>::nr;
        // Small batches: split the output features (panels) between threads; large ones: split the rows.
        const size_t panels = (n_ + NR - 1) / NR;
        parallel_chunks(a.pool, panels, [&](size_t p0, size_t p1) {
            kernels::f32::gemm_f32<Arch>(0, M, p0, p1, n_, k_, x, k_, packed_.as<float>(), y, n_, clamp_);
        });
    }

private:
    size_t n_, k_;
    kernels::MinMax clamp_;
    bool reference_;
    std::string name_;
    AlignedBuffer packed_, bias_;
};

template <>
class Dense<int8_t> : public Op {
public:
    // weights: int8 [Nout][K]; bias: int32 [Nout] or null.
    Dense(const QLinearParams& q, const int8_t* weights, const int32_t* bias, size_t n_out, size_t k,
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

}  // namespace xinfer::ops
