#pragma once
// The TF.js layers importer: reads the weights and the layer topology, then converts each layer, in dependency
// order, with the converter its Keras class name selects in layer_converters().
#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "xinfer/io/tfjs/import_context.hpp"
#include "xinfer/io/tfjs/layers/conv.hpp"
#include "xinfer/io/tfjs/layers/core.hpp"
#include "xinfer/io/tfjs/layers/pool.hpp"
#include "xinfer/io/xinf.hpp"

namespace xinfer::io::tfjs {

// Converts one layer given the outputs of the layers it consumes. It adds the layer's nodes to the context's graph
// and returns the layer's output, or what it does not support; malformed configs throw invalid_model.
using Converter = Conversion (*)(ImportContext&, const Layer&, const Inputs&);

// Keras class name -> converter. A new layer type is a converter in layers/ plus a line here.
inline std::map<std::string, Converter> layer_converters() {
    return {
        {"InputLayer", convert_input_layer},
        {"Dropout", convert_dropout},
        {"Activation", convert_activation},
        {"ReLU", convert_relu},
        {"Add", convert_add},
        {"Dense", convert_dense},
        {"Flatten", convert_flatten},
        {"Reshape", convert_reshape},
        {"ZeroPadding2D", convert_zero_padding},
        {"Conv2D", convert_conv},
        {"DepthwiseConv2D", convert_conv},
        {"BatchNormalization", convert_batch_norm},
        {"GlobalAveragePooling2D", convert_global_average_pooling},
        {"AveragePooling2D", convert_pooling},
        {"MaxPooling2D", convert_pooling},
    };
}

class Importer {
public:
    Importer(const json& model, const std::vector<std::byte>& weights, std::string source)
        : model_(model), reader_(std::move(source)), weights_(reader_, weights), converters_(layer_converters()) {}

    XinfModel run() {
        const json& topology = reader_.member(model_, "modelTopology", "model.json");
        weights_.read_manifest(reader_.member(model_, "weightsManifest", "model.json"));
        const json& config = topology.is_object() && topology.contains("model_config") ? topology["model_config"]
                                                                                        : topology;
        topology_ = TopologyReader(reader_, diagnostics_).read(config);
        const std::vector<const Layer*> order = TopologyReader::order(reader_, topology_);
        ImportContext cx(reader_, topology_, weights_);
        for (const Layer* l : order) convert(cx, *l);
        diagnostics_.throw_if_unsupported(reader_.source());
        XinfModel m;
        m.graph = finish_graph(cx);
        return m;
    }

private:
    void convert(ImportContext& cx, const Layer& l) {
        const Inputs in = cx.inputs_of(l);
        auto it = converters_.find(l.cls);
        Conversion r(l, in);
        if (it != converters_.end()) r = it->second(cx, l, in);
        else r.report("unknown layer class");
        for (auto& what : r.unsupported) diagnostics_.unsupported(l, what);
        cx.set_output(l, std::move(r.output));
    }

    // Graph inputs in the order of the model's input_layers, outputs [-1, ...] of the output layers; validated.
    Graph finish_graph(ImportContext& cx) const {
        Graph& g = cx.graph();
        const std::vector<std::string>& input_layers = topology_.input_layers;
        std::vector<ValueInfo> inputs;
        for (auto& name : input_layers)
            for (auto& v : g.inputs)
                if (v.name == name) inputs.push_back(v);
        for (auto& v : g.inputs)
            if (std::find(input_layers.begin(), input_layers.end(), v.name) == input_layers.end())
                inputs.push_back(v);
        g.inputs = std::move(inputs);
        for (auto& name : topology_.output_layers) {
            const Output& o = cx.output(name);
            Shape s{-1};
            s.insert(s.end(), o.shape.begin(), o.shape.end());
            g.outputs.push_back({o.value, DataType::f32, s});
        }
        XINFER_TRY {
            g.sort_and_validate();
        } XINFER_CATCH(const Error&, e) {
            XINFER_THROW(e.code(), reader_.source(), ": ", e.what());
        }
        return std::move(g);
    }

    const json& model_;
    JsonReader reader_;
    WeightStore weights_;
    std::map<std::string, Converter> converters_;
    Diagnostics diagnostics_;
    Topology topology_;
};

inline json parse_json(const std::string& text, const std::string& source) {
    XINFER_TRY {
        return json::parse(text);
    } XINFER_CATCH(const json::exception&, e) {
        XINFER_THROW(ErrorCode::invalid_model, source, ": model.json is not valid JSON: ", e.what());
    }
}

inline XinfModel import_parsed(const json& model, const std::vector<std::byte>& weights, const std::string& source) {
    XINFER_TRY {
        return Importer(model, weights, source).run();
    } XINFER_CATCH(const json::exception&, e) {  // a safety net: the importer checks types before reading values
        XINFER_THROW(ErrorCode::invalid_model, source, ": malformed model.json: ", e.what());
    }
}

}  // namespace xinfer::io::tfjs
