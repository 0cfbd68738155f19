#pragma once
// Converters of the convolution layers: ZeroPadding2D (folded into the one 'valid' Conv2D or DepthwiseConv2D it
// feeds), Conv2D, DepthwiseConv2D and BatchNormalization. Layout NHWC; kernels are reordered to [Cout][KH][KW][Cin].
#include <string>
#include <vector>

#include "xinfer/io/tfjs/import_context.hpp"

namespace xinfer::io::tfjs {

// ZeroPadding2D's padding: an int, [rows, cols] or [[top, bottom], [left, right]]; absent means 1 on every side.
inline Pads zero_padding(const ImportContext& cx, const LayerConfig& c) {
    const json* p = c.find("padding");
    Pads pads{1, 1, 1, 1};
    if (!p) return pads;
    const std::string pc = c.ctx("padding");
    auto v = [&](const json& j) { return int(cx.reader().to_int(j, pc, 0, kMaxWindow)); };
    if (!p->is_array()) {
        pads.top = pads.bottom = pads.left = pads.right = v(*p);
    } else if (p->size() == 2 && (*p)[0].is_array() && (*p)[1].is_array()) {
        if ((*p)[0].size() != 2 || (*p)[1].size() != 2) cx.bad(pc, " must be [[top, bottom], [left, right]]");
        pads = {v((*p)[0][0]), v((*p)[1][0]), v((*p)[0][1]), v((*p)[1][1])};
    } else if (p->size() == 2) {
        pads.top = pads.bottom = v((*p)[0]);
        pads.left = pads.right = v((*p)[1]);
    } else {
        cx.bad(pc, " must be an int, [rows, cols] or [[top, bottom], [left, right]]");
    }
    return pads;
}

// No node: the output is the input marked with the padding, which its consumer convolution takes over.
inline Conversion convert_zero_padding(ImportContext& cx, const Layer& l, const Inputs& in) {
    Conversion r(l, in);
    const LayerConfig c = cx.config(l);
    cx.single_input(l, in);
    check_channels_last(c, r);
    const Pads pads = zero_padding(cx, c);
    const Layer* next = cx.topology().sole_consumer(l.name);
    const json* next_padding = next ? JsonReader::optional(*next->config, "padding") : nullptr;
    const bool foldable = next && (next->cls == "Conv2D" || next->cls == "DepthwiseConv2D") &&
                          (!next_padding || *next_padding == "valid");
    if (!foldable)
        r.report("zero padding is supported only when it feeds exactly one 'valid' Conv2D or DepthwiseConv2D");
    if (!r.buildable()) return r;
    cx.need_rank(l, in[0].shape, 3);
    r.output = in[0];
    r.output.is_pad = true;
    r.output.pads = pads;
    r.output.shape[0] += pads.top + pads.bottom;
    r.output.shape[1] += pads.left + pads.right;
    r.output.known = true;
    return r;
}

// The config of a Conv2D or DepthwiseConv2D layer.
struct ConvParams {
    bool depthwise = false;
    int64_t filters = 0;  // Conv2D
    int64_t mult = 0;     // DepthwiseConv2D: the depth multiplier
    LayerConfig::Pair k{}, s{}, d{};
    std::string padding, act;
    bool bias = true;
};

inline ConvParams read_conv_params(const ImportContext& cx, const LayerConfig& c, Conversion& r) {
    ConvParams p;
    p.depthwise = c.layer().cls == "DepthwiseConv2D";
    check_channels_last(c, r);
    p.filters = p.depthwise ? 0 : c.int_opt("filters", -1, 1, kMaxDim);
    if (!p.depthwise && p.filters < 0) cx.bad(c.ctx("filters"), " is missing");
    p.mult = p.depthwise ? c.int_opt("depth_multiplier", 1, 1, kMaxDim) : 0;
    c.require("kernel_size");
    p.k = c.pair_opt("kernel_size", {1, 1}, 1);
    p.s = c.pair_opt("strides", {1, 1}, 1);
    p.d = c.pair_opt("dilation_rate", {1, 1}, 1);
    p.padding = padding_mode(c, r);
    if (p.d[0] * (p.k[0] - 1) >= kMaxWindow || p.d[1] * (p.k[1] - 1) >= kMaxWindow)
        cx.bad(where(c.layer()), ": the dilated kernel is too large");
    if (c.int_opt("groups", 1, 1, kMaxDim) != 1) r.report("grouped convolution");
    p.bias = c.bool_opt("use_bias", true);
    p.act = activation(c, r);
    return p;
}

// The convolution's pads: a folded ZeroPadding2D's, plus SAME padding (TensorFlow's: the odd pixel at the end).
inline Pads conv_pads(const ConvParams& p, const Output& x) {
    const int64_t H = x.shape[0], W = x.shape[1];
    Pads pads = x.is_pad ? x.pads : Pads{};
    if (p.padding == "same") {
        same_pads(int(H), int(p.k[0]), int(p.s[0]), int(p.d[0]), true, pads.top, pads.bottom);
        same_pads(int(W), int(p.k[1]), int(p.s[1]), int(p.d[1]), true, pads.left, pads.right);
    }
    return pads;
}

// The kernel as a [Cout][KH][KW][Cin] constant (Cin = 1 for depthwise); returns its name.
inline std::string conv_kernel(ImportContext& cx, const Layer& l, const ConvParams& p, int64_t C, int64_t cout) {
    const auto k = p.k;
    std::vector<float> w;
    Shape w_shape;
    if (p.depthwise) {  // [KH][KW][C][M] -> [C*M][KH][KW][1], output channel c*M+m
        const auto kw = cx.weight(l, "depthwise_kernel", {k[0], k[1], C, p.mult});
        w.resize(kw.size());
        for (int64_t y = 0; y < k[0]; ++y)
            for (int64_t x = 0; x < k[1]; ++x)
                for (int64_t o = 0; o < cout; ++o)
                    w[size_t((o * k[0] + y) * k[1] + x)] = kw[size_t((y * k[1] + x) * cout + o)];
        w_shape = {cout, k[0], k[1], 1};
    } else {  // [KH][KW][Cin][Cout] -> [Cout][KH][KW][Cin]
        const auto kw = cx.weight(l, "kernel", {k[0], k[1], C, cout});
        w.resize(kw.size());
        const int64_t taps = k[0] * k[1];
        for (int64_t t = 0; t < taps; ++t)
            for (int64_t i = 0; i < C; ++i)
                for (int64_t o = 0; o < cout; ++o)
                    w[size_t((o * taps + t) * C + i)] = kw[size_t((t * C + i) * cout + o)];
        w_shape = {cout, k[0], k[1], C};
    }
    return cx.add_constant(l.name + (p.depthwise ? "/depthwise_kernel" : "/kernel"), w_shape, w);
}

// Conv2D and DepthwiseConv2D (a Conv with group = C), bias and activation.
inline Conversion convert_conv(ImportContext& cx, const Layer& l, const Inputs& in) {
    Conversion r(l, in);
    const LayerConfig c = cx.config(l);
    cx.single_input(l, in);
    const ConvParams p = read_conv_params(cx, c, r);
    if (!r.buildable()) return r;
    cx.need_rank(l, in[0].shape, 3);
    const int64_t H = in[0].shape[0], W = in[0].shape[1], C = in[0].shape[2];
    const Pads pads = conv_pads(p, in[0]);
    // An input from ZeroPadding2D already has the padded size.
    const bool padded = in[0].is_pad;
    const int extra_h = padded ? 0 : pads.top + pads.bottom, extra_w = padded ? 0 : pads.left + pads.right;
    const int OH = Window2D::out_size(int(H), int(p.k[0]), int(p.s[0]), int(p.d[0]), extra_h),
              OW = Window2D::out_size(int(W), int(p.k[1]), int(p.s[1]), int(p.d[1]), extra_w);
    if (OH < 1 || OW < 1) cx.bad(where(l), ": the kernel does not fit the ", H, "x", W, " input");
    const int64_t cout = p.depthwise ? C * p.mult : p.filters;
    if (cout > kMaxDim) cx.bad(where(l), ": too many output channels");
    Node n = make_node(l.name, "Conv", {in[0].value, conv_kernel(cx, l, p, C, cout)});
    if (p.bias) n.inputs.push_back(cx.add_constant(l.name + "/bias", {cout}, cx.weight(l, "bias", {cout})));
    n.attrs["strides"] = std::vector<int64_t>{p.s[0], p.s[1]};
    n.attrs["dilations"] = std::vector<int64_t>{p.d[0], p.d[1]};
    n.attrs["pads"] = std::vector<int64_t>{pads.top, pads.left, pads.bottom, pads.right};
    if (p.depthwise) n.attrs["group"] = C;
    cx.emit(l, std::move(n), p.act);
    return r.built({OH, OW, cout});
}

// Inference-mode batch normalization over the last axis; gamma and beta default to 1 and 0 when not learned.
inline Conversion convert_batch_norm(ImportContext& cx, const Layer& l, const Inputs& in) {
    Conversion r(l, in);
    const LayerConfig c = cx.config(l);
    cx.single_input(l, in);
    const json* axis = c.find("axis");
    if (axis && axis->is_array() && axis->size() == 1) axis = &(*axis)[0];
    const int64_t a = axis ? cx.reader().to_int(*axis, c.ctx("axis"), -64, 64) : -1;
    if (in.known && a != -1 && a != int64_t(in[0].shape.size()))
        r.report("axis " + axis->dump() + " (only the last axis)");
    const json* epsilon = c.find("epsilon");
    const double eps = epsilon ? c.number(*epsilon, "epsilon") : 1e-3;
    if (eps < 0) cx.bad(c.ctx("epsilon"), " is negative");
    const bool center = c.bool_opt("center", true), scale = c.bool_opt("scale", true);
    if (!r.buildable()) return r;
    if (in[0].shape.empty()) cx.bad(where(l), ": the input has no channel axis");
    const int64_t C = in[0].shape.back();
    auto param = [&](const char* name, bool present, float fallback) {
        const std::vector<float> v = present ? cx.weight(l, name, {C}) : std::vector<float>(size_t(C), fallback);
        return cx.add_constant(l.name + "/" + name, {C}, v);
    };
    const std::string mean = param("moving_mean", true, 0.0f), var = param("moving_variance", true, 0.0f);
    Node n = make_node(l.name, "BatchNormalization",
                       {in[0].value, param("gamma", scale, 1.0f), param("beta", center, 0.0f), mean, var});
    n.attrs["epsilon"] = eps;
    cx.emit(l, std::move(n), "linear");
    return r.built(in[0].shape);
}

}  // namespace xinfer::io::tfjs
