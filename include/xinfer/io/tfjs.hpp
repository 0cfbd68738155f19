#pragma once
// Importer for Keras models saved in the TensorFlow.js layers format: model.json ("modelTopology": a Keras
// Functional or Sequential config; "weightsManifest": groups of shard paths and weight specs) plus binary weight
// shards, whose concatenation holds the weights in manifest order. The result is an xinfer graph (NHWC) in the
// canonical op set (graph.hpp); graph input shapes are [-1, ...] from the InputLayer's batch_input_shape.
//
// Layers: InputLayer, ZeroPadding2D (folded into the one 'valid' Conv2D/DepthwiseConv2D it feeds), Conv2D,
// DepthwiseConv2D, BatchNormalization, ReLU, Activation, Add, GlobalAveragePooling2D, AveragePooling2D,
// MaxPooling2D, Flatten, Dense, Dropout (identity), Reshape. Activations: linear, relu, relu6, softmax.
// Weights: float32 / int32, optionally quantized as uint8 / uint16 (value = q * scale + min).
// Everything unsupported is reported at once as ErrorCode::unsupported_op; malformed input is invalid_model.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "xinfer/graph/graph.hpp"
#include "xinfer/io/mapped_file.hpp"
#include "xinfer/io/xinf.hpp"

namespace xinfer::io {

namespace detail_tfjs {

using nlohmann::json;

constexpr int64_t kMaxDim = int64_t(1) << 24;     // activation sizes and unit counts
constexpr int64_t kMaxWindow = int64_t(1) << 20;  // kernel sizes, strides, dilations, paddings

struct Weight {
    Shape shape;
    bool is_int = false;  // int32 rather than float32
    int quant_bytes = 0;  // 0: stored as is; 1: uint8; 2: uint16
    double scale = 1, min = 0;
    size_t offset = 0;
};

struct Layer {
    std::string name, cls;
    const json* config = nullptr;
    std::vector<std::string> inputs;  // the layers whose outputs it consumes
};

// A layer's result: its graph value and its shape without the batch dimension.
struct Output {
    std::string value;
    Shape shape;
    bool known = false;   // false after an unsupported or skipped layer
    bool is_pad = false;  // a ZeroPadding2D to be folded into its one consumer
    Pads pads;
};

class Importer {
public:
    Importer(const json& model, const std::vector<std::byte>& weights, std::string source)
        : model_(model), bytes_(weights), source_(std::move(source)) {}

    XinfModel run() {
        const json& topology = member(model_, "modelTopology", "model.json");
        read_manifest(member(model_, "weightsManifest", "model.json"));
        const json& config = topology.is_object() && topology.contains("model_config") ? topology["model_config"]
                                                                                        : topology;
        read_layers(config);
        for (const Layer* l : topological_order()) convert(*l);
        if (!unsupported_.empty()) {
            std::string msg = source_ + ": " + std::to_string(unsupported_.size()) + " unsupported feature(s):";
            for (auto& u : unsupported_) msg += "\n  " + u;
            XINFER_THROW(ErrorCode::unsupported_op, msg);
        }
        // Graph inputs in the order of the model's input_layers.
        std::vector<ValueInfo> inputs;
        for (auto& name : input_layers_)
            for (auto& v : graph_.inputs)
                if (v.name == name) inputs.push_back(v);
        for (auto& v : graph_.inputs)
            if (std::find(input_layers_.begin(), input_layers_.end(), v.name) == input_layers_.end())
                inputs.push_back(v);
        graph_.inputs = std::move(inputs);
        for (auto& name : output_layers_) {
            const Output& o = outputs_.at(name);
            Shape s{-1};
            s.insert(s.end(), o.shape.begin(), o.shape.end());
            graph_.outputs.push_back({o.value, DataType::f32, s});
        }
        try {
            graph_.sort_and_validate();
        } catch (const Error& e) {
            XINFER_THROW(e.code(), source_, ": ", e.what());
        }
        XinfModel m;
        m.graph = std::move(graph_);
        return m;
    }

private:
    // ---- errors and checked JSON access ----
    template <class... A> [[noreturn]] void bad(const A&... a) const {
        XINFER_THROW(ErrorCode::invalid_model, source_, ": ", a...);
    }
    static std::string where(const Layer& l) { return "layer '" + l.name + "' (" + l.cls + ")"; }
    void unsupported(const Layer& l, const std::string& what) { unsupported_.push_back(where(l) + ": " + what); }

