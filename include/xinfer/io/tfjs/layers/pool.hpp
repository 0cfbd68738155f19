#pragma once
// Converters of the pooling layers: GlobalAveragePooling2D, AveragePooling2D and MaxPooling2D (NHWC).
#include <string>

#include "xinfer/io/tfjs/import_context.hpp"

namespace xinfer::io::tfjs {

// GlobalAveragePool, then (unless keepdims) a Reshape to [N, C].
inline Conversion convert_global_average_pooling(ImportContext& cx, const Layer& l, const Inputs& in) {
    Conversion r(l, in);
    const LayerConfig c = cx.config(l);
    cx.single_input(l, in);
    check_channels_last(c, r);
    const bool keepdims = c.bool_opt("keepdims", false);
    if (!r.buildable()) return r;
    cx.need_rank(l, in[0].shape, 3);
    const int64_t C = in[0].shape[2];
    const std::string pooled = keepdims ? l.name : l.name + "/pool";
    cx.add_node(make_node(pooled, "GlobalAveragePool", {in[0].value}));
    if (!keepdims) {
        Node reshape = make_node(l.name, "Reshape", {pooled});
        reshape.attrs["shape"] = std::vector<int64_t>{-1, C};
        cx.add_node(std::move(reshape));
    }
    return r.built(keepdims ? Shape{1, 1, C} : Shape{C});
}

// AveragePooling2D and MaxPooling2D with 'valid' or 'same' padding; strides default to the pool size.
inline Conversion convert_pooling(ImportContext& cx, const Layer& l, const Inputs& in) {
    Conversion r(l, in);
    const LayerConfig c = cx.config(l);
    cx.single_input(l, in);
    check_channels_last(c, r);
    const auto k = c.pair_opt("pool_size", {2, 2}, 1), s = c.pair_opt("strides", k, 1);
    const std::string padding = padding_mode(c, r);
    if (!r.buildable()) return r;
    cx.need_rank(l, in[0].shape, 3);
    const int64_t H = in[0].shape[0], W = in[0].shape[1];
    Pads pads;
    if (padding == "same") {
        same_pads(int(H), int(k[0]), int(s[0]), 1, true, pads.top, pads.bottom);
        same_pads(int(W), int(k[1]), int(s[1]), 1, true, pads.left, pads.right);
    }
    const int OH = Window2D::out_size(int(H), int(k[0]), int(s[0]), 1, pads.top + pads.bottom),
              OW = Window2D::out_size(int(W), int(k[1]), int(s[1]), 1, pads.left + pads.right);
    if (OH < 1 || OW < 1) cx.bad(where(l), ": the pool does not fit the ", H, "x", W, " input");
    Node n = make_node(l.name, l.cls == "MaxPooling2D" ? "MaxPool" : "AveragePool", {in[0].value});
    n.attrs["kernel_shape"] = std::vector<int64_t>{k[0], k[1]};
    n.attrs["strides"] = std::vector<int64_t>{s[0], s[1]};
    n.attrs["pads"] = std::vector<int64_t>{pads.top, pads.left, pads.bottom, pads.right};
    cx.emit(l, std::move(n), "linear");
    return r.built({OH, OW, in[0].shape[2]});
}

}  // namespace xinfer::io::tfjs
