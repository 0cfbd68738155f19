#pragma once
// Generic tensor ops (any rank, row-major, no layout assumption) that imported graphs need around the
// convolutional core. They run the reference kernels: they sit off MobileNetV2's hot path.
#include <memory>
#include <string>
#include <vector>

#include "xinfer/core/buffer.hpp"
#include "xinfer/kernels/ref/tensor.hpp"
#include "xinfer/ops/op.hpp"

namespace xinfer::ops {

// A constant operand held by an op: shape + a private copy of the values.
struct ConstOperand {
    Shape shape;
    AlignedBuffer data;
    ConstOperand() = default;
    ConstOperand(Shape s, const float* values) : shape(std::move(s)), data(checked_numel(shape) * sizeof(float)) {
        std::copy(values, values + checked_numel(shape), data.as<float>());
    }
    const float* floats() const { return data.as<float>(); }
};

inline Shape broadcast_shapes(const Shape& a, const Shape& b, const std::string& who) {
    Shape out(std::max(a.size(), b.size()), 1);
    for (size_t i = 0; i < out.size(); ++i) {
        const int64_t da = i < out.size() - a.size() ? 1 : a[i - (out.size() - a.size())];
        const int64_t db = i < out.size() - b.size() ? 1 : b[i - (out.size() - b.size())];
        XINFER_CHECK(da == db || da == 1 || db == 1, ErrorCode::shape_mismatch, who, ": shapes ", to_string(a), " and ",
                     to_string(b), " do not broadcast");
        out[i] = da == 1 ? db : da;
    }
    return out;
}

template <class T> class Transpose;
template <class T> class Binary;
template <class T> class Unary;
template <class T> class Concat;
template <class T> class SoftmaxAxes;
template <class T> class MatMul;
template <class T> class Pad;

template <>
class Transpose<float> : public Op {
public:
    Transpose(std::vector<int64_t> perm, std::string name) : perm_(std::move(perm)), name_(std::move(name)) {
        std::vector<bool> seen(perm_.size(), false);
        for (auto p : perm_) {
            XINFER_CHECK(p >= 0 && size_t(p) < perm_.size() && !seen[size_t(p)], ErrorCode::invalid_model, name_,
                         ": invalid permutation");
            seen[size_t(p)] = true;
        }
    }
    std::string kind() const override { return "Transpose"; }
    Shape output_shape(const std::vector<Shape>& in) const override {
        XINFER_CHECK(in[0].size() == perm_.size(), ErrorCode::shape_mismatch, name_, ": permutation of rank ",
                     perm_.size(), " for input ", to_string(in[0]));
        Shape out(perm_.size());
        for (size_t i = 0; i < perm_.size(); ++i) out[i] = in[0][size_t(perm_[i])];
        return out;
    }
    void run(const RunArgs& a) const override {
        kernels::ref::transpose_f32(a.input_shapes[0], perm_, static_cast<const float*>(a.inputs[0]),
                                    static_cast<float*>(a.output));
    }

private:
    std::vector<int64_t> perm_;
    std::string name_;
};

// a (op) b with numpy broadcasting; either operand may be a constant held by the op.
template <>
class Binary<float> : public Op {
public:
    Binary(kernels::ref::BinaryOp op, std::unique_ptr<ConstOperand> a, std::unique_ptr<ConstOperand> b, std::string name)
        : op_(op), a_(std::move(a)), b_(std::move(b)), name_(std::move(name)) {
        XINFER_CHECK(!(a_ && b_), ErrorCode::internal, name_, ": both operands constant");
    }
    std::string kind() const override { return "Binary"; }
    size_t num_inputs() const override { return (a_ || b_) ? 1 : 2; }
    Shape output_shape(const std::vector<Shape>& in) const override {
        return broadcast_shapes(a_ ? a_->shape : in[0], b_ ? b_->shape : in[a_ ? 0 : 1], name_);
    }
    void run(const RunArgs& a) const override {
        const float* pa = a_ ? a_->floats() : static_cast<const float*>(a.inputs[0]);
        const float* pb = b_ ? b_->floats() : static_cast<const float*>(a.inputs[a_ ? 0 : 1]);
        const Shape& sa = a_ ? a_->shape : a.input_shapes[0];
        const Shape& sb = b_ ? b_->shape : a.input_shapes[a_ ? 0 : 1];
        kernels::ref::binary_f32(op_, sa, pa, sb, pb, *a.output_shape, static_cast<float*>(a.output));
    }

private:
    kernels::ref::BinaryOp op_;
    std::unique_ptr<ConstOperand> a_, b_;
    std::string name_;
};

template <>
class Unary<float> : public Op {
public:
    Unary(kernels::ref::UnaryOp op, kernels::ref::UnaryParams p, std::string name)
        : op_(op), p_(p), name_(std::move(name)) {}
    std::string kind() const override { return "Unary"; }
    Shape output_shape(const std::vector<Shape>& in) const override { return in[0]; }
    void run(const RunArgs& a) const override {
        kernels::ref::unary_f32(op_, p_, checked_numel(*a.output_shape), static_cast<const float*>(a.inputs[0]),
                                static_cast<float*>(a.output));
    }

private:
    kernels::ref::UnaryOp op_;
    kernels::ref::UnaryParams p_;
    std::string name_;
};

template <>
class Concat<float> : public Op {
public:
    Concat(size_t inputs, int64_t axis, std::string name) : inputs_(inputs), axis_(axis), name_(std::move(name)) {
        XINFER_CHECK(inputs_ >= 1 && inputs_ <= 8, ErrorCode::unsupported_op, name_, ": concat of ", inputs_,
                     " inputs (at most 8)");
    }
    std::string kind() const override { return "Concat"; }
    size_t num_inputs() const override { return inputs_; }
    Shape output_shape(const std::vector<Shape>& in) const override {
        Shape out = in[0];
        XINFER_CHECK(axis_ >= 0 && size_t(axis_) < out.size(), ErrorCode::shape_mismatch, name_, ": axis ", axis_,
                     " out of range for ", to_string(out));
        for (size_t k = 1; k < in.size(); ++k) {
            XINFER_CHECK(in[k].size() == out.size(), ErrorCode::shape_mismatch, name_, ": ranks differ");
            for (size_t d = 0; d < out.size(); ++d)
                XINFER_CHECK(d == size_t(axis_) || in[k][d] == out[d], ErrorCode::shape_mismatch, name_, ": shapes ",
                             to_string(in[0]), " and ", to_string(in[k]), " differ off the concat axis");
            out[size_t(axis_)] += in[k][size_t(axis_)];
        }
        return out;
    }
    void run(const RunArgs& a) const override {
        kernels::ref::concat_f32(inputs_, a.input_shapes, a.inputs, size_t(axis_), static_cast<float*>(a.output));
    }

private:
    size_t inputs_;
    int64_t axis_;
    std::string name_;
};

// Softmax over dimensions [axis, axis + count).
template <>
class SoftmaxAxes<float> : public Op {
public:
    SoftmaxAxes(int64_t axis, int64_t count, std::string name) : axis_(axis), count_(count), name_(std::move(name)) {}
    std::string kind() const override { return "Softmax (axes)"; }
    Shape output_shape(const std::vector<Shape>& in) const override {
        XINFER_CHECK(axis_ >= 0 && count_ >= 1 && size_t(axis_ + count_) <= in[0].size(), ErrorCode::shape_mismatch,
                     name_, ": axes out of range for ", to_string(in[0]));
        return in[0];
    }
    void run(const RunArgs& a) const override {
        kernels::ref::softmax_axes_f32(a.input_shapes[0], size_t(axis_), size_t(count_),
                                       static_cast<const float*>(a.inputs[0]), static_cast<float*>(a.output));
    }

private:
    int64_t axis_, count_;
    std::string name_;
};

// Batched matmul of rank >= 2 operands (the importer promotes 1-D ones); either may be constant.
template <>
class MatMul<float> : public Op {
public:
    MatMul(std::unique_ptr<ConstOperand> a, std::unique_ptr<ConstOperand> b, std::string name)
        : a_(std::move(a)), b_(std::move(b)), name_(std::move(name)) {}
    std::string kind() const override { return "MatMul"; }
    size_t num_inputs() const override { return (a_ || b_) ? 1 : 2; }
    Shape output_shape(const std::vector<Shape>& in) const override {
        const Shape& sa = a_ ? a_->shape : in[0];
        const Shape& sb = b_ ? b_->shape : in[a_ ? 0 : 1];
        XINFER_CHECK(sa.size() >= 2 && sb.size() >= 2 && sa.back() == sb[sb.size() - 2], ErrorCode::shape_mismatch,
                     name_, ": cannot multiply ", to_string(sa), " by ", to_string(sb));
        Shape out = broadcast_shapes(Shape(sa.begin(), sa.end() - 2), Shape(sb.begin(), sb.end() - 2), name_);
        out.push_back(sa[sa.size() - 2]);
        out.push_back(sb.back());
        return out;
    }
    void run(const RunArgs& a) const override {
        const float* pa = a_ ? a_->floats() : static_cast<const float*>(a.inputs[0]);
        const float* pb = b_ ? b_->floats() : static_cast<const float*>(a.inputs[a_ ? 0 : 1]);
        const Shape& sa = a_ ? a_->shape : a.input_shapes[0];
        const Shape& sb = b_ ? b_->shape : a.input_shapes[a_ ? 0 : 1];
        kernels::ref::matmul_f32(sa, pa, sb, pb, *a.output_shape, static_cast<float*>(a.output));
    }

private:
    std::unique_ptr<ConstOperand> a_, b_;
    std::string name_;
};

template <>
class Pad<float> : public Op {
public:
    Pad(std::vector<int64_t> pads, float value, std::string name)
        : pads_(std::move(pads)), value_(value), name_(std::move(name)) {}
    std::string kind() const override { return "Pad"; }
    Shape output_shape(const std::vector<Shape>& in) const override {
        const size_t r = in[0].size();
        XINFER_CHECK(pads_.size() == 2 * r, ErrorCode::shape_mismatch, name_, ": ", pads_.size(), " pads for rank ", r);
        Shape out(r);
        for (size_t i = 0; i < r; ++i) {
            out[i] = in[0][i] + pads_[i] + pads_[r + i];
            XINFER_CHECK(out[i] >= 0, ErrorCode::shape_mismatch, name_, ": pads crop ", to_string(in[0]), " below zero");
        }
        return out;
    }
    void run(const RunArgs& a) const override {
        kernels::ref::pad_f32(a.input_shapes[0], pads_, value_, static_cast<const float*>(a.inputs[0]), *a.output_shape,
                              static_cast<float*>(a.output));
    }

private:
    std::vector<int64_t> pads_;
    float value_;
    std::string name_;
};

}  // namespace xinfer::ops