    const json& member(const json& obj, const char* key, const std::string& ctx) const {
        if (!obj.is_object()) bad(ctx, ": expected a JSON object");
        auto it = obj.find(key);
        if (it == obj.end()) bad(ctx, ": '", key, "' is missing");
        return *it;
    }
    // The member, or nullptr when absent or null.
    static const json* optional(const json& obj, const char* key) {
        auto it = obj.find(key);
        return it == obj.end() || it->is_null() ? nullptr : &*it;
    }
    int64_t to_int(const json& v, const std::string& ctx, int64_t lo, int64_t hi) const {
        double d = 0;
        if (v.is_number_integer()) {
            if (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(hi)) bad(ctx, " is out of range");
            d = double(v.get<int64_t>());
        } else if (v.is_number_float() && std::trunc(v.get<double>()) == v.get<double>()) {
            d = v.get<double>();
        } else {
            bad(ctx, " must be an integer, got ", v.dump());
        }
        if (!(d >= double(lo) && d <= double(hi))) bad(ctx, " = ", v.dump(), " is out of range [", lo, ", ", hi, "]");
        return int64_t(d);
    }
    double to_number(const json& v, const std::string& ctx) const {
        if (!v.is_number() || !std::isfinite(v.get<double>())) bad(ctx, " must be a finite number, got ", v.dump());
        return v.get<double>();
    }
    std::string to_string(const json& v, const std::string& ctx) const {
        if (!v.is_string()) bad(ctx, " must be a string, got ", v.dump());
        return v.get<std::string>();
    }
    const json& to_array(const json& v, const std::string& ctx) const {
        if (!v.is_array()) bad(ctx, " must be an array, got ", v.dump());
        return v;
    }

    // Config accessors of layer `l`.
    const json& cfg(const Layer& l) const { return *l.config; }
    std::string ctx(const Layer& l, const char* key) const { return where(l) + ": '" + key + "'"; }
    int64_t int_opt(const Layer& l, const char* key, int64_t fallback, int64_t lo, int64_t hi) const {
        const json* v = optional(cfg(l), key);
        return v ? to_int(*v, ctx(l, key), lo, hi) : fallback;
    }
    bool bool_opt(const Layer& l, const char* key, bool fallback) const {
        const json* v = optional(cfg(l), key);
        if (!v) return fallback;
        if (!v->is_boolean()) bad(ctx(l, key), " must be true or false, got ", v->dump());
        return v->get<bool>();
    }
    std::string string_opt(const Layer& l, const char* key, const std::string& fallback) const {
        const json* v = optional(cfg(l), key);
        return v ? to_string(*v, ctx(l, key)) : fallback;
    }
    // An int or a list of two ints (Keras kernel_size, strides, dilation_rate, pool_size).
    using Pair = std::array<int64_t, 2>;
    Pair pair_opt(const Layer& l, const char* key, Pair fallback, int64_t lo) const {
        const json* v = optional(cfg(l), key);
        if (!v) return fallback;
        if (!v->is_array()) {
            const int64_t x = to_int(*v, ctx(l, key), lo, kMaxWindow);
            return {x, x};
        }
        if (v->size() != 2) bad(ctx(l, key), " must hold 2 values, got ", v->dump());
        return {to_int((*v)[0], ctx(l, key), lo, kMaxWindow), to_int((*v)[1], ctx(l, key), lo, kMaxWindow)};
    }
    void check_channels_last(const Layer& l) {
        const std::string f = string_opt(l, "data_format", "channels_last");
        if (f != "channels_last") unsupported(l, "data_format '" + f + "'");
    }
    // 'valid' or 'same'; anything else is reported.
    std::string padding_mode(const Layer& l) {
        const std::string p = string_opt(l, "padding", "valid");
        if (p != "valid" && p != "same") unsupported(l, "padding '" + p + "'");
        return p;
    }
    std::string activation(const Layer& l) {
        const std::string a = string_opt(l, "activation", "linear");
        if (a != "linear" && a != "relu" && a != "relu6" && a != "softmax") unsupported(l, "activation '" + a + "'");
        return a;
    }

    // ---- weights ----
    void read_manifest(const json& manifest) {
        to_array(manifest, "'weightsManifest'");
        size_t offset = 0;
        for (const json& group : manifest) {
            for (const json& w : to_array(member(group, "weights", "weightsManifest group"), "'weights'")) {
                const std::string name = to_string(member(w, "name", "weightsManifest entry"), "weight name");
                const std::string c = "weight '" + name + "'";
                Weight spec;
                for (const json& d : to_array(member(w, "shape", c), c + " shape"))
                    spec.shape.push_back(to_int(d, c + " dimension", 0, int64_t(1) << 48));
                size_t numel = 0;
                try {
                    numel = checked_numel(spec.shape);
                } catch (const Error& e) {
                    bad(c, ": ", e.what());
                }
                const std::string dtype = to_string(member(w, "dtype", c), c + " dtype");
                if (dtype != "float32" && dtype != "int32") bad(c, ": unknown dtype '", dtype, "'");
                spec.is_int = dtype == "int32";
                if (const json* q = optional(w, "quantization")) {
                    const std::string qc = c + " quantization";
                    const std::string qd = to_string(member(*q, "dtype", qc), qc + " dtype");
                    if (qd != "uint8" && qd != "uint16") bad(c, ": unknown quantization dtype '", qd, "'");
                    spec.quant_bytes = qd == "uint8" ? 1 : 2;
                    spec.scale = to_number(member(*q, "scale", qc), qc + " scale");
                    spec.min = to_number(member(*q, "min", qc), qc + " min");
                }
                const size_t elem = spec.quant_bytes ? size_t(spec.quant_bytes) : 4;
                if (numel > (std::numeric_limits<size_t>::max() - offset) / elem ||
                    offset + numel * elem > bytes_.size())
                    bad(c, " (shape ", xinfer::to_string(spec.shape), ") ends past the end of the weight data (",
                        bytes_.size(), " bytes)");
                spec.offset = offset;
                offset += numel * elem;
                if (!weights_.emplace(name, std::move(spec)).second) bad(c, " appears twice in the manifest");
            }
        }
        if (offset != bytes_.size())
            bad("the weight data has ", bytes_.size(), " bytes, the manifest describes ", offset);
    }

