#pragma once
// Ops that only change how a tensor's elements are grouped: the data (row-major in the value's layout) is copied.
#include <cstring>

#include "xinfer/ops/op.hpp"

namespace xinfer::ops {

// [N, ...] -> [N, prod(...)]: the data is already in that order (NHWC), so this is a copy.
template <class T>
class Flatten : public Op {
public:
    explicit Flatten(std::string name) : name_(std::move(name)) {}
    std::string kind() const override { return "Flatten"; }
    DataType input_dtype(size_t) const override { return dtype_of<T>::value; }
    DataType output_dtype() const override { return dtype_of<T>::value; }
    Shape output_shape(const std::vector<Shape>& in) const override {
        XINFER_CHECK(!in[0].empty(), ErrorCode::shape_mismatch, name_, ": cannot flatten a scalar");
        return {in[0][0], int64_t(checked_numel(Shape(in[0].begin() + 1, in[0].end())))};
    }
    void run(const RunArgs& a) const override {
        std::memcpy(a.output, a.inputs[0], checked_numel(*a.output_shape) * sizeof(T));
    }

private:
    std::string name_;
};

// Reshape to a fixed shape; dimension 0 of the target may be -1 (the batch of the input).
template <class T>
class Reshape : public Op {
public:
    Reshape(Shape target, std::string name) : target_(std::move(target)), name_(std::move(name)) {
        XINFER_CHECK(!target_.empty(), ErrorCode::invalid_model, name_, ": empty target shape");
        for (size_t d = 1; d < target_.size(); ++d)
            XINFER_CHECK(target_[d] >= 0, ErrorCode::invalid_model, name_, ": bad target shape ", to_string(target_));
    }
    std::string kind() const override { return "Reshape"; }
    DataType input_dtype(size_t) const override { return dtype_of<T>::value; }
    DataType output_dtype() const override { return dtype_of<T>::value; }
    Shape output_shape(const std::vector<Shape>& in) const override {
        Shape out = target_;
        if (out[0] < 0) {
            XINFER_CHECK(!in[0].empty(), ErrorCode::shape_mismatch, name_, ": input has no batch dimension");
            out[0] = in[0][0];
        }
        XINFER_CHECK(checked_numel(out) == checked_numel(in[0]), ErrorCode::shape_mismatch, name_, ": cannot reshape ",
                     to_string(in[0]), " to ", to_string(out));
        return out;
    }
    void run(const RunArgs& a) const override {
        std::memcpy(a.output, a.inputs[0], checked_numel(*a.output_shape) * sizeof(T));
    }

private:
    Shape target_;
    std::string name_;
};

}  // namespace xinfer::ops
