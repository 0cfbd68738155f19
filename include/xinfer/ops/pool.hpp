#pragma once
// Pooling over NHWC: GlobalAvgPool (fp32 and int8) and Pool2D (AveragePool / MaxPool).
#include <cstdint>
#include <xsimd/xsimd.hpp>

#include "xinfer/kernels/f32/pool.hpp"
#include "xinfer/kernels/ref/pool.hpp"
#include "xinfer/kernels/s8/pool.hpp"
#include "xinfer/ops/op.hpp"
#include "xinfer/ops/quant_params.hpp"

namespace xinfer::ops {

template <class T> class GlobalAvgPool;

// [N, H, W, C] -> [N, 1, 1, C]
template <>
class GlobalAvgPool<float> : public Op {
public:
    GlobalAvgPool(KernelSet kernels, std::string name) : reference_(kernels == KernelSet::reference), name_(std::move(name)) {}
    std::string kind() const override { return reference_ ? "GlobalAvgPool reference" : "GlobalAvgPool"; }
    Shape output_shape(const std::vector<Shape>& in) const override {
        check_rank(in[0], 4, name_);
        XINFER_CHECK(in[0][1] > 0 && in[0][2] > 0, ErrorCode::shape_mismatch, name_, ": empty input ", to_string(in[0]));
        return {in[0][0], 1, 1, in[0][3]};
    }
    // Additions only: MAC counts (e.g. MobileNetV2's published 300.77 M) cover convolutions and dense layers.
    void run(const RunArgs& a) const override {
        using Arch = XINFER_ARCH;
        const Shape& s = a.input_shapes[0];
        const size_t N = size_t(s[0]), HW = size_t(s[1] * s[2]), C = size_t(s[3]);
        const float* x = static_cast<const float*>(a.inputs[0]);
        float* y = static_cast<float*>(a.output);
        for (size_t n = 0; n < N; ++n) {
            if (reference_) {
                kernels::ref::global_avg_pool_f32(HW, C, x + n * HW * C, y + n * C);
                continue;
            }
            // Split channels in whole vectors between threads.
            constexpr size_t S = xsimd::batch<float, Arch>::size;
            parallel_chunks(a.pool, (C + S - 1) / S, [&](size_t b0, size_t b1) {
                kernels::f32::global_avg_pool_f32<Arch>(HW, C, x + n * HW * C, y + n * C, b0 * S, std::min(C, b1 * S));
            });
        }
    }

private:
    bool reference_;
    std::string name_;
};

// [N, H, W, C] int8 -> [N, 1, 1, C] int8.
template <>
class GlobalAvgPool<int8_t> : public Op {
public:
    GlobalAvgPool(QuantParams x, QuantParams y, KernelSet kernels, std::string name)
        : x_(x), y_(y), reference_(kernels == KernelSet::reference), name_(std::move(name)) {}
    std::string kind() const override { return reference_ ? "QGlobalAvgPool reference" : "QGlobalAvgPool"; }
    DataType input_dtype(size_t) const override { return DataType::s8; }
    DataType output_dtype() const override { return DataType::s8; }
    Shape output_shape(const std::vector<Shape>& in) const override {
        check_rank(in[0], 4, name_);
        XINFER_CHECK(in[0][1] > 0 && in[0][2] > 0, ErrorCode::shape_mismatch, name_, ": empty input ",
                     to_string(in[0]));
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

namespace xinfer::ops {

template <class T> class Pool2D;

// AveragePool / MaxPool over NHWC with explicit pads; average pools count padded positions when asked.
template <>
class Pool2D<float> : public Op {
public:
    Pool2D(const Window2D& win, kernels::f32::PoolMode mode, bool count_include_pad, KernelSet kernels, std::string name)
        : win_(win), mode_(mode), count_include_pad_(count_include_pad), reference_(kernels == KernelSet::reference),
          name_(std::move(name)) {
        win_.validate();
    }
    std::string kind() const override {
        return detail::concat(mode_ == kernels::f32::PoolMode::max ? "MaxPool " : "AveragePool ", win_.kernel_h, "x",
                              win_.kernel_w, "/", win_.stride_h, reference_ ? " reference" : "");
    }
    Shape output_shape(const std::vector<Shape>& in) const override {
        check_rank(in[0], 4, name_);
        const int oh = win_.out_h(int(in[0][1])), ow = win_.out_w(int(in[0][2]));
        XINFER_CHECK(oh > 0 && ow > 0, ErrorCode::shape_mismatch, name_, ": input ", to_string(in[0]),
                     " is smaller than the pooling window");
        return {in[0][0], oh, ow, in[0][3]};
    }
    void run(const RunArgs& a) const override {
        using Arch = XINFER_ARCH;
        const Shape& s = a.input_shapes[0];
        const size_t N = size_t(s[0]), H = size_t(s[1]), W = size_t(s[2]), C = size_t(s[3]);
        const size_t OH = size_t((*a.output_shape)[1]), OW = size_t((*a.output_shape)[2]);
        const float* x = static_cast<const float*>(a.inputs[0]);
        float* y = static_cast<float*>(a.output);
        for (size_t n = 0; n < N; ++n) {
            const float* xi = x + n * H * W * C;
            float* yi = y + n * OH * OW * C;
            if (reference_) {
                if (mode_ == kernels::f32::PoolMode::max) kernels::ref::max_pool_f32(H, W, C, xi, win_, yi);
                else kernels::ref::avg_pool_f32(H, W, C, xi, win_, count_include_pad_, yi);
                continue;
            }
            parallel_chunks(a.pool, OH, [&](size_t r0, size_t r1) {
                kernels::f32::pool2d_f32<Arch>(H, W, C, xi, win_, mode_, count_include_pad_, yi, OW, r0, r1);
            });
        }
    }

private:
    Window2D win_;
    kernels::f32::PoolMode mode_;
    bool count_include_pad_, reference_;
    std::string name_;
};

}  // namespace xinfer::ops
