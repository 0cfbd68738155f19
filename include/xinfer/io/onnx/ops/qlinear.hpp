#pragma once
// QOperator graphs: QLinearConv and QLinearMatMul (2-D activation, constant 2-D B) become QConv / QDense when their
// weights are symmetric; QLinearAdd and QLinearGlobalAveragePool (com.microsoft) become QAdd / QGlobalAveragePool.
// Otherwise the integer arithmetic runs in fp32 on the integers q - zero_point: exact while the accumulators stay
// below 2^24 in magnitude, then requantized with the int8 ops' fp32 multiplier and rounding.
#include <map>
#include <string>
#include <vector>

#include "xinfer/io/onnx/ops/conv.hpp"
#include "xinfer/io/onnx/ops/quant_params.hpp"
#include "xinfer/io/onnx/ops/quantize.hpp"

namespace xinfer::io::onnx::detail {

inline Status convert_qlinear_conv(ImportContext& ctx, const NodeProto& n) {
    XINFER_ONNX_TRY(ImportContext::check_outputs(n, 1));
    XINFER_ONNX_LET(x, int8_activation(ctx, n, 0, "x"));
    XINFER_ONNX_LET(xq, tensor_quant_info(ctx, n, 1, 2, x.elem, "x"));
    XINFER_ONNX_LET(w, ctx.const_input(n, 3, "the weight w"));
    XINFER_CHECK(is_int8_type(elem_of(w)), ErrorCode::invalid_model, "weight w is ", to_string(elem_of(w)),
                 "; expected UINT8 or INT8");
    if (w.shape.size() != 4)
        return Status::unsupported("only 2-D convolution is supported (weight rank " + std::to_string(w.shape.size()) +
                                   ")");
    const int64_t cout = w.shape[0];
    XINFER_ONNX_LET(wq, quant_info(ctx, n, 4, 5, w.shape, elem_of(w), 0, "w"));
    XINFER_ONNX_LET(yq, tensor_quant_info(ctx, n, 6, 7, ElemType::undefined, "y"));
    XINFER_CHECK(is_int8_type(yq.type), ErrorCode::invalid_model, "y_zero_point is ", to_string(yq.type),
                 "; expected UINT8 or INT8");
    const Constant* bias = nullptr;
    if (ImportContext::has_input(n, 8)) {
        XINFER_ONNX_LET(b, ctx.const_input(n, 8, "the bias B"));
        bias = &b;
        XINFER_CHECK(bias->dtype == DataType::s32 && bias->numel() == size_t(cout), ErrorCode::invalid_model,
                     "bias B must be ", cout, " INT32 values, got ", to_string(elem_of(*bias)), " ",
                     ::xinfer::to_string(bias->shape));
    }
    XINFER_ONNX_LET(geo, conv_geometry(ctx, n, w.shape));
    if (const auto w8 = symmetric_int8(w, wq)) {
        const std::string wname = ctx.fresh(n.input[3] + "/int8"), sname = ctx.fresh(n.input[3] + "/scale");
        const std::vector<int8_t> ohwi = ohwi_int8(*w8, w.shape);
        ctx.graph.constants[wname] =
            Constant::copy_of(DataType::s8, {cout, w.shape[2], w.shape[3], w.shape[1]}, ohwi.data(), ohwi.size());
        ctx.graph.constants[sname] = Constant::from_floats({int64_t(wq.scale.size())}, wq.scale);
        std::vector<std::string> inputs{ctx.as_nhwc(n.input[0]), wname, sname};
        if (bias) {
            inputs.push_back(ctx.fresh(n.input[8] + "/int32"));
            ctx.graph.constants[inputs.back()] = Constant::copy_of(DataType::s32, {cout}, bias->data, bias->bytes);
        }
        auto attrs = conv_attributes(geo);
        set_input_params(attrs, "x", xq.scale[0], xq.ir_zero_point());
        set_input_params(attrs, "y", yq.scale[0], yq.ir_zero_point());
        const std::string out = ctx.fresh(n.output[0]);
        ctx.add_node(ImportContext::node_name(n, out), "QConv", inputs, out, attrs);
        ctx.define_int8(n.output[0], out, Layout::nhwc, geo.y, yq.type);
        return Status::converted();
    }
    // Asymmetric weights: the integer convolution in fp32, requantized like QConv.
    std::vector<std::string> inputs{integer_operand(ctx, n.input[0], xq, n.output[0] + "/x"),
                                    integer_operand(ctx, n.input[3], wq, n.input[3] + "/centered")};
    if (bias) {
        std::vector<float> b(static_cast<size_t>(cout));
        for (size_t c = 0; c < b.size(); ++c) b[c] = float(bias->as<int32_t>()[c]);
        inputs.push_back(ctx.constant_value(Constant::from_floats({cout}, b), n.input[8] + "/float"));
    }
    const std::string acc = ctx.fresh(n.output[0] + "/acc"), scaled = ctx.fresh(n.output[0] + "/scaled");
    XINFER_ONNX_TRY(ctx.synthesize(n, "Conv", inputs, acc, true));
    std::vector<float> m(static_cast<size_t>(cout));
    for (size_t c = 0; c < m.size(); ++c) m[c] = xq.scale[0] * wq.scale[wq.per_tensor() ? 0 : c] / yq.scale[0];
    const std::string mname =
        ctx.constant_value(Constant::from_floats({1, cout, 1, 1}, m), n.output[0] + "/multiplier");
    XINFER_ONNX_TRY(ctx.synthesize(n, "Mul", {acc, mname}, scaled, false));
    quantize_into(ctx, scaled, unit_quant(yq.type, yq.zero_point[0]), n.output[0], "");
    return Status::converted();
}

inline Status convert_qlinear_matmul(ImportContext& ctx, const NodeProto& n) {
    XINFER_ONNX_TRY(ImportContext::check_outputs(n, 1));
    XINFER_ONNX_LET(a, int8_activation(ctx, n, 0, "a"));
    XINFER_ONNX_LET(aq, tensor_quant_info(ctx, n, 1, 2, a.elem, "a"));
    const Shape a_shape = a.shape;
    XINFER_ONNX_LET(b, ctx.input(n, 3));
    const ElemType bt = b.is_const ? elem_of(b.constant) : b.elem;
    XINFER_CHECK(is_int8_type(bt), ErrorCode::invalid_model, "input b is ", to_string(bt), "; expected UINT8 or INT8");
    if (a_shape.size() < 2 || b.shape.size() < 2) return Status::unsupported("1-D QLinearMatMul operands");
    const Shape b_shape = b.shape;
    const int64_t N = b_shape.back();
    XINFER_ONNX_LET(bq, b.is_const ? quant_info(ctx, n, 4, 5, b_shape, bt, int64_t(b_shape.size()) - 1, "b")
                                   : tensor_quant_info(ctx, n, 4, 5, bt, "b"));
    XINFER_ONNX_LET(yq, tensor_quant_info(ctx, n, 6, 7, ElemType::undefined, "y"));
    XINFER_CHECK(is_int8_type(yq.type), ErrorCode::invalid_model, "y_zero_point is ", to_string(yq.type),
                 "; expected UINT8 or INT8");
    if (b.is_const && a_shape.size() == 2 && b_shape.size() == 2) {
        if (a_shape[1] < 0) return Status::unsupported("QLinearMatMul over a dynamic dimension");
        XINFER_CHECK(a_shape[1] == b_shape[0], ErrorCode::shape_mismatch, "a ", ::xinfer::to_string(a_shape), " and b ",
                     ::xinfer::to_string(b_shape), " do not multiply");
        if (const auto w8 = symmetric_int8(b.constant, bq)) {
            const int64_t K = b_shape[0];
            const std::vector<int8_t> wk = transposed_int8(*w8, size_t(K), size_t(N));
            const std::string wname = ctx.fresh(n.input[3] + "/int8"), sname = ctx.fresh(n.input[3] + "/scale");
            ctx.graph.constants[wname] = Constant::copy_of(DataType::s8, {N, K}, wk.data(), wk.size());
            ctx.graph.constants[sname] = Constant::from_floats({int64_t(bq.scale.size())}, bq.scale);
            std::map<std::string, Attribute> attrs;
            set_input_params(attrs, "x", aq.scale[0], aq.ir_zero_point());
            set_input_params(attrs, "y", yq.scale[0], yq.ir_zero_point());
            const std::string out = ctx.fresh(n.output[0]);
            ctx.add_node(ImportContext::node_name(n, out), "QDense", {ctx.as_onnx(n.input[0]), wname, sname}, out,
                         attrs);
            ctx.define_int8(n.output[0], out, Layout::onnx, {a_shape[0], N}, yq.type);
            return Status::converted();
        }
    }
    // The integer product in fp32, requantized per output column like QDense.
    const std::string ai = integer_operand(ctx, n.input[0], aq, n.output[0] + "/a");
    const std::string bi = integer_operand(ctx, n.input[3], bq, n.input[3] + "/centered");
    const std::string acc = ctx.fresh(n.output[0] + "/acc"), scaled = ctx.fresh(n.output[0] + "/scaled");
    XINFER_ONNX_TRY(ctx.synthesize(n, "MatMul", {ai, bi}, acc, false));
    std::vector<float> m(bq.scale.size());
    for (size_t j = 0; j < m.size(); ++j) m[j] = aq.scale[0] * bq.scale[j] / yq.scale[0];
    const std::string mname =
        ctx.constant_value(Constant::from_floats({int64_t(m.size())}, m), n.output[0] + "/multiplier");
    XINFER_ONNX_TRY(ctx.synthesize(n, "Mul", {acc, mname}, scaled, false));
    quantize_into(ctx, scaled, unit_quant(yq.type, yq.zero_point[0]), n.output[0], "");
    return Status::converted();
}

// com.microsoft QLinearAdd: A, A_scale, A_zero_point, B, B_scale, B_zero_point, C_scale, C_zero_point.
inline Status convert_qlinear_add(ImportContext& ctx, const NodeProto& n) {
    XINFER_ONNX_TRY(ImportContext::check_outputs(n, 1));
    XINFER_CHECK(n.input.size() >= 7, ErrorCode::invalid_model, "QLinearAdd needs at least 7 inputs");
    XINFER_ONNX_LET(at, integer_type(ctx, n, 0));
    XINFER_ONNX_LET(bt, integer_type(ctx, n, 3));
    XINFER_CHECK(is_int8_type(at) && at == bt, ErrorCode::invalid_model, "inputs A and B are ", to_string(at), " and ",
                 to_string(bt), "; expected both UINT8 or both INT8");
    XINFER_ONNX_LET(aq, tensor_quant_info(ctx, n, 1, 2, at, "A"));
    XINFER_ONNX_LET(bq, tensor_quant_info(ctx, n, 4, 5, bt, "B"));
    XINFER_ONNX_LET(cq, tensor_quant_info(ctx, n, 6, 7, at, "C"));
    XINFER_ONNX_LET(a, ctx.input(n, 0));
    XINFER_ONNX_LET(b, ctx.input(n, 3));
    if (!a.is_const && !b.is_const && a.shape == b.shape) {
        XINFER_ONNX_TRY(ctx.activation(n, 0, true));
        XINFER_ONNX_TRY(ctx.activation(n, 3, true));
        const ValueState& va = ctx.values.at(n.input[0]);
        const ValueState& vb = ctx.values.at(n.input[3]);
        const Layout layout = int8_pair_layout(va, vb);
        const Shape shape = va.shape;
        const std::string ia = ctx.int8_in_layout(n.input[0], layout), ib = ctx.int8_in_layout(n.input[3], layout);
        std::map<std::string, Attribute> attrs;
        set_input_params(attrs, "a", aq.scale[0], aq.ir_zero_point());
        set_input_params(attrs, "b", bq.scale[0], bq.ir_zero_point());
        set_input_params(attrs, "y", cq.scale[0], cq.ir_zero_point());
        const std::string out = ctx.fresh(n.output[0]);
        ctx.add_node(ImportContext::node_name(n, out), "QAdd", {ia, ib}, out, attrs);
        ctx.define_int8(n.output[0], out, layout, shape, cq.type);
        return Status::converted();
    }
    if (a.is_const && b.is_const) return Status::unsupported("both operands are constants");
    // Broadcasting or a constant operand: the sum in fp32.
    auto real = [&](size_t i, const QuantInfo& q) {
        const ValueState& v = ctx.values.at(n.input[i]);  // read above: neither unknown nor missing
        if (!v.is_const) return dequantized(ctx, n.input[i], q, ctx.fresh(n.input[i] + "/real"), "");
        std::vector<float> f(v.constant.numel());
        for (size_t k = 0; k < f.size(); ++k) f[k] = float(integer_at(v.constant, k) - q.zero_point[0]) * q.scale[0];
        return ctx.constant_value(Constant::from_floats(v.shape, f), n.input[i] + "/real");
    };
    const std::string ar = real(0, aq), br = real(3, bq), sum = ctx.fresh(n.output[0] + "/real");
    XINFER_ONNX_TRY(ctx.synthesize(n, "Add", {ar, br}, sum, false));
    quantize_into(ctx, sum, cq, n.output[0], "");
    return Status::converted();
}

// com.microsoft QLinearGlobalAveragePool: X, x_scale, x_zero_point, y_scale, y_zero_point; channels_last.
inline Status convert_qlinear_global_pool(ImportContext& ctx, const NodeProto& n) {
    XINFER_ONNX_TRY(ImportContext::check_outputs(n, 1));
    XINFER_ONNX_LET(x, int8_activation(ctx, n, 0, "X"));
    XINFER_ONNX_LET(xq, tensor_quant_info(ctx, n, 1, 2, x.elem, "x"));
    XINFER_ONNX_LET(
        yq, tensor_quant_info(ctx, n, 3, 4, ImportContext::has_input(n, 4) ? ElemType::undefined : x.elem, "y"));
    XINFER_CHECK(yq.type == x.elem, ErrorCode::invalid_model, "y_zero_point is ", to_string(yq.type), " but X is ",
                 to_string(x.elem));
    if (x.shape.size() != 4) return Status::unsupported("input of rank " + std::to_string(x.shape.size()));
    const Shape xs = x.shape;
    const bool channels_last = attr_int(n, "channels_last", 0) != 0;
    // channels_last: the ONNX tensor itself is [N, H, W, C], which is what the op reads.
    const std::string in = channels_last ? ctx.as_onnx(n.input[0]) : ctx.as_nhwc(n.input[0]);
    std::map<std::string, Attribute> attrs;
    set_input_params(attrs, "x", xq.scale[0], xq.ir_zero_point());
    set_input_params(attrs, "y", yq.scale[0], yq.ir_zero_point());
    const std::string out = ctx.fresh(n.output[0]);
    ctx.add_node(ImportContext::node_name(n, out), "QGlobalAveragePool", {in}, out, attrs);
    if (channels_last) ctx.define_int8(n.output[0], out, Layout::onnx, {xs[0], 1, 1, xs[3]}, yq.type);
    else ctx.define_int8(n.output[0], out, Layout::nhwc, {xs[0], xs[1], 1, 1}, yq.type);
    return Status::converted();
}

}  // namespace xinfer::io::onnx::detail
