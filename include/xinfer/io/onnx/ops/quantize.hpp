#pragma once
// ONNX QuantizeLinear and DequantizeLinear, ConvInteger and MatMulInteger, and MaxPool / Transpose / Concat / Pad on
// 8-bit tensors.
//
// An activation QuantizeLinear becomes a Quantize node, a DequantizeLinear a Dequantize node, a DequantizeLinear of a
// constant folds into an fp32 constant that remembers its integers (what QDQ fusion reads), and a QuantizeLinear of a
// DequantizeLinear output with the same parameters is the int8 value itself. ConvInteger / MatMulInteger run in fp32
// on the integers q - zero_point: exact while the accumulators stay below 2^24 in magnitude; their int32 result is
// held as F32. DynamicQuantizeLinear (parameters computed from the data) is not supported.
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "xinfer/io/onnx/ops/quant_params.hpp"
#include "xinfer/kernels/ref/requantize.hpp"

namespace xinfer::io::onnx::detail {

// QuantizeLinear of constant x: the integers, as ONNX rounds and saturates them.
inline Constant quantized_constant(const ValueState& x, const QuantInfo& q) {
    const std::vector<float> f = const_floats(x.constant);
    const float lo = q.type == ElemType::uint8 ? 0.0f : -128.0f, hi = q.type == ElemType::uint8 ? 255.0f : 127.0f;
    std::vector<uint8_t> bytes(f.size());
    for (size_t i = 0; i < f.size(); ++i) {
        const size_t c = channel_of(x.shape, q, i);
        const float r = std::nearbyint(f[i] / q.scale[c]) + float(q.zero_point[c]);
        const float v = kernels::ref::clamp_like_simd(r, lo, hi);
        bytes[i] = q.type == ElemType::uint8 ? uint8_t(v) : uint8_t(int8_t(v));
    }
    return Constant::copy_of(q.type == ElemType::uint8 ? DataType::u8 : DataType::s8, x.shape, bytes.data(),
                             bytes.size());
}

inline Status convert_quantize_linear(ImportContext& ctx, const NodeProto& n) {
    XINFER_ONNX_TRY(ImportContext::check_outputs(n, 1));
    if (attr_int(n, "block_size", 0) != 0) return Status::unsupported("blocked quantization");
    XINFER_ONNX_LET(x, ctx.input(n, 0));
    XINFER_CHECK(!x.is_int8(), ErrorCode::invalid_model, "input '", n.input[0], "' is ", to_string(x.elem),
                 "; QuantizeLinear takes a float or int32 tensor");
    ElemType type = ElemType::undefined;
    if (!ImportContext::has_input(n, 2)) type = ElemType(attr_int(n, "output_dtype", 0));
    XINFER_ONNX_LET(q, quant_info(ctx, n, 1, 2, x.shape, type, attr_int(n, "axis", 1), "y"));
    if (!is_int8_type(q.type)) return Status::unsupported(std::string("quantization to ") + to_string(q.type));
    if (x.is_const) {
        ctx.set_const(n.output[0], quantized_constant(x, q));
        return Status::converted();
    }
    XINFER_ONNX_TRY(ctx.activation(n, 0, true));
    quantize_into(ctx, n.input[0], q, n.output[0], ImportContext::node_name(n, ""));
    return Status::converted();
}

inline Status convert_dequantize_linear(ImportContext& ctx, const NodeProto& n) {
    XINFER_ONNX_TRY(ImportContext::check_outputs(n, 1));
    if (attr_int(n, "block_size", 0) != 0) return Status::unsupported("blocked quantization");
    XINFER_ONNX_LET(x, ctx.input(n, 0));
    const int64_t axis = attr_int(n, "axis", 1);
    const ElemType t = x.is_const ? elem_of(x.constant) : x.elem;
    XINFER_CHECK(is_int8_type(t) || t == ElemType::int32, ErrorCode::invalid_model, "input '", n.input[0], "' is ",
                 to_string(t), "; DequantizeLinear takes a UINT8, INT8 or INT32 tensor");
    XINFER_ONNX_LET(q, quant_info(ctx, n, 1, 2, x.shape, t, axis, "x"));
    if (x.is_const) {  // folds into an fp32 constant that remembers its integers
        std::vector<float> f(x.constant.numel());
        for (size_t i = 0; i < f.size(); ++i) {
            const size_t c = channel_of(x.shape, q, i);
            f[i] = float(integer_at(x.constant, i) - q.zero_point[c]) * q.scale[c];
        }
        auto source = std::make_shared<QuantizedConstant>(QuantizedConstant{x.constant, q});
        ctx.set_const(n.output[0], Constant::from_floats(x.shape, f));
        ctx.values.at(n.output[0]).quantized = std::move(source);
        return Status::converted();
    }
    XINFER_ONNX_TRY(ctx.activation(n, 0, true));
    dequantized(ctx, n.input[0], q, n.output[0], ImportContext::node_name(n, ""));
    return Status::converted();
}

inline Status convert_dynamic_quantize_linear(ImportContext&, const NodeProto&) {
    return Status::unsupported("quantization parameters computed from the data");
}

// The 8-bit activation input i of a QLinear / Integer op.
inline Result<const ValueState&> int8_activation(ImportContext& ctx, const NodeProto& n, size_t i, const char* what) {
    XINFER_ONNX_LET(v, ctx.input(n, i));
    if (v.is_const) return Status::unsupported(std::string("a constant input ") + what);
    XINFER_CHECK(v.is_int8(), ErrorCode::invalid_model, "input ", what, " ('", n.input[i], "') is ", to_string(v.elem),
                 "; expected UINT8 or INT8");
    return ctx.activation(n, i, true);
}

// ConvInteger (x, w, x_zero_point, w_zero_point) and MatMulInteger (A, B, a_zero_point, b_zero_point): the int32
// result of the integer arithmetic, computed in fp32 and held as F32.
inline Status convert_integer_conv_or_matmul(ImportContext& ctx, const NodeProto& n) {
    XINFER_ONNX_TRY(ImportContext::check_outputs(n, 1));
    const bool conv = n.op_type == "ConvInteger";
    XINFER_ONNX_LET(x, int8_activation(ctx, n, 0, conv ? "x" : "A"));
    XINFER_ONNX_LET(xq, quant_info(ctx, n, kNoInput, 2, x.shape, x.elem, 0, conv ? "x" : "a"));
    if (!xq.per_tensor()) return Status::unsupported("per-row zero points of the first operand");
    XINFER_ONNX_LET(w, ctx.input(n, 1));
    const ElemType wt = w.is_const ? elem_of(w.constant) : w.elem;
    XINFER_CHECK(is_int8_type(wt), ErrorCode::invalid_model, "input '", n.input[1], "' is ", to_string(wt),
                 "; expected UINT8 or INT8");
    if (!w.is_const) XINFER_ONNX_TRY(ctx.activation(n, 1, true));
    const int64_t axis = conv ? 0 : int64_t(w.shape.size()) - 1;  // per output channel / column
    XINFER_ONNX_LET(wq, quant_info(ctx, n, kNoInput, 3, w.shape, wt, axis, conv ? "w" : "b"));
    const std::string xi = integer_operand(ctx, n.input[0], xq, n.output[0] + "/x");
    const std::string wi = integer_operand(ctx, n.input[1], wq, n.input[1] + "/centered");
    XINFER_ONNX_TRY(ctx.synthesize(n, conv ? "Conv" : "MatMul", {xi, wi}, n.output[0], conv));
    ctx.values.at(n.output[0]).elem = ElemType::int32;
    return Status::converted();
}

// MaxPool, Transpose, Concat and Pad of 8-bit tensors: the op on their integers (as F32), exact. Declines when no
// input is an 8-bit activation.
inline Status convert_on_integers(ImportContext& ctx, const NodeProto& n) {
    const bool any_int8 = std::any_of(n.input.begin(), n.input.end(), [&](const std::string& in) {
        auto it = ctx.values.find(in);
        return it != ctx.values.end() && !it->second.unknown && it->second.is_int8();
    });
    if (!any_int8) return Status::declined();
    XINFER_ONNX_TRY(ImportContext::check_outputs(n, 1));
    ElemType type = ElemType::undefined;
    std::vector<std::string> inputs = n.input;
    for (size_t i = 0; i < n.input.size(); ++i) {
        if (!ImportContext::has_input(n, i)) continue;
        XINFER_ONNX_LET(v, ctx.input(n, i));
        if (v.is_const) continue;
        XINFER_CHECK(v.is_int8() && (type == ElemType::undefined || v.elem == type), ErrorCode::invalid_model,
                     "input '", n.input[i], "' is ", to_string(v.elem), " where the other inputs are ",
                     to_string(type == ElemType::undefined ? v.elem : type));
        type = v.elem;
        XINFER_ONNX_TRY(ctx.activation(n, i, true));
        inputs[i] = ctx.integer_values(n.input[i], 0);
    }
    const std::string f = ctx.fresh(n.output[0] + "/values");
    XINFER_ONNX_TRY(ctx.synthesize(n, n.op_type, inputs, f, true));
    quantize_into(ctx, f, unit_quant(type), n.output[0], "");
    return Status::converted();
}

}  // namespace xinfer::io::onnx::detail
