#pragma once
// The edges of an imported graph: ONNX graph inputs and outputs become F32 IR inputs and outputs in ONNX order (a
// model whose interface is NCHW keeps it). A uint8 or int8 input or output is an F32 tensor holding the integer
// values (uint8: the real integers 0..255), converted at the boundary by a Quantize / Dequantize with scale 1; an
// int32 output (ConvInteger, MatMulInteger) is an F32 tensor holding the integers.
#include <algorithm>
#include <set>
#include <string>

#include "xinfer/io/onnx/import_context.hpp"

namespace xinfer::io::onnx::detail {

// An 8-bit graph input: the F32 input holds the integers; Quantize with scale 1 stores them as int8 (in NHWC too,
// when an op needs that, from the transposed F32 input).
inline void integer_graph_input(ImportContext& ctx, const std::string& name, ElemType type) {
    const ValueState v = ctx.values.at(name);
    const std::string f32 = ctx.fresh(name + "/f32"), q = ctx.fresh(name + "/int8");
    ctx.values[f32] = v;
    const int32_t zero_point = type == ElemType::uint8 ? -128 : 0;
    ctx.add_node(q, "Quantize", {v.ir}, q, {{"y_scale", 1.0}, {"y_zero_point", int64_t(zero_point)}});
    ctx.define_int8(name, q, Layout::onnx, v.shape, type, Int8Link{f32, 1.0f, zero_point});
}

// An 8-bit graph output: Dequantize with scale 1 gives its integers as F32 (uint8: 0..255).
inline void integer_graph_output(ImportContext& ctx, const std::string& name) {
    const auto& inputs = ctx.graph.inputs;
    const bool is_input = std::any_of(inputs.begin(), inputs.end(), [&](auto& i) { return i.name == name; });
    const ValueState v = ctx.values.at(name);
    // In ONNX order, the F32 value gets the output's name; NHWC values are transposed as F32 afterwards.
    const bool direct = v.layout == Layout::onnx && !is_input;
    if (direct) ctx.rename_value(name, ctx.fresh(name + "/int8"));
    const std::string q = ctx.values.at(name).ir, f = direct ? name : ctx.fresh(name + "/integers");
    ctx.reserve_name(f);
    ctx.add_node(f, "Dequantize", {q}, f,
                 {{"x_scale", 1.0}, {"x_zero_point", int64_t(v.elem == ElemType::uint8 ? -128 : 0)}});
    ctx.define(name, f, v.layout, v.shape);
}

inline void add_graph_input(ImportContext& ctx, const ValueInfoProto& in) {
    const bool int8 = in.elem_type == ElemType::uint8 || in.elem_type == ElemType::int8;
    if (in.kind != ValueKind::tensor || (in.elem_type != ElemType::float32 && !int8))
        XINFER_THROW(ErrorCode::unsupported_op, ctx.source, ": graph input '", in.name, "' is ",
                     to_string(in.elem_type), "; this build takes float32, uint8 and int8 inputs");
    XINFER_CHECK(in.has_shape, ErrorCode::unsupported_op, ctx.source, ": graph input '", in.name, "' has no shape");
    Shape s;
    for (size_t i = 0; i < in.shape.size(); ++i) {
        const auto& d = in.shape[i];
        if (d.known && d.value >= 0) s.push_back(d.value);
        else if (i == 0) s.push_back(-1);
        else
            XINFER_THROW(ErrorCode::unsupported_op, ctx.source, ": graph input '", in.name,
                         "' has a dynamic dimension ", i);
    }
    ctx.graph.inputs.push_back({in.name, DataType::f32, s});
    ctx.define(in.name, in.name, Layout::onnx, s);
    ctx.reserve_name(in.name);
    if (int8) integer_graph_input(ctx, in.name, in.elem_type);
}

inline void add_graph_output(ImportContext& ctx, const ValueInfoProto& out) {
    XINFER_CHECK(ctx.values.count(out.name), ErrorCode::invalid_model, ctx.source, ": graph output '", out.name,
                 "' is not produced");
    XINFER_CHECK(!ctx.values.at(out.name).is_const, ErrorCode::unsupported_op, ctx.source, ": graph output '", out.name,
                 "' is a constant");
    if (ctx.values.at(out.name).is_int8()) integer_graph_output(ctx, out.name);
    const ValueState& v = ctx.values.at(out.name);
    std::string ir = ctx.as_onnx(out.name);
    const auto& g = ctx.graph;
    const bool is_input = std::any_of(g.inputs.begin(), g.inputs.end(), [&](auto& i) { return i.name == ir; });
    const bool taken = std::any_of(g.outputs.begin(), g.outputs.end(), [&](auto& o) { return o.name == ir; });
    if (ir != out.name || is_input || taken) {
        // The output must carry its ONNX name: rename whatever value holds that name, then copy into it.
        if (ir != out.name) ctx.rename_value(out.name, ctx.fresh(out.name + "/stored"));
        ir = ctx.values.at(out.name).layout == Layout::onnx ? ctx.values.at(out.name).ir : ir;
        ctx.add_node(out.name + "/output", "Reshape", {ir}, out.name, {{"shape", v.shape}});
    }
    ctx.graph.outputs.push_back({out.name, DataType::f32, v.shape});
}

// Drops IR nodes whose outputs nothing reads (e.g. a Dequantize made before its consumers were fused into an int8
// op) and the constants only they used.
inline void remove_dead_nodes(Graph& g) {
    for (bool changed = true; changed;) {
        changed = false;
        std::set<std::string> read;
        for (auto& o : g.outputs) read.insert(o.name);
        for (auto& n : g.nodes) read.insert(n.inputs.begin(), n.inputs.end());
        const size_t before = g.nodes.size();
        g.nodes.erase(std::remove_if(g.nodes.begin(), g.nodes.end(),
                                     [&](const Node& n) {
                                         return std::none_of(n.outputs.begin(), n.outputs.end(),
                                                             [&](auto& o) { return read.count(o) > 0; });
                                     }),
                      g.nodes.end());
        changed = g.nodes.size() != before;
    }
    std::set<std::string> read;
    for (auto& n : g.nodes) read.insert(n.inputs.begin(), n.inputs.end());
    for (auto it = g.constants.begin(); it != g.constants.end();)
        it = read.count(it->first) ? std::next(it) : g.constants.erase(it);
}

}  // namespace xinfer::io::onnx::detail
