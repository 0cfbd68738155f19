#pragma once
// Converters of the Keras core layers: InputLayer, Dropout, Activation, ReLU, Add, Dense, Flatten, Reshape.
#include <string>

#include "xinfer/io/tfjs/import_context.hpp"

namespace xinfer::io::tfjs {

// A graph input [-1, ...] from batch_input_shape (Keras 3: batch_shape). Float32 with fixed dimensions only.
inline Conversion convert_input_layer(ImportContext& cx, const Layer& l, const Inputs& in) {
    Conversion r(l, in);
    const LayerConfig c = cx.config(l);
    const json* shape = c.find("batch_input_shape");
    if (!shape) shape = c.find("batch_shape");
    if (!shape) cx.bad(c.ctx("batch_input_shape"), " is missing");
    cx.reader().to_array(*shape, c.ctx("batch_input_shape"));
    if (shape->size() < 2) cx.bad(c.ctx("batch_input_shape"), " must have a batch and at least one dimension");
    const std::string dtype = c.string_opt("dtype", "float32");
    if (dtype != "float32") r.report("input dtype '" + dtype + "'");
    if (c.bool_opt("sparse", false) || c.bool_opt("ragged", false)) r.report("sparse or ragged input");
    Shape& dims = r.output.shape;
    for (size_t d = 1; d < shape->size(); ++d) {
        if ((*shape)[d].is_null()) {
            r.report("dimension " + std::to_string(d) + " of the input is not fixed");
            dims.push_back(0);
        } else {
            dims.push_back(cx.reader().to_int((*shape)[d], c.ctx("batch_input_shape"), 1, kMaxDim));
        }
    }
    XINFER_TRY {
        checked_numel(dims);
    } XINFER_CATCH(const Error&, e) {
        cx.bad(where(l), ": ", e.what());
    }
    Shape s{-1};
    s.insert(s.end(), dims.begin(), dims.end());
    cx.graph().inputs.push_back({l.name, DataType::f32, s});
    r.output.known = r.unsupported.empty();
    return r;
}

// The identity: the layer's output is its input's value.
inline Conversion convert_dropout(ImportContext& cx, const Layer& l, const Inputs& in) {
    Conversion r(l, in);
    cx.single_input(l, in);
    r.output = in[0];
    r.output.is_pad = false;
    if (in[0].is_pad) r.output.known = false;  // reported at the padding layer
    return r;
}

// linear (the identity), relu, relu6 (Clip) or softmax.
inline Conversion convert_activation(ImportContext& cx, const Layer& l, const Inputs& in) {
    Conversion r(l, in);
    const LayerConfig c = cx.config(l);
    cx.single_input(l, in);
    c.require("activation");
    const std::string act = activation(c, r);
    if (!r.buildable()) return r;
    if (act == "linear") {
        r.output.value = in[0].value;
    } else if (act == "softmax") {
        cx.add_node(make_node(l.name, "Softmax", {in[0].value}));
    } else {
        Node n = make_node(l.name, "Clip", {in[0].value});
        n.attrs["clip_min"] = 0.0;
        if (act == "relu6") n.attrs["clip_max"] = 6.0;
        cx.add_node(std::move(n));
    }
    return r.built(in[0].shape);
}

// max(x, 0), optionally capped at max_value; a negative slope or a threshold is not supported.
inline Conversion convert_relu(ImportContext& cx, const Layer& l, const Inputs& in) {
    Conversion r(l, in);
    const LayerConfig c = cx.config(l);
    cx.single_input(l, in);
    const json* max = c.find("max_value");
    const double max_value = max ? c.number(*max, "max_value") : 0;
    if (max && max_value < 0) cx.bad(c.ctx("max_value"), " is negative");
    for (const char* key : {"negative_slope", "threshold"}) {
        const json* v = c.find(key);
        if (v && c.number(*v, key) != 0) r.report(std::string(key) + " " + v->dump());
    }
    if (!r.buildable()) return r;
    Node n = make_node(l.name, "Clip", {in[0].value});
    n.attrs["clip_min"] = 0.0;
    if (max) n.attrs["clip_max"] = max_value;
    cx.emit(l, std::move(n), "linear");
    return r.built(in[0].shape);
}

// A chain of binary Adds over inputs of one shape; the last produces the layer's value.
inline Conversion convert_add(ImportContext& cx, const Layer& l, const Inputs& in) {
    Conversion r(l, in);
    if (in.size() < 2) cx.bad(where(l), " needs at least 2 inputs, got ", in.size());
    if (!r.buildable()) return r;
    for (const Output* x : in.outputs)
        if (x->shape != in[0].shape)
            cx.bad(where(l), ": inputs differ in shape: [N, ", xinfer::to_string(in[0].shape).substr(1), " vs [N, ",
                   xinfer::to_string(x->shape).substr(1));
    std::string acc = in[0].value;
    for (size_t i = 1; i < in.size(); ++i) {
        const std::string name = i + 1 == in.size() ? l.name : l.name + "/" + std::to_string(i);
        cx.add_node(make_node(name, "Add", {acc, in[i].value}));
        acc = name;
    }
    return r.built(in[0].shape);
}

// A fully connected layer on [N, K] inputs; the Keras kernel [K][units] is stored transposed.
inline Conversion convert_dense(ImportContext& cx, const Layer& l, const Inputs& in) {
    Conversion r(l, in);
    const LayerConfig c = cx.config(l);
    cx.single_input(l, in);
    const int64_t units = c.int_opt("units", -1, 1, kMaxDim);
    if (units < 0) cx.bad(c.ctx("units"), " is missing");
    const bool bias = c.bool_opt("use_bias", true);
    const std::string act = activation(c, r);
    if (in.known && in[0].shape.size() != 1)
        r.report("Dense on an input of rank " + std::to_string(in[0].shape.size() + 1) + " (only [N, K] inputs)");
    if (!r.buildable()) return r;
    const int64_t K = in[0].shape[0];
    const auto kw = cx.weight(l, "kernel", {K, units});
    std::vector<float> w(kw.size());  // [K][N] -> [N][K]
    for (int64_t i = 0; i < K; ++i)
        for (int64_t o = 0; o < units; ++o) w[size_t(o * K + i)] = kw[size_t(i * units + o)];
    Node n = make_node(l.name, "Dense", {in[0].value, cx.add_constant(l.name + "/kernel", {units, K}, w)});
    if (bias) n.inputs.push_back(cx.add_constant(l.name + "/bias", {units}, cx.weight(l, "bias", {units})));
    cx.emit(l, std::move(n), act);
    return r.built({units});
}

inline Conversion convert_flatten(ImportContext& cx, const Layer& l, const Inputs& in) {
    Conversion r(l, in);
    cx.single_input(l, in);
    check_channels_last(cx.config(l), r);
    if (!r.buildable()) return r;
    cx.add_node(make_node(l.name, "Flatten", {in[0].value}));
    return r.built({int64_t(checked_numel(in[0].shape))});
}

// Reshape's target_shape: positive dimensions and at most one -1; sets `free_dim` to the -1's position (or -1).
inline Shape reshape_target(const ImportContext& cx, const LayerConfig& c, const json& target, int& free_dim) {
    Shape t;
    free_dim = -1;
    for (const json& d : target) {
        t.push_back(cx.reader().to_int(d, c.ctx("target_shape"), -1, kMaxDim));
        if (t.back() == 0) cx.bad(c.ctx("target_shape"), " has a zero dimension");
        if (t.back() == -1) {
            if (free_dim >= 0) cx.bad(c.ctx("target_shape"), " has more than one -1");
            free_dim = int(t.size() - 1);
        }
    }
    return t;
}

// A Reshape of the non-batch dimensions; the -1, if any, becomes the size that keeps the element count.
inline Conversion convert_reshape(ImportContext& cx, const Layer& l, const Inputs& in) {
    Conversion r(l, in);
    const LayerConfig c = cx.config(l);
    cx.single_input(l, in);
    const json& target =
        cx.reader().to_array(cx.reader().member(*l.config, "target_shape", where(l)), c.ctx("target_shape"));
    int free_dim = -1;
    Shape t = reshape_target(cx, c, target, free_dim);
    if (!r.buildable()) return r;
    const size_t n_in = checked_numel(in[0].shape);
    size_t n_fixed = 1;
    bool fits = true;
    for (int64_t d : t)
        if (d > 0 && fits) {
            fits = n_fixed <= n_in / size_t(d);
            n_fixed *= fits ? size_t(d) : 1;
        }
    fits = fits && (free_dim >= 0 ? n_in % n_fixed == 0 : n_fixed == n_in);
    if (!fits)
        cx.bad(where(l), ": cannot reshape [N, ", xinfer::to_string(in[0].shape).substr(1), " to ", target.dump());
    if (free_dim >= 0) t[size_t(free_dim)] = int64_t(n_in / n_fixed);
    Node n = make_node(l.name, "Reshape", {in[0].value});
    Shape s{-1};
    s.insert(s.end(), t.begin(), t.end());
    n.attrs["shape"] = s;
    cx.add_node(std::move(n));
    return r.built(t);
}

}  // namespace xinfer::io::tfjs
