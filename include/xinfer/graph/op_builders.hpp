#pragma once
// The op builders: for each op kind of the canonical op set (graph.hpp), one function that validates a node,
// packs its constants and picks the kernels, registered in one explicit table (op_builders()).
//
// Adding an op kind touches one row per layer:
//   - graph/op_builders.hpp: a builder here and its row in op_builders();
//   - io/onnx/export.hpp: its row in Exporter::exporters();
//   - quant/ptq.hpp: its row in detail::quantization_rules() if it has an int8 form;
//   - the importers (io/onnx, io/tfjs): their rows mapping foreign ops onto it.
// Document it in graph.hpp's op set.
#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "xinfer/graph/graph.hpp"
#include "xinfer/ops/conv2d.hpp"
#include "xinfer/ops/dense.hpp"
#include "xinfer/ops/eltwise.hpp"
#include "xinfer/ops/pool.hpp"
#include "xinfer/ops/quantize.hpp"
#include "xinfer/ops/reshape.hpp"
#include "xinfer/ops/softmax.hpp"
#include "xinfer/ops/tensor_ops.hpp"

namespace xinfer {

constexpr size_t kMaxGenericInputs = 8;

// What a builder sees: the node, its graph (for constants), the kernel set to use and the element types of the
// node's activation inputs (empty: all F32).
struct OpBuilderContext {
    const Node& node;
    const Graph& graph;
    ops::KernelSet kernels;
    const std::vector<DataType>& in_dtypes;

