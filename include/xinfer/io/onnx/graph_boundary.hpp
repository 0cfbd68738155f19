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

// The dim_param names of a graph input or output, one per dimension ("" where concrete or unnamed); empty when
// it has none.
inline std::vector<std::string> dim_names_of(const ValueInfoProto& v) {
    std::vector<std::string> names;
    for (auto& d : v.shape) names.push_back(d.known ? "" : d.param);
    const bool named = std::any_of(names.begin(), names.end(), [](auto& n) { return !n.empty(); });
    return named ? names : std::vector<std::string>{};
}

// A symbolic or unknown dimension (dim_param, or none given) takes any size at run time: stored as -1. The ops that
// need a concrete size (a Reshape of it, auto_pad, ...) report it as unsupported.
inline void add_graph_input(ImportContext& ctx, const ValueInfoProto& in) {
    const bool int8 = in.elem_type == ElemType::uint8 || in.elem_type == ElemType::int8;
    if (in.kind != ValueKind::tensor || (in.elem_type != ElemType::float32 && !int8))
        XINFER_THROW(ErrorCode::unsupported_op, ctx.source, ": graph input '", in.name, "' is ",
                     to_string(in.elem_type), "; this build takes float32, uint8 and int8 inputs");
    XINFER_CHECK(in.has_shape, ErrorCode::unsupported_op, ctx.source, ": graph input '", in.name, "' has no shape");
    ValueInfo info{in.name, DataType::f32, {}, dim_names_of(in)};
    for (auto& d : in.shape) info.shape.push_back(d.known && d.value >= 0 ? d.value : -1);
    const Shape s = info.shape;
    ctx.graph.inputs.push_back(std::move(info));
    ctx.define(in.name, in.name, Layout::onnx, s);
    ctx.reserve_name(in.name);
    if (int8) integer_graph_input(ctx, in.name, in.elem_type);
}

// A node that copies the IR value `from` into `to`: a Reshape to the same shape, or, when a dimension besides the
// batch is free (a Reshape target cannot say "any size" there), an identity Transpose.
inline void copy_value(ImportContext& ctx, const std::string& from, const std::string& to, const Shape& shape) {
    const bool free_inner = std::any_of(shape.begin() + (shape.empty() ? 0 : 1), shape.end(),
                                        [](int64_t d) { return d < 0; });
    if (!free_inner) {
        ctx.add_node(to + "/output", "Reshape", {from}, to, {{"shape", shape}});
        return;
    }
    std::vector<int64_t> identity(shape.size());
    for (size_t i = 0; i < identity.size(); ++i) identity[i] = int64_t(i);
    ctx.add_node(to + "/output", "Transpose", {from}, to, {{"perm", identity}});
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
        copy_value(ctx, ir, out.name, v.shape);
    }
    std::vector<std::string> names = dim_names_of(out);  // kept for the free dimensions only
    if (names.size() != v.shape.size()) names.clear();
    for (size_t d = 0; d < names.size(); ++d)
        if (v.shape[d] >= 0) names[d].clear();
    if (std::all_of(names.begin(), names.end(), [](auto& n) { return n.empty(); })) names.clear();
    ctx.graph.outputs.push_back({out.name, DataType::f32, v.shape, std::move(names)});
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
