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
//
// The importer lives in tfjs/: json_reader.hpp (checked access to model.json), weights.hpp (manifest, shards,
// quantized weights), topology.hpp (layers and their order), import_context.hpp (what the converters share),
// layers/{core,conv,pool}.hpp (one converter per Keras layer class) and importer.hpp (the class -> converter table).
#include <string>
#include <vector>

#include "xinfer/io/tfjs/importer.hpp"
#include "xinfer/io/tfjs/weights.hpp"

namespace xinfer::io {

// Imports model.json text and the weight shards' bytes, concatenated in manifest order. `source` names the model
// in error messages.
inline XinfModel import_tfjs(const std::string& model_json_text, const std::vector<std::byte>& weights,
                             const std::string& source) {
    return tfjs::import_parsed(tfjs::parse_json(model_json_text, source), weights, source);
}

// Imports a model.json file; the shards named in its manifest are read from the same folder.
inline XinfModel import_tfjs(const std::string& model_json_path) {
    const auto text = tfjs::read_file_bytes(model_json_path);
    const tfjs::json model = tfjs::parse_json(
        std::string(reinterpret_cast<const char*>(text.data()), text.size()), model_json_path);
    const size_t slash = model_json_path.find_last_of('/');
    const std::string dir = slash == std::string::npos ? "" : model_json_path.substr(0, slash + 1);
    const std::vector<std::byte> weights = tfjs::read_shards(model, dir, model_json_path);
    return tfjs::import_parsed(model, weights, model_json_path);
}

}  // namespace xinfer::io
