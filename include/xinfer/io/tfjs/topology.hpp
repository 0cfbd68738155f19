#pragma once
// The layers of model.json's Keras config (Sequential or Functional), their connections and an order to convert them
// in. Also the list of unsupported features, which every stage of the import adds to and which is reported at once.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "xinfer/io/tfjs/json_reader.hpp"

namespace xinfer::io::tfjs {

struct Layer {
    std::string name, cls;
    const json* config = nullptr;
    std::vector<std::string> inputs;  // the layers whose outputs it consumes
};

// "layer 'name' (Class)", the prefix of every message about a layer.
inline std::string where(const Layer& l) { return "layer '" + l.name + "' (" + l.cls + ")"; }

// The unsupported features found so far, each as "<layer>: <what>".
class Diagnostics {
public:
    void unsupported(const Layer& l, const std::string& what) { list_.push_back(where(l) + ": " + what); }

    // Throws unsupported_op listing them all, if there are any.
    void throw_if_unsupported(const std::string& source) const {
        if (list_.empty()) return;
        std::string msg = source + ": " + std::to_string(list_.size()) + " unsupported feature(s):";
        for (auto& u : list_) msg += "\n  " + u;
        XINFER_THROW(ErrorCode::unsupported_op, msg);
    }

private:
    std::vector<std::string> list_;
};

struct Topology {
    std::vector<Layer> layers;
    std::map<std::string, size_t> index;  // layer name -> position in `layers`
    std::vector<std::string> input_layers, output_layers;
    std::map<std::string, int> uses;                // layer name -> how often its output is consumed
    std::map<std::string, std::string> consumer;    // layer name -> a layer consuming its output
    std::vector<std::unique_ptr<json>> synthetic;  // configs of the InputLayers that Sequential models imply

    const Layer& layer(const std::string& name) const { return layers[index.at(name)]; }

    // The one layer consuming `name`'s output, or nullptr when it has none or several uses.
    const Layer* sole_consumer(const std::string& name) const {
        auto u = uses.find(name);
        auto c = consumer.find(name);
        return u != uses.end() && u->second == 1 && c != consumer.end() ? &layer(c->second) : nullptr;
    }
};

// Reads the layers of a Keras model config and orders them.
class TopologyReader {
public:
    TopologyReader(const JsonReader& reader, Diagnostics& diagnostics) : reader_(reader), diagnostics_(diagnostics) {}

    // The layers of `config` ({"class_name": "Sequential" | "Model" | "Functional", "config": ...}), checked.
    Topology read(const json& config) {
        const std::string cls =
            reader_.to_string(reader_.member(config, "class_name", "modelTopology"), "modelTopology class_name");
        const json& body = reader_.member(config, "config", "modelTopology");
        if (cls == "Sequential") read_sequential(body);
        else if (cls == "Model" || cls == "Functional") read_functional(body);
        else reader_.bad("modelTopology is a '", cls, "', expected a Keras Model, Functional or Sequential");
        check_names();
        return std::move(t_);
    }

    // Kahn's algorithm (deterministic). Also counts the uses of each layer's output.
    static std::vector<const Layer*> order(const JsonReader& reader, Topology& t) {
        std::vector<size_t> pending(t.layers.size(), 0);
        std::vector<std::vector<size_t>> users(t.layers.size());
        for (size_t i = 0; i < t.layers.size(); ++i) {
            const Layer& l = t.layers[i];
            if (l.cls == "InputLayer" && !l.inputs.empty()) reader.bad(where(l), " has inputs");
            if (l.cls != "InputLayer" && l.inputs.empty()) reader.bad(where(l), " has no inputs");
            for (auto& in : l.inputs) {
                auto it = t.index.find(in);
                if (it == t.index.end()) reader.bad(where(l), ": input '", in, "' is not a layer of the model");
                users[it->second].push_back(i);
                ++t.uses[in];
                t.consumer[in] = l.name;
                ++pending[i];
            }
        }
        for (auto& name : t.output_layers) ++t.uses[name];
        std::vector<const Layer*> order;
        std::vector<size_t> ready;
        for (size_t i = t.layers.size(); i-- > 0;)
            if (!pending[i]) ready.push_back(i);
        while (!ready.empty()) {
            const size_t i = ready.back();
            ready.pop_back();
            order.push_back(&t.layers[i]);
            for (size_t u : users[i])
                if (--pending[u] == 0) ready.push_back(u);
        }
        for (size_t i = 0; i < t.layers.size(); ++i)
            if (pending[i]) reader.bad("the layers form a cycle through ", where(t.layers[i]));
        return order;
    }

private:
    // A list of layers, each consuming the previous one's output.
    void read_sequential(const json& config) {
        const json& list = reader_.to_array(
            config.is_array() ? config : reader_.member(config, "layers", "Sequential config"), "Sequential layers");
        for (const json& j : list) {
            Layer l = layer_header(j);
            if (t_.layers.empty() && l.cls != "InputLayer") add_implicit_input(l);
            else if (t_.layers.empty()) t_.input_layers.push_back(l.name);
            if (!t_.layers.empty()) l.inputs = {t_.layers.back().name};
            t_.layers.push_back(std::move(l));
        }
        if (t_.layers.empty()) reader_.bad("the Sequential model has no layers");
        t_.output_layers.push_back(t_.layers.back().name);
    }

