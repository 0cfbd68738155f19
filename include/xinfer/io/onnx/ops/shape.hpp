#pragma once
// ONNX ops that move or relabel data: Reshape, Flatten, Squeeze, Unsqueeze, Identity, Dropout, Transpose, Concat,
// Pad, Cast, and Shape / Constant (which always fold to constants). Their folds on constant inputs are in
// constant_folding.hpp.
#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "xinfer/io/onnx/import_context.hpp"

namespace xinfer::io::onnx::detail {

// The logical output shape of Flatten.
inline Result<Shape> flattened(const NodeProto& n, const Shape& x) {
    int64_t axis = attr_int(n, "axis", 1);
    if (axis < 0) axis += int64_t(x.size());
    if (axis < 0 || axis > int64_t(x.size())) XINFER_THROW(ErrorCode::invalid_model, "Flatten axis out of range");
    int64_t a = 1, b = 1;
    bool free_a = false, free_b = false;
    for (size_t i = 0; i < x.size(); ++i) {
        const bool outer = int64_t(i) < axis;
        (outer ? free_a : free_b) |= x[i] < 0;
        if (x[i] >= 0) (outer ? a : b) *= x[i];
    }
    if (free_b || (free_a && !(axis == 1 && x[0] < 0)))
        return Status::unsupported("flatten of a dynamic dimension (shape " + ::xinfer::to_string(x) + ")");
    return Shape{free_a ? -1 : a, b};
}

// The logical output shape of Reshape to the constant target shape `t`; a dynamic batch stays the batch (-1).
inline Result<Shape> reshape_target(const NodeProto& n, const Shape& x, std::vector<int64_t> t) {
    const bool allowzero = attr_int(n, "allowzero", 0) != 0;
    int64_t known = 1, infer = -1;
    const auto dynamic_dim = [&]() -> Status {
        return Status::unsupported("reshape of a dynamic dimension: input shape " + ::xinfer::to_string(x) +
                                   " (-1: free), target " + ::xinfer::to_string(t));
    };
    for (size_t i = 1; i < x.size(); ++i)
        if (x[i] < 0) return dynamic_dim();
    for (size_t i = 0; i < t.size(); ++i) {
        if (t[i] == 0 && !allowzero) {
            if (i >= x.size()) XINFER_THROW(ErrorCode::invalid_model, "reshape copies a missing dimension");
            if (x[i] < 0 && i > 0) return dynamic_dim();
            t[i] = x[i];
        }
        if (t[i] == -1) {
            if (infer >= 0) XINFER_THROW(ErrorCode::invalid_model, "reshape with two -1");
            infer = int64_t(i);
        } else if (t[i] < 0) {
            if (i == 0) continue;  // a dynamic batch copied through
            XINFER_THROW(ErrorCode::invalid_model, "negative reshape dimension");
        } else {
            known *= t[i];
        }
    }
    const bool dynamic = std::any_of(x.begin(), x.end(), [](int64_t d) { return d < 0; });
    int64_t total = 1;
    for (size_t i = dynamic ? 1 : 0; i < x.size(); ++i) total *= x[i];
    if (dynamic) {
        // [batch, ...] -> [batch (0 / -1 / copied), ...]: the rest must match exactly.
        if (x[0] >= 0 || (t[0] >= 0 && t[0] != x[0])) return dynamic_dim();
        int64_t rest = 1;
        for (size_t i = 1; i < t.size(); ++i) {
            if (t[i] < 0) return dynamic_dim();
            rest *= t[i];
        }
        if (rest != total) return Status::unsupported("reshape moves the batch dimension");
        t[0] = -1;
        return t;
    }
    if (infer >= 0) {
        if (known == 0 || total % known) XINFER_THROW(ErrorCode::shape_mismatch, "cannot infer reshape dimension");
        t[size_t(infer)] = total / known;
    }
    return t;
}

// The logical output shape of Squeeze / Unsqueeze with `axes`.
inline Result<Shape> squeezed(const NodeProto& n, const Shape& x, const std::vector<int64_t>& axes) {
    if (n.op_type == "Squeeze") {
        std::set<int64_t> drop;
        for (auto a : axes) {
            XINFER_ONNX_LET(axis, norm_axis(a, x.size()));
            drop.insert(axis);
        }
        Shape out;
        for (size_t i = 0; i < x.size(); ++i) {
            const bool squeeze = axes.empty() ? x[i] == 1 : drop.count(int64_t(i)) > 0;
            if (squeeze && x[i] < 0) return Status::unsupported("squeeze of a dynamic dimension");
            if (squeeze && x[i] != 1) XINFER_THROW(ErrorCode::shape_mismatch, "squeezing a dimension that is not 1");
            if (!squeeze) out.push_back(x[i]);
        }
        return out;
    }
    const size_t rank = x.size() + axes.size();
    std::set<int64_t> add;
    for (auto a : axes) {
        XINFER_ONNX_LET(axis, norm_axis(a, rank));
        add.insert(axis);
    }
    Shape out;
    size_t j = 0;
    for (size_t i = 0; i < rank; ++i) out.push_back(add.count(int64_t(i)) ? 1 : x[j++]);
    return out;
}

// The logical output shape of Flatten / Reshape / Squeeze / Unsqueeze of a value of shape x.
inline Result<Shape> reshaped(const ImportContext& ctx, const NodeProto& n, const Shape& x) {
    if (n.op_type == "Flatten") return flattened(n, x);
    if (n.op_type == "Reshape") {
        XINFER_ONNX_LET(target, ctx.const_input(n, 1, "the target shape"));
        return reshape_target(n, x, const_ints(target, "shape"));
    }
    std::vector<int64_t> axes;
    if (ctx.opset >= 13 && ImportContext::has_input(n, 1)) {
        XINFER_ONNX_LET(c, ctx.const_input(n, 1, "axes"));
        axes = const_ints(c, "axes");
    } else {
        axes = attr_ints(n, "axes", {});
    }
    return squeezed(n, x, axes);
}

// Flatten, Reshape, Squeeze, Unsqueeze; also on int8 values (the IR's Reshape keeps its input's dtype).
inline Status convert_reshape(ImportContext& ctx, const NodeProto& n) {
    XINFER_ONNX_LET(x, ctx.activation(n, 0, true));
    if (x.elem == ElemType::int32) return Status::unsupported("reshape of an int32 tensor");
    XINFER_ONNX_LET(target, reshaped(ctx, n, x.shape));
    const ElemType elem = x.elem;
    const std::string in = ImportContext::order_agnostic(x) ? x.ir : ctx.as_onnx(n.input[0]);
    const std::string out = ctx.fresh(n.output[0]);
    ctx.add_node(ImportContext::node_name(n, out), "Reshape", {in}, out, {{"shape", target}});
    ctx.define(n.output[0], out, Layout::onnx, target);
    ctx.values.at(n.output[0]).elem = elem;
    return Status::converted();
}

// Identity and Dropout (inference): the output is the input.
inline Status convert_identity(ImportContext& ctx, const NodeProto& n) {
    XINFER_ONNX_TRY(ImportContext::check_outputs(n, 1));
    XINFER_ONNX_LET(x, ctx.input(n, 0));
    if (!x.is_const) XINFER_ONNX_TRY(ctx.activation(n, 0, true));
    ctx.values[n.output[0]] = ctx.values.at(n.input[0]);
    return Status::converted();
}

inline Status convert_transpose(ImportContext& ctx, const NodeProto& n) {
    XINFER_ONNX_LET(x, ctx.activation(n, 0));
    std::vector<int64_t> perm = attr_ints(n, "perm", {});
    if (perm.empty())
        for (size_t i = x.shape.size(); i-- > 0;) perm.push_back(int64_t(i));
    if (perm.size() != x.shape.size()) XINFER_THROW(ErrorCode::invalid_model, "perm does not match the rank");
    Shape y;
    for (auto p : perm) {
        XINFER_ONNX_LET(axis, norm_axis(p, x.shape.size()));
        y.push_back(x.shape.at(size_t(axis)));
    }
    if (x.layout == Layout::nhwc && perm == std::vector<int64_t>{0, 2, 3, 1}) {
        ctx.define(n.output[0], x.ir, Layout::onnx, y);  // the data is already in that order
        return Status::converted();
    }
    const std::string in = ctx.as_onnx(n.input[0]), out = ctx.fresh(n.output[0]);
    ctx.add_node(ImportContext::node_name(n, out), "Transpose", {in}, out, {{"perm", perm}});
    ctx.define(n.output[0], out, Layout::onnx, y);
    return Status::converted();
}

// Concat: in NHWC (along the stored axis) when every input is NHWC, else in ONNX order.
inline Status convert_concat(ImportContext& ctx, const NodeProto& n) {
    XINFER_ONNX_LET(first, ctx.input(n, 0));
    const size_t rank = first.shape.size();
    if (rank == 0) return Status::unsupported("Concat of scalars");
    XINFER_ONNX_LET(axis, norm_axis(attr_int(n, "axis", 0), rank));
    bool all_nhwc = true;
    for (size_t i = 0; i < n.input.size(); ++i) {
        XINFER_ONNX_LET(v, ctx.activation(n, i));
        all_nhwc &= v.layout == Layout::nhwc;
    }
    std::vector<std::string> ins;
    Shape y = ctx.values.at(n.input[0]).shape;
    for (size_t i = 0; i < n.input.size(); ++i) {
        ins.push_back(all_nhwc ? ctx.values.at(n.input[i]).ir : ctx.as_onnx(n.input[i]));
        const int64_t d = ctx.values.at(n.input[i]).shape.at(size_t(axis));
        if (i) y[size_t(axis)] = y[size_t(axis)] < 0 || d < 0 ? -1 : y[size_t(axis)] + d;  // -1: free
    }
    static const int64_t to_stored[] = {0, 3, 1, 2};
    const std::string out = ctx.fresh(n.output[0]);
    ctx.add_node(ImportContext::node_name(n, out), "Concat", ins, out, {{"axis", all_nhwc ? to_stored[axis] : axis}});
    ctx.define(n.output[0], out, all_nhwc ? Layout::nhwc : Layout::onnx, y);
    return Status::converted();
}

// Constant Pad. A zero pad of the spatial dims of a 4-D value stays pending: a Conv reading it folds it in.
inline Status convert_pad(ImportContext& ctx, const NodeProto& n) {
    const std::string mode = attr_string(n, "mode", "constant");
    if (mode != "constant") return Status::unsupported("mode " + mode);
    std::vector<int64_t> pads;
    float value = 0.0f;
    if (ctx.opset < 11) {
        pads = attr_ints(n, "pads", {});
        value = attr_float(n, "value", 0.0f);
    } else {
        XINFER_ONNX_LET(p, ctx.const_input(n, 1, "pads"));
        pads = const_ints(p, "pads");
        if (ImportContext::has_input(n, 2)) {
            XINFER_ONNX_LET(v, ctx.const_input(n, 2, "constant_value"));
            value = const_floats(v).at(0);
        }
        if (ImportContext::has_input(n, 3)) return Status::unsupported("the axes input");
    }
    XINFER_ONNX_LET(x, ctx.activation(n, 0));
    const size_t r = x.shape.size();
    XINFER_CHECK(pads.size() == 2 * r, ErrorCode::invalid_model, "pads has ", pads.size(), " values for rank ", r);
    Shape y(r);
    for (size_t i = 0; i < r; ++i) y[i] = x.shape[i] < 0 ? -1 : x.shape[i] + pads[i] + pads[r + i];
    const bool spatial_only = r == 4 && pads[0] == 0 && pads[1] == 0 && pads[4] == 0 && pads[5] == 0;
    const bool non_negative = std::all_of(pads.begin(), pads.end(), [](int64_t p) { return p >= 0; });
    if (spatial_only && non_negative && value == 0.0f) {
        ValueState v;
        v.pending_pad = true;
        v.pad_source = n.input[0];
        v.pads = {int(pads[2]), int(pads[3]), int(pads[6]), int(pads[7])};
        v.shape = y;
        v.ir = "";
        ctx.values[n.output[0]] = v;
        return Status::converted();
    }
    const std::string in = ctx.as_onnx(n.input[0]), out = ctx.fresh(n.output[0]);
    ctx.add_node(ImportContext::node_name(n, out), "Pad", {in}, out, {{"pads", pads}, {"value", double(value)}});
    ctx.define(n.output[0], out, Layout::onnx, y);
    return Status::converted();
}

// Cast of an activation to float: int8 values become their integers, anything else is relabelled.
inline Status convert_cast(ImportContext& ctx, const NodeProto& n) {
    if (attr_int(n, "to", 0) != int64_t(ElemType::float32))
        return Status::unsupported("cast of an activation to a non-float type");
    XINFER_ONNX_LET(x, ctx.activation(n, 0, true));
    if (x.is_int8()) {  // the integers as floats
        ctx.values[n.output[0]] = ctx.values.at(ctx.integer_values(n.input[0], 0));
        return Status::converted();
    }
    XINFER_ONNX_TRY(convert_identity(ctx, n));
    ctx.values.at(n.output[0]).elem = ElemType::float32;
    return Status::converted();
}

// Constant: its value attribute as a constant.
inline Status convert_constant(ImportContext& ctx, const NodeProto& n) {
    const AttributeProto* a = nullptr;
    for (auto& at : n.attribute) a = &at;
    if (!a || n.attribute.size() != 1) XINFER_THROW(ErrorCode::invalid_model, "Constant needs one value attribute");
    const std::string& out = n.output[0];
    if (a->name == "value") ctx.set_const(out, to_constant(a->t, ctx.base_dir, ctx.source));
    else if (a->name == "value_float") ctx.set_const(out, Constant::from_floats({}, {a->f}));
    else if (a->name == "value_floats")
        ctx.set_const(out, Constant::from_floats({int64_t(a->floats.size())}, a->floats));
    else if (a->name == "value_int") ctx.set_const(out, ints_constant({}, {a->i}));
    else if (a->name == "value_ints") ctx.set_const(out, ints_constant({int64_t(a->ints.size())}, a->ints));
    else return Status::unsupported("Constant attribute " + a->name);
    return Status::converted();
}

// Shape: the (known) dimensions start..end of the input, as a constant.
inline Status convert_shape(ImportContext& ctx, const NodeProto& n) {
    XINFER_ONNX_LET(x, ctx.input(n, 0));
    if (x.shape.empty() && !x.is_const && x.ir.empty()) return Status::unsupported("op not supported");
    int64_t start = attr_int(n, "start", 0), end = attr_int(n, "end", int64_t(x.shape.size()));
    const int64_t r = int64_t(x.shape.size());
    if (start < 0) start += r;
    if (end < 0) end += r;
    start = std::clamp<int64_t>(start, 0, r), end = std::clamp<int64_t>(end, 0, r);
    std::vector<int64_t> dims(x.shape.begin() + start, x.shape.begin() + std::max(start, end));
    // A free batch folds to -1 (a Reshape reads it as "the batch"); other free dimensions would need the shape
    // computed at run time, which this importer does not do.
    for (int64_t d = std::max<int64_t>(start, 1); d < std::max(start, end); ++d)
        if (x.shape[size_t(d)] < 0)
            return Status::unsupported("Shape of '" + n.input[0] + "' reads its dynamic dimension " +
                                       std::to_string(d) + " " + ::xinfer::to_string(x.shape) +
                                       ": shapes computed at run time are not supported");
    ctx.set_const(n.output[0], ints_constant({int64_t(dims.size())}, dims));
    return Status::converted();
}

}  // namespace xinfer::io::onnx::detail
