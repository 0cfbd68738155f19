#pragma once
// ONNX activations (Relu, Clip, LeakyRelu, Sigmoid, ...), binary element-wise ops (Add, Sub, Mul, Div, Max, Min,
// Pow) and Softmax. They run on whatever layout their input is stored in.
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "xinfer/io/onnx/import_context.hpp"

namespace xinfer::io::onnx::detail {

// An IR op on input 0 whose output keeps the input's layout.
inline Status layout_free(ImportContext& ctx, const NodeProto& n, const std::string& op,
                          std::map<std::string, Attribute> attrs) {
    XINFER_ONNX_LET(x, ctx.activation(n, 0));
    const std::string out = ctx.fresh(n.output[0]);
    const Layout layout = x.layout;
    const Shape shape = x.shape;
    ctx.add_node(ImportContext::node_name(n, out), op, {x.ir}, out, std::move(attrs));
    ctx.define(n.output[0], out, layout, shape);
    return Status::converted();
}

// Relu and Clip (bounds from attributes before opset 11, from constant inputs since).
inline Status convert_clip(ImportContext& ctx, const NodeProto& n) {
    float lo = 0.0f, hi = INFINITY;
    if (n.op_type == "Clip") {
        lo = -INFINITY;
        if (ctx.opset < 11) {
            lo = attr_float(n, "min", -INFINITY), hi = attr_float(n, "max", INFINITY);
        } else {
            if (ImportContext::has_input(n, 1)) {
                XINFER_ONNX_LET(min, ctx.const_input(n, 1, "min"));
                lo = const_floats(min).at(0);
            }
            if (ImportContext::has_input(n, 2)) {
                XINFER_ONNX_LET(max, ctx.const_input(n, 2, "max"));
                hi = const_floats(max).at(0);
            }
        }
    }
    std::map<std::string, Attribute> attrs;
    if (std::isfinite(lo)) attrs["clip_min"] = double(lo);
    if (std::isfinite(hi)) attrs["clip_max"] = double(hi);
    if (lo > hi) return Status::unsupported("min > max");
    return layout_free(ctx, n, "Clip", attrs);
}

// LeakyRelu, Sigmoid, HardSigmoid, HardSwish, Tanh, Exp, Neg, Abs, Sqrt: the IR's Unary op.
inline Status convert_unary(ImportContext& ctx, const NodeProto& n) {
    static const std::map<std::string, std::string> kinds{
        {"LeakyRelu", "leaky_relu"}, {"Sigmoid", "sigmoid"}, {"HardSigmoid", "hard_sigmoid"},
        {"HardSwish", "hard_swish"}, {"Tanh", "tanh"},       {"Exp", "exp"},
        {"Neg", "neg"},              {"Abs", "abs"},         {"Sqrt", "sqrt"}};
    std::map<std::string, Attribute> attrs{{"op", kinds.at(n.op_type)}};
    if (n.op_type == "LeakyRelu") attrs["alpha"] = double(attr_float(n, "alpha", 0.01f));
    if (n.op_type == "HardSigmoid") {
        attrs["alpha"] = double(attr_float(n, "alpha", 0.2f));
        attrs["beta"] = double(attr_float(n, "beta", 0.5f));
    }
    return layout_free(ctx, n, "Unary", attrs);
}

// A binary op on two activations: in NHWC when both are, else in ONNX order.
inline Status binary_of_activations(ImportContext& ctx, const NodeProto& n, const std::string& out,
                                    const std::map<std::string, Attribute>& attrs) {
    XINFER_ONNX_TRY(ctx.activation(n, 0));
    XINFER_ONNX_TRY(ctx.activation(n, 1));
    const ValueState& a = ctx.values.at(n.input[0]);
    const ValueState& b = ctx.values.at(n.input[1]);
    const Shape y = logical_broadcast(a.shape, b.shape, "broadcast");
    const bool both_nhwc = a.layout == Layout::nhwc && b.layout == Layout::nhwc;
    const bool same_shape = a.shape == b.shape;
    std::string ia = both_nhwc ? a.ir : ctx.as_onnx(n.input[0]);
    std::string ib = both_nhwc ? b.ir : ctx.as_onnx(n.input[1]);
    if (n.op_type == "Add" && same_shape) ctx.add_node(ImportContext::node_name(n, out), "Add", {ia, ib}, out);
    else ctx.add_node(ImportContext::node_name(n, out), "Binary", {ia, ib}, out, attrs);
    ctx.define(n.output[0], out, both_nhwc ? Layout::nhwc : Layout::onnx, y);
    return Status::converted();
}

// Add, Sub, Mul, Div, Max, Min, Pow of two activations, or of an activation and a float constant.
inline Status convert_binary(ImportContext& ctx, const NodeProto& n) {
    static const std::map<std::string, std::string> kinds{{"Add", "add"}, {"Sub", "sub"}, {"Mul", "mul"},
                                                          {"Div", "div"}, {"Max", "max"}, {"Min", "min"},
                                                          {"Pow", "pow"}};
    if (n.input.size() != 2) return Status::unsupported("only two operands are supported");
    if (ctx.opset < 7 && attr(n, "broadcast")) return Status::unsupported("legacy broadcast attribute");
    XINFER_ONNX_LET(a0, ctx.input(n, 0));
    XINFER_ONNX_LET(b0, ctx.input(n, 1));
    if ((!a0.is_const && a0.ir.empty()) || (!b0.is_const && b0.ir.empty()))
        return Status::unsupported("input depends on an unsupported node");
    const std::string out = ctx.fresh(n.output[0]);
    const std::map<std::string, Attribute> attrs{{"op", kinds.at(n.op_type)}};
    if (!a0.is_const && !b0.is_const) return binary_of_activations(ctx, n, out, attrs);
    const bool a_const = a0.is_const;
    XINFER_ONNX_LET(act, ctx.activation(n, a_const ? 1 : 0));
    const ValueState& c = ctx.values.at(n.input[a_const ? 0 : 1]);
    if (c.constant.dtype != DataType::f32) return Status::unsupported("non-float constant operand");
    const Shape y = logical_broadcast(a_const ? c.shape : act.shape, a_const ? act.shape : c.shape, "broadcast");
    // NHWC activation: the constant is brought to rank 4 and permuted alike, which keeps broadcasting exact.
    const bool nhwc = act.layout == Layout::nhwc && c.shape.size() <= 4;
    const std::string x = nhwc ? act.ir : ctx.as_onnx(n.input[a_const ? 1 : 0]);
    const std::string k = ctx.ir_constant(c, n.input[a_const ? 0 : 1], nhwc);
    ctx.add_node(ImportContext::node_name(n, out), "Binary",
                 a_const ? std::vector<std::string>{k, x} : std::vector<std::string>{x, k}, out, attrs);
    ctx.define(n.output[0], out, nhwc ? Layout::nhwc : Layout::onnx, y);
    return Status::converted();
}

// Softmax over one axis (opset >= 13) or over the flattened trailing axes (before).
inline Status convert_softmax(ImportContext& ctx, const NodeProto& n) {
    XINFER_ONNX_LET(x, ctx.activation(n, 0));
    const size_t rank = x.shape.size();
    XINFER_ONNX_LET(axis, norm_axis(attr_int(n, "axis", ctx.opset >= 13 ? -1 : 1), rank));
    const Shape shape = x.shape;
    const std::string out = ctx.fresh(n.output[0]);
    if (ctx.opset >= 13 && x.layout == Layout::nhwc) {
        static const int64_t to_stored[] = {0, 3, 1, 2};
        ctx.add_node(ImportContext::node_name(n, out), "SoftmaxAxes", {x.ir}, out,
                     {{"axis", to_stored[axis]}, {"count", int64_t(1)}});
        ctx.define(n.output[0], out, Layout::nhwc, shape);
        return Status::converted();
    }
    const std::string in = ctx.as_onnx(n.input[0]);
    const int64_t count = ctx.opset >= 13 ? 1 : int64_t(rank) - axis;
    if (size_t(axis) == rank - 1) ctx.add_node(ImportContext::node_name(n, out), "Softmax", {in}, out);
    else ctx.add_node(ImportContext::node_name(n, out), "SoftmaxAxes", {in}, out, {{"axis", axis}, {"count", count}});
    ctx.define(n.output[0], out, Layout::onnx, shape);
    return Status::converted();
}

}  // namespace xinfer::io::onnx::detail