    bool int8_input() const { return !in_dtypes.empty() && in_dtypes[0] == DataType::s8; }
    kernels::MinMax clamp() const { return {node.clip_min(), node.clip_max()}; }
};

using OpBuilder = std::unique_ptr<ops::Op> (*)(const OpBuilderContext&);

// The window of a Conv or pooling node: its kernel size plus the strides, dilations and pads attributes.
inline Window2D window_attributes(const Node& n, int64_t kernel_h, int64_t kernel_w) {
    const auto strides = n.get_ints("strides", {1, 1}), dil = n.get_ints("dilations", {1, 1}),
               pads = n.get_ints("pads", {0, 0, 0, 0});
    XINFER_CHECK(strides.size() == 2 && dil.size() == 2 && pads.size() == 4, ErrorCode::invalid_model, n.describe(),
                 ": strides/dilations need 2 values and pads 4 (top, left, bottom, right)");
    auto small = [&](int64_t v) {
        XINFER_CHECK(v >= 0 && v <= (1 << 20), ErrorCode::invalid_model, n.describe(), ": attribute value ", v,
                     " out of range");
        return int(v);
    };
    Window2D w;
    w.kernel_h = small(kernel_h), w.kernel_w = small(kernel_w);
    w.stride_h = small(strides[0]), w.stride_w = small(strides[1]);
    w.dilation_h = small(dil[0]), w.dilation_w = small(dil[1]);
    w.pads = {small(pads[0]), small(pads[1]), small(pads[2]), small(pads[3])};
    return w;
}

namespace builders {

inline void need_inputs(const Node& n, size_t lo, size_t hi) {
    XINFER_CHECK(n.inputs.size() >= lo && n.inputs.size() <= hi && n.outputs.size() == 1, ErrorCode::invalid_model,
                 n.describe(), ": expected ", lo, "..", hi, " inputs and 1 output, got ", n.inputs.size(), " and ",
                 n.outputs.size());
}

// Input `index` of the node, which must be a constant of the given element type and rank.
inline const Constant& typed_constant(const OpBuilderContext& c, size_t index, DataType dtype, size_t rank) {
    const Node& n = c.node;
    const Constant& k = c.graph.constant(n.inputs[index], n);
    XINFER_CHECK(k.dtype == dtype && k.shape.size() == rank && k.bytes == k.numel() * size_of(dtype),
                 ErrorCode::invalid_model, n.describe(), ": constant '", n.inputs[index], "' must be a rank-", rank,
                 " ", to_string(dtype), " tensor, got ", to_string(k.dtype), " ", to_string(k.shape));
    return k;
}

// The optional F32 bias at input `index`, with one value per output; null when absent.
inline const float* optional_bias(const OpBuilderContext& c, size_t index, size_t count) {
    const Node& n = c.node;
    if (n.inputs.size() <= index || n.inputs[index].empty()) return nullptr;
    const Constant& b = typed_constant(c, index, DataType::f32, 1);
    XINFER_CHECK(size_t(b.shape[0]) == count, ErrorCode::invalid_model, n.describe(), ": bias has ", b.shape[0],
                 " values for ", count, " outputs");
    return b.as<float>();
}

// The activation parameters held in the attributes <prefix>_scale and <prefix>_zero_point.
inline ops::QuantParams quant_params(const Node& n, const std::string& prefix) {
    return ops::make_quant_params(n.get_float(prefix + "_scale", std::nan("")), n.get_int(prefix + "_zero_point", 0),
                                  n.describe(), (prefix + "_scale").c_str());
}

inline void check_no_constant_operand(const OpBuilderContext& c) {
    XINFER_CHECK(!c.graph.is_constant(c.node.inputs[0]) && !c.graph.is_constant(c.node.inputs[1]),
                 ErrorCode::unsupported_op, c.node.describe(), ": adding a constant is not supported");
}

// A constant operand of a generic tensor op; null when input i is an activation.
inline std::unique_ptr<ops::ConstOperand> const_operand(const OpBuilderContext& c, size_t i) {
    const Node& n = c.node;
    if (!c.graph.is_constant(n.inputs[i])) return nullptr;
    const Constant& k = c.graph.constant(n.inputs[i], n);
    XINFER_CHECK(k.dtype == DataType::f32 && k.bytes == k.numel() * 4, ErrorCode::unsupported_op, n.describe(),
                 ": constant operand '", n.inputs[i], "' must be F32");
    return std::make_unique<ops::ConstOperand>(k.shape, k.as<float>());
}

// --- int8 ops

inline std::unique_ptr<ops::Op> quantize(const OpBuilderContext& c) {
    need_inputs(c.node, 1, 1);
    return std::make_unique<ops::Quantize>(quant_params(c.node, "y"), c.kernels, c.node.name);
}

inline std::unique_ptr<ops::Op> dequantize(const OpBuilderContext& c) {
    need_inputs(c.node, 1, 1);
    return std::make_unique<ops::Dequantize>(quant_params(c.node, "x"), c.kernels, c.node.name);
}

// W, W_scale and the optional bias of QConv / QDense: fills q and bias, returns W.
inline const Constant& int8_linear(const OpBuilderContext& c, size_t w_rank, ops::QLinearParams& q,
                                   const int32_t*& bias) {
    const Node& n = c.node;
    need_inputs(n, 3, 4);
    const Constant& w = typed_constant(c, 1, DataType::s8, w_rank);
    const Constant& ws = typed_constant(c, 2, DataType::f32, 1);
    q.x = quant_params(n, "x");
    q.float_output = n.op == "QDense" && !n.has("y_scale");  // a classifier read in fp32
    if (!q.float_output) q.y = quant_params(n, "y");
    q.w_scale = ws.as<float>();
    q.w_scale_count = ws.numel();
    q.clamp = {n.clip_min(), n.clip_max()};
    bias = nullptr;
    if (n.inputs.size() == 4 && !n.inputs[3].empty()) {
        const Constant& b = typed_constant(c, 3, DataType::s32, 1);
        XINFER_CHECK(b.shape[0] == w.shape[0], ErrorCode::invalid_model, n.describe(), ": bias has ", b.shape[0],
                     " values for ", w.shape[0], " outputs");
        bias = b.as<int32_t>();
    }
    return w;
}

inline std::unique_ptr<ops::Op> qconv(const OpBuilderContext& c) {
    ops::QLinearParams q;
    const int32_t* bias;
    const Constant& w = int8_linear(c, 4, q, bias);
    const Window2D win = window_attributes(c.node, w.shape[1], w.shape[2]);
    const int64_t group = c.node.get_int("group", 1);
    XINFER_CHECK(group >= 1 && w.shape[0] % group == 0, ErrorCode::invalid_model, c.node.describe(), ": bad group ",
                 group);
    return std::make_unique<ops::Conv2D<int8_t>>(win, size_t(group), q, w.as<int8_t>(), bias, size_t(w.shape[0]),
                                                 size_t(w.shape[3]), c.kernels, c.node.name);
}

inline std::unique_ptr<ops::Op> qdense(const OpBuilderContext& c) {
    ops::QLinearParams q;
    const int32_t* bias;
    const Constant& w = int8_linear(c, 2, q, bias);
    return std::make_unique<ops::Dense<int8_t>>(q, w.as<int8_t>(), bias, size_t(w.shape[0]), size_t(w.shape[1]),
                                                c.kernels, c.node.name);
}

inline std::unique_ptr<ops::Op> qadd(const OpBuilderContext& c) {
    const Node& n = c.node;
    need_inputs(n, 2, 2);
    check_no_constant_operand(c);
    return std::make_unique<ops::Add<int8_t>>(quant_params(n, "a"), quant_params(n, "b"), quant_params(n, "y"),
                                              c.clamp(), c.kernels, n.name);
}

inline std::unique_ptr<ops::Op> qglobal_average_pool(const OpBuilderContext& c) {
    need_inputs(c.node, 1, 1);
    return std::make_unique<ops::GlobalAvgPool<int8_t>>(quant_params(c.node, "x"), quant_params(c.node, "y"),
                                                        c.kernels, c.node.name);
}

// --- fp32 ops

inline std::unique_ptr<ops::Op> conv(const OpBuilderContext& c) {
    const Node& n = c.node;
    need_inputs(n, 2, 3);
    const Constant& w = typed_constant(c, 1, DataType::f32, 4);
    ops::Conv2DParams p;
    p.window = window_attributes(n, w.shape[1], w.shape[2]);
    const int64_t group = n.get_int("group", 1);
    XINFER_CHECK(group >= 1 && group <= w.shape[0], ErrorCode::invalid_model, n.describe(), ": bad group ", group);
    p.groups = size_t(group);
    p.clamp = c.clamp();
    return std::make_unique<ops::Conv2D<float>>(p, w.as<float>(), optional_bias(c, 2, size_t(w.shape[0])),
                                                size_t(w.shape[0]), size_t(w.shape[3]), c.kernels, n.name);
}

inline std::unique_ptr<ops::Op> dense(const OpBuilderContext& c) {
    need_inputs(c.node, 2, 3);
    const Constant& w = typed_constant(c, 1, DataType::f32, 2);
    return std::make_unique<ops::Dense<float>>(w.as<float>(), optional_bias(c, 2, size_t(w.shape[0])),
                                               size_t(w.shape[0]), size_t(w.shape[1]), c.clamp(), c.kernels,
                                               c.node.name);
}

// Inference batch norm as a per-channel scale and shift.
inline std::unique_ptr<ops::Op> batch_normalization(const OpBuilderContext& c) {
    const Node& n = c.node;
    need_inputs(n, 5, 5);
    std::vector<float> v[4];
    for (int i = 0; i < 4; ++i) v[i] = typed_constant(c, size_t(i) + 1, DataType::f32, 1).to_floats();
    const size_t C = v[0].size();
    XINFER_CHECK(v[1].size() == C && v[2].size() == C && v[3].size() == C, ErrorCode::invalid_model, n.describe(),
                 ": gamma/beta/mean/var differ in length");
    const double eps = n.get_float("epsilon", 1e-5);
    std::vector<float> scale(C), shift(C);
    for (size_t k = 0; k < C; ++k) {
        const double s = double(v[0][k]) / std::sqrt(double(v[3][k]) + eps);
        scale[k] = float(s);
        shift[k] = float(double(v[1][k]) - double(v[2][k]) * s);
    }
    return std::make_unique<ops::ChannelAffine<float>>(scale, shift, c.clamp(), c.kernels, n.name);
}

inline std::unique_ptr<ops::Op> clip(const OpBuilderContext& c) {
    need_inputs(c.node, 1, 1);
    return ops::ChannelAffine<float>::clamp_only(c.clamp(), c.kernels, c.node.name);
}

inline std::unique_ptr<ops::Op> add(const OpBuilderContext& c) {
    need_inputs(c.node, 2, 2);
    check_no_constant_operand(c);
    return std::make_unique<ops::Add<float>>(c.clamp(), c.kernels, c.node.name);
}

inline std::unique_ptr<ops::Op> global_average_pool(const OpBuilderContext& c) {
    need_inputs(c.node, 1, 1);
    return std::make_unique<ops::GlobalAvgPool<float>>(c.kernels, c.node.name);
}

inline std::unique_ptr<ops::Op> softmax(const OpBuilderContext& c) {
    need_inputs(c.node, 1, 1);
    XINFER_CHECK(c.node.get_int("axis", -1) == -1, ErrorCode::unsupported_op, c.node.describe(),
                 ": only softmax over the last axis is supported");
    return std::make_unique<ops::Softmax<float>>(c.kernels, c.node.name);
}

// AveragePool and MaxPool.
inline std::unique_ptr<ops::Op> pool(const OpBuilderContext& c, kernels::f32::PoolMode mode) {
    const Node& n = c.node;
    need_inputs(n, 1, 1);
    const auto k = n.get_ints("kernel_shape", {});
    XINFER_CHECK(k.size() == 2, ErrorCode::invalid_model, n.describe(), ": kernel_shape needs 2 values");
    const Window2D w = window_attributes(n, k[0], k[1]);
    return std::make_unique<ops::Pool2D<float>>(w, mode, n.get_int("count_include_pad", 0) != 0, c.kernels, n.name);
}

inline std::unique_ptr<ops::Op> average_pool(const OpBuilderContext& c) {
    return pool(c, kernels::f32::PoolMode::average);
}

inline std::unique_ptr<ops::Op> max_pool(const OpBuilderContext& c) { return pool(c, kernels::f32::PoolMode::max); }

inline std::unique_ptr<ops::Op> reshape(const OpBuilderContext& c) {
    need_inputs(c.node, 1, 1);
    if (c.int8_input()) return std::make_unique<ops::Reshape<int8_t>>(c.node.get_ints("shape", {}), c.node.name);
    return std::make_unique<ops::Reshape<float>>(c.node.get_ints("shape", {}), c.node.name);
}

inline std::unique_ptr<ops::Op> flatten(const OpBuilderContext& c) {
    need_inputs(c.node, 1, 1);
    if (c.int8_input()) return std::make_unique<ops::Flatten<int8_t>>(c.node.name);
    return std::make_unique<ops::Flatten<float>>(c.node.name);
}

// --- generic tensor ops (imported graphs)

inline std::unique_ptr<ops::Op> transpose(const OpBuilderContext& c) {
    need_inputs(c.node, 1, 1);
    return std::make_unique<ops::Transpose<float>>(c.node.get_ints("perm", {}), c.node.name);
}

inline std::unique_ptr<ops::Op> binary(const OpBuilderContext& c) {
    using kernels::ref::BinaryOp;
    const Node& n = c.node;
    need_inputs(n, 2, 2);
    static const std::map<std::string, BinaryOp> kinds{
        {"add", BinaryOp::add}, {"sub", BinaryOp::sub}, {"mul", BinaryOp::mul}, {"div", BinaryOp::div},
        {"max", BinaryOp::max}, {"min", BinaryOp::min}, {"pow", BinaryOp::pow}};
    const std::string kind = n.get_string("op", "");
    XINFER_CHECK(kinds.count(kind), ErrorCode::unsupported_op, n.describe(), ": unknown binary op '", kind, "'");
    XINFER_CHECK(!(c.graph.is_constant(n.inputs[0]) && c.graph.is_constant(n.inputs[1])), ErrorCode::invalid_model,
                 n.describe(), ": both operands are constants (fold them)");
    return std::make_unique<ops::Binary<float>>(kinds.at(kind), const_operand(c, 0), const_operand(c, 1), n.name);
}

inline std::unique_ptr<ops::Op> unary(const OpBuilderContext& c) {
    using kernels::ref::UnaryOp;
    const Node& n = c.node;
    need_inputs(n, 1, 1);
    static const std::map<std::string, UnaryOp> kinds{
        {"relu", UnaryOp::relu},           {"sigmoid", UnaryOp::sigmoid}, {"hard_sigmoid", UnaryOp::hard_sigmoid},
        {"hard_swish", UnaryOp::hard_swish}, {"tanh", UnaryOp::tanh},     {"exp", UnaryOp::exp},
        {"neg", UnaryOp::neg},             {"abs", UnaryOp::abs},         {"sqrt", UnaryOp::sqrt},
        {"clip", UnaryOp::clip},           {"leaky_relu", UnaryOp::leaky_relu}};
    const std::string kind = n.get_string("op", "");
    XINFER_CHECK(kinds.count(kind), ErrorCode::unsupported_op, n.describe(), ": unknown unary op '", kind, "'");
    kernels::ref::UnaryParams p;
    p.alpha = float(n.get_float("alpha", p.alpha));
    p.beta = float(n.get_float("beta", p.beta));
    p.min = n.clip_min();
    p.max = n.clip_max();
    return std::make_unique<ops::Unary<float>>(kinds.at(kind), p, n.name);
}

inline std::unique_ptr<ops::Op> concat(const OpBuilderContext& c) {
    const Node& n = c.node;
    need_inputs(n, 1, kMaxGenericInputs);
    for (auto& in : n.inputs)
        XINFER_CHECK(!c.graph.is_constant(in), ErrorCode::unsupported_op, n.describe(), ": concatenating a constant");
    return std::make_unique<ops::Concat<float>>(n.inputs.size(), n.get_int("axis", 0), n.name);
}

inline std::unique_ptr<ops::Op> softmax_axes(const OpBuilderContext& c) {
    need_inputs(c.node, 1, 1);
    return std::make_unique<ops::SoftmaxAxes<float>>(c.node.get_int("axis", 0), c.node.get_int("count", 1),
                                                     c.node.name);
}

inline std::unique_ptr<ops::Op> matmul(const OpBuilderContext& c) {
    need_inputs(c.node, 2, 2);
    return std::make_unique<ops::MatMul<float>>(const_operand(c, 0), const_operand(c, 1), c.node.name);
}

inline std::unique_ptr<ops::Op> pad(const OpBuilderContext& c) {
    need_inputs(c.node, 1, 1);
    return std::make_unique<ops::Pad<float>>(c.node.get_ints("pads", {}), float(c.node.get_float("value", 0.0)),
                                             c.node.name);
}

}  // namespace builders

// The builder of every op kind, by Node::op.
inline const std::map<std::string, OpBuilder>& op_builders() {
    static const std::map<std::string, OpBuilder> table{
        // int8 ops
        {"Quantize", builders::quantize},
        {"Dequantize", builders::dequantize},
        {"QConv", builders::qconv},
        {"QDense", builders::qdense},
        {"QAdd", builders::qadd},
        {"QGlobalAveragePool", builders::qglobal_average_pool},
        // fp32 ops (Flatten and Reshape also int8)
        {"Conv", builders::conv},
        {"Dense", builders::dense},
        {"BatchNormalization", builders::batch_normalization},
        {"Clip", builders::clip},
        {"Add", builders::add},
        {"GlobalAveragePool", builders::global_average_pool},
        {"Softmax", builders::softmax},
        {"AveragePool", builders::average_pool},
        {"MaxPool", builders::max_pool},
        {"Reshape", builders::reshape},
        {"Flatten", builders::flatten},
        // generic tensor ops
        {"Transpose", builders::transpose},
        {"Binary", builders::binary},
        {"Unary", builders::unary},
        {"Concat", builders::concat},
        {"SoftmaxAxes", builders::softmax_axes},
        {"MatMul", builders::matmul},
        {"Pad", builders::pad},
    };
    return table;
}

// Builds the op for one node of the canonical op set (see graph.hpp). in_dtypes: the element types of the node's
// activation inputs (empty: all F32).
inline std::unique_ptr<ops::Op> make_op(const Node& n, const Graph& g, ops::KernelSet ks,
                                        const std::vector<DataType>& in_dtypes = {}) {
    const auto& table = op_builders();
    auto it = table.find(n.op);
    if (it == table.end()) XINFER_THROW(ErrorCode::unsupported_op, n.describe(), ": unsupported op '", n.op, "'");
    return it->second(OpBuilderContext{n, g, ks, in_dtypes});
}

}  // namespace xinfer
