#pragma once
// Graph passes: fold BatchNormalization into the preceding convolution or dense layer, and fuse a Clip
// (ReLU / ReLU6) into its producer's output clamp.
#include <cmath>
#include <map>
#include <set>
#include <string>

#include "xinfer/graph/graph.hpp"

namespace xinfer {

namespace detail {

inline std::map<std::string, int> count_uses(const Graph& g) {
    std::map<std::string, int> uses;
    for (auto& n : g.nodes)
        for (auto& in : n.inputs) ++uses[in];
    for (auto& out : g.outputs) uses[out.name] += 1000;  // graph outputs must keep their producer
    return uses;
}

// Renames every use of value `from` into `to`.
inline void rename_uses(Graph& g, const std::string& from, const std::string& to) {
    for (auto& n : g.nodes)
        for (auto& in : n.inputs)
            if (in == from) in = to;
}

inline std::string unique_constant_name(const Graph& g, const std::string& base) {
    std::string name = base;
    for (int i = 1; g.is_constant(name); ++i) name = base + "." + std::to_string(i);
    return name;
}

}  // namespace detail

// Conv/Dense -> BatchNormalization becomes one Conv/Dense with scaled weights and shifted bias.
inline int fold_batchnorm(Graph& g) {
    auto uses = detail::count_uses(g);
    std::map<std::string, size_t> producer;
    for (size_t i = 0; i < g.nodes.size(); ++i) producer[g.nodes[i].outputs[0]] = i;
    int folded = 0;
    std::vector<bool> erase(g.nodes.size(), false);
    for (size_t i = 0; i < g.nodes.size(); ++i) {
        Node& bn = g.nodes[i];
        if (bn.op != "BatchNormalization" || bn.inputs.size() != 5) continue;
        auto it = producer.find(bn.inputs[0]);
        if (it == producer.end() || uses[bn.inputs[0]] != 1) continue;
        Node& conv = g.nodes[it->second];
        if ((conv.op != "Conv" && conv.op != "Dense") || conv.has("clip_min") || conv.has("clip_max")) continue;
        const Constant& w = g.constant(conv.inputs[1], conv);
        const size_t cout = size_t(w.shape[0]);
        const auto gamma = g.constant(bn.inputs[1], bn).to_floats(), beta = g.constant(bn.inputs[2], bn).to_floats(),
                   mean = g.constant(bn.inputs[3], bn).to_floats(), var = g.constant(bn.inputs[4], bn).to_floats();
        XINFER_CHECK(gamma.size() == cout && beta.size() == cout && mean.size() == cout && var.size() == cout,
                     ErrorCode::shape_mismatch, bn.describe(), ": ", gamma.size(), " channels after ", conv.describe(),
                     " with ", cout, " outputs");
        const double eps = bn.get_float("epsilon", 1e-5);
        std::vector<float> wf = w.to_floats();
        std::vector<float> bias(cout, 0.0f);
        if (conv.inputs.size() > 2 && !conv.inputs[2].empty()) bias = g.constant(conv.inputs[2], conv).to_floats();
        const size_t per_out = wf.size() / cout;
        for (size_t c = 0; c < cout; ++c) {
            const double s = double(gamma[c]) / std::sqrt(double(var[c]) + eps);
            for (size_t k = 0; k < per_out; ++k) wf[c * per_out + k] = float(double(wf[c * per_out + k]) * s);
            bias[c] = float((double(bias[c]) - double(mean[c])) * s + double(beta[c]));
        }
        const std::string wname = detail::unique_constant_name(g, conv.name + "/folded_weight");
        const std::string bname = detail::unique_constant_name(g, conv.name + "/folded_bias");
        g.constants[wname] = Constant::from_floats(w.shape, wf);
        g.constants[bname] = Constant::from_floats({int64_t(cout)}, bias);
        conv.inputs.resize(3);
        conv.inputs[1] = wname;
        conv.inputs[2] = bname;
        // The conv now produces the BN's output value.
        conv.outputs[0] = bn.outputs[0];
        erase[i] = true;
        ++folded;
    }
    std::vector<Node> kept;
    for (size_t i = 0; i < g.nodes.size(); ++i)
        if (!erase[i]) kept.push_back(std::move(g.nodes[i]));
    g.nodes = std::move(kept);
    // Drop constants nothing uses any more.
    std::set<std::string> used;
    for (auto& n : g.nodes) used.insert(n.inputs.begin(), n.inputs.end());
    for (auto it = g.constants.begin(); it != g.constants.end();) it = used.count(it->first) ? std::next(it) : g.constants.erase(it);
    return folded;
}

// Conv/Dense/Add -> Clip becomes one node with a fused output clamp.
inline int fuse_activations(Graph& g) {
    int fused = 0;
    bool changed = true;
    while (changed) {
        changed = false;
        auto uses = detail::count_uses(g);
        std::map<std::string, size_t> producer;
        for (size_t i = 0; i < g.nodes.size(); ++i) producer[g.nodes[i].outputs[0]] = i;
        for (size_t i = 0; i < g.nodes.size(); ++i) {
            Node& clip = g.nodes[i];
            if (clip.op != "Clip") continue;
            auto it = producer.find(clip.inputs[0]);
            if (it == producer.end() || uses[clip.inputs[0]] != 1) continue;
            Node& prod = g.nodes[it->second];
            if (prod.op != "Conv" && prod.op != "Dense" && prod.op != "Add") continue;
            // Only finite bounds are stored (JSON has no infinity); absent means unbounded.
            const float lo = std::max(prod.clip_min(), clip.clip_min()), hi = std::min(prod.clip_max(), clip.clip_max());
            if (std::isfinite(lo)) prod.attrs["clip_min"] = double(lo);
            if (std::isfinite(hi)) prod.attrs["clip_max"] = double(hi);
            prod.outputs[0] = clip.outputs[0];
            g.nodes.erase(g.nodes.begin() + long(i));
            ++fused;
            changed = true;
            break;
        }
    }
    return fused;
}

// The standard pipeline applied when a model is loaded.
inline void optimize(Graph& g) {
    g.sort_and_validate();
    fold_batchnorm(g);
    fuse_activations(g);
    g.sort_and_validate();
}

}  // namespace xinfer