    // Weight `<layer>/<param>` as floats; its manifest shape must be `expect`.
    std::vector<float> weight(const Layer& l, const std::string& param, const Shape& expect) const {
        const std::string name = l.name + "/" + param;
        auto it = weights_.find(name);
        if (it == weights_.end()) bad(where(l), ": weight '", name, "' is not in the weights manifest");
        const Weight& w = it->second;
        if (w.shape != expect)
            bad(where(l), ": weight '", name, "' has shape ", xinfer::to_string(w.shape), ", expected ",
                xinfer::to_string(expect));
        const size_t n = checked_numel(w.shape);
        const std::byte* p = bytes_.data() + w.offset;
        std::vector<float> out(n);
        for (size_t i = 0; i < n; ++i) {
            if (w.quant_bytes) {
                uint16_t q = 0;
                if (w.quant_bytes == 1) q = uint8_t(p[i]);
                else q = uint16_t(uint16_t(p[2 * i]) | uint16_t(uint16_t(p[2 * i + 1]) << 8));
                const double v = double(q) * w.scale + w.min;
                out[i] = float(w.is_int ? std::floor(v + 0.5) : v);
            } else if (w.is_int) {
                int32_t v;
                std::memcpy(&v, p + 4 * i, 4);
                out[i] = float(v);
            } else {
                std::memcpy(&out[i], p + 4 * i, 4);
            }
        }
        return out;
    }

    std::string add_constant(const std::string& name, Shape shape, const std::vector<float>& values) {
        if (graph_.constants.count(name)) bad("constant '", name, "' is defined twice");
        graph_.constants[name] = Constant::from_floats(std::move(shape), values);
        return name;
    }

    // ---- topology ----
    void read_layers(const json& topology) {
        const std::string cls = to_string(member(topology, "class_name", "modelTopology"), "modelTopology class_name");
        const json& config = member(topology, "config", "modelTopology");
        if (cls == "Sequential") {
            const json& list = to_array(config.is_array() ? config : member(config, "layers", "Sequential config"),
                                        "Sequential layers");
            for (const json& j : list) {
                Layer l = layer_header(j);
                if (layers_.empty() && l.cls != "InputLayer") {
                    // Keras creates the input from the first layer's batch_input_shape.
                    const json& shape = member(*l.config, "batch_input_shape", where(l));
                    Layer in{l.name + "_input", "InputLayer", nullptr, {}};
                    synthetic_.push_back(std::make_unique<json>(json{{"batch_input_shape", shape}}));
                    if (const json* dtype = optional(*l.config, "dtype")) (*synthetic_.back())["dtype"] = *dtype;
                    in.config = synthetic_.back().get();
                    input_layers_.push_back(in.name);
                    layers_.push_back(std::move(in));
                } else if (layers_.empty()) {
                    input_layers_.push_back(l.name);
                }
                if (!layers_.empty()) l.inputs = {layers_.back().name};
                layers_.push_back(std::move(l));
            }
            if (layers_.empty()) bad("the Sequential model has no layers");
            output_layers_.push_back(layers_.back().name);
        } else if (cls == "Model" || cls == "Functional") {
            for (const json& j : to_array(member(config, "layers", "model config"), "model layers")) {
                Layer l = layer_header(j);
                const json& inbound = to_array(member(j, "inbound_nodes", where(l)), where(l) + ": 'inbound_nodes'");
                if (inbound.size() > 1)
                    unsupported(l, "the layer is used " + std::to_string(inbound.size()) + " times");
                if (!inbound.empty())
                    for (const json& t : to_array(inbound[0], where(l) + ": inbound node (expected the Keras 2 "
                                                             "nested-list format)"))
                        l.inputs.push_back(tensor_ref(t, l, where(l) + ": inbound tensor"));
                layers_.push_back(std::move(l));
            }
            input_layers_ = layer_refs(member(config, "input_layers", "model config"), "'input_layers'");
            output_layers_ = layer_refs(member(config, "output_layers", "model config"), "'output_layers'");
        } else {
            bad("modelTopology is a '", cls, "', expected a Keras Model, Functional or Sequential");
        }
        for (size_t i = 0; i < layers_.size(); ++i)
            if (!index_.emplace(layers_[i].name, i).second) bad("two layers are named '", layers_[i].name, "'");
        for (auto& name : input_layers_)
            if (!index_.count(name) || layers_[index_[name]].cls != "InputLayer")
                bad("input layer '", name, "' is not an InputLayer of the model");
        for (auto& name : output_layers_)
            if (!index_.count(name)) bad("output layer '", name, "' is not a layer of the model");
        if (output_layers_.empty()) bad("the model has no outputs");
    }

