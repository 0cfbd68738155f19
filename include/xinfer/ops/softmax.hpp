#pragma once
#include <cstring>

#include "xinfer/kernels/f32/softmax.hpp"
#include "xinfer/kernels/ref/softmax.hpp"
#include "xinfer/ops/op.hpp"

namespace xinfer::ops {

template <class T> class Softmax;
template <class T> class Flatten;

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

// [N, ...] -> [N, prod(...)]: the data is already in that order (NHWC), so this is a copy.
template <>
class Flatten<float> : public Op {
public:
    explicit Flatten(std::string name) : name_(std::move(name)) {}
    std::string kind() const override { return "Flatten"; }
    Shape output_shape(const std::vector<Shape>& in) const override {
        XINFER_CHECK(!in[0].empty(), ErrorCode::shape_mismatch, name_, ": cannot flatten a scalar");
        return {in[0][0], int64_t(checked_numel(Shape(in[0].begin() + 1, in[0].end())))};
    }
    void run(const RunArgs& a) const override {
        std::memcpy(a.output, a.inputs[0], checked_numel(*a.output_shape) * sizeof(float));
    }

private:
    std::string name_;
};

}  // namespace xinfer::ops
