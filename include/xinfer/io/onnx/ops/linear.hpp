#pragma once
// ONNX Gemm and MatMul: a Dense layer where the weights are constant, MatMul / Transpose / Binary nodes otherwise.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "xinfer/io/onnx/import_context.hpp"

namespace xinfer::io::onnx::detail {

// Gemm operand i (transposed when `trans`) as an IR value, and its shape.
inline Result<std::pair<std::string, Shape>> gemm_operand(ImportContext& ctx, const NodeProto& n, size_t i,
                                                          bool trans) {
    XINFER_ONNX_LET(v, ctx.input(n, i));
    XINFER_CHECK(v.shape.size() == 2 || (i == 2 && v.shape.size() < 2), ErrorCode::invalid_model, "Gemm operand ", i,
                 " has shape ", ::xinfer::to_string(v.shape));
    if (v.is_const) {
        ValueState c = v;
        if (trans) {
            std::vector<float> f = const_floats(v.constant), t(f.size());
            kernels::ref::transpose_f32(v.shape, {1, 0}, f.data(), t.data());
            c.constant = Constant::from_floats({v.shape[1], v.shape[0]}, t);
            c.shape = c.constant.shape;
        }
        return std::pair<std::string, Shape>{ctx.ir_constant(c, n.input[i]), c.shape};
    }
    XINFER_ONNX_TRY(ctx.activation(n, i));
    std::string name = ctx.as_onnx(n.input[i]);
    Shape s = ctx.values.at(n.input[i]).shape;
    if (trans) {
        const std::string t = ctx.fresh(n.input[i] + "/T");
        ctx.add_node(t, "Transpose", {name}, t, {{"perm", std::vector<int64_t>{1, 0}}});
        name = t;
        s = {s[1], s[0]};
    }
    return std::pair<std::string, Shape>{name, s};
}

// y + beta * C, C being Gemm's third operand.
inline Result<std::string> gemm_add_c(ImportContext& ctx, const NodeProto& n, std::string y, float beta) {
    XINFER_ONNX_LET(c_operand, gemm_operand(ctx, n, 2, false));
    const auto [cn, cs] = c_operand;
    std::string c = cn;
    if (beta != 1.0f) {
        const std::string k = ctx.fresh(n.name + "/beta"), c2 = ctx.fresh(n.input[2] + "/scaled");
        ctx.graph.constants[k] = Constant::from_floats({1}, {beta});
        if (ctx.graph.constants.count(cn)) {
            std::vector<float> f = ctx.graph.constants.at(cn).to_floats();
            for (auto& v : f) v *= beta;
            ctx.graph.constants[c2] = Constant::from_floats(cs, f);
        } else {
            ctx.add_node(c2, "Binary", {cn, k}, c2, {{"op", std::string("mul")}});
        }
        c = c2;
    }
    const std::string y3 = ctx.fresh(n.output[0]);
    ctx.add_node(y3, "Binary", {y, c}, y3, {{"op", std::string("add")}});
    return y3;
}

// Gemm with activation operands: Transpose / MatMul / Mul / Add nodes.
inline Status general_gemm(ImportContext& ctx, const NodeProto& n, float alpha, float beta, bool ta, bool tb) {
    XINFER_ONNX_LET(a_operand, gemm_operand(ctx, n, 0, ta));
    const auto [an, as] = a_operand;
    XINFER_ONNX_LET(b_operand, gemm_operand(ctx, n, 1, tb));
    const auto [bn, bs] = b_operand;
    if (as[1] < 0 || bs[0] < 0) return Status::unsupported("Gemm over a dynamic dimension");
    XINFER_CHECK(as[1] == bs[0], ErrorCode::shape_mismatch, "Gemm: A' ", ::xinfer::to_string(as), " and B' ",
                 ::xinfer::to_string(bs), " do not multiply");
    if (ctx.graph.constants.count(an) && ctx.graph.constants.count(bn))
        return Status::unsupported("both operands constant");
    std::string y = ctx.fresh(n.output[0] + "/matmul");
    ctx.add_node(y, "MatMul", {an, bn}, y);
    const Shape ys{as[0], bs[1]};
    if (alpha != 1.0f) {
        const std::string k = ctx.fresh(n.name + "/alpha"), y2 = ctx.fresh(n.output[0] + "/scaled");
        ctx.graph.constants[k] = Constant::from_floats({1}, {alpha});
        ctx.add_node(y2, "Binary", {y, k}, y2, {{"op", std::string("mul")}});
        y = y2;
    }
    if (ImportContext::has_input(n, 2) && beta != 0.0f) {
        XINFER_ONNX_LET(sum, gemm_add_c(ctx, n, y, beta));
        y = sum;
    }
    ctx.define(n.output[0], y, Layout::onnx, ys);
    return Status::converted();
}

// Gemm's C as the bias of a Dense layer with N outputs, or nothing when C does not broadcast as a row.
inline std::optional<std::vector<float>> gemm_bias(const ValueState& c, int64_t N, float beta) {
    const std::vector<float> cv = const_floats(c.constant);
    std::vector<float> bias(static_cast<size_t>(N));
    if (cv.size() == 1) std::fill(bias.begin(), bias.end(), beta * cv[0]);
    else if (int64_t(cv.size()) == N && (c.shape.size() == 1 || c.shape[0] == 1))
        for (int64_t i = 0; i < N; ++i) bias[size_t(i)] = beta * cv[size_t(i)];
    else return std::nullopt;
    return bias;
}

// y = alpha * A' B' + beta * C: a Dense layer when B (and C) are constants and A is not transposed.
inline Status convert_gemm(ImportContext& ctx, const NodeProto& n) {
    XINFER_ONNX_LET(a, ctx.activation(n, 0));
    const float alpha = attr_float(n, "alpha", 1.0f), beta = attr_float(n, "beta", 1.0f);
    const bool ta = attr_int(n, "transA", 0) != 0, tb = attr_int(n, "transB", 0) != 0;
    XINFER_ONNX_LET(b, ctx.input(n, 1));
    if (a.shape.size() != 2) XINFER_THROW(ErrorCode::shape_mismatch, "Gemm needs a 2-D A");
    if (!b.is_const || ta || b.shape.size() != 2) return general_gemm(ctx, n, alpha, beta, ta, tb);
    if (ImportContext::has_input(n, 2)) {
        XINFER_ONNX_LET(c, ctx.input(n, 2));
        if (!c.is_const) return general_gemm(ctx, n, alpha, beta, ta, tb);
    }
    const int64_t K = tb ? b.shape[1] : b.shape[0], N = tb ? b.shape[0] : b.shape[1];
    if (a.shape[1] < 0) return Status::unsupported("Gemm over a dynamic dimension");
    XINFER_CHECK(a.shape[1] == K, ErrorCode::shape_mismatch, "Gemm: A ", ::xinfer::to_string(a.shape), " vs B ",
                 ::xinfer::to_string(b.shape));
    std::vector<float> converted;
    const float* bw = b.constant.dtype == DataType::f32 ? b.constant.as<float>()
                                                         : (converted = const_floats(b.constant)).data();
    std::vector<std::string> inputs{ctx.as_onnx(n.input[0]), ctx.fresh(n.input[1] + "/dense")};
    ctx.graph.constants[inputs[1]] = Constant::make_f32({N, K}, [&](float* w) {
        for (int64_t nn = 0; nn < N; ++nn)
            for (int64_t k = 0; k < K; ++k)
                w[size_t(nn * K + k)] = alpha * (tb ? bw[size_t(nn * K + k)] : bw[size_t(k * N + nn)]);
    });
    if (ImportContext::has_input(n, 2)) {
        const auto bias = gemm_bias(ctx.values.at(n.input[2]), N, beta);
        if (!bias) return general_gemm(ctx, n, alpha, beta, ta, tb);  // the unused Dense weights are dropped later
        inputs.push_back(ctx.fresh(n.input[2] + "/bias"));
        ctx.graph.constants[inputs[2]] = Constant::from_floats({N}, *bias);
    }
    const std::string out = ctx.fresh(n.output[0]);
    ctx.add_node(ImportContext::node_name(n, out), "Dense", inputs, out);
    ctx.define(n.output[0], out, Layout::onnx, {a.shape[0], N});
    return Status::converted();
}

inline Status convert_matmul(ImportContext& ctx, const NodeProto& n) {
    XINFER_ONNX_LET(a0, ctx.input(n, 0));
    XINFER_ONNX_LET(b0, ctx.input(n, 1));
    if (a0.shape.size() < 2 || b0.shape.size() < 2) return Status::unsupported("1-D MatMul operands");
    if (!a0.is_const) XINFER_ONNX_TRY(ctx.activation(n, 0));
    if (!b0.is_const) XINFER_ONNX_TRY(ctx.activation(n, 1));
    const ValueState& a = ctx.values.at(n.input[0]);
    const ValueState& b = ctx.values.at(n.input[1]);
    Shape y = logical_broadcast(Shape(a.shape.begin(), a.shape.end() - 2),
                                Shape(b.shape.begin(), b.shape.end() - 2), "MatMul");
    y.push_back(a.shape[a.shape.size() - 2]);
    y.push_back(b.shape.back());
    const std::string out = ctx.fresh(n.output[0]);
    if (!a.is_const && b.is_const && a.shape.size() == 2 && b.shape.size() == 2) {
        if (a.shape[1] < 0) return Status::unsupported("MatMul over a dynamic dimension");
        const int64_t K = b.shape[0], N = b.shape[1];
        std::vector<float> bw = const_floats(b.constant), w(size_t(N * K));
        for (int64_t nn = 0; nn < N; ++nn)
            for (int64_t k = 0; k < K; ++k) w[size_t(nn * K + k)] = bw[size_t(k * N + nn)];
        const std::string wn = ctx.fresh(n.input[1] + "/dense");
        ctx.graph.constants[wn] = Constant::from_floats({N, K}, w);
        ctx.add_node(ImportContext::node_name(n, out), "Dense", {ctx.as_onnx(n.input[0]), wn}, out);
    } else {
        const std::string an = a.is_const ? ctx.ir_constant(a, n.input[0]) : ctx.as_onnx(n.input[0]);
        const std::string bn = b.is_const ? ctx.ir_constant(b, n.input[1]) : ctx.as_onnx(n.input[1]);
        ctx.add_node(ImportContext::node_name(n, out), "MatMul", {an, bn}, out);
    }
    ctx.define(n.output[0], out, Layout::onnx, y);
    return Status::converted();
}

}  // namespace xinfer::io::onnx::detail