    Layer layer_header(const json& j) const {
        Layer l;
        l.cls = to_string(member(j, "class_name", "layer"), "layer class_name");
        l.config = &member(j, "config", "layer '" + l.cls + "'");
        if (!l.config->is_object()) bad("a ", l.cls, " layer's config must be an object");
        const json* name = optional(j, "name");
        if (!name) name = &member(*l.config, "name", "a " + l.cls + " layer's config");
        l.name = to_string(*name, "layer name");
        if (l.name.empty()) bad("a ", l.cls, " layer has an empty name");
        return l;
    }

    // ["layer", node_index, tensor_index, ...] -> "layer". Only single-use, single-output layers exist here.
    std::string tensor_ref(const json& t, const Layer& l, const std::string& c) {
        if (!t.is_array() || t.size() < 3) bad(c, " must be [layer, node_index, tensor_index, ...], got ", t.dump());
        const std::string name = to_string(t[0], c + " layer");
        const int64_t node = to_int(t[1], c + " node_index", 0, 1 << 30),
                      tensor = to_int(t[2], c + " tensor_index", 0, 1 << 30);
        if (node != 0 || tensor != 0)
            unsupported(l, "uses output (" + std::to_string(node) + ", " + std::to_string(tensor) + ") of '" + name +
                               "' (shared or multi-output layers)");
        return name;
    }

    std::vector<std::string> layer_refs(const json& refs, const std::string& c) {
        to_array(refs, c);
        Layer model{"(model)", "Model", nullptr, {}};
        std::vector<std::string> names;
        if (!refs.empty() && refs[0].is_string()) return {tensor_ref(refs, model, c)};  // a single reference
        for (const json& r : refs) names.push_back(tensor_ref(r, model, c));
        return names;
    }

    // Kahn's algorithm (deterministic). Also counts the uses of each layer's output.
    std::vector<const Layer*> topological_order() {
        std::vector<size_t> pending(layers_.size(), 0);
        std::vector<std::vector<size_t>> users(layers_.size());
        for (size_t i = 0; i < layers_.size(); ++i) {
            const Layer& l = layers_[i];
            if (l.cls == "InputLayer" && !l.inputs.empty()) bad(where(l), " has inputs");
            if (l.cls != "InputLayer" && l.inputs.empty()) bad(where(l), " has no inputs");
            for (auto& in : l.inputs) {
                auto it = index_.find(in);
                if (it == index_.end()) bad(where(l), ": input '", in, "' is not a layer of the model");
                users[it->second].push_back(i);
                ++uses_[in];
                consumer_[in] = l.name;
                ++pending[i];
            }
        }
        for (auto& name : output_layers_) ++uses_[name];
        std::vector<const Layer*> order;
        std::vector<size_t> ready;
        for (size_t i = layers_.size(); i-- > 0;)
            if (!pending[i]) ready.push_back(i);
        while (!ready.empty()) {
            const size_t i = ready.back();
            ready.pop_back();
            order.push_back(&layers_[i]);
            for (size_t u : users[i])
                if (--pending[u] == 0) ready.push_back(u);
        }
        for (size_t i = 0; i < layers_.size(); ++i)
            if (pending[i]) bad("the layers form a cycle through ", where(layers_[i]));
        return order;
    }

    // ---- layers ----
    Node node(const std::string& name, const std::string& op, std::vector<std::string> inputs) {
        Node n;
        n.name = name;
        n.op = op;
        n.inputs = std::move(inputs);
        n.outputs = {name};
        return n;
    }
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
            graph_.nodes.push_back(node(l.name + "/softmax", "Softmax", {x}));
        } else {
            Node clip = node(l.name + "/" + act, "Clip", {x});
            clip.attrs["clip_min"] = 0.0;
            if (act == "relu6") clip.attrs["clip_max"] = 6.0;
            graph_.nodes.push_back(std::move(clip));
        }
        graph_.nodes.back().outputs = {l.name};
    }
    void need_rank(const Layer& l, const Shape& s, size_t rank) const {
        if (s.size() != rank)
            bad(where(l), ": expected an input of rank ", rank + 1, " (with the batch), got [N, ",
                xinfer::to_string(s).substr(1));
    }

