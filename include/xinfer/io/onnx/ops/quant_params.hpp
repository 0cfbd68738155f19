#pragma once
// Quantization parameters and the int8 <-> fp32 building blocks of the ONNX int8 converters (DESIGN.md "int8
// scheme"): reading scale / zero point inputs, symmetric int8 weights, int32 biases, and the nodes that quantize
// and dequantize activations.
//
// uint8 tensors and zero points are stored as int8 shifted by -128, which gives the same results; uint8 weights with
// zero point 128 become symmetric int8. Per-axis parameters on activations run as element-wise fp32 ops that round
// as QuantizeLinear / DequantizeLinear do. Malformed quantization parameters (scales that are not positive finite
// numbers, zero points of another type than their tensor or outside its range, per-axis lengths that do not match
// the axis, axes out of range) are invalid_model errors naming the node.
#include <cmath>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "xinfer/io/onnx/import_context.hpp"

namespace xinfer::io::onnx::detail {

constexpr size_t kNoInput = ~size_t(0);

// Parameters with scale 1 and zero point `zero_point` (the requantization step of the integer paths).
inline QuantInfo unit_quant(ElemType type, int32_t zero_point = 0) {
    QuantInfo q;
    q.scale = {1.0f};
    q.zero_point = {zero_point};
    q.type = type;
    return q;
}

// A symmetric weight constant as int8 (uint8 with zero point 128 shifted by -128), or nothing.
inline std::optional<std::vector<int8_t>> symmetric_int8(const Constant& w, const QuantInfo& q) {
    const int32_t zero = w.dtype == DataType::u8 ? 128 : 0;
    if ((w.dtype != DataType::u8 && w.dtype != DataType::s8) || q.type != elem_of(w)) return std::nullopt;
    for (int32_t z : q.zero_point)
        if (z != zero) return std::nullopt;
    std::vector<int8_t> v(w.numel());
    for (size_t i = 0; i < v.size(); ++i) v[i] = int8_t(integer_at(w, i) - zero);
    return v;
}

// OIHW -> OHWI for int8 weights.
inline std::vector<int8_t> ohwi_int8(const std::vector<int8_t>& w, const Shape& oihw) {
    const size_t O = size_t(oihw[0]), I = size_t(oihw[1]), H = size_t(oihw[2]), W = size_t(oihw[3]);
    std::vector<int8_t> t(w.size());
    for (size_t o = 0; o < O; ++o)
        for (size_t i = 0; i < I; ++i)
            for (size_t y = 0; y < H; ++y)
                for (size_t x = 0; x < W; ++x) t[((o * H + y) * W + x) * I + i] = w[((o * I + i) * H + y) * W + x];
    return t;
}

// [K][N] -> [N][K] for int8 weights.
inline std::vector<int8_t> transposed_int8(const std::vector<int8_t>& w, size_t K, size_t N) {
    std::vector<int8_t> t(w.size());
    for (size_t k = 0; k < K; ++k)
        for (size_t n = 0; n < N; ++n) t[n * K + k] = w[k * N + n];
    return t;
}

// The int32 bias of an int8 layer with `count` outputs at the scale x_scale * w_scale[c] (in fp32, as the int8 ops
// compute it), times beta. From a DequantizeLinear of int32 (taken as is where its scale is that one, its zero point
// 0 and beta 1) or from an fp32 constant; one value is broadcast.
inline std::vector<int32_t> int32_bias(const ValueState& b, size_t count, float x_scale,
                                       const std::vector<float>& w_scale, float beta) {
    const QuantizedConstant* qc = b.quantized.get();
    const size_t n = b.constant.numel();
    XINFER_CHECK(n == count || n == 1, ErrorCode::invalid_model, "the bias has ", n, " values for ", count,
                 " outputs");
    std::vector<int32_t> out(count);
    for (size_t c = 0; c < count; ++c) {
        const size_t i = n == 1 ? 0 : c;
        const float s = x_scale * w_scale[w_scale.size() == 1 ? 0 : c];
        double real = double(b.constant.as<float>()[i]);
        if (qc) {
            const size_t k = channel_of(qc->q.shape, qc->params, i);
            const int64_t centered = integer_at(qc->q, i) - qc->params.zero_point[k];
            if (beta == 1.0f && qc->params.zero_point[k] == 0 && qc->params.scale[k] == s) {
                out[c] = int32_t(centered);
                continue;
            }
            real = double(centered) * double(qc->params.scale[k]);
        }
        const double v = std::nearbyint(real * double(beta) / double(s));
        XINFER_CHECK(std::isfinite(v) && std::fabs(v) <= 2147483647.0, ErrorCode::invalid_model, "bias value ",
                     real, " does not fit int32 at the scale ", s);
        out[c] = int32_t(v);
    }
    return out;
}

// A constant that broadcasts `values` along `axis` of a value of logical `shape` stored in `layout`.
inline std::string axis_constant(ImportContext& ctx, const std::vector<float>& values, const Shape& shape, int64_t axis,
                                 Layout layout, const std::string& base) {
    Shape s{1};
    if (values.size() > 1) {
        s.assign(shape.size(), 1);
        s[size_t(axis)] = int64_t(values.size());
        if (layout == Layout::nhwc && s.size() == 4) s = to_nhwc(s);
    }
    const std::string name = ctx.fresh(base);
    ctx.graph.constants[name] = Constant::from_floats(s, values);
    return name;
}

inline std::string binary_with_constant(ImportContext& ctx, const std::string& x_ir, const std::string& k,
                                        const char* op, const std::string& base) {
    const std::string out = ctx.fresh(base);
    ctx.add_node(out, "Binary", {x_ir, k}, out, {{"op", std::string(op)}});
    return out;
}

// Defines `out` as DequantizeLinear(name) with parameters q: a Dequantize node per tensor; per axis (and for
// int32 values held as F32), (q - zero_point[c]) * scale[c] in fp32 as ONNX computes it.
inline std::string dequantized(ImportContext& ctx, const std::string& name, const QuantInfo& q, const std::string& out,
                               const std::string& node_name) {
    const ValueState v = ctx.values.at(name);
    if (v.is_int8() && q.per_tensor()) {
        const std::string ir = ctx.fresh(out);
        ctx.add_node(node_name.empty() ? ir : node_name, "Dequantize", {v.ir}, ir,
                     {{"x_scale", double(q.scale[0])}, {"x_zero_point", int64_t(q.ir_zero_point())}});
        ctx.define(out, ir, v.layout, v.shape);
        ctx.values.at(out).dequantized_from = Int8Link{name, q.scale[0], q.ir_zero_point()};
        return out;
    }
    std::string x = v.is_int8() ? ctx.values.at(ctx.integer_values(name, 0)).ir : v.ir;
    if (std::any_of(q.zero_point.begin(), q.zero_point.end(), [](int32_t z) { return z != 0; })) {
        const std::vector<float> zp(q.zero_point.begin(), q.zero_point.end());
        x = binary_with_constant(ctx, x, axis_constant(ctx, zp, v.shape, q.axis, v.layout, out + "/zero_point"), "sub",
                                 out + "/centered");
    }
    if (std::any_of(q.scale.begin(), q.scale.end(), [](float s) { return s != 1.0f; }))
        x = binary_with_constant(ctx, x, axis_constant(ctx, q.scale, v.shape, q.axis, v.layout, out + "/scale"), "mul",
                                 out);
    ctx.define(out, x, v.layout, v.shape);
    return out;
}

// Defines the 8-bit value `out` as QuantizeLinear(x) with parameters q (x: an fp32 activation).
inline void quantize_into(ImportContext& ctx, const std::string& x, const QuantInfo& q, const std::string& out,
                          const std::string& node_name) {
    if (ctx.values.at(x).pending_pad) ctx.materialize_pad(x);
    const ValueState v = ctx.values.at(x);
    if (q.per_tensor()) {
        const auto& dq = v.dequantized_from;
        if (dq && dq->scale == q.scale[0] && dq->zero_point == q.ir_zero_point()) {  // Q(DQ(y)) = y
            ctx.values[out] = ctx.values.at(dq->value);
            ctx.values.at(out).elem = q.type;
            return;
        }
        const std::string ir = ctx.fresh(out);
        ctx.add_node(node_name.empty() ? ir : node_name, "Quantize", {v.ir}, ir,
                     {{"y_scale", double(q.scale[0])}, {"y_zero_point", int64_t(q.ir_zero_point())}});
        ctx.define_int8(out, ir, v.layout, v.shape, q.type, Int8Link{x, q.scale[0], q.ir_zero_point()});
        return;
    }
    // Per axis: x / scale[c], rounded half to even (adding and subtracting 1.5 * 2^23 rounds any |t| < 2^22; larger
    // values saturate anyway), plus zero_point[c], saturated by a Quantize with scale 1.
    std::string t = binary_with_constant(
        ctx, v.ir, axis_constant(ctx, q.scale, v.shape, q.axis, v.layout, out + "/scale"), "div", out + "/scaled");
    const std::string magic = ctx.fresh(out + "/round");
    ctx.graph.constants[magic] = Constant::from_floats({1}, {12582912.0f});
    t = binary_with_constant(ctx, t, magic, "add", out + "/rounding");
    t = binary_with_constant(ctx, t, magic, "sub", out + "/rounded");
    if (std::any_of(q.zero_point.begin(), q.zero_point.end(), [](int32_t z) { return z != 0; })) {
        const std::vector<float> zp(q.zero_point.begin(), q.zero_point.end());
        t = binary_with_constant(ctx, t, axis_constant(ctx, zp, v.shape, q.axis, v.layout, out + "/zero_point"), "add",
                                 out + "/shifted");
    }
    const std::string ir = ctx.fresh(out);
    ctx.add_node(node_name.empty() ? ir : node_name, "Quantize", {t}, ir,
                 {{"y_scale", 1.0}, {"y_zero_point", int64_t(-q.offset())}});
    ctx.define_int8(out, ir, v.layout, v.shape, q.type);
}

// The integers q - zero_point of an 8-bit constant or activation as an F32 value (for the integer paths).
inline std::string integer_operand(ImportContext& ctx, const std::string& name, const QuantInfo& q,
                                   const std::string& base) {
    const ValueState& v = ctx.values.at(name);
    if (v.is_const) {
        std::vector<float> f(v.constant.numel());
        for (size_t i = 0; i < f.size(); ++i)
            f[i] = float(integer_at(v.constant, i) - q.zero_point[channel_of(v.shape, q, i)]);
        return ctx.constant_value(Constant::from_floats(v.shape, f), base);
    }
    if (q.per_tensor()) return ctx.integer_values(name, q.zero_point[0]);
    QuantInfo centered = q;
    centered.scale.assign(q.scale.size(), 1.0f);
    return dequantized(ctx, name, centered, ctx.fresh(base), "");
}

// ---- parameters ----

// The ONNX type of input i: a constant's, or an activation's.
inline Result<ElemType> integer_type(const ImportContext& ctx, const NodeProto& n, size_t i) {
    XINFER_ONNX_LET(v, ctx.input(n, i));
    return v.is_const ? elem_of(v.constant) : v.elem;
}

// The scale (input scale_i; kNoInput: 1) and zero point (input zero_point_i, optional) of node n's tensor of
// logical `shape` and integer type `type` (undefined: the zero point's, uint8 without one), per tensor or along
// `axis`. `what` names the tensor in messages ("x" -> x_scale, x_zero_point).
inline Result<QuantInfo> quant_info(const ImportContext& ctx, const NodeProto& n, size_t scale_i, size_t zero_point_i,
                                    const Shape& shape, ElemType type, int64_t axis, const std::string& what) {
    QuantInfo q;
    Shape scale_shape{};
    if (scale_i != kNoInput) {
        XINFER_ONNX_LET(sv, ctx.input(n, scale_i));
        if (!sv.is_const) return Status::unsupported(what + "_scale must be a constant");
        const Constant& sc = sv.constant;
        XINFER_CHECK(sc.dtype == DataType::f32, ErrorCode::invalid_model, what, "_scale is ", to_string(elem_of(sc)),
                     "; a scale is a float tensor");
        XINFER_CHECK(sc.numel() > 0, ErrorCode::invalid_model, what, "_scale is empty");
        q.scale = sc.to_floats();
        scale_shape = sc.shape;
    }
    if (ImportContext::has_input(n, zero_point_i)) {
        XINFER_ONNX_LET(zv, ctx.input(n, zero_point_i));
        if (!zv.is_const) return Status::unsupported(what + "_zero_point must be a constant");
        const Constant& zc = zv.constant;
        const ElemType zt = elem_of(zc);
        XINFER_CHECK(zt == ElemType::uint8 || zt == ElemType::int8 || zt == ElemType::int32, ErrorCode::invalid_model,
                     what, "_zero_point is ", to_string(zt), "; expected UINT8, INT8 or INT32");
        XINFER_CHECK(type == ElemType::undefined || zt == type, ErrorCode::invalid_model, what, "_zero_point is ",
                     to_string(zt), " but the quantized tensor is ", to_string(type));
        if (scale_i == kNoInput) {
            q.scale.assign(zc.numel(), 1.0f);
            scale_shape = zc.shape;
        }
        XINFER_CHECK(zc.numel() == q.scale.size() && (zc.shape == scale_shape || zc.numel() == 1),
                     ErrorCode::invalid_model, what, "_zero_point has shape ", ::xinfer::to_string(zc.shape),
                     " but ", what, "_scale has shape ", ::xinfer::to_string(scale_shape));
        q.type = zt;
        for (size_t i = 0; i < zc.numel(); ++i) {
            const int64_t z = integer_at(zc, i);
            const int64_t lo = zt == ElemType::uint8 ? 0 : zt == ElemType::int8 ? -128 : INT32_MIN;
            const int64_t hi = zt == ElemType::uint8 ? 255 : zt == ElemType::int8 ? 127 : INT32_MAX;
            XINFER_CHECK(z >= lo && z <= hi, ErrorCode::invalid_model, what, "_zero_point ", z,
                         " is outside the range of ", to_string(zt));
            q.zero_point.push_back(int32_t(z));
        }
    } else {
        if (q.scale.empty()) q.scale = {1.0f};
        q.type = type == ElemType::undefined ? ElemType::uint8 : type;
        q.zero_point.assign(q.scale.size(), 0);
    }
    for (size_t i = 0; i < q.scale.size(); ++i)
        XINFER_CHECK(std::isfinite(q.scale[i]) && q.scale[i] > 0, ErrorCode::invalid_model, what, "_scale[", i,
                     "] is ", q.scale[i], "; scales must be positive finite numbers");
    if (q.scale.size() > 1) {
        if (scale_shape.size() > 1)
            return Status::unsupported("blocked quantization (" + what + "_scale of rank " +
                                       std::to_string(scale_shape.size()) + ")");
        const int64_t rank = int64_t(shape.size());
        XINFER_CHECK(axis >= -rank && axis < rank, ErrorCode::invalid_model, "axis ", axis,
                     " is out of range for the rank-", rank, " tensor quantized per axis");
        q.axis = axis < 0 ? axis + rank : axis;
        const int64_t dim = shape[size_t(q.axis)];
        if (dim < 0) return Status::unsupported("per-axis quantization along a dynamic dimension");
        XINFER_CHECK(dim == int64_t(q.scale.size()), ErrorCode::invalid_model, what, "_scale has ", q.scale.size(),
                     " values for axis ", q.axis, " of size ", dim, " (shape ", ::xinfer::to_string(shape), ")");
    }
    return q;
}

// Per-tensor parameters (QLinear* activations).
inline Result<QuantInfo> tensor_quant_info(const ImportContext& ctx, const NodeProto& n, size_t scale_i,
                                           size_t zero_point_i, ElemType type, const std::string& what) {
    XINFER_ONNX_LET(q, quant_info(ctx, n, scale_i, zero_point_i, {}, type, 0, what));
    if (!q.per_tensor()) return Status::unsupported("per-axis " + what + " parameters");
    return q;
}

inline void set_input_params(std::map<std::string, Attribute>& attrs, const std::string& prefix, float scale,
                             int32_t zero_point) {
    attrs[prefix + "_scale"] = double(scale);
    attrs[prefix + "_zero_point"] = int64_t(zero_point);
}

// The layout two int8 operands of an element-wise op meet in: NHWC when either is (4-D values of a CNN).
inline Layout int8_pair_layout(const ValueState& a, const ValueState& b) {
    return a.layout == Layout::nhwc || b.layout == Layout::nhwc ? Layout::nhwc : Layout::onnx;
}

}  // namespace xinfer::io::onnx::detail
