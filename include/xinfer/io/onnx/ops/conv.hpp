#pragma once
// ONNX Conv, BatchNormalization and the pooling ops: NHWC IR ops with OHWI weights.
#include <string>
#include <vector>

#include "xinfer/io/onnx/import_context.hpp"

namespace xinfer::io::onnx::detail {

// Window attributes shared by Conv and pooling: kernel, strides, dilations, explicit or automatic pads.
inline Result<Window2D> window(const NodeProto& n, const Shape& x, int64_t kh, int64_t kw) {
    Window2D w;
    const auto strides = attr_ints(n, "strides", {1, 1}), dil = attr_ints(n, "dilations", {1, 1});
    if (strides.size() != 2 || dil.size() != 2) return Status::unsupported("only 2-D windows are supported");
    auto small = [](int64_t v) {
        if (v < 0 || v > (1 << 20)) XINFER_THROW(ErrorCode::invalid_model, "window attribute out of range");
        return int(v);
    };
    w.kernel_h = small(kh), w.kernel_w = small(kw);
    w.stride_h = small(strides[0]), w.stride_w = small(strides[1]);
    w.dilation_h = small(dil[0]), w.dilation_w = small(dil[1]);
    const std::string auto_pad = attr_string(n, "auto_pad", "NOTSET");
    if (auto_pad == "NOTSET") {
        const auto p = attr_ints(n, "pads", {0, 0, 0, 0});
        if (p.size() != 4) return Status::unsupported("pads of a 2-D window need 4 values");
        w.pads = {small(p[0]), small(p[1]), small(p[2]), small(p[3])};
    } else if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
        if (x[2] < 0 || x[3] < 0) return Status::unsupported("auto_pad with a dynamic spatial size");
        const bool upper = auto_pad == "SAME_UPPER";
        same_pads(int(x[2]), w.kernel_h, w.stride_h, w.dilation_h, upper, w.pads.top, w.pads.bottom);
        same_pads(int(x[3]), w.kernel_w, w.stride_w, w.dilation_w, upper, w.pads.left, w.pads.right);
    } else if (auto_pad != "VALID") {
        return Status::unsupported("auto_pad " + auto_pad);
    }
    w.validate();
    return w;
}

// The logical output shape; a free (-1) height or width stays free (the executor computes it per input size).
inline Shape window_output(const Shape& x, const Window2D& w, int64_t channels) {
    const int oh = x[2] < 0 ? -1 : w.out_h(int(x[2])), ow = x[3] < 0 ? -1 : w.out_w(int(x[3]));
    XINFER_CHECK(oh != 0 && ow != 0 && oh >= -1 && ow >= -1, ErrorCode::shape_mismatch, "input ",
                 ::xinfer::to_string(x), " smaller than the window");
    return {x[0], channels, oh, ow};
}

// Where a Conv reads its input and how: a pending zero Pad before it is folded into the window.
struct ConvGeometry {
    std::string src;  // the ONNX value read (past a folded Pad)
    Window2D win;
    int64_t group = 1;
    Shape y;          // logical output shape (NCHW)
};

// The geometry of Conv-like node n (input 0: the activation) with OIHW weight shape w.
inline Result<ConvGeometry> conv_geometry(ImportContext& ctx, const NodeProto& n, const Shape& w) {
    XINFER_ONNX_LET(xin, ctx.input(n, 0));
    if (xin.is_const) return Status::unsupported("constant input");
    Pads folded;
    std::string src = n.input[0];
    if (xin.pending_pad) {
        folded = xin.pads;
        src = xin.pad_source;
    }
    const ValueState& x = ctx.values.at(src);
    if (x.shape.size() != 4) return Status::unsupported("input of rank " + std::to_string(x.shape.size()));
    if (x.shape[1] < 0) return Status::unsupported("input with a dynamic channel count");
    Shape padded = x.shape;
    if (padded[2] >= 0) padded[2] += folded.top + folded.bottom;
    if (padded[3] >= 0) padded[3] += folded.left + folded.right;
    XINFER_ONNX_LET(win, window(n, padded, w[2], w[3]));
    if (attr(n, "kernel_shape") && attr_ints(n, "kernel_shape", {}) != std::vector<int64_t>{w[2], w[3]})
        XINFER_THROW(ErrorCode::invalid_model, "kernel_shape disagrees with the weight");
    win.pads.top += folded.top, win.pads.left += folded.left;
    win.pads.bottom += folded.bottom, win.pads.right += folded.right;
    const int64_t group = attr_int(n, "group", 1);
    const int64_t cout = w[0], cin_g = w[1];
    XINFER_CHECK(group >= 1 && cin_g * group == x.shape[1] && cout % group == 0, ErrorCode::shape_mismatch,
                 "weight ", ::xinfer::to_string(w), " with group ", group, " does not fit input ",
                 ::xinfer::to_string(x.shape));
    return ConvGeometry{src, win, group, window_output(x.shape, win, cout)};
}

inline std::map<std::string, Attribute> conv_attributes(const ConvGeometry& c) {
    const Window2D& w = c.win;
    return {{"strides", std::vector<int64_t>{w.stride_h, w.stride_w}},
            {"dilations", std::vector<int64_t>{w.dilation_h, w.dilation_w}},
            {"pads", std::vector<int64_t>{w.pads.top, w.pads.left, w.pads.bottom, w.pads.right}},
            {"group", c.group}};
}