    void convert(const Layer& l) {
        const size_t reported = unsupported_.size();
        std::vector<const Output*> in;
        bool known = true;
        for (auto& name : l.inputs) {
            auto it = outputs_.find(name);
            if (it == outputs_.end()) bad(where(l), ": input '", name, "' has no output");  // defensive
            in.push_back(&it->second);
            known = known && it->second.known;
        }
        Output& out = outputs_[l.name];
        out.value = l.name;
        auto single_input = [&] {
            if (in.size() != 1) bad(where(l), " takes 1 input, got ", in.size());
        };
        auto ok = [&] { return known && unsupported_.size() == reported; };

        const std::string& c = l.cls;
        if (c == "InputLayer") {
            const json* shape = optional(cfg(l), "batch_input_shape");
            if (!shape) shape = optional(cfg(l), "batch_shape");  // Keras 3
            if (!shape) bad(ctx(l, "batch_input_shape"), " is missing");
            to_array(*shape, ctx(l, "batch_input_shape"));
            if (shape->size() < 2) bad(ctx(l, "batch_input_shape"), " must have a batch and at least one dimension");
            const std::string dtype = string_opt(l, "dtype", "float32");
            if (dtype != "float32") unsupported(l, "input dtype '" + dtype + "'");
            if (bool_opt(l, "sparse", false) || bool_opt(l, "ragged", false)) unsupported(l, "sparse or ragged input");
            for (size_t d = 1; d < shape->size(); ++d) {
                if ((*shape)[d].is_null()) {
                    unsupported(l, "dimension " + std::to_string(d) + " of the input is not fixed");
                    out.shape.push_back(0);
                } else {
                    out.shape.push_back(to_int((*shape)[d], ctx(l, "batch_input_shape"), 1, kMaxDim));
                }
            }
            try {
                checked_numel(out.shape);
            } catch (const Error& e) {
                bad(where(l), ": ", e.what());
            }
            Shape s{-1};
            s.insert(s.end(), out.shape.begin(), out.shape.end());
            graph_.inputs.push_back({l.name, DataType::f32, s});
            out.known = unsupported_.size() == reported;
        } else if (c == "Dropout") {
            single_input();
            out = *in[0];
            out.is_pad = false;
            if (in[0]->is_pad) out.known = false;  // reported at the padding layer
        } else if (c == "ZeroPadding2D") {
            single_input();
            check_channels_last(l);
            const json* p = optional(cfg(l), "padding");
            Pads pads{1, 1, 1, 1};
            if (p) {
                const std::string pc = ctx(l, "padding");
                auto v = [&](const json& j) { return int(to_int(j, pc, 0, kMaxWindow)); };
                if (!p->is_array()) {
                    pads.top = pads.bottom = pads.left = pads.right = v(*p);
                } else if (p->size() == 2 && (*p)[0].is_array() && (*p)[1].is_array()) {
                    if ((*p)[0].size() != 2 || (*p)[1].size() != 2) bad(pc, " must be [[top, bottom], [left, right]]");
                    pads = {v((*p)[0][0]), v((*p)[1][0]), v((*p)[0][1]), v((*p)[1][1])};
                } else if (p->size() == 2) {
                    pads.top = pads.bottom = v((*p)[0]);
                    pads.left = pads.right = v((*p)[1]);
                } else {
                    bad(pc, " must be an int, [rows, cols] or [[top, bottom], [left, right]]");
                }
            }
            const std::string user = uses_[l.name] == 1 && consumer_.count(l.name) ? consumer_[l.name] : "";
            const Layer* next = user.empty() ? nullptr : &layers_[index_.at(user)];
            const json* next_padding = next ? optional(*next->config, "padding") : nullptr;
            const bool foldable = next && (next->cls == "Conv2D" || next->cls == "DepthwiseConv2D") &&
                                  (!next_padding || *next_padding == "valid");
            if (!foldable)
                unsupported(l, "zero padding is supported only when it feeds exactly one 'valid' Conv2D or "
                               "DepthwiseConv2D");
            if (!ok()) return;
            need_rank(l, in[0]->shape, 3);
            out = *in[0];
            out.is_pad = true;
            out.pads = pads;
            out.shape[0] += pads.top + pads.bottom;
            out.shape[1] += pads.left + pads.right;
        } else if (c == "Conv2D" || c == "DepthwiseConv2D") {
            single_input();
            check_channels_last(l);
            const bool depthwise = c == "DepthwiseConv2D";
            const int64_t filters = depthwise ? 0 : int_opt(l, "filters", -1, 1, kMaxDim);
            if (!depthwise && filters < 0) bad(ctx(l, "filters"), " is missing");
            const int64_t mult = depthwise ? int_opt(l, "depth_multiplier", 1, 1, kMaxDim) : 0;
            if (!optional(cfg(l), "kernel_size")) bad(ctx(l, "kernel_size"), " is missing");
            const auto k = pair_opt(l, "kernel_size", {1, 1}, 1), s = pair_opt(l, "strides", {1, 1}, 1),
                       d = pair_opt(l, "dilation_rate", {1, 1}, 1);
            const std::string padding = padding_mode(l);
            if (d[0] * (k[0] - 1) >= kMaxWindow || d[1] * (k[1] - 1) >= kMaxWindow)
                bad(where(l), ": the dilated kernel is too large");
            if (int_opt(l, "groups", 1, 1, kMaxDim) != 1) unsupported(l, "grouped convolution");
            const bool bias = bool_opt(l, "use_bias", true);
            const std::string act = activation(l);
            if (!ok()) return;
            need_rank(l, in[0]->shape, 3);
            const int64_t H = in[0]->shape[0], W = in[0]->shape[1], C = in[0]->shape[2];
            Pads pads = in[0]->is_pad ? in[0]->pads : Pads{};
            if (padding == "same") {
                same_pads(int(H), int(k[0]), int(s[0]), int(d[0]), true, pads.top, pads.bottom);
                same_pads(int(W), int(k[1]), int(s[1]), int(d[1]), true, pads.left, pads.right);
            }
            // An input from ZeroPadding2D already has the padded size.
            const bool padded = in[0]->is_pad;
            const int extra_h = padded ? 0 : pads.top + pads.bottom, extra_w = padded ? 0 : pads.left + pads.right;
            const int OH = Window2D::out_size(int(H), int(k[0]), int(s[0]), int(d[0]), extra_h),
                      OW = Window2D::out_size(int(W), int(k[1]), int(s[1]), int(d[1]), extra_w);
            if (OH < 1 || OW < 1) bad(where(l), ": the kernel does not fit the ", H, "x", W, " input");
            const int64_t cout = depthwise ? C * mult : filters;
            if (cout > kMaxDim) bad(where(l), ": too many output channels");
            std::vector<float> w;
            Shape w_shape;
            if (depthwise) {  // [KH][KW][C][M] -> [C*M][KH][KW][1], output channel c*M+m
                const auto kw = weight(l, "depthwise_kernel", {k[0], k[1], C, mult});
                w.resize(kw.size());
                for (int64_t y = 0; y < k[0]; ++y)
                    for (int64_t x = 0; x < k[1]; ++x)
                        for (int64_t o = 0; o < cout; ++o)
                            w[size_t((o * k[0] + y) * k[1] + x)] = kw[size_t((y * k[1] + x) * cout + o)];
                w_shape = {cout, k[0], k[1], 1};
            } else {  // [KH][KW][Cin][Cout] -> [Cout][KH][KW][Cin]
                const auto kw = weight(l, "kernel", {k[0], k[1], C, cout});
                w.resize(kw.size());
                const int64_t taps = k[0] * k[1];
                for (int64_t t = 0; t < taps; ++t)
                    for (int64_t i = 0; i < C; ++i)
                        for (int64_t o = 0; o < cout; ++o)
                            w[size_t((o * taps + t) * C + i)] = kw[size_t((t * C + i) * cout + o)];
                w_shape = {cout, k[0], k[1], C};
            }
            const std::string w_name = l.name + (depthwise ? "/depthwise_kernel" : "/kernel");
            Node n = node(l.name, "Conv", {in[0]->value, add_constant(w_name, w_shape, w)});
            if (bias) n.inputs.push_back(add_constant(l.name + "/bias", {cout}, weight(l, "bias", {cout})));
            n.attrs["strides"] = std::vector<int64_t>{s[0], s[1]};
            n.attrs["dilations"] = std::vector<int64_t>{d[0], d[1]};
            n.attrs["pads"] = std::vector<int64_t>{pads.top, pads.left, pads.bottom, pads.right};
            if (depthwise) n.attrs["group"] = C;
            emit(l, std::move(n), act);
            out.shape = {OH, OW, cout};
        } else if (c == "BatchNormalization") {
            single_input();
            const json* axis = optional(cfg(l), "axis");
            if (axis && axis->is_array() && axis->size() == 1) axis = &(*axis)[0];
            const int64_t a = axis ? to_int(*axis, ctx(l, "axis"), -64, 64) : -1;
            if (known && a != -1 && a != int64_t(in[0]->shape.size()))
                unsupported(l, "axis " + axis->dump() + " (only the last axis)");
            const double eps = optional(cfg(l), "epsilon") ? to_number(cfg(l)["epsilon"], ctx(l, "epsilon")) : 1e-3;
            if (eps < 0) bad(ctx(l, "epsilon"), " is negative");
            const bool center = bool_opt(l, "center", true), scale = bool_opt(l, "scale", true);
            if (!ok()) return;
            if (in[0]->shape.empty()) bad(where(l), ": the input has no channel axis");
            const int64_t C = in[0]->shape.back();
            auto param = [&](const char* p, bool present, float fallback) {
                const std::string name = l.name + "/" + p;
                return add_constant(name, {C}, present ? weight(l, p, {C}) : std::vector<float>(size_t(C), fallback));
            };
            const std::string mean = param("moving_mean", true, 0.0f), var = param("moving_variance", true, 0.0f);
            Node n = node(l.name, "BatchNormalization",
                          {in[0]->value, param("gamma", scale, 1.0f), param("beta", center, 0.0f), mean, var});
            n.attrs["epsilon"] = eps;
            emit(l, std::move(n), "linear");
            out.shape = in[0]->shape;
        } else if (c == "ReLU") {
            single_input();
            const json* max = optional(cfg(l), "max_value");
            const double max_value = max ? to_number(*max, ctx(l, "max_value")) : 0;
            if (max && max_value < 0) bad(ctx(l, "max_value"), " is negative");
            for (const char* key : {"negative_slope", "threshold"}) {
                const json* v = optional(cfg(l), key);
                if (v && to_number(*v, ctx(l, key)) != 0) unsupported(l, std::string(key) + " " + v->dump());
            }
            if (!ok()) return;
            Node n = node(l.name, "Clip", {in[0]->value});
            n.attrs["clip_min"] = 0.0;
            if (max) n.attrs["clip_max"] = max_value;
            emit(l, std::move(n), "linear");
            out.shape = in[0]->shape;
        } else if (c == "Activation") {
            single_input();
            if (!optional(cfg(l), "activation")) bad(ctx(l, "activation"), " is missing");
            const std::string act = activation(l);
            if (!ok()) return;
            out.shape = in[0]->shape;
            if (act == "linear") {
                out.value = in[0]->value;
            } else if (act == "softmax") {
                graph_.nodes.push_back(node(l.name, "Softmax", {in[0]->value}));
            } else {
                Node n = node(l.name, "Clip", {in[0]->value});
                n.attrs["clip_min"] = 0.0;
                if (act == "relu6") n.attrs["clip_max"] = 6.0;
                graph_.nodes.push_back(std::move(n));
            }
        } else if (c == "Add") {
            if (in.size() < 2) bad(where(l), " needs at least 2 inputs, got ", in.size());
            if (!ok()) return;
            for (auto* x : in)
                if (x->shape != in[0]->shape)
                    bad(where(l), ": inputs differ in shape: [N, ", xinfer::to_string(in[0]->shape).substr(1),
                        " vs [N, ", xinfer::to_string(x->shape).substr(1));
            std::string acc = in[0]->value;
            for (size_t i = 1; i < in.size(); ++i) {
                const std::string name = i + 1 == in.size() ? l.name : l.name + "/" + std::to_string(i);
                graph_.nodes.push_back(node(name, "Add", {acc, in[i]->value}));
                acc = name;
            }
            out.shape = in[0]->shape;
        } else if (c == "GlobalAveragePooling2D") {
            single_input();
            check_channels_last(l);
            const bool keepdims = bool_opt(l, "keepdims", false);
            if (!ok()) return;
            need_rank(l, in[0]->shape, 3);
            const int64_t C = in[0]->shape[2];
            const std::string pooled = keepdims ? l.name : l.name + "/pool";
            graph_.nodes.push_back(node(pooled, "GlobalAveragePool", {in[0]->value}));
            if (!keepdims) {
                Node r = node(l.name, "Reshape", {pooled});
                r.attrs["shape"] = std::vector<int64_t>{-1, C};
                graph_.nodes.push_back(std::move(r));
            }
            out.shape = keepdims ? Shape{1, 1, C} : Shape{C};
        } else if (c == "AveragePooling2D" || c == "MaxPooling2D") {
            single_input();
            check_channels_last(l);
            const auto k = pair_opt(l, "pool_size", {2, 2}, 1), s = pair_opt(l, "strides", k, 1);
            const std::string padding = padding_mode(l);
            if (!ok()) return;
            need_rank(l, in[0]->shape, 3);
            const int64_t H = in[0]->shape[0], W = in[0]->shape[1];
            Pads pads;
            if (padding == "same") {
                same_pads(int(H), int(k[0]), int(s[0]), 1, true, pads.top, pads.bottom);
                same_pads(int(W), int(k[1]), int(s[1]), 1, true, pads.left, pads.right);
            }
            const int OH = Window2D::out_size(int(H), int(k[0]), int(s[0]), 1, pads.top + pads.bottom),
                      OW = Window2D::out_size(int(W), int(k[1]), int(s[1]), 1, pads.left + pads.right);
            if (OH < 1 || OW < 1) bad(where(l), ": the pool does not fit the ", H, "x", W, " input");
            Node n = node(l.name, c == "MaxPooling2D" ? "MaxPool" : "AveragePool", {in[0]->value});
            n.attrs["kernel_shape"] = std::vector<int64_t>{k[0], k[1]};
            n.attrs["strides"] = std::vector<int64_t>{s[0], s[1]};
            n.attrs["pads"] = std::vector<int64_t>{pads.top, pads.left, pads.bottom, pads.right};
            emit(l, std::move(n), "linear");
            out.shape = {OH, OW, in[0]->shape[2]};
        } else if (c == "Flatten") {
            single_input();
            check_channels_last(l);
            if (!ok()) return;
            graph_.nodes.push_back(node(l.name, "Flatten", {in[0]->value}));
            out.shape = {int64_t(checked_numel(in[0]->shape))};
        } else if (c == "Dense") {
            single_input();
            const int64_t units = int_opt(l, "units", -1, 1, kMaxDim);
            if (units < 0) bad(ctx(l, "units"), " is missing");
            const bool bias = bool_opt(l, "use_bias", true);
            const std::string act = activation(l);
            if (known && in[0]->shape.size() != 1)
                unsupported(l, "Dense on an input of rank " + std::to_string(in[0]->shape.size() + 1) +
                                   " (only [N, K] inputs)");
            if (!ok()) return;
            const int64_t K = in[0]->shape[0];
            const auto kw = weight(l, "kernel", {K, units});
            std::vector<float> w(kw.size());  // [K][N] -> [N][K]
            for (int64_t i = 0; i < K; ++i)
                for (int64_t o = 0; o < units; ++o) w[size_t(o * K + i)] = kw[size_t(i * units + o)];
            Node n = node(l.name, "Dense", {in[0]->value, add_constant(l.name + "/kernel", {units, K}, w)});
            if (bias) n.inputs.push_back(add_constant(l.name + "/bias", {units}, weight(l, "bias", {units})));
            emit(l, std::move(n), act);
            out.shape = {units};
        } else if (c == "Reshape") {
            single_input();
            const json& target = to_array(member(cfg(l), "target_shape", where(l)), ctx(l, "target_shape"));
            Shape t;
            int free_dim = -1;
            for (const json& d : target) {
                t.push_back(to_int(d, ctx(l, "target_shape"), -1, kMaxDim));
                if (t.back() == 0) bad(ctx(l, "target_shape"), " has a zero dimension");
                if (t.back() == -1) {
                    if (free_dim >= 0) bad(ctx(l, "target_shape"), " has more than one -1");
                    free_dim = int(t.size() - 1);
                }
            }
            if (!ok()) return;
            const size_t n_in = checked_numel(in[0]->shape);
            size_t n_fixed = 1;
            bool fits = true;
            for (int64_t d : t)
                if (d > 0 && fits) {
                    fits = n_fixed <= n_in / size_t(d);
                    n_fixed *= fits ? size_t(d) : 1;
                }
            fits = fits && (free_dim >= 0 ? n_in % n_fixed == 0 : n_fixed == n_in);
            if (!fits)
                bad(where(l), ": cannot reshape [N, ", xinfer::to_string(in[0]->shape).substr(1), " to ",
                    target.dump());
            if (free_dim >= 0) t[size_t(free_dim)] = int64_t(n_in / n_fixed);
            Node n = node(l.name, "Reshape", {in[0]->value});
            Shape s{-1};
            s.insert(s.end(), t.begin(), t.end());
            n.attrs["shape"] = s;
            graph_.nodes.push_back(std::move(n));
            out.shape = t;
        } else {
            unsupported(l, "unknown layer class");
            return;
        }
        if (c != "InputLayer" && c != "Dropout") out.known = ok();
    }

