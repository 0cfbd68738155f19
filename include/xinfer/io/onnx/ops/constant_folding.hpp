#pragma once
// Folds of ops whose inputs are all constants (shape arithmetic: Shape -> Gather -> Unsqueeze -> Concat ->
// Reshape, weights laid out for another framework, ...) into constants. A dynamic batch dimension folds as -1, which
// Reshape reads as "the batch". A fold that does not apply declines, and the op is imported as usual.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "xinfer/io/onnx/import_context.hpp"
#include "xinfer/io/onnx/ops/shape.hpp"

namespace xinfer::io::onnx::detail {

inline const Constant& const_at(const ImportContext& ctx, const NodeProto& n, size_t i) {
    return ctx.values.at(n.input[i]).constant;
}

// Identity / Dropout: the constant itself, with the integers it was dequantized from.
inline Status fold_identity(ImportContext& ctx, const NodeProto& n) {
    auto link = ctx.values.at(n.input[0]).quantized;
    ctx.set_const(n.output[0], const_at(ctx, n, 0));
    ctx.values.at(n.output[0]).quantized = std::move(link);
    return Status::converted();
}

// Transpose, e.g. weights laid out for another framework, after a DequantizeLinear.
inline Status fold_transpose(ImportContext& ctx, const NodeProto& n) {
    const Constant& x = const_at(ctx, n, 0);
    const auto& quantized = ctx.values.at(n.input[0]).quantized;
    std::vector<int64_t> perm = attr_ints(n, "perm", {});
    if (perm.empty())
        for (size_t i = x.shape.size(); i-- > 0;) perm.push_back(int64_t(i));
    XINFER_CHECK(perm.size() == x.shape.size(), ErrorCode::invalid_model, "perm does not match the rank");
    std::vector<bool> seen(perm.size(), false);
    for (auto& p : perm) {
        XINFER_ONNX_LET(axis, norm_axis(p, x.shape.size()));
        p = axis;
        XINFER_CHECK(!seen[size_t(p)], ErrorCode::invalid_model, "perm is not a permutation");
        seen[size_t(p)] = true;
    }
    std::shared_ptr<QuantizedConstant> link;
    if (quantized) {
        link = std::make_shared<QuantizedConstant>(*quantized);
        link->q = transposed_constant(quantized->q, perm);
        if (!link->params.per_tensor())
            link->params.axis = std::find(perm.begin(), perm.end(), link->params.axis) - perm.begin();
    }
    ctx.set_const(n.output[0], transposed_constant(x, perm));
    ctx.values.at(n.output[0]).quantized = std::move(link);
    return Status::converted();
}

// A constant's values as `to` (uint8, int8 or int32): integers kept, floats truncated toward zero as ONNX's Cast
// does; a value outside the type's range is unsupported (ONNX leaves it undefined).
inline Result<Constant> integer_cast(const Constant& x, DataType to) {
    const bool is_float = x.dtype == DataType::f32;
    const std::vector<float> floats = is_float ? const_floats(x) : std::vector<float>{};
    const int64_t lo = to == DataType::u8 ? 0 : to == DataType::s8 ? -128 : std::numeric_limits<int32_t>::min();
    const int64_t hi = to == DataType::u8 ? 255 : to == DataType::s8 ? 127 : std::numeric_limits<int32_t>::max();
    std::vector<std::byte> bytes(x.numel() * size_of(to));
    for (size_t i = 0; i < x.numel(); ++i) {
        const double d = is_float ? std::trunc(double(floats[i])) : double(integer_at(x, i));
        if (!(d >= double(lo) && d <= double(hi))) return Status::unsupported("cast of a constant out of range");
        const int32_t v = int32_t(d);
        if (to == DataType::s32) std::memcpy(bytes.data() + i * 4, &v, 4);
        else bytes[i] = std::byte(uint8_t(v & 0xff));  // uint8, or int8 in two's complement
    }
    return Constant::copy_of(to, x.shape, bytes.data(), bytes.size());
}

// Cast of a constant: to float32 and int64 (shape arithmetic), or to uint8 / int8 / int32 (zero points and biases
// that exporters such as PyTorch's write as a Cast of another constant).
inline Status fold_cast(ImportContext& ctx, const NodeProto& n) {
    const Constant& x = const_at(ctx, n, 0);
    const int64_t to = attr_int(n, "to", 0);
    if (to == int64_t(ElemType::float32)) {
        ctx.set_const(n.output[0], Constant::from_floats(x.shape, const_floats(x)));
    } else if (to == int64_t(ElemType::int64)) {
        const auto f = const_floats(x);
        std::vector<int64_t> v(f.size());
        for (size_t i = 0; i < f.size(); ++i) v[i] = int64_t(f[i]);
        ctx.set_const(n.output[0], ints_constant(x.shape, v));
    } else if (to == int64_t(ElemType::uint8) || to == int64_t(ElemType::int8) || to == int64_t(ElemType::int32)) {
        const DataType dt = to == int64_t(ElemType::uint8) ? DataType::u8
                            : to == int64_t(ElemType::int8) ? DataType::s8 : DataType::s32;
        XINFER_ONNX_LET(c, integer_cast(x, dt));
        ctx.set_const(n.output[0], std::move(c));
    } else {
        return Status::unsupported("cast of a constant to type " + std::to_string(to));
    }
    return Status::converted();
}

// ConstantOfShape: a constant shape filled with the one value of the `value` attribute (default float 0), as
// exporters write zero points and shape-derived fills.
inline Status fold_constant_of_shape(ImportContext& ctx, const NodeProto& n) {
    const Constant& shape_c = const_at(ctx, n, 0);
    XINFER_CHECK(shape_c.dtype == DataType::s64 && shape_c.shape.size() == 1, ErrorCode::invalid_model,
                 "ConstantOfShape takes a 1-D int64 shape");
    const Shape shape(shape_c.as<int64_t>(), shape_c.as<int64_t>() + shape_c.numel());
    Constant value = Constant::from_floats({1}, {0.0f});
    for (auto& a : n.attribute)
        if (a.name == "value") value = to_constant(a.t, "", ctx.source);
    XINFER_CHECK(value.numel() == 1, ErrorCode::invalid_model, "ConstantOfShape's value must hold one element");
    const size_t count = checked_numel(shape), width = size_of(value.dtype);
    XINFER_CHECK(count <= (size_t(1) << 28), ErrorCode::invalid_model, "ConstantOfShape of ", ::xinfer::to_string(shape),
                 " is too large");
    std::vector<std::byte> bytes(count * width);
    for (size_t i = 0; i < count; ++i) std::memcpy(bytes.data() + i * width, value.data, width);
    ctx.set_const(n.output[0], Constant::copy_of(value.dtype, shape, bytes.data(), bytes.size()));
    return Status::converted();
}

// Unsqueeze, Squeeze, Reshape, Flatten: the same data with another shape.
inline Status fold_reshape(ImportContext& ctx, const NodeProto& n) {
    const Constant& x = const_at(ctx, n, 0);
    const auto& quantized = ctx.values.at(n.input[0]).quantized;
    Constant c = x;
    XINFER_ONNX_LET(shape, reshaped(ctx, n, x.shape));
    c.shape = shape;
    XINFER_CHECK(checked_numel(c.shape) == x.numel(), ErrorCode::shape_mismatch, "bad constant reshape");
    std::shared_ptr<QuantizedConstant> link;
    if (quantized && quantized->params.per_tensor()) {  // per axis, the axis may not survive a reshape
        link = std::make_shared<QuantizedConstant>(*quantized);
        link->q.shape = c.shape;
    }
    ctx.set_const(n.output[0], c);
    ctx.values.at(n.output[0]).quantized = std::move(link);
    return Status::converted();
}

inline Status fold_gather(ImportContext& ctx, const NodeProto& n) {
    if (!ImportContext::has_input(n, 1)) return Status::declined();
    const Constant& x = const_at(ctx, n, 0);
    const auto idx = const_ints(const_at(ctx, n, 1), "indices");
    const Shape& is = ctx.values.at(n.input[1]).shape;
    XINFER_ONNX_LET(axis, norm_axis(attr_int(n, "axis", 0), x.shape.size()));
    size_t outer = 1, inner = 1;
    for (int64_t i = 0; i < axis; ++i) outer *= size_t(x.shape[size_t(i)]);
    for (size_t i = size_t(axis) + 1; i < x.shape.size(); ++i) inner *= size_t(x.shape[i]);
    const int64_t len = x.shape[size_t(axis)];
    Shape out(x.shape.begin(), x.shape.begin() + axis);
    out.insert(out.end(), is.begin(), is.end());
    out.insert(out.end(), x.shape.begin() + axis + 1, x.shape.end());
    const size_t esize = size_of(x.dtype);
    std::vector<std::byte> bytes(checked_numel(out) * esize);
    size_t o = 0;
    for (size_t a = 0; a < outer; ++a)
        for (int64_t i : idx) {
            if (i < 0) i += len;
            if (i < 0 || i >= len) XINFER_THROW(ErrorCode::invalid_model, "Gather index out of range");
            std::memcpy(bytes.data() + o, x.data + (a * size_t(len) + size_t(i)) * inner * esize, inner * esize);
            o += inner * esize;
        }
    ctx.set_const(n.output[0], Constant::copy_of(x.dtype, out, bytes.data(), bytes.size()));
    return Status::converted();
}

// Concat of 1-D int64 constants (shapes).
inline Status fold_concat(ImportContext& ctx, const NodeProto& n) {
    if (std::any_of(n.input.begin(), n.input.end(), [](const std::string& in) { return in.empty(); }))
        return Status::declined();
    const Constant& x = const_at(ctx, n, 0);
    XINFER_ONNX_LET(axis, norm_axis(attr_int(n, "axis", 0), x.shape.size()));
    if (x.shape.size() != 1 || axis != 0) return Status::declined();
    bool ints = true;
    for (auto& in : n.input) ints &= ctx.values.at(in).constant.dtype == DataType::s64;
    if (!ints) return Status::declined();
    std::vector<int64_t> all;
    for (auto& in : n.input) {
        const auto v = const_ints(ctx.values.at(in).constant, "concat");
        all.insert(all.end(), v.begin(), v.end());
    }
    ctx.set_const(n.output[0], ints_constant({int64_t(all.size())}, all));
    return Status::converted();
}

// Add, Sub, Mul, Div of float constants.
inline Status fold_arithmetic(ImportContext& ctx, const NodeProto& n) {
    if (!ImportContext::has_input(n, 1)) return Status::declined();
    const Constant& x = const_at(ctx, n, 0);
    const Constant& y = const_at(ctx, n, 1);
    if (x.dtype != DataType::f32 || y.dtype != DataType::f32) return Status::declined();
    const Shape out = ops::broadcast_shapes(x.shape, y.shape, "constant");
    std::vector<float> r(checked_numel(out));
    static const std::map<std::string, kernels::ref::BinaryOp> kinds{
        {"Add", kernels::ref::BinaryOp::add}, {"Sub", kernels::ref::BinaryOp::sub},
        {"Mul", kernels::ref::BinaryOp::mul}, {"Div", kernels::ref::BinaryOp::div}};
    kernels::ref::binary_f32(kinds.at(n.op_type), x.shape, x.as<float>(), y.shape, y.as<float>(), out, r.data());
    ctx.set_const(n.output[0], Constant::from_floats(out, r));
    return Status::converted();
}

// op_type -> its fold on constant inputs.
inline const std::map<std::string, Converter>& constant_folds() {
    static const std::map<std::string, Converter> folds{
        {"Identity", fold_identity}, {"Dropout", fold_identity}, {"Transpose", fold_transpose},
        {"Cast", fold_cast},         {"Unsqueeze", fold_reshape}, {"Squeeze", fold_reshape},
        {"Reshape", fold_reshape},   {"Flatten", fold_reshape},   {"Gather", fold_gather},
        {"Concat", fold_concat},     {"Add", fold_arithmetic},    {"Sub", fold_arithmetic},
        {"Mul", fold_arithmetic},    {"Div", fold_arithmetic},    {"ConstantOfShape", fold_constant_of_shape},
    };
    return folds;
}

// Folds node n when all its inputs are constants and its op has a fold; declined otherwise.
inline Status fold_constant_node(ImportContext& ctx, const NodeProto& n) {
    const auto& folds = constant_folds();
    const auto fold = folds.find(n.op_type);
    if (fold == folds.end()) return Status::declined();
    for (size_t i = 0; i < n.input.size(); ++i)
        if (!n.input[i].empty() && !(ctx.values.count(n.input[i]) && ctx.values.at(n.input[i]).is_const))
            return Status::declined();
    // The folds read their inputs directly: a missing one leaves the node to the import path, which names it.
    if (n.input.empty() || n.input[0].empty()) return Status::declined();
    return fold->second(ctx, n);
}

}  // namespace xinfer::io::onnx::detail
