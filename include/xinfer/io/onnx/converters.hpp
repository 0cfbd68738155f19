#pragma once
// The table of ONNX ops the importer converts: op_type -> the converters to try, in order. A converter either
// converts the node, declines (the next one is tried: e.g. an int8 fusion whose pattern does not match, before the
// fp32 converter of the op), or says why the node is unsupported. Adding an op: one converter in ops/, one row here.
#include <map>
#include <string>
#include <vector>

#include "xinfer/io/onnx/import_context.hpp"
#include "xinfer/io/onnx/ops/conv.hpp"
#include "xinfer/io/onnx/ops/elementwise.hpp"
#include "xinfer/io/onnx/ops/linear.hpp"
#include "xinfer/io/onnx/ops/qdq_fusion.hpp"
#include "xinfer/io/onnx/ops/qlinear.hpp"
#include "xinfer/io/onnx/ops/quantize.hpp"
#include "xinfer/io/onnx/ops/shape.hpp"

namespace xinfer::io::onnx::detail {

struct OpConverter {
    enum Flags : unsigned {
        none = 0,
        microsoft = 1,  // also imported from the com.microsoft domain
        layer = 2,      // keeps its own copy of its constant inputs (the importer may free the ONNX-order one)
    };
    std::vector<Converter> steps;  // tried in order until one does not decline
    unsigned flags = none;
};

inline const std::map<std::string, OpConverter>& converters() {
    using F = OpConverter::Flags;
    static const std::map<std::string, OpConverter> table{
        // shapes and constants (ops/shape.hpp; constant inputs fold first: ops/constant_folding.hpp)
        {"Constant", {{convert_constant}}},
        {"Shape", {{convert_shape}}},
        {"Reshape", {{convert_reshape}}},
        {"Flatten", {{convert_reshape}}},
        {"Squeeze", {{convert_reshape}}},
        {"Unsqueeze", {{convert_reshape}}},
        {"Identity", {{convert_identity}}},
        {"Dropout", {{convert_identity}}},
        {"Cast", {{convert_cast}}},
        {"Transpose", {{convert_on_integers, convert_transpose}}},
        {"Concat", {{convert_on_integers, convert_concat}}},
        {"Pad", {{convert_on_integers, convert_pad}}},
        // convolution and pooling (ops/conv.hpp), after their int8 fusions (ops/qdq_fusion.hpp)
        {"Conv", {{fuse_conv, convert_conv}, F::layer}},
        {"BatchNormalization", {{convert_batch_norm}}},
        {"GlobalAveragePool", {{fuse_global_pool, convert_global_pool}}},
        {"AveragePool", {{fuse_global_pool, convert_pool}}},
        {"MaxPool", {{convert_on_integers, convert_pool}}},
        // matrix products (ops/linear.hpp)
        {"Gemm", {{fuse_dense, convert_gemm}, F::layer}},
        {"MatMul", {{fuse_dense, convert_matmul}, F::layer}},
        // element-wise (ops/elementwise.hpp)
        {"Relu", {{convert_clip}}},
        {"Clip", {{convert_clip}}},
        {"LeakyRelu", {{convert_unary}}},
        {"Sigmoid", {{convert_unary}}},
        {"HardSigmoid", {{convert_unary}}},
        {"HardSwish", {{convert_unary}}},
        {"Tanh", {{convert_unary}}},
        {"Exp", {{convert_unary}}},
        {"Neg", {{convert_unary}}},
        {"Abs", {{convert_unary}}},
        {"Sqrt", {{convert_unary}}},
        {"Add", {{fuse_add, convert_binary}}},
        {"Sub", {{convert_binary}}},
        {"Mul", {{convert_binary}}},
        {"Div", {{convert_binary}}},
        {"Max", {{convert_binary}}},
        {"Min", {{convert_binary}}},
        {"Pow", {{convert_binary}}},
        {"Softmax", {{convert_softmax}}},
        // quantization (ops/quantize.hpp, ops/qlinear.hpp)
        {"QuantizeLinear", {{convert_quantize_linear}, F::microsoft}},
        {"DequantizeLinear", {{convert_dequantize_linear}, F::microsoft}},
        {"DynamicQuantizeLinear", {{convert_dynamic_quantize_linear}}},
        {"ConvInteger", {{convert_integer_conv_or_matmul}}},
        {"MatMulInteger", {{convert_integer_conv_or_matmul}}},
        {"QLinearConv", {{convert_qlinear_conv}}},
        {"QLinearMatMul", {{convert_qlinear_matmul}}},
        {"QLinearAdd", {{convert_qlinear_add}, F::microsoft}},
        {"QLinearGlobalAveragePool", {{convert_qlinear_global_pool}, F::microsoft}},
    };
    return table;
}

// The table's row for `op_type`, or null.
inline const OpConverter* find_converter(const std::string& op_type) {
    const auto& table = converters();
    const auto it = table.find(op_type);
    return it == table.end() ? nullptr : &it->second;
}

}  // namespace xinfer::io::onnx::detail