    const json& model_;
    const std::vector<std::byte>& bytes_;
    const std::string source_;
    std::map<std::string, Weight> weights_;
    std::vector<Layer> layers_;
    std::vector<std::unique_ptr<json>> synthetic_;
    std::map<std::string, size_t> index_;
    std::vector<std::string> input_layers_, output_layers_;
    std::map<std::string, int> uses_;
    std::map<std::string, std::string> consumer_;
    std::map<std::string, Output> outputs_;
    std::vector<std::string> unsupported_;
    Graph graph_;
};

inline json parse_json(const std::string& text, const std::string& source) {
    try {
        return json::parse(text);
    } catch (const json::exception& e) {
        XINFER_THROW(ErrorCode::invalid_model, source, ": model.json is not valid JSON: ", e.what());
    }
}

inline XinfModel import_parsed(const json& model, const std::vector<std::byte>& weights, const std::string& source) {
    try {
        return Importer(model, weights, source).run();
    } catch (const json::exception& e) {  // a safety net: the importer checks types before reading values
        XINFER_THROW(ErrorCode::invalid_model, source, ": malformed model.json: ", e.what());
    }
}

}  // namespace detail_tfjs

// Imports model.json text and the weight shards' bytes, concatenated in manifest order. `source` names the model
// in error messages.
inline XinfModel import_tfjs(const std::string& model_json_text, const std::vector<std::byte>& weights,
                             const std::string& source) {
    return detail_tfjs::import_parsed(detail_tfjs::parse_json(model_json_text, source), weights, source);
}

