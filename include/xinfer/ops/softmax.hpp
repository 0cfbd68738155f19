#pragma once
#include "xinfer/kernels/f32/softmax.hpp"
#include "xinfer/kernels/ref/softmax.hpp"
#include "xinfer/ops/op.hpp"

namespace xinfer::ops {

template <class T> class Softmax;

// Softmax over the last axis of [N, C].
template <>
class Softmax<float> : public Op {
public:
    Softmax(KernelSet kernels, std::string name) : reference_(kernels == KernelSet::reference), name_(std::move(name)) {}
    std::string kind() const override { return reference_ ? "Softmax reference" : "Softmax"; }
    Shape output_shape(const std::vector<Shape>& in) const override {
        XINFER_CHECK(!in[0].empty() && in[0].back() > 0, ErrorCode::shape_mismatch, name_, ": bad input ",
                     to_string(in[0]));
        return in[0];
    }
    void run(const RunArgs& a) const override {
        using Arch = XINFER_ARCH;
        const size_t cols = size_t(a.output_shape->back()), rows = checked_numel(*a.output_shape) / cols;
        const float* x = static_cast<const float*>(a.inputs[0]);
        float* y = static_cast<float*>(a.output);
        if (reference_) return kernels::ref::softmax_f32(rows, cols, x, y);
        kernels::f32::softmax_f32<Arch>(cols, x, y, 0, rows);
    }

private:
    bool reference_;
    std::string name_;
};

}  // namespace xinfer::ops