    // Keras creates the input of a Sequential model from its first layer's batch_input_shape.
    void add_implicit_input(const Layer& first) {
        const json& shape = reader_.member(*first.config, "batch_input_shape", where(first));
        Layer in{first.name + "_input", "InputLayer", nullptr, {}};
        t_.synthetic.push_back(std::make_unique<json>(json{{"batch_input_shape", shape}}));
        if (const json* dtype = JsonReader::optional(*first.config, "dtype")) (*t_.synthetic.back())["dtype"] = *dtype;
        in.config = t_.synthetic.back().get();
        t_.input_layers.push_back(in.name);
        t_.layers.push_back(std::move(in));
    }

    // Layers with explicit inbound nodes, and the model's input and output layers.
    void read_functional(const json& config) {
        for (const json& j : reader_.to_array(reader_.member(config, "layers", "model config"), "model layers")) {
            Layer l = layer_header(j);
            const json& inbound =
                reader_.to_array(reader_.member(j, "inbound_nodes", where(l)), where(l) + ": 'inbound_nodes'");
            if (inbound.size() > 1)
                diagnostics_.unsupported(l, "the layer is used " + std::to_string(inbound.size()) + " times");
            if (!inbound.empty())
                for (const json& t : reader_.to_array(inbound[0], where(l) + ": inbound node (expected the Keras 2 "
                                                                           "nested-list format)"))
                    l.inputs.push_back(tensor_ref(t, l, where(l) + ": inbound tensor"));
            t_.layers.push_back(std::move(l));
        }
        t_.input_layers = layer_refs(reader_.member(config, "input_layers", "model config"), "'input_layers'");
        t_.output_layers = layer_refs(reader_.member(config, "output_layers", "model config"), "'output_layers'");
    }

    // Unique layer names; the model's inputs are InputLayers and its outputs exist.
    void check_names() {
        for (size_t i = 0; i < t_.layers.size(); ++i)
            if (!t_.index.emplace(t_.layers[i].name, i).second)
                reader_.bad("two layers are named '", t_.layers[i].name, "'");
        for (auto& name : t_.input_layers)
            if (!t_.index.count(name) || t_.layers[t_.index[name]].cls != "InputLayer")
                reader_.bad("input layer '", name, "' is not an InputLayer of the model");
        for (auto& name : t_.output_layers)
            if (!t_.index.count(name)) reader_.bad("output layer '", name, "' is not a layer of the model");
        if (t_.output_layers.empty()) reader_.bad("the model has no outputs");
    }

    Layer layer_header(const json& j) const {
        Layer l;
        l.cls = reader_.to_string(reader_.member(j, "class_name", "layer"), "layer class_name");
        l.config = &reader_.member(j, "config", "layer '" + l.cls + "'");
        if (!l.config->is_object()) reader_.bad("a ", l.cls, " layer's config must be an object");
        const json* name = JsonReader::optional(j, "name");
        if (!name) name = &reader_.member(*l.config, "name", "a " + l.cls + " layer's config");
        l.name = reader_.to_string(*name, "layer name");
        if (l.name.empty()) reader_.bad("a ", l.cls, " layer has an empty name");
        return l;
    }

    // ["layer", node_index, tensor_index, ...] -> "layer". Only single-use, single-output layers exist here.
    std::string tensor_ref(const json& t, const Layer& l, const std::string& c) {
        if (!t.is_array() || t.size() < 3)
            reader_.bad(c, " must be [layer, node_index, tensor_index, ...], got ", t.dump());
        const std::string name = reader_.to_string(t[0], c + " layer");
        const int64_t node = reader_.to_int(t[1], c + " node_index", 0, 1 << 30),
                      tensor = reader_.to_int(t[2], c + " tensor_index", 0, 1 << 30);
        if (node != 0 || tensor != 0)
            diagnostics_.unsupported(l, "uses output (" + std::to_string(node) + ", " + std::to_string(tensor) +
                                            ") of '" + name + "' (shared or multi-output layers)");
        return name;
    }

    std::vector<std::string> layer_refs(const json& refs, const std::string& c) {
        reader_.to_array(refs, c);
        Layer model{"(model)", "Model", nullptr, {}};
        std::vector<std::string> names;
        if (!refs.empty() && refs[0].is_string()) return {tensor_ref(refs, model, c)};  // a single reference
        for (const json& r : refs) names.push_back(tensor_ref(r, model, c));
        return names;
    }

    const JsonReader& reader_;
    Diagnostics& diagnostics_;
    Topology t_;
};

}  // namespace xinfer::io::tfjs
