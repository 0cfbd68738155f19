#pragma once
// What the layer converters share: the graph being built, each converted layer's output (value name and shape),
// the weights, and the result type through which a converter reports what it does not support.
#include <map>
#include <string>
#include <vector>

#include "xinfer/graph/graph.hpp"
#include "xinfer/io/tfjs/layer_config.hpp"
#include "xinfer/io/tfjs/topology.hpp"
#include "xinfer/io/tfjs/weights.hpp"

namespace xinfer::io::tfjs {

// A layer's result: its graph value and its shape without the batch dimension.
struct Output {
    std::string value;
    Shape shape;
    bool known = false;   // false after an unsupported or skipped layer
    bool is_pad = false;  // a ZeroPadding2D to be folded into its one consumer
    Pads pads;
};

// The outputs of the layers a layer consumes.
struct Inputs {
    std::vector<const Output*> outputs;
    bool known = true;  // all of them converted

    size_t size() const { return outputs.size(); }
    const Output& operator[](size_t i) const { return *outputs[i]; }
};

// What a converter returns: the layer's output, or the features that stopped it from being converted. A layer is
// built only when all its inputs are known and nothing unsupported was found; its config is still checked otherwise,
// so that one import reports every problem.
struct Conversion {
    Output output;
    std::vector<std::string> unsupported;  // each "what", reported as "layer '...' (Class): what"
    bool inputs_known = true;

    Conversion(const Layer& l, const Inputs& in) : inputs_known(in.known) { output.value = l.name; }

    void report(std::string what) { unsupported.push_back(std::move(what)); }
    bool buildable() const { return inputs_known && unsupported.empty(); }

    // The layer was built with an output of this shape (named after the layer unless set otherwise).
    Conversion& built(Shape shape) {
        output.shape = std::move(shape);
        output.known = true;
        return *this;
    }
};

inline Node make_node(const std::string& name, const std::string& op, std::vector<std::string> inputs) {
    Node n;
    n.name = name;
    n.op = op;
    n.inputs = std::move(inputs);
    n.outputs = {name};
    return n;
}

class ImportContext {
public:
    ImportContext(const JsonReader& reader, const Topology& topology, const WeightStore& weights)
        : reader_(reader), topology_(topology), weights_(weights) {}

    const JsonReader& reader() const { return reader_; }
    const Topology& topology() const { return topology_; }
    Graph& graph() { return graph_; }
    LayerConfig config(const Layer& l) const { return LayerConfig(reader_, l); }

    template <class... A> [[noreturn]] void bad(const A&... a) const { reader_.bad(a...); }

    // ---- layer outputs ----
    Inputs inputs_of(const Layer& l) const {
        Inputs in;
        for (auto& name : l.inputs) {
            auto it = outputs_.find(name);
            if (it == outputs_.end()) bad(where(l), ": input '", name, "' has no output");  // defensive
            in.outputs.push_back(&it->second);
            in.known = in.known && it->second.known;
        }
        return in;
    }
    void set_output(const Layer& l, Output out) { outputs_[l.name] = std::move(out); }
    const Output& output(const std::string& layer) const { return outputs_.at(layer); }

    // ---- input checks ----
    void single_input(const Layer& l, const Inputs& in) const {
        if (in.size() != 1) bad(where(l), " takes 1 input, got ", in.size());
    }
    void need_rank(const Layer& l, const Shape& s, size_t rank) const {
        if (s.size() != rank)
            bad(where(l), ": expected an input of rank ", rank + 1, " (with the batch), got [N, ",
                xinfer::to_string(s).substr(1));
    }

    // ---- weights and constants ----
    // Weight `<layer>/<param>` as floats; its manifest shape must be `expect`.
    std::vector<float> weight(const Layer& l, const std::string& param, const Shape& expect) const {
        const std::string name = l.name + "/" + param;
        const WeightSpec* w = weights_.find(name);
        if (!w) bad(where(l), ": weight '", name, "' is not in the weights manifest");
        if (w->shape != expect)
            bad(where(l), ": weight '", name, "' has shape ", xinfer::to_string(w->shape), ", expected ",
                xinfer::to_string(expect));
        return weights_.values(*w);
    }
    std::string add_constant(const std::string& name, Shape shape, const std::vector<float>& values) {
        if (graph_.constants.count(name)) bad("constant '", name, "' is defined twice");
        graph_.constants[name] = Constant::from_floats(std::move(shape), values);
        return name;
    }

    // ---- nodes ----
    void add_node(Node n) { graph_.nodes.push_back(std::move(n)); }

    // Adds `n` (the layer's main node) followed by the activation; the last node produces the value `l.name`.
    void emit(const Layer& l, Node n, const std::string& act) {
        if (act == "linear") {
            n.outputs = {l.name};
            graph_.nodes.push_back(std::move(n));
            return;
        }
        n.outputs = {l.name + "/preactivation"};
        const std::string x = n.outputs[0];
        graph_.nodes.push_back(std::move(n));
        if (act == "softmax") {
            graph_.nodes.push_back(make_node(l.name + "/softmax", "Softmax", {x}));
        } else {
            Node clip = make_node(l.name + "/" + act, "Clip", {x});
            clip.attrs["clip_min"] = 0.0;
            if (act == "relu6") clip.attrs["clip_max"] = 6.0;
            graph_.nodes.push_back(std::move(clip));
        }
        graph_.nodes.back().outputs = {l.name};
    }

private:
    const JsonReader& reader_;
    const Topology& topology_;
    const WeightStore& weights_;
    std::map<std::string, Output> outputs_;
    Graph graph_;
};

// ---- config values with a limited set of supported settings; others are reported in `r` ----

inline void check_channels_last(const LayerConfig& c, Conversion& r) {
    const std::string f = c.string_opt("data_format", "channels_last");
    if (f != "channels_last") r.report("data_format '" + f + "'");
}

// 'valid' or 'same'.
inline std::string padding_mode(const LayerConfig& c, Conversion& r) {
    const std::string p = c.string_opt("padding", "valid");
    if (p != "valid" && p != "same") r.report("padding '" + p + "'");
    return p;
}

// linear, relu, relu6 or softmax.
inline std::string activation(const LayerConfig& c, Conversion& r) {
    const std::string a = c.string_opt("activation", "linear");
    if (a != "linear" && a != "relu" && a != "relu6" && a != "softmax") r.report("activation '" + a + "'");
    return a;
}

}  // namespace xinfer::io::tfjs
