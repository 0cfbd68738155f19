#pragma once
// The int8 part of the ONNX importer (DESIGN.md "int8 scheme"): the definitions of detail::Importer's int8 members,
// included by importer.hpp.
//
// QDQ graphs. A DequantizeLinear of an int8 activation -> Conv / Gemm / MatMul / Add / GlobalAveragePool /
// AveragePool over the whole input -> optional Relu or Clip -> QuantizeLinear chain becomes one QConv / QDense / QAdd /
// QGlobalAveragePool when the weights are a DequantizeLinear of constant symmetric integers (int8 with zero point 0, or
// uint8 with zero point 128; per tensor or per output channel) and the bias is a DequantizeLinear of int32 or an fp32
// constant (requantized to the scale x_scale * w_scale[c] where its own differs). What does not fuse still runs, in
// fp32 between the quantization nodes: an activation QuantizeLinear becomes a Quantize node, a DequantizeLinear a
// Dequantize node, a DequantizeLinear of a constant folds into an fp32 constant, and a QuantizeLinear of a
// DequantizeLinear output with the same parameters is the int8 value itself. Per-axis parameters on activations run
// as element-wise fp32 ops that round as QuantizeLinear / DequantizeLinear do.
//
// QOperator graphs. QLinearConv and QLinearMatMul (2-D activation, constant 2-D B) become QConv / QDense when their
// weights are symmetric; QLinearAdd and QLinearGlobalAveragePool (com.microsoft) become QAdd / QGlobalAveragePool.
// Otherwise, and for ConvInteger / MatMulInteger, the integer arithmetic runs in fp32 on the integers q - zero_point:
// exact while the accumulators stay below 2^24 in magnitude, then requantized with the int8 ops' fp32 multiplier and
// rounding. DynamicQuantizeLinear (parameters computed from the data) is not supported.
//
// uint8 tensors and zero points are stored as int8 shifted by -128, which gives the same results; uint8 weights with
// zero point 128 become symmetric int8. MaxPool, Transpose, Concat and Pad on 8-bit tensors run on their integers.
// Malformed quantization parameters (scales that are not positive finite numbers, zero points of another type than
// their tensor or outside its range, per-axis lengths that do not match the axis, axes out of range) are
// invalid_model errors naming the node.
#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "xinfer/io/onnx/importer.hpp"