inline Status convert_conv(ImportContext& ctx, const NodeProto& n) {
    XINFER_ONNX_LET(w, ctx.const_input(n, 1, "the weight"));
    if (w.shape.size() != 4)
        return Status::unsupported("only 2-D convolution is supported (weight rank " + std::to_string(w.shape.size()) +
                                   ")");
    if (w.dtype != DataType::f32) return Status::unsupported("non-float weights");
    XINFER_ONNX_LET(geo, conv_geometry(ctx, n, w.shape));
    const ElemType elem = ctx.values.at(geo.src).elem;
    if (elem != ElemType::float32)
        return Status::unsupported("input '" + geo.src + "' is a " + to_string(elem) + " tensor");
    const int64_t cout = w.shape[0], cin_g = w.shape[1];
    // OIHW -> OHWI
    const std::string wname = ctx.fresh(n.input[1] + "/ohwi");
    ctx.graph.constants[wname] = Constant::make_f32({cout, w.shape[2], w.shape[3], cin_g}, [&](float* ohwi) {
        kernels::ref::transpose_f32(w.shape, {0, 2, 3, 1}, w.as<float>(), ohwi);
    });
    std::vector<std::string> inputs{ctx.as_nhwc(geo.src), wname};
    if (ImportContext::has_input(n, 2)) {
        XINFER_ONNX_LET(b, ctx.const_input(n, 2, "the bias"));
        if (b.numel() != size_t(cout)) XINFER_THROW(ErrorCode::invalid_model, "bias length mismatch");
        inputs.push_back(ctx.ir_constant(ctx.values.at(n.input[2]), n.input[2]));
    }
    const std::string out = ctx.fresh(n.output[0]);
    ctx.add_node(ImportContext::node_name(n, out), "Conv", inputs, out, conv_attributes(geo));
    ctx.define(n.output[0], out, Layout::nhwc, geo.y);
    return Status::converted();
}

inline Status convert_batch_norm(ImportContext& ctx, const NodeProto& n) {
    XINFER_ONNX_TRY(ImportContext::check_outputs(n, 1));
    if (attr_int(n, "training_mode", 0)) return Status::unsupported("training mode");
    XINFER_ONNX_LET(x, ctx.activation(n, 0));
    const Shape shape = x.shape;
    std::vector<std::string> inputs;
    if (shape.size() == 4) inputs.push_back(ctx.as_nhwc(n.input[0]));
    else if (shape.size() == 2) inputs.push_back(ctx.as_onnx(n.input[0]));
    else return Status::unsupported("input of rank " + std::to_string(shape.size()));
    if (shape[1] < 0) return Status::unsupported("input with a dynamic channel count");
    for (size_t i = 1; i <= 4; ++i) {
        XINFER_ONNX_LET(c, ctx.const_input(n, i, "scale/bias/mean/var"));
        if (int64_t(c.numel()) != shape[1]) XINFER_THROW(ErrorCode::invalid_model, "statistics length mismatch");
        inputs.push_back(ctx.ir_constant(ctx.values.at(n.input[i]), n.input[i]));
    }
    const std::string out = ctx.fresh(n.output[0]);
    ctx.add_node(ImportContext::node_name(n, out), "BatchNormalization", inputs, out,
                 {{"epsilon", double(attr_float(n, "epsilon", 1e-5f))}});
    ctx.define(n.output[0], out, shape.size() == 4 ? Layout::nhwc : Layout::onnx, shape);
    return Status::converted();
}

inline Status convert_global_pool(ImportContext& ctx, const NodeProto& n) {
    XINFER_ONNX_LET(x, ctx.activation(n, 0));
    if (x.shape.size() != 4) return Status::unsupported("input of rank " + std::to_string(x.shape.size()));
    const Shape s{x.shape[0], x.shape[1], 1, 1};
    const std::string in = ctx.as_nhwc(n.input[0]), out = ctx.fresh(n.output[0]);
    ctx.add_node(ImportContext::node_name(n, out), "GlobalAveragePool", {in}, out);
    ctx.define(n.output[0], out, Layout::nhwc, s);
    return Status::converted();
}

// AveragePool and MaxPool.
inline Status convert_pool(ImportContext& ctx, const NodeProto& n) {
    XINFER_ONNX_TRY(ImportContext::check_outputs(n, 1));
    XINFER_ONNX_LET(x, ctx.activation(n, 0));
    if (x.shape.size() != 4) return Status::unsupported("only 2-D pooling is supported");
    const auto k = attr_ints(n, "kernel_shape", {});
    if (k.size() != 2) return Status::unsupported("only 2-D pooling is supported");
    if (attr_int(n, "ceil_mode", 0)) return Status::unsupported("ceil_mode = 1");
    if (attr_int(n, "storage_order", 0)) return Status::unsupported("storage_order = 1");
    const Shape xs = x.shape;
    if (xs[1] < 0) return Status::unsupported("input with a dynamic channel count");
    XINFER_ONNX_LET(w, window(n, xs, k[0], k[1]));
    if (n.op_type == "AveragePool" && (w.dilation_h != 1 || w.dilation_w != 1))
        return Status::unsupported("dilated average pooling");
    const std::string in = ctx.as_nhwc(n.input[0]), out = ctx.fresh(n.output[0]);
    ctx.add_node(ImportContext::node_name(n, out), n.op_type, {in}, out,
                 {{"kernel_shape", std::vector<int64_t>{k[0], k[1]}},
                  {"strides", std::vector<int64_t>{w.stride_h, w.stride_w}},
                  {"dilations", std::vector<int64_t>{w.dilation_h, w.dilation_w}},
                  {"pads", std::vector<int64_t>{w.pads.top, w.pads.left, w.pads.bottom, w.pads.right}},
                  {"count_include_pad", attr_int(n, "count_include_pad", 0)}});
    ctx.define(n.output[0], out, Layout::nhwc, window_output(xs, w, xs[1]));
    return Status::converted();
}

}  // namespace xinfer::io::onnx::detail