// Imports a model.json file; the shards named in its manifest are read from the same folder.
inline XinfModel import_tfjs(const std::string& model_json_path) {
    using detail_tfjs::json;
    auto read = [](const std::string& path) {
        MappedFile f(path);
        return std::vector<std::byte>(f.data(), f.data() + f.size());
    };
    const auto text = read(model_json_path);
    const json model = detail_tfjs::parse_json(std::string(reinterpret_cast<const char*>(text.data()), text.size()),
                                               model_json_path);
    const size_t slash = model_json_path.find_last_of('/');
    const std::string dir = slash == std::string::npos ? "" : model_json_path.substr(0, slash + 1);
    std::vector<std::byte> weights;
    const json* manifest = model.is_object() && model.contains("weightsManifest") ? &model["weightsManifest"] : nullptr;
    if (manifest && manifest->is_array())
        for (const json& group : *manifest) {
            const json* paths = group.is_object() && group.contains("paths") ? &group["paths"] : nullptr;
            XINFER_CHECK(paths && paths->is_array(), ErrorCode::invalid_model, model_json_path,
                         ": a weightsManifest group has no 'paths' array");
            for (const json& p : *paths) {
                XINFER_CHECK(p.is_string(), ErrorCode::invalid_model, model_json_path,
                             ": a shard path is not a string");
                const std::string name = p.get<std::string>();
                // Shards live beside model.json: no absolute paths, no way up.
                const bool safe = !name.empty() && name[0] != '/' && name.find('\\') == std::string::npos &&
                                  name != ".." && name.rfind("../", 0) != 0 &&
                                  name.find("/../") == std::string::npos &&
                                  (name.size() < 3 || name.compare(name.size() - 3, 3, "/..") != 0);
                XINFER_CHECK(safe, ErrorCode::invalid_model, model_json_path, ": shard path '", name,
                             "' must be relative and inside the model's folder");
                const auto shard = read(dir + name);
                weights.insert(weights.end(), shard.begin(), shard.end());
            }
        }
    return detail_tfjs::import_parsed(model, weights, model_json_path);
}

}  // namespace xinfer::io
