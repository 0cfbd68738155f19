#pragma once
// Dense (fully connected): y[N][Nout] = clamp(x[N][K] W^T + b), a packed GEMM with M = batch. The input may have
// any rank; its trailing dimensions are flattened (in NHWC order).
#include <xsimd/xsimd.hpp>

#include "xinfer/core/buffer.hpp"
#include "xinfer/kernels/f32/gemm.hpp"
#include "xinfer/kernels/ref/gemm.hpp"
#include "xinfer/ops/op.hpp"

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

}  // namespace xinfer::ops
