#pragma once
// QDQ fusion: a DequantizeLinear of an int8 activation -> Conv / Gemm / MatMul / Add / GlobalAveragePool /
// AveragePool over the whole input -> optional Relu or Clip -> QuantizeLinear chain becomes one QConv / QDense / QAdd /
// QGlobalAveragePool when the weights are a DequantizeLinear of constant symmetric integers (int8 with zero point 0, or
// uint8 with zero point 128; per tensor or per output channel) and the bias is a DequantizeLinear of int32 or an fp32
// constant (requantized to the scale x_scale * w_scale[c] where its own differs). Each fusion declines when its
// pattern does not match, and the fp32 converter of the op runs instead, in fp32 between the quantization nodes.
#include <cmath>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "xinfer/io/onnx/ops/conv.hpp"
#include "xinfer/io/onnx/ops/quant_params.hpp"

namespace xinfer::io::onnx::detail {

// The nodes after a fusable op that become part of its int8 op.
struct OutputQuant {
    std::vector<const NodeProto*> nodes;  // the Relu/Clip (if any) and the QuantizeLinear
    std::string value;                    // the QuantizeLinear's output
    QuantInfo y;
    float clip_min = -INFINITY, clip_max = INFINITY;
};

// The QuantizeLinear (per tensor, 8-bit) that alone reads n's output, possibly through a Relu or a Clip with
// constant bounds that alone reads it: the output stage of a fused int8 op.
inline std::optional<OutputQuant> output_quantizer(const ImportContext& ctx, const NodeProto& n,
                                                   bool allow_activation) {
    for (size_t i = 1; i < n.output.size(); ++i)
        if (!n.output[i].empty()) return std::nullopt;
    auto sole_reader = [&](const std::string& v) -> const NodeProto* {
        if (ctx.graph_outputs.count(v)) return nullptr;
        auto it = ctx.consumers.find(v);
        if (it == ctx.consumers.end() || it->second.size() != 1) return nullptr;
        const NodeProto* c = it->second[0];
        const bool onnx_domain = c->domain.empty() || c->domain == "ai.onnx";
        if (!onnx_domain && !(c->domain == "com.microsoft" && c->op_type == "QuantizeLinear")) return nullptr;
        if (c->input.empty() || c->input[0] != v || c->output.size() != 1) return nullptr;
        return c;
    };
    OutputQuant oq;
    std::string v = n.output[0];
    const NodeProto* c = sole_reader(v);
    if (!c) return std::nullopt;
    const bool onnx_domain = c->domain.empty() || c->domain == "ai.onnx";
    if (allow_activation && onnx_domain && (c->op_type == "Relu" || c->op_type == "Clip")) {
        float lo = 0.0f, hi = INFINITY;
        if (c->op_type == "Clip") {
            lo = -INFINITY;
            if (ctx.opset < 11) {
                lo = attr_float(*c, "min", -INFINITY), hi = attr_float(*c, "max", INFINITY);
            } else {
                for (size_t i : {size_t(1), size_t(2)}) {
                    if (!ImportContext::has_input(*c, i)) continue;
                    auto it = ctx.values.find(c->input[i]);
                    if (it == ctx.values.end() || !it->second.is_const || it->second.constant.numel() != 1)
                        return std::nullopt;
                    (i == 1 ? lo : hi) = const_floats(it->second.constant)[0];
                }
            }
        }
        if (!(lo <= hi)) return std::nullopt;
        oq.clip_min = lo, oq.clip_max = hi;
        oq.nodes.push_back(c);
        v = c->output[0];
        if (!(c = sole_reader(v))) return std::nullopt;
    }
    if (c->op_type != "QuantizeLinear" || attr_int(*c, "block_size", 0) != 0) return std::nullopt;
    XINFER_TRY {  // anything wrong with its parameters: no fusion, and the QuantizeLinear reports it itself
        ElemType type = ElemType::undefined;
        if (!ImportContext::has_input(*c, 2)) type = ElemType(attr_int(*c, "output_dtype", 0));
        auto y = tensor_quant_info(ctx, *c, 1, 2, type, "y");
        if (!y.ok()) return std::nullopt;
        oq.y = y.value();
    } XINFER_CATCH(const std::exception&, unused) {
        return std::nullopt;
    }
    if (!is_int8_type(oq.y.type)) return std::nullopt;
    oq.nodes.push_back(c);
    oq.value = c->output[0];
    return oq;
}

// The per-tensor DequantizeLinear link of input i (an fp32 activation made from an int8 one), or null.
inline const Int8Link* dequantized_input(const ImportContext& ctx, const NodeProto& n, size_t i) {
    if (!ImportContext::has_input(n, i)) return nullptr;
    auto it = ctx.values.find(n.input[i]);
    if (it == ctx.values.end() || it->second.unknown || it->second.is_const || !it->second.dequantized_from)
        return nullptr;
    return &*it->second.dequantized_from;
}

inline void define_fused_output(ImportContext& ctx, const OutputQuant& oq, const std::string& ir, Layout layout,
                                Shape shape) {
    ctx.define_int8(oq.value, ir, layout, std::move(shape), oq.y.type);
    for (auto* node : oq.nodes) ctx.fused.insert(node);
}

inline std::map<std::string, Attribute> qattrs(const OutputQuant& oq) {
    std::map<std::string, Attribute> a{{"y_scale", double(oq.y.scale[0])},
                                       {"y_zero_point", int64_t(oq.y.ir_zero_point())}};
    if (std::isfinite(oq.clip_min)) a["clip_min"] = double(oq.clip_min);
    if (std::isfinite(oq.clip_max)) a["clip_max"] = double(oq.clip_max);
    return a;
}

// DQ(x) -> Conv(W = DQ(int8), B = DQ(int32) or fp32) [-> Relu/Clip] -> Q  =>  QConv.
inline Status fuse_conv(ImportContext& ctx, const NodeProto& n) {
    if (!ImportContext::has_input(n, 1) || !ctx.values.count(n.input[1])) return Status::declined();
    const ValueState& wv = ctx.values.at(n.input[1]);
    if (!wv.is_const || !wv.quantized || wv.quantized->q.shape.size() != 4) return Status::declined();
    const QuantizedConstant& w = *wv.quantized;
    if (!w.params.per_tensor() && w.params.axis != 0) return Status::declined();
    const auto w8 = symmetric_int8(w.q, w.params);
    if (!w8) return Status::declined();
    auto xit = ctx.values.find(n.input[0]);
    if (xit == ctx.values.end() || xit->second.unknown || xit->second.is_const) return Status::declined();
    const std::string src = xit->second.pending_pad ? xit->second.pad_source : n.input[0];
    if (!ctx.values.at(src).dequantized_from) return Status::declined();
    const ValueState* bias = nullptr;
    if (ImportContext::has_input(n, 2)) {
        auto bit = ctx.values.find(n.input[2]);
        if (bit == ctx.values.end() || !bit->second.is_const) return Status::declined();
        bias = &bit->second;
        if (bias->quantized ? bias->quantized->q.dtype != DataType::s32 : bias->constant.dtype != DataType::f32)
            return Status::declined();
    }
    const auto oq = output_quantizer(ctx, n, true);
    if (!oq) return Status::declined();
    XINFER_ONNX_LET(geo, conv_geometry(ctx, n, w.q.shape));
    const Int8Link x = *ctx.values.at(src).dequantized_from;
    const Shape& s = w.q.shape;
    const std::string wname = ctx.fresh(n.input[1] + "/int8"), sname = ctx.fresh(n.input[1] + "/scale");
    const std::vector<int8_t> ohwi = ohwi_int8(*w8, s);
    ctx.graph.constants[wname] = Constant::copy_of(DataType::s8, {s[0], s[2], s[3], s[1]}, ohwi.data(), ohwi.size());
    ctx.graph.constants[sname] = Constant::from_floats({int64_t(w.params.scale.size())}, w.params.scale);
    std::vector<std::string> inputs{ctx.int8_in_layout(x.value, Layout::nhwc), wname, sname};
    if (bias) {
        const auto b = int32_bias(*bias, size_t(s[0]), x.scale, w.params.scale, 1.0f);
        inputs.push_back(ctx.fresh(n.input[2] + "/int32"));
        ctx.graph.constants[inputs.back()] =
            Constant::copy_of(DataType::s32, {s[0]}, b.data(), b.size() * sizeof(int32_t));
    }
    auto attrs = conv_attributes(geo);
    for (auto& [k, v] : qattrs(*oq)) attrs[k] = v;
    set_input_params(attrs, "x", x.scale, x.zero_point);
    const std::string out = ctx.fresh(oq->value);
    ctx.add_node(ImportContext::node_name(n, out), "QConv", inputs, out, attrs);
    define_fused_output(ctx, *oq, out, Layout::nhwc, geo.y);
    return Status::converted();
}

// DQ(A) -> Gemm / MatMul (B = DQ(int8) per tensor or per output column, C = DQ(int32) or fp32) [-> Relu/Clip] -> Q
// => QDense; without the Q (and with C = DQ(int32) or none) => QDense with an fp32 output.
inline Status fuse_dense(ImportContext& ctx, const NodeProto& n) {
    const bool gemm = n.op_type == "Gemm";
    const float alpha = gemm ? attr_float(n, "alpha", 1.0f) : 1.0f, beta = gemm ? attr_float(n, "beta", 1.0f) : 1.0f;
    const bool ta = gemm && attr_int(n, "transA", 0) != 0, tb = gemm && attr_int(n, "transB", 0) != 0;
    if (ta || alpha != 1.0f || n.input.size() < 2 || !ctx.values.count(n.input[1])) return Status::declined();
    const ValueState& bv = ctx.values.at(n.input[1]);
    if (!bv.is_const || !bv.quantized || bv.quantized->q.shape.size() != 2) return Status::declined();
    const QuantizedConstant& w = *bv.quantized;
    const int64_t K = w.q.shape[tb ? 1 : 0], N = w.q.shape[tb ? 0 : 1];
    if (!w.params.per_tensor() && w.params.axis != (tb ? 0 : 1)) return Status::declined();
    const auto w8 = symmetric_int8(w.q, w.params);
    const Int8Link* a = dequantized_input(ctx, n, 0);
    if (!w8 || !a || ctx.values.at(n.input[0]).shape.size() != 2 || ctx.values.at(n.input[0]).shape[1] != K)
        return Status::declined();
    const ValueState* bias = nullptr;
    if (gemm && ImportContext::has_input(n, 2) && beta != 0.0f) {
        auto cit = ctx.values.find(n.input[2]);
        if (cit == ctx.values.end() || !cit->second.is_const) return Status::declined();
        bias = &cit->second;
        const size_t count = bias->constant.numel();
        const bool row = bias->shape.size() <= 1 || (bias->shape.size() == 2 && bias->shape[0] == 1);
        if (!row || (count != size_t(N) && count != 1)) return Status::declined();
        if (bias->quantized ? bias->quantized->q.dtype != DataType::s32 : bias->constant.dtype != DataType::f32)
            return Status::declined();
    }
    const auto oq = output_quantizer(ctx, n, true);
    // Without a QuantizeLinear after it (a classifier read in fp32) it becomes a QDense with an fp32 output, when
    // the bias is exact in int32 (a DequantizeLinear of int32, or none).
    if (!oq && bias && !bias->quantized) return Status::declined();
    const Int8Link x = *a;
    const Shape a_shape = ctx.values.at(n.input[0]).shape;
    const std::vector<int8_t> wk = tb ? *w8 : transposed_int8(*w8, size_t(K), size_t(N));
    const std::string wname = ctx.fresh(n.input[1] + "/int8"), sname = ctx.fresh(n.input[1] + "/scale");
    ctx.graph.constants[wname] = Constant::copy_of(DataType::s8, {N, K}, wk.data(), wk.size());
    ctx.graph.constants[sname] = Constant::from_floats({int64_t(w.params.scale.size())}, w.params.scale);
    std::vector<std::string> inputs{ctx.int8_in_layout(x.value, Layout::onnx), wname, sname};
    if (bias) {
        const auto b = int32_bias(*bias, size_t(N), x.scale, w.params.scale, beta);
        inputs.push_back(ctx.fresh(n.input[2] + "/int32"));
        ctx.graph.constants[inputs.back()] =
            Constant::copy_of(DataType::s32, {N}, b.data(), b.size() * sizeof(int32_t));
    }
    auto attrs = oq ? qattrs(*oq) : std::map<std::string, Attribute>{};
    set_input_params(attrs, "x", x.scale, x.zero_point);
    const std::string out = ctx.fresh(oq ? oq->value : n.output[0]);
    ctx.add_node(ImportContext::node_name(n, out), "QDense", inputs, out, attrs);
    if (oq)
        define_fused_output(ctx, *oq, out, Layout::onnx, {a_shape[0], N});
    else
        ctx.define(n.output[0], out, Layout::onnx, {a_shape[0], N});
    return Status::converted();
}


// DQ(a) + DQ(b) (same shape) [-> Relu/Clip] -> Q  =>  QAdd.
inline Status fuse_add(ImportContext& ctx, const NodeProto& n) {
    if (n.input.size() != 2) return Status::declined();
    const Int8Link* a = dequantized_input(ctx, n, 0);
    const Int8Link* b = dequantized_input(ctx, n, 1);
    if (!a || !b || ctx.values.at(a->value).shape != ctx.values.at(b->value).shape) return Status::declined();
    const auto oq = output_quantizer(ctx, n, true);
    if (!oq) return Status::declined();
    const Int8Link la = *a, lb = *b;
    const ValueState& va = ctx.values.at(la.value);
    const ValueState& vb = ctx.values.at(lb.value);
    const Shape shape = va.shape;
    const Layout layout = int8_pair_layout(va, vb);
    const std::string ia = ctx.int8_in_layout(la.value, layout), ib = ctx.int8_in_layout(lb.value, layout);
    auto attrs = qattrs(*oq);
    set_input_params(attrs, "a", la.scale, la.zero_point);
    set_input_params(attrs, "b", lb.scale, lb.zero_point);
    const std::string out = ctx.fresh(oq->value);
    ctx.add_node(ImportContext::node_name(n, out), "QAdd", {ia, ib}, out, attrs);
    define_fused_output(ctx, *oq, out, layout, shape);
    return Status::converted();
}

// DQ(x) -> GlobalAveragePool, or AveragePool over the whole input -> Q  =>  QGlobalAveragePool.
inline Status fuse_global_pool(ImportContext& ctx, const NodeProto& n) {
    const Int8Link* a = dequantized_input(ctx, n, 0);
    if (!a) return Status::declined();
    const Shape xs = ctx.values.at(n.input[0]).shape;
    if (xs.size() != 4) return Status::declined();
    if (n.op_type == "AveragePool" && (xs[2] <= 0 || xs[3] <= 0)) return Status::declined();
    if (n.op_type == "AveragePool") {
        const std::string auto_pad = attr_string(n, "auto_pad", "NOTSET");
        const auto pads = attr_ints(n, "pads", {0, 0, 0, 0}), dil = attr_ints(n, "dilations", {1, 1});
        if (attr_ints(n, "kernel_shape", {}) != std::vector<int64_t>{xs[2], xs[3]} ||
            dil != std::vector<int64_t>{1, 1} || (auto_pad != "NOTSET" && auto_pad != "VALID") ||
            std::any_of(pads.begin(), pads.end(), [](int64_t p) { return p != 0; }))
            return Status::declined();
    }
    const auto oq = output_quantizer(ctx, n, false);
    if (!oq) return Status::declined();
    const Int8Link x = *a;
    auto attrs = qattrs(*oq);
    set_input_params(attrs, "x", x.scale, x.zero_point);
    const std::string in = ctx.int8_in_layout(x.value, Layout::nhwc), out = ctx.fresh(oq->value);
    ctx.add_node(ImportContext::node_name(n, out), "QGlobalAveragePool", {in}, out, attrs);
    define_fused_output(ctx, *oq, out, Layout::nhwc, {xs[0], xs[1], 1, 1});
    return Status::converted();
}

}  // namespace xinfer::io::onnx::detail
