#pragma once
// The int8 boundaries: Quantize (fp32 -> int8, ONNX QuantizeLinear) and Dequantize (int8 -> fp32,
// DequantizeLinear), each with one scale and zero point per tensor.
#include <cstdint>
#include <string>

#include "xinfer/kernels/ref/requantize.hpp"
#include "xinfer/kernels/s8/eltwise.hpp"
#include "xinfer/ops/op.hpp"
#include "xinfer/ops/quant_params.hpp"

namespace xinfer::ops {

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

}  // namespace xinfer::ops