namespace xinfer::io::onnx::detail {

constexpr size_t kNoInput = ~size_t(0);

inline bool is_int8_type(ElemType t) { return t == ElemType::uint8 || t == ElemType::int8; }

// The ONNX integer type of a constant (BOOL also loads as U8; it is not a quantized type anywhere).
inline ElemType elem_of(const Constant& c) {
    switch (c.dtype) {
        case DataType::u8: return ElemType::uint8;
        case DataType::s8: return ElemType::int8;
        case DataType::s32: return ElemType::int32;
        case DataType::s64: return ElemType::int64;
        default: return ElemType::float32;
    }
}

inline int64_t integer_at(const Constant& c, size_t i) {
    switch (c.dtype) {
        case DataType::u8: return c.as<uint8_t>()[i];
        case DataType::s8: return c.as<int8_t>()[i];
        case DataType::s32: return c.as<int32_t>()[i];
        case DataType::s64: return c.as<int64_t>()[i];
        default: return 0;
    }
}

// The index along `axis` of element i of a row-major tensor of `shape` (0 when per tensor).
inline size_t channel_of(const Shape& shape, const QuantInfo& q, size_t i) {
    if (q.per_tensor()) return 0;
    size_t inner = 1;
    for (size_t d = size_t(q.axis) + 1; d < shape.size(); ++d) inner *= size_t(shape[d]);
    return (i / inner) % size_t(shape[size_t(q.axis)]);
}

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

inline bool Importer::is_microsoft_int8_op(const std::string& op) {
    return op == "QLinearAdd" || op == "QLinearGlobalAveragePool" || op == "QuantizeLinear" || op == "DequantizeLinear";
}

// The int8 ops, and the fp32 ops that may fuse into one; false: not handled here.
inline bool Importer::import_int8_node(const NodeProto& n) {
    const std::string& op = n.op_type;
    if (op == "QuantizeLinear") return quantize_linear(n), true;
    if (op == "DequantizeLinear") return dequantize_linear(n), true;
    if (op == "QLinearConv") return qlinear_conv(n), true;
    if (op == "QLinearMatMul") return qlinear_matmul(n), true;
    if (op == "QLinearAdd") return qlinear_add(n), true;
    if (op == "QLinearGlobalAveragePool") return qlinear_global_pool(n), true;
    if (op == "ConvInteger" || op == "MatMulInteger") return integer_conv_or_matmul(n), true;
    if (op == "DynamicQuantizeLinear") throw Unsupported("quantization parameters computed from the data");
    if (op == "Conv") return fuse_conv(n);
    if (op == "Gemm" || op == "MatMul") return fuse_dense(n);
    if (op == "Add") return fuse_add(n);
    if (op == "GlobalAveragePool" || op == "AveragePool") return fuse_global_pool(n);
    if (op == "MaxPool" || op == "Transpose" || op == "Concat" || op == "Pad")
        for (auto& in : n.input) {
            auto it = values_.find(in);
            if (it != values_.end() && !it->second.unknown && it->second.is_int8()) return on_integers(n), true;
        }
    return false;
}

// ---- values ----

inline void Importer::define_int8(const std::string& name, const std::string& ir, Layout layout, Shape shape,
                                  ElemType type, std::optional<Int8Link> quantized_from) {
    define(name, ir, layout, std::move(shape));
    ValueState& v = values_.at(name);
    v.elem = type;
    v.quantized_from = std::move(quantized_from);
}

// An 8-bit graph input: the F32 input holds the integers; Quantize with scale 1 stores them as int8 (in NHWC too,
// when an op needs that, from the transposed F32 input).
inline void Importer::integer_graph_input(const std::string& name, ElemType type) {
    const ValueState v = values_.at(name);
    const std::string f32 = fresh(name + "/f32"), q = fresh(name + "/int8");
    values_[f32] = v;
    const int32_t zero_point = type == ElemType::uint8 ? -128 : 0;
    add_node(q, "Quantize", {v.ir}, q, {{"y_scale", 1.0}, {"y_zero_point", int64_t(zero_point)}});
    define_int8(name, q, Layout::onnx, v.shape, type, Int8Link{f32, 1.0f, zero_point});
}

// An 8-bit graph output: Dequantize with scale 1 gives its integers as F32 (uint8: 0..255).
inline void Importer::integer_graph_output(const std::string& name) {
    const bool is_input = std::any_of(ir_.inputs.begin(), ir_.inputs.end(), [&](auto& i) { return i.name == name; });
    const ValueState v = values_.at(name);
    // In ONNX order, the F32 value gets the output's name; NHWC values are transposed as F32 afterwards.
    const bool direct = v.layout == Layout::onnx && !is_input;
    if (direct) rename_value(name, fresh(name + "/int8"));
    const std::string q = values_.at(name).ir, f = direct ? name : fresh(name + "/integers");
    used_names_.insert(f);
    add_node(f, "Dequantize", {q}, f,
             {{"x_scale", 1.0}, {"x_zero_point", int64_t(v.elem == ElemType::uint8 ? -128 : 0)}});
    define(name, f, v.layout, v.shape);
}

// The IR name of the int8 value `name` stored in `want`.
inline std::string Importer::int8_in_layout(const std::string& name, Layout want) {
    const ValueState v = values_.at(name);
    if (v.layout == want) return v.ir;
    if (v.shape.size() != 4) throw Unsupported("expected a 4-D input, got shape " + ::xinfer::to_string(v.shape));
    const bool nhwc = want == Layout::nhwc;
    const std::string key = v.ir + (nhwc ? "#nhwc" : "#onnx");
    if (auto it = converted_.find(key); it != converted_.end()) return it->second;
    const std::string out = fresh(name + (nhwc ? "/nhwc" : "/nchw"));
    const auto& from = v.quantized_from;
    if (from && values_.count(from->value) && !values_.at(from->value).unknown) {
        // Quantize the fp32 value in the other layout instead of moving int8 data.
        const std::string f = nhwc ? as_nhwc(from->value) : as_onnx(from->value);
        add_node(out, "Quantize", {f}, out,
                 {{"y_scale", double(from->scale)}, {"y_zero_point", int64_t(from->zero_point)}});
    } else {
        // Integers survive Dequantize -> Transpose -> Quantize with scale 1 exactly.
        const std::string f = fresh(name + "/values"), t = fresh(name + "/moved");
        add_node(f, "Dequantize", {v.ir}, f, {{"x_scale", 1.0}, {"x_zero_point", int64_t(0)}});
        add_node(t, "Transpose", {f}, t,
                 {{"perm", nhwc ? std::vector<int64_t>{0, 2, 3, 1} : std::vector<int64_t>{0, 3, 1, 2}}});
        add_node(out, "Quantize", {t}, out, {{"y_scale", 1.0}, {"y_zero_point", int64_t(0)}});
    }
    return converted_[key] = out;
}

// A value (same layout) holding q - zero_point as F32, q being the ONNX integers of the 8-bit value `name`.
inline std::string Importer::integer_values(const std::string& name, int32_t zero_point) {
    const ValueState v = values_.at(name);
    const int32_t offset = v.elem == ElemType::uint8 ? 128 : 0;
    const std::string key = v.ir + "#minus" + std::to_string(zero_point);
    if (auto it = converted_.find(key); it != converted_.end()) return it->second;
    const std::string f = fresh(name + "/integers");
    add_node(f, "Dequantize", {v.ir}, f, {{"x_scale", 1.0}, {"x_zero_point", int64_t(zero_point - offset)}});
    define(f, f, v.layout, v.shape);
    return converted_[key] = f;
}

inline std::string Importer::constant_value(Constant c, const std::string& base) {
    const std::string name = fresh(base);
    set_const(name, std::move(c));
    return name;
}

// A constant that broadcasts `values` along `axis` of a value of logical `shape` stored in `layout`.
inline std::string Importer::axis_constant(const std::vector<float>& values, const Shape& shape, int64_t axis,
                                           Layout layout, const std::string& base) {
    Shape s{1};
    if (values.size() > 1) {
        s.assign(shape.size(), 1);
        s[size_t(axis)] = int64_t(values.size());
        if (layout == Layout::nhwc && s.size() == 4) s = to_nhwc(s);
    }
    const std::string name = fresh(base);
    ir_.constants[name] = Constant::from_floats(s, values);
    return name;
}

inline std::string Importer::binary_with_constant(const std::string& x_ir, const std::string& k, const char* op,
                                                  const std::string& base) {
    const std::string out = fresh(base);
    add_node(out, "Binary", {x_ir, k}, out, {{"op", std::string(op)}});
    return out;
}

// Defines `out` as DequantizeLinear(name) with parameters q: a Dequantize node per tensor; per axis (and for
// int32 values held as F32), (q - zero_point[c]) * scale[c] in fp32 as ONNX computes it.
inline std::string Importer::dequantized(const std::string& name, const QuantInfo& q, const std::string& out,
                                         const std::string& node_name) {
    const ValueState v = values_.at(name);
    if (v.is_int8() && q.per_tensor()) {
        const std::string ir = fresh(out);
        add_node(node_name.empty() ? ir : node_name, "Dequantize", {v.ir}, ir,
                 {{"x_scale", double(q.scale[0])}, {"x_zero_point", int64_t(q.ir_zero_point())}});
        define(out, ir, v.layout, v.shape);
        values_.at(out).dequantized_from = Int8Link{name, q.scale[0], q.ir_zero_point()};
        return out;
    }
    std::string x = v.is_int8() ? values_.at(integer_values(name, 0)).ir : v.ir;
    if (std::any_of(q.zero_point.begin(), q.zero_point.end(), [](int32_t z) { return z != 0; })) {
        const std::vector<float> zp(q.zero_point.begin(), q.zero_point.end());
        x = binary_with_constant(x, axis_constant(zp, v.shape, q.axis, v.layout, out + "/zero_point"), "sub",
                                 out + "/centered");
    }
    if (std::any_of(q.scale.begin(), q.scale.end(), [](float s) { return s != 1.0f; }))
        x = binary_with_constant(x, axis_constant(q.scale, v.shape, q.axis, v.layout, out + "/scale"), "mul", out);
    define(out, x, v.layout, v.shape);
    return out;
}

// Defines the 8-bit value `out` as QuantizeLinear(x) with parameters q (x: an fp32 activation).
inline void Importer::quantize_into(const std::string& x, const QuantInfo& q, const std::string& out,
                                    const std::string& node_name) {
    if (values_.at(x).pending_pad) materialize_pad(x);
    const ValueState v = values_.at(x);
    if (q.per_tensor()) {
        const auto& dq = v.dequantized_from;
        if (dq && dq->scale == q.scale[0] && dq->zero_point == q.ir_zero_point()) {  // Q(DQ(y)) = y
            values_[out] = values_.at(dq->value);
            values_.at(out).elem = q.type;
            return;
        }
        const std::string ir = fresh(out);
        add_node(node_name.empty() ? ir : node_name, "Quantize", {v.ir}, ir,
                 {{"y_scale", double(q.scale[0])}, {"y_zero_point", int64_t(q.ir_zero_point())}});
        define_int8(out, ir, v.layout, v.shape, q.type, Int8Link{x, q.scale[0], q.ir_zero_point()});
        return;
    }
    // Per axis: x / scale[c], rounded half to even (adding and subtracting 1.5 * 2^23 rounds any |t| < 2^22; larger
    // values saturate anyway), plus zero_point[c], saturated by a Quantize with scale 1.
    std::string t = binary_with_constant(v.ir, axis_constant(q.scale, v.shape, q.axis, v.layout, out + "/scale"), "div",
                                         out + "/scaled");
    const std::string magic = fresh(out + "/round");
    ir_.constants[magic] = Constant::from_floats({1}, {12582912.0f});
    t = binary_with_constant(t, magic, "add", out + "/rounding");
    t = binary_with_constant(t, magic, "sub", out + "/rounded");
    if (std::any_of(q.zero_point.begin(), q.zero_point.end(), [](int32_t z) { return z != 0; })) {
        const std::vector<float> zp(q.zero_point.begin(), q.zero_point.end());
        t = binary_with_constant(t, axis_constant(zp, v.shape, q.axis, v.layout, out + "/zero_point"), "add",
                                 out + "/shifted");
    }
    const std::string ir = fresh(out);
    add_node(node_name.empty() ? ir : node_name, "Quantize", {t}, ir,
             {{"y_scale", 1.0}, {"y_zero_point", int64_t(-q.offset())}});
    define_int8(out, ir, v.layout, v.shape, q.type);
}

// The integers q - zero_point of an 8-bit constant or activation as an F32 value (for the integer paths).
inline std::string Importer::integer_operand(const std::string& name, const QuantInfo& q, const std::string& base) {
    const ValueState& v = values_.at(name);
    if (v.is_const) {
        std::vector<float> f(v.constant.numel());
        for (size_t i = 0; i < f.size(); ++i)
            f[i] = float(integer_at(v.constant, i) - q.zero_point[channel_of(v.shape, q, i)]);
        return constant_value(Constant::from_floats(v.shape, f), base);
    }
    if (q.per_tensor()) return integer_values(name, q.zero_point[0]);
    QuantInfo centered = q;
    centered.scale.assign(q.scale.size(), 1.0f);
    return dequantized(name, centered, fresh(base), "");
}

// Imports an fp32 node like `like` (its attributes when keep_attributes) on other values.
inline void Importer::synthesize(const NodeProto& like, const std::string& op, std::vector<std::string> inputs,
                                 const std::string& output, bool keep_attributes) {
    NodeProto s;
    s.name = like.name.empty() ? "" : like.name + "/" + op;
    s.op_type = op;
    s.input = std::move(inputs);
    s.output = {output};
    if (keep_attributes) s.attribute = like.attribute;
    import_node(s);
}

// ---- parameters ----

// The ONNX type of input i: a constant's, or an activation's.
inline ElemType Importer::integer_type(const NodeProto& n, size_t i) {
    const ValueState& v = input(n, i);
    return v.is_const ? elem_of(v.constant) : v.elem;
}

// The scale (input scale_i; kNoInput: 1) and zero point (input zero_point_i, optional) of node n's tensor of
// logical `shape` and integer type `type` (undefined: the zero point's, uint8 without one), per tensor or along
// `axis`. `what` names the tensor in messages ("x" -> x_scale, x_zero_point).
inline QuantInfo Importer::quant_info(const NodeProto& n, size_t scale_i, size_t zero_point_i, const Shape& shape,
                                      ElemType type, int64_t axis, const std::string& what) {
    QuantInfo q;
    Shape scale_shape{};
    if (scale_i != kNoInput) {
        const ValueState& sv = input(n, scale_i);
        if (!sv.is_const) throw Unsupported(what + "_scale must be a constant");
        const Constant& sc = sv.constant;
        XINFER_CHECK(sc.dtype == DataType::f32, ErrorCode::invalid_model, what, "_scale is ", to_string(elem_of(sc)),
                     "; a scale is a float tensor");
        XINFER_CHECK(sc.numel() > 0, ErrorCode::invalid_model, what, "_scale is empty");
        q.scale = sc.to_floats();
        scale_shape = sc.shape;
    }
    if (has_input(n, zero_point_i)) {
        const ValueState& zv = input(n, zero_point_i);
        if (!zv.is_const) throw Unsupported(what + "_zero_point must be a constant");
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
        if (scale_shape.size() > 1) throw Unsupported("blocked quantization (" + what + "_scale of rank " +
                                                      std::to_string(scale_shape.size()) + ")");
        const int64_t rank = int64_t(shape.size());
        XINFER_CHECK(axis >= -rank && axis < rank, ErrorCode::invalid_model, "axis ", axis,
                     " is out of range for the rank-", rank, " tensor quantized per axis");
        q.axis = axis < 0 ? axis + rank : axis;
        const int64_t dim = shape[size_t(q.axis)];
        if (dim < 0) throw Unsupported("per-axis quantization along a dynamic dimension");
        XINFER_CHECK(dim == int64_t(q.scale.size()), ErrorCode::invalid_model, what, "_scale has ", q.scale.size(),
                     " values for axis ", q.axis, " of size ", dim, " (shape ", ::xinfer::to_string(shape), ")");
    }
    return q;
}

// Per-tensor parameters (QLinear* activations).
inline QuantInfo Importer::tensor_quant_info(const NodeProto& n, size_t scale_i, size_t zero_point_i, ElemType type,
                                             const std::string& what) {
    const QuantInfo q = quant_info(n, scale_i, zero_point_i, {}, type, 0, what);
    if (!q.per_tensor()) throw Unsupported("per-axis " + what + " parameters");
    return q;
}

// ---- QuantizeLinear / DequantizeLinear ----

inline void Importer::quantize_linear(const NodeProto& n) {
    check_outputs(n, 1);
    if (attr_int(n, "block_size", 0) != 0) throw Unsupported("blocked quantization");
    const ValueState& x = input(n, 0);
    XINFER_CHECK(!x.is_int8(), ErrorCode::invalid_model, "input '", n.input[0], "' is ", to_string(x.elem),
                 "; QuantizeLinear takes a float or int32 tensor");
    ElemType type = ElemType::undefined;
    if (!has_input(n, 2)) type = ElemType(attr_int(n, "output_dtype", 0));
    const QuantInfo q = quant_info(n, 1, 2, x.shape, type, attr_int(n, "axis", 1), "y");
    if (!is_int8_type(q.type)) throw Unsupported(std::string("quantization to ") + to_string(q.type));
    if (x.is_const) {
        const std::vector<float> f = const_floats(x.constant, n.input[0]);
        const float lo = q.type == ElemType::uint8 ? 0.0f : -128.0f, hi = q.type == ElemType::uint8 ? 255.0f : 127.0f;
        std::vector<uint8_t> bytes(f.size());
        for (size_t i = 0; i < f.size(); ++i) {
            const size_t c = channel_of(x.shape, q, i);
            const float r = std::nearbyint(f[i] / q.scale[c]) + float(q.zero_point[c]);
            const float v = kernels::ref::clamp_like_simd(r, lo, hi);
            bytes[i] = q.type == ElemType::uint8 ? uint8_t(v) : uint8_t(int8_t(v));
        }
        set_const(n.output[0], Constant::copy_of(q.type == ElemType::uint8 ? DataType::u8 : DataType::s8, x.shape,
                                                 bytes.data(), bytes.size()));
        return;
    }
    activation(n, 0, true);
    quantize_into(n.input[0], q, n.output[0], fresh_node_name(n, ""));
}

inline void Importer::dequantize_linear(const NodeProto& n) {
    check_outputs(n, 1);
    if (attr_int(n, "block_size", 0) != 0) throw Unsupported("blocked quantization");
    const ValueState& x = input(n, 0);
    const int64_t axis = attr_int(n, "axis", 1);
    const ElemType t = x.is_const ? elem_of(x.constant) : x.elem;
    XINFER_CHECK(is_int8_type(t) || t == ElemType::int32, ErrorCode::invalid_model, "input '", n.input[0], "' is ",
                 to_string(t), "; DequantizeLinear takes a UINT8, INT8 or INT32 tensor");
    const QuantInfo q = quant_info(n, 1, 2, x.shape, t, axis, "x");
    if (x.is_const) {  // folds into an fp32 constant that remembers its integers
        std::vector<float> f(x.constant.numel());
        for (size_t i = 0; i < f.size(); ++i) {
            const size_t c = channel_of(x.shape, q, i);
            f[i] = float(integer_at(x.constant, i) - q.zero_point[c]) * q.scale[c];
        }
        auto source = std::make_shared<QuantizedConstant>(QuantizedConstant{x.constant, q});
        set_const(n.output[0], Constant::from_floats(x.shape, f));
        values_.at(n.output[0]).quantized = std::move(source);
        return;
    }
    activation(n, 0, true);
    dequantized(n.input[0], q, n.output[0], fresh_node_name(n, ""));
}

// ---- QDQ fusion ----

// The QuantizeLinear (per tensor, 8-bit) that alone reads n's output, possibly through a Relu or a Clip with
// constant bounds that alone reads it: the output stage of a fused int8 op.
inline std::optional<Importer::OutputQuant> Importer::output_quantizer(const NodeProto& n, bool allow_activation) {
    for (size_t i = 1; i < n.output.size(); ++i)
        if (!n.output[i].empty()) return std::nullopt;
    auto sole_reader = [&](const std::string& v) -> const NodeProto* {
        if (graph_outputs_.count(v)) return nullptr;
        auto it = consumers_.find(v);
        if (it == consumers_.end() || it->second.size() != 1) return nullptr;
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
            if (opset_ < 11) {
                lo = attr_float(*c, "min", -INFINITY), hi = attr_float(*c, "max", INFINITY);
            } else {
                for (size_t i : {size_t(1), size_t(2)}) {
                    if (!has_input(*c, i)) continue;
                    auto it = values_.find(c->input[i]);
                    if (it == values_.end() || !it->second.is_const || it->second.constant.numel() != 1)
                        return std::nullopt;
                    (i == 1 ? lo : hi) = const_floats(it->second.constant, "bound")[0];
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
    try {  // anything wrong with its parameters: no fusion, and the QuantizeLinear reports it itself
        ElemType type = ElemType::undefined;
        if (!has_input(*c, 2)) type = ElemType(attr_int(*c, "output_dtype", 0));
        oq.y = tensor_quant_info(*c, 1, 2, type, "y");
    } catch (const std::exception&) {
        return std::nullopt;
    }
    if (!is_int8_type(oq.y.type)) return std::nullopt;
    oq.nodes.push_back(c);
    oq.value = c->output[0];
    return oq;
}

// The per-tensor DequantizeLinear link of input i (an fp32 activation made from an int8 one), or null.
inline const Int8Link* Importer::dequantized_input(const NodeProto& n, size_t i) {
    if (!has_input(n, i)) return nullptr;
    auto it = values_.find(n.input[i]);
    if (it == values_.end() || it->second.unknown || it->second.is_const || !it->second.dequantized_from)
        return nullptr;
    return &*it->second.dequantized_from;
}

inline void Importer::define_fused_output(const OutputQuant& oq, const std::string& ir, Layout layout, Shape shape) {
    define_int8(oq.value, ir, layout, std::move(shape), oq.y.type);
    for (auto* node : oq.nodes) fused_.insert(node);
}

inline std::map<std::string, Attribute> Importer::qattrs(const OutputQuant& oq) const {
    std::map<std::string, Attribute> a{{"y_scale", double(oq.y.scale[0])},
                                       {"y_zero_point", int64_t(oq.y.ir_zero_point())}};
    if (std::isfinite(oq.clip_min)) a["clip_min"] = double(oq.clip_min);
    if (std::isfinite(oq.clip_max)) a["clip_max"] = double(oq.clip_max);
    return a;
}

inline void set_input_params(std::map<std::string, Attribute>& attrs, const std::string& prefix, float scale,
                             int32_t zero_point) {
    attrs[prefix + "_scale"] = double(scale);
    attrs[prefix + "_zero_point"] = int64_t(zero_point);
}

// DQ(x) -> Conv(W = DQ(int8), B = DQ(int32) or fp32) [-> Relu/Clip] -> Q  =>  QConv.
inline bool Importer::fuse_conv(const NodeProto& n) {
    if (!has_input(n, 1) || !values_.count(n.input[1])) return false;
    const ValueState& wv = values_.at(n.input[1]);
    if (!wv.is_const || !wv.quantized || wv.quantized->q.shape.size() != 4) return false;
    const QuantizedConstant& w = *wv.quantized;
    if (!w.params.per_tensor() && w.params.axis != 0) return false;
    const auto w8 = symmetric_int8(w.q, w.params);
    if (!w8) return false;
    auto xit = values_.find(n.input[0]);
    if (xit == values_.end() || xit->second.unknown || xit->second.is_const) return false;
    const std::string src = xit->second.pending_pad ? xit->second.pad_source : n.input[0];
    if (!values_.at(src).dequantized_from) return false;
    const ValueState* bias = nullptr;
    if (has_input(n, 2)) {
        auto bit = values_.find(n.input[2]);
        if (bit == values_.end() || !bit->second.is_const) return false;
        bias = &bit->second;
        if (bias->quantized ? bias->quantized->q.dtype != DataType::s32 : bias->constant.dtype != DataType::f32)
            return false;
    }
    const auto oq = output_quantizer(n, true);
    if (!oq) return false;
    const ConvGeometry geo = conv_geometry(n, w.q.shape);
    const Int8Link x = *values_.at(src).dequantized_from;
    const Shape& s = w.q.shape;
    const std::string wname = fresh(n.input[1] + "/int8"), sname = fresh(n.input[1] + "/scale");
    const std::vector<int8_t> ohwi = ohwi_int8(*w8, s);
    ir_.constants[wname] = Constant::copy_of(DataType::s8, {s[0], s[2], s[3], s[1]}, ohwi.data(), ohwi.size());
    ir_.constants[sname] = Constant::from_floats({int64_t(w.params.scale.size())}, w.params.scale);
    std::vector<std::string> inputs{int8_in_layout(x.value, Layout::nhwc), wname, sname};
    if (bias) {
        const auto b = int32_bias(*bias, size_t(s[0]), x.scale, w.params.scale, 1.0f);
        inputs.push_back(fresh(n.input[2] + "/int32"));
        ir_.constants[inputs.back()] = Constant::copy_of(DataType::s32, {s[0]}, b.data(), b.size() * sizeof(int32_t));
    }
    auto attrs = conv_attributes(geo);
    for (auto& [k, v] : qattrs(*oq)) attrs[k] = v;
    set_input_params(attrs, "x", x.scale, x.zero_point);
    const std::string out = fresh(oq->value);
    add_node(fresh_node_name(n, out), "QConv", inputs, out, attrs);
    define_fused_output(*oq, out, Layout::nhwc, geo.y);
    return true;
}

// DQ(A) -> Gemm / MatMul (B = DQ(int8) per tensor or per output column, C = DQ(int32) or fp32) [-> Relu/Clip] -> Q
// => QDense; without the Q (and with C = DQ(int32) or none) => QDense with an fp32 output.
inline bool Importer::fuse_dense(const NodeProto& n) {
    const bool gemm = n.op_type == "Gemm";
    const float alpha = gemm ? attr_float(n, "alpha", 1.0f) : 1.0f, beta = gemm ? attr_float(n, "beta", 1.0f) : 1.0f;
    const bool ta = gemm && attr_int(n, "transA", 0) != 0, tb = gemm && attr_int(n, "transB", 0) != 0;
    if (ta || alpha != 1.0f || n.input.size() < 2 || !values_.count(n.input[1])) return false;
    const ValueState& bv = values_.at(n.input[1]);
    if (!bv.is_const || !bv.quantized || bv.quantized->q.shape.size() != 2) return false;
    const QuantizedConstant& w = *bv.quantized;
    const int64_t K = w.q.shape[tb ? 1 : 0], N = w.q.shape[tb ? 0 : 1];
    if (!w.params.per_tensor() && w.params.axis != (tb ? 0 : 1)) return false;
    const auto w8 = symmetric_int8(w.q, w.params);
    const Int8Link* a = dequantized_input(n, 0);
    if (!w8 || !a || values_.at(n.input[0]).shape.size() != 2 || values_.at(n.input[0]).shape[1] != K) return false;
    const ValueState* bias = nullptr;
    if (gemm && has_input(n, 2) && beta != 0.0f) {
        auto cit = values_.find(n.input[2]);
        if (cit == values_.end() || !cit->second.is_const) return false;
        bias = &cit->second;
        const size_t count = bias->constant.numel();
        const bool row = bias->shape.size() <= 1 || (bias->shape.size() == 2 && bias->shape[0] == 1);
        if (!row || (count != size_t(N) && count != 1)) return false;
        if (bias->quantized ? bias->quantized->q.dtype != DataType::s32 : bias->constant.dtype != DataType::f32)
            return false;
    }
    const auto oq = output_quantizer(n, true);
    // Without a QuantizeLinear after it (a classifier read in fp32) it becomes a QDense with an fp32 output, when
    // the bias is exact in int32 (a DequantizeLinear of int32, or none).
    if (!oq && bias && !bias->quantized) return false;
    const Int8Link x = *a;
    const Shape a_shape = values_.at(n.input[0]).shape;
    const std::vector<int8_t> wk = tb ? *w8 : transposed_int8(*w8, size_t(K), size_t(N));
    const std::string wname = fresh(n.input[1] + "/int8"), sname = fresh(n.input[1] + "/scale");
    ir_.constants[wname] = Constant::copy_of(DataType::s8, {N, K}, wk.data(), wk.size());
    ir_.constants[sname] = Constant::from_floats({int64_t(w.params.scale.size())}, w.params.scale);
    std::vector<std::string> inputs{int8_in_layout(x.value, Layout::onnx), wname, sname};
    if (bias) {
        const auto b = int32_bias(*bias, size_t(N), x.scale, w.params.scale, beta);
        inputs.push_back(fresh(n.input[2] + "/int32"));
        ir_.constants[inputs.back()] = Constant::copy_of(DataType::s32, {N}, b.data(), b.size() * sizeof(int32_t));
    }
    auto attrs = oq ? qattrs(*oq) : std::map<std::string, Attribute>{};
    set_input_params(attrs, "x", x.scale, x.zero_point);
    const std::string out = fresh(oq ? oq->value : n.output[0]);
    add_node(fresh_node_name(n, out), "QDense", inputs, out, attrs);
    if (oq)
        define_fused_output(*oq, out, Layout::onnx, {a_shape[0], N});
    else
        define(n.output[0], out, Layout::onnx, {a_shape[0], N});
    return true;
}

// The layout two int8 operands of an element-wise op meet in: NHWC when either is (4-D values of a CNN).
inline Layout int8_pair_layout(const ValueState& a, const ValueState& b) {
    return a.layout == Layout::nhwc || b.layout == Layout::nhwc ? Layout::nhwc : Layout::onnx;
}

// DQ(a) + DQ(b) (same shape) [-> Relu/Clip] -> Q  =>  QAdd.
inline bool Importer::fuse_add(const NodeProto& n) {
    if (n.input.size() != 2) return false;
    const Int8Link* a = dequantized_input(n, 0);
    const Int8Link* b = dequantized_input(n, 1);
    if (!a || !b || values_.at(a->value).shape != values_.at(b->value).shape) return false;
    const auto oq = output_quantizer(n, true);
    if (!oq) return false;
    const Int8Link la = *a, lb = *b;
    const ValueState& va = values_.at(la.value);
    const ValueState& vb = values_.at(lb.value);
    const Shape shape = va.shape;
    const Layout layout = int8_pair_layout(va, vb);
    const std::string ia = int8_in_layout(la.value, layout), ib = int8_in_layout(lb.value, layout);
    auto attrs = qattrs(*oq);
    set_input_params(attrs, "a", la.scale, la.zero_point);
    set_input_params(attrs, "b", lb.scale, lb.zero_point);
    const std::string out = fresh(oq->value);
    add_node(fresh_node_name(n, out), "QAdd", {ia, ib}, out, attrs);
    define_fused_output(*oq, out, layout, shape);
    return true;
}

// DQ(x) -> GlobalAveragePool, or AveragePool over the whole input -> Q  =>  QGlobalAveragePool.
inline bool Importer::fuse_global_pool(const NodeProto& n) {
    const Int8Link* a = dequantized_input(n, 0);
    if (!a) return false;
    const Shape xs = values_.at(n.input[0]).shape;
    if (xs.size() != 4 || xs[2] <= 0 || xs[3] <= 0) return false;
    if (n.op_type == "AveragePool") {
        const std::string auto_pad = attr_string(n, "auto_pad", "NOTSET");
        const auto pads = attr_ints(n, "pads", {0, 0, 0, 0}), dil = attr_ints(n, "dilations", {1, 1});
        if (attr_ints(n, "kernel_shape", {}) != std::vector<int64_t>{xs[2], xs[3]} ||
            dil != std::vector<int64_t>{1, 1} || (auto_pad != "NOTSET" && auto_pad != "VALID") ||
            std::any_of(pads.begin(), pads.end(), [](int64_t p) { return p != 0; }))
            return false;
    }
    const auto oq = output_quantizer(n, false);
    if (!oq) return false;
    const Int8Link x = *a;
    auto attrs = qattrs(*oq);
    set_input_params(attrs, "x", x.scale, x.zero_point);
    const std::string in = int8_in_layout(x.value, Layout::nhwc), out = fresh(oq->value);
    add_node(fresh_node_name(n, out), "QGlobalAveragePool", {in}, out, attrs);
    define_fused_output(*oq, out, Layout::nhwc, {xs[0], xs[1], 1, 1});
    return true;
}

// ---- QOperator ops ----

// The 8-bit activation input i of a QLinear / Integer op.
inline const ValueState& Importer::int8_activation(const NodeProto& n, size_t i, const char* what) {
    const ValueState& v = input(n, i);
    if (v.is_const) throw Unsupported(std::string("a constant input ") + what);
    XINFER_CHECK(v.is_int8(), ErrorCode::invalid_model, "input ", what, " ('", n.input[i], "') is ", to_string(v.elem),
                 "; expected UINT8 or INT8");
    return activation(n, i, true);
}

inline void Importer::qlinear_conv(const NodeProto& n) {
    check_outputs(n, 1);
    const ValueState& x = int8_activation(n, 0, "x");
    const QuantInfo xq = tensor_quant_info(n, 1, 2, x.elem, "x");
    const Constant& w = const_input(n, 3, "the weight w");
    XINFER_CHECK(is_int8_type(elem_of(w)), ErrorCode::invalid_model, "weight w is ", to_string(elem_of(w)),
                 "; expected UINT8 or INT8");
    if (w.shape.size() != 4) throw Unsupported("only 2-D convolution is supported (weight rank " +
                                               std::to_string(w.shape.size()) + ")");
    const int64_t cout = w.shape[0];
    const QuantInfo wq = quant_info(n, 4, 5, w.shape, elem_of(w), 0, "w");
    const QuantInfo yq = tensor_quant_info(n, 6, 7, ElemType::undefined, "y");
    XINFER_CHECK(is_int8_type(yq.type), ErrorCode::invalid_model, "y_zero_point is ", to_string(yq.type),
                 "; expected UINT8 or INT8");
    const Constant* bias = nullptr;
    if (has_input(n, 8)) {
        bias = &const_input(n, 8, "the bias B");
        XINFER_CHECK(bias->dtype == DataType::s32 && bias->numel() == size_t(cout), ErrorCode::invalid_model,
                     "bias B must be ", cout, " INT32 values, got ", to_string(elem_of(*bias)), " ",
                     ::xinfer::to_string(bias->shape));
    }
    const ConvGeometry geo = conv_geometry(n, w.shape);
    if (const auto w8 = symmetric_int8(w, wq)) {
        const std::string wname = fresh(n.input[3] + "/int8"), sname = fresh(n.input[3] + "/scale");
        const std::vector<int8_t> ohwi = ohwi_int8(*w8, w.shape);
        ir_.constants[wname] =
            Constant::copy_of(DataType::s8, {cout, w.shape[2], w.shape[3], w.shape[1]}, ohwi.data(), ohwi.size());
        ir_.constants[sname] = Constant::from_floats({int64_t(wq.scale.size())}, wq.scale);
        std::vector<std::string> inputs{as_nhwc(n.input[0]), wname, sname};
        if (bias) {
            inputs.push_back(fresh(n.input[8] + "/int32"));
            ir_.constants[inputs.back()] = Constant::copy_of(DataType::s32, {cout}, bias->data, bias->bytes);
        }
        auto attrs = conv_attributes(geo);
        set_input_params(attrs, "x", xq.scale[0], xq.ir_zero_point());
        set_input_params(attrs, "y", yq.scale[0], yq.ir_zero_point());
        const std::string out = fresh(n.output[0]);
        add_node(fresh_node_name(n, out), "QConv", inputs, out, attrs);
        define_int8(n.output[0], out, Layout::nhwc, geo.y, yq.type);
        return;
    }
    // Asymmetric weights: the integer convolution in fp32, requantized like QConv.
    std::vector<std::string> inputs{integer_operand(n.input[0], xq, n.output[0] + "/x"),
                                    integer_operand(n.input[3], wq, n.input[3] + "/centered")};
    if (bias) {
        std::vector<float> b(static_cast<size_t>(cout));
        for (size_t c = 0; c < b.size(); ++c) b[c] = float(bias->as<int32_t>()[c]);
        inputs.push_back(constant_value(Constant::from_floats({cout}, b), n.input[8] + "/float"));
    }
    const std::string acc = fresh(n.output[0] + "/acc"), scaled = fresh(n.output[0] + "/scaled");
    synthesize(n, "Conv", inputs, acc, true);
    std::vector<float> m(static_cast<size_t>(cout));
    for (size_t c = 0; c < m.size(); ++c) m[c] = xq.scale[0] * wq.scale[wq.per_tensor() ? 0 : c] / yq.scale[0];
    const std::string mname = constant_value(Constant::from_floats({1, cout, 1, 1}, m), n.output[0] + "/multiplier");
    synthesize(n, "Mul", {acc, mname}, scaled, false);
    quantize_into(scaled, unit_quant(yq.type, yq.zero_point[0]), n.output[0], "");
}

inline void Importer::qlinear_matmul(const NodeProto& n) {
    check_outputs(n, 1);
    const ValueState& a = int8_activation(n, 0, "a");
    const QuantInfo aq = tensor_quant_info(n, 1, 2, a.elem, "a");
    const Shape a_shape = a.shape;
    const ValueState& b = input(n, 3);
    const ElemType bt = b.is_const ? elem_of(b.constant) : b.elem;
    XINFER_CHECK(is_int8_type(bt), ErrorCode::invalid_model, "input b is ", to_string(bt), "; expected UINT8 or INT8");
    if (a_shape.size() < 2 || b.shape.size() < 2) throw Unsupported("1-D QLinearMatMul operands");
    const Shape b_shape = b.shape;
    const int64_t N = b_shape.back();
    const QuantInfo bq = b.is_const ? quant_info(n, 4, 5, b_shape, bt, int64_t(b_shape.size()) - 1, "b")
                                    : tensor_quant_info(n, 4, 5, bt, "b");
    const QuantInfo yq = tensor_quant_info(n, 6, 7, ElemType::undefined, "y");
    XINFER_CHECK(is_int8_type(yq.type), ErrorCode::invalid_model, "y_zero_point is ", to_string(yq.type),
                 "; expected UINT8 or INT8");
    if (b.is_const && a_shape.size() == 2 && b_shape.size() == 2) {
        XINFER_CHECK(a_shape[1] == b_shape[0], ErrorCode::shape_mismatch, "a ", ::xinfer::to_string(a_shape), " and b ",
                     ::xinfer::to_string(b_shape), " do not multiply");
        if (const auto w8 = symmetric_int8(b.constant, bq)) {
            const int64_t K = b_shape[0];
            const std::vector<int8_t> wk = transposed_int8(*w8, size_t(K), size_t(N));
            const std::string wname = fresh(n.input[3] + "/int8"), sname = fresh(n.input[3] + "/scale");
            ir_.constants[wname] = Constant::copy_of(DataType::s8, {N, K}, wk.data(), wk.size());
            ir_.constants[sname] = Constant::from_floats({int64_t(bq.scale.size())}, bq.scale);
            std::map<std::string, Attribute> attrs;
            set_input_params(attrs, "x", aq.scale[0], aq.ir_zero_point());
            set_input_params(attrs, "y", yq.scale[0], yq.ir_zero_point());
            const std::string out = fresh(n.output[0]);
            add_node(fresh_node_name(n, out), "QDense", {as_onnx(n.input[0]), wname, sname}, out, attrs);
            define_int8(n.output[0], out, Layout::onnx, {a_shape[0], N}, yq.type);
            return;
        }
    }
    // The integer product in fp32, requantized per output column like QDense.
    const std::string ai = integer_operand(n.input[0], aq, n.output[0] + "/a");
    const std::string bi = integer_operand(n.input[3], bq, n.input[3] + "/centered");
    const std::string acc = fresh(n.output[0] + "/acc"), scaled = fresh(n.output[0] + "/scaled");
    synthesize(n, "MatMul", {ai, bi}, acc, false);
    std::vector<float> m(bq.scale.size());
    for (size_t j = 0; j < m.size(); ++j) m[j] = aq.scale[0] * bq.scale[j] / yq.scale[0];
    const std::string mname =
        constant_value(Constant::from_floats({int64_t(m.size())}, m), n.output[0] + "/multiplier");
    synthesize(n, "Mul", {acc, mname}, scaled, false);
    quantize_into(scaled, unit_quant(yq.type, yq.zero_point[0]), n.output[0], "");
}

// com.microsoft QLinearAdd: A, A_scale, A_zero_point, B, B_scale, B_zero_point, C_scale, C_zero_point.
inline void Importer::qlinear_add(const NodeProto& n) {
    check_outputs(n, 1);
    XINFER_CHECK(n.input.size() >= 7, ErrorCode::invalid_model, "QLinearAdd needs at least 7 inputs");
    const ElemType at = integer_type(n, 0), bt = integer_type(n, 3);
    XINFER_CHECK(is_int8_type(at) && at == bt, ErrorCode::invalid_model, "inputs A and B are ", to_string(at), " and ",
                 to_string(bt), "; expected both UINT8 or both INT8");
    const QuantInfo aq = tensor_quant_info(n, 1, 2, at, "A"), bq = tensor_quant_info(n, 4, 5, bt, "B");
    const QuantInfo cq = tensor_quant_info(n, 6, 7, at, "C");
    const ValueState& a = input(n, 0);
    const ValueState& b = input(n, 3);
    if (!a.is_const && !b.is_const && a.shape == b.shape) {
        activation(n, 0, true), activation(n, 3, true);
        const ValueState& va = values_.at(n.input[0]);
        const ValueState& vb = values_.at(n.input[3]);
        const Layout layout = int8_pair_layout(va, vb);
        const Shape shape = va.shape;
        const std::string ia = int8_in_layout(n.input[0], layout), ib = int8_in_layout(n.input[3], layout);
        std::map<std::string, Attribute> attrs;
        set_input_params(attrs, "a", aq.scale[0], aq.ir_zero_point());
        set_input_params(attrs, "b", bq.scale[0], bq.ir_zero_point());
        set_input_params(attrs, "y", cq.scale[0], cq.ir_zero_point());
        const std::string out = fresh(n.output[0]);
        add_node(fresh_node_name(n, out), "QAdd", {ia, ib}, out, attrs);
        define_int8(n.output[0], out, layout, shape, cq.type);
        return;
    }
    if (a.is_const && b.is_const) throw Unsupported("both operands are constants");
    // Broadcasting or a constant operand: the sum in fp32.
    auto real = [&](size_t i, const QuantInfo& q) {
        const ValueState& v = input(n, i);
        if (!v.is_const) return dequantized(n.input[i], q, fresh(n.input[i] + "/real"), "");
        std::vector<float> f(v.constant.numel());
        for (size_t k = 0; k < f.size(); ++k) f[k] = float(integer_at(v.constant, k) - q.zero_point[0]) * q.scale[0];
        return constant_value(Constant::from_floats(v.shape, f), n.input[i] + "/real");
    };
    const std::string ar = real(0, aq), br = real(3, bq), sum = fresh(n.output[0] + "/real");
    synthesize(n, "Add", {ar, br}, sum, false);
    quantize_into(sum, cq, n.output[0], "");
}

// com.microsoft QLinearGlobalAveragePool: X, x_scale, x_zero_point, y_scale, y_zero_point; channels_last.
inline void Importer::qlinear_global_pool(const NodeProto& n) {
    check_outputs(n, 1);
    const ValueState& x = int8_activation(n, 0, "X");
    const QuantInfo xq = tensor_quant_info(n, 1, 2, x.elem, "x");
    const QuantInfo yq = tensor_quant_info(n, 3, 4, has_input(n, 4) ? ElemType::undefined : x.elem, "y");
    XINFER_CHECK(yq.type == x.elem, ErrorCode::invalid_model, "y_zero_point is ", to_string(yq.type), " but X is ",
                 to_string(x.elem));
    if (x.shape.size() != 4) throw Unsupported("input of rank " + std::to_string(x.shape.size()));
    const Shape xs = x.shape;
    const bool channels_last = attr_int(n, "channels_last", 0) != 0;
    // channels_last: the ONNX tensor itself is [N, H, W, C], which is what the op reads.
    const std::string in = channels_last ? as_onnx(n.input[0]) : as_nhwc(n.input[0]);
    std::map<std::string, Attribute> attrs;
    set_input_params(attrs, "x", xq.scale[0], xq.ir_zero_point());
    set_input_params(attrs, "y", yq.scale[0], yq.ir_zero_point());
    const std::string out = fresh(n.output[0]);
    add_node(fresh_node_name(n, out), "QGlobalAveragePool", {in}, out, attrs);
    if (channels_last) define_int8(n.output[0], out, Layout::onnx, {xs[0], 1, 1, xs[3]}, yq.type);
    else define_int8(n.output[0], out, Layout::nhwc, {xs[0], xs[1], 1, 1}, yq.type);
}

// ConvInteger (x, w, x_zero_point, w_zero_point) and MatMulInteger (A, B, a_zero_point, b_zero_point): the int32
// result of the integer arithmetic, computed in fp32 and held as F32.
inline void Importer::integer_conv_or_matmul(const NodeProto& n) {
    check_outputs(n, 1);
    const bool conv = n.op_type == "ConvInteger";
    const ValueState& x = int8_activation(n, 0, conv ? "x" : "A");
    const QuantInfo xq = quant_info(n, kNoInput, 2, x.shape, x.elem, 0, conv ? "x" : "a");
    if (!xq.per_tensor()) throw Unsupported("per-row zero points of the first operand");
    const ValueState& w = input(n, 1);
    const ElemType wt = w.is_const ? elem_of(w.constant) : w.elem;
    XINFER_CHECK(is_int8_type(wt), ErrorCode::invalid_model, "input '", n.input[1], "' is ", to_string(wt),
                 "; expected UINT8 or INT8");
    if (!w.is_const) activation(n, 1, true);
    const int64_t axis = conv ? 0 : int64_t(w.shape.size()) - 1;  // per output channel / column
    const QuantInfo wq = quant_info(n, kNoInput, 3, w.shape, wt, axis, conv ? "w" : "b");
    const std::string xi = integer_operand(n.input[0], xq, n.output[0] + "/x");
    const std::string wi = integer_operand(n.input[1], wq, n.input[1] + "/centered");
    synthesize(n, conv ? "Conv" : "MatMul", {xi, wi}, n.output[0], conv);
    values_.at(n.output[0]).elem = ElemType::int32;
}

// MaxPool, Transpose, Concat and Pad of 8-bit tensors: the op on their integers (as F32), exact.
inline void Importer::on_integers(const NodeProto& n) {
    check_outputs(n, 1);
    ElemType type = ElemType::undefined;
    std::vector<std::string> inputs = n.input;
    for (size_t i = 0; i < n.input.size(); ++i) {
        if (!has_input(n, i)) continue;
        const ValueState& v = input(n, i);
        if (v.is_const) continue;
        XINFER_CHECK(v.is_int8() && (type == ElemType::undefined || v.elem == type), ErrorCode::invalid_model,
                     "input '", n.input[i], "' is ", to_string(v.elem), " where the other inputs are ",
                     to_string(type == ElemType::undefined ? v.elem : type));
        type = v.elem;
        activation(n, i, true);
        inputs[i] = integer_values(n.input[i], 0);
    }
    const std::string f = fresh(n.output[0] + "/values");
    synthesize(n, n.op_type, inputs, f, true);
    quantize_into(f, unit_quant(type), n.output[0], "");
}

}  // namespace xinfer::io::onnx::detail
