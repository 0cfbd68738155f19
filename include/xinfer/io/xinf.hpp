#pragma once
// The native model file .xinf: a safetensors file (io/safetensors.hpp) whose tensors are the graph's constants and
// whose "__metadata__" holds, as JSON strings:
//   format          "xinfer"
//   format_version  "1"
//   graph           {"inputs": [ValueInfo], "outputs": [ValueInfo], "nodes": [Node]}
//                   ValueInfo {"name", "dtype", "shape", "dim_names"?} (dim_names: one per dimension, "" when
//                   unnamed; present only when some dimension is named);
//                   Node {"name", "op", "inputs", "outputs", "attrs"} with
//                   attrs {key: {"i": int} | {"f": number} | {"s": string} | {"ints": [...]} | {"floats": [...]}}
//   labels          ["class 0", ...]                                  (optional)
//   preprocessing   {"scale", "mean", "std", "width", "height", "resize"}  (optional)
//   content_hash    hex digest (io/hash.hpp) of every other metadata entry and every tensor's name, dtype, shape
//                   and bytes: a truncated, corrupted or edited file fails to load.
#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "xinfer/graph/graph.hpp"
#include "xinfer/io/hash.hpp"
#include "xinfer/io/image.hpp"
#include "xinfer/io/mapped_file.hpp"
#include "xinfer/io/safetensors.hpp"

namespace xinfer::io {

// Everything a model file carries besides the graph.
struct ModelMetadata {
    std::vector<std::string> labels;
    std::optional<Preprocessing> preprocessing;
};

struct XinfModel {
    Graph graph;
    ModelMetadata metadata;
};

namespace detail {

using nlohmann::json;

inline json attribute_to_json(const std::string& node, const std::string& key, const Attribute& a) {
    if (auto v = std::get_if<int64_t>(&a)) return {{"i", *v}};
    if (auto v = std::get_if<double>(&a)) {
        XINFER_CHECK(std::isfinite(*v), ErrorCode::invalid_argument, "node '", node, "': attribute '", key,
                     "' is not finite");
        return {{"f", *v}};
    }
    if (auto v = std::get_if<std::string>(&a)) return {{"s", *v}};
    if (auto v = std::get_if<std::vector<int64_t>>(&a)) return {{"ints", *v}};
    const auto& f = std::get<std::vector<double>>(a);
    for (double x : f)
        XINFER_CHECK(std::isfinite(x), ErrorCode::invalid_argument, "node '", node, "': attribute '", key,
                     "' has a non-finite value");
    return {{"floats", f}};
}

inline Attribute attribute_from_json(const json& j) {
    if (!j.is_object() || j.size() != 1)
        XINFER_THROW(ErrorCode::invalid_model, "malformed graph or metadata: an attribute must be an object with one key");
    const auto it = j.begin();
    const std::string kind = it.key();
    const json& v = it.value();
    if (kind == "i") return v.get<int64_t>();
    if (kind == "f") return v.get<double>();
    if (kind == "s") return v.get<std::string>();
    if (kind == "ints") return v.get<std::vector<int64_t>>();
    if (kind == "floats") return v.get<std::vector<double>>();
    XINFER_THROW(ErrorCode::invalid_model, "malformed graph or metadata: unknown attribute kind '", kind, "'");
}

// "dim_names" is written only when some dimension has a name, so files of models without names keep their bytes.
inline json value_info_to_json(const ValueInfo& v) {
    json j{{"name", v.name}, {"dtype", ::xinfer::to_string(v.dtype)}, {"shape", v.shape}};
    const bool named = std::any_of(v.dim_names.begin(), v.dim_names.end(), [](auto& n) { return !n.empty(); });
    if (named) j["dim_names"] = v.dim_names;
    return j;
}
inline ValueInfo value_info_from_json(const json& j) {
    ValueInfo v{j.at("name").get<std::string>(), dtype_from_string(j.at("dtype").get<std::string>()),
                j.at("shape").get<Shape>(), {}};
    if (j.contains("dim_names")) v.dim_names = j.at("dim_names").get<std::vector<std::string>>();
    XINFER_CHECK(v.dim_names.empty() || v.dim_names.size() == v.shape.size(), ErrorCode::invalid_model, "value '",
                 v.name, "' has ", v.dim_names.size(), " dimension names for shape ", ::xinfer::to_string(v.shape));
    return v;
}

inline std::string graph_to_json(const Graph& g) {
    json nodes = json::array(), inputs = json::array(), outputs = json::array();
    for (auto& v : g.inputs) inputs.push_back(value_info_to_json(v));
    for (auto& v : g.outputs) outputs.push_back(value_info_to_json(v));
    for (auto& n : g.nodes) {
        json attrs = json::object();
        for (auto& [k, a] : n.attrs) attrs[k] = attribute_to_json(n.name, k, a);
        nodes.push_back({{"name", n.name}, {"op", n.op}, {"inputs", n.inputs}, {"outputs", n.outputs}, {"attrs", attrs}});
    }
    return json{{"inputs", inputs}, {"outputs", outputs}, {"nodes", nodes}}.dump();
}

inline void graph_from_json(const std::string& text, Graph& g) {
    const json j = json::parse(text);
    for (auto& v : j.at("inputs")) g.inputs.push_back(value_info_from_json(v));
    for (auto& v : j.at("outputs")) g.outputs.push_back(value_info_from_json(v));
    for (auto& jn : j.at("nodes")) {
        Node n;
        n.name = jn.at("name").get<std::string>();
        n.op = jn.at("op").get<std::string>();
        n.inputs = jn.at("inputs").get<std::vector<std::string>>();
        n.outputs = jn.at("outputs").get<std::vector<std::string>>();
        for (auto& [k, a] : jn.at("attrs").items()) n.attrs[k] = attribute_from_json(a);
        g.nodes.push_back(std::move(n));
    }
}

inline std::string preprocessing_to_json(const Preprocessing& p) {
    return json{{"scale", p.scale},   {"mean", p.mean},     {"std", p.std},
                {"width", p.width},   {"height", p.height}, {"resize", io::to_string(p.resize)}}
        .dump();
}
inline Preprocessing preprocessing_from_json(const std::string& text) {
    const json j = json::parse(text);
    Preprocessing p;
    p.scale = j.at("scale").get<float>();
    p.mean = j.at("mean").get<std::array<float, 3>>();
    p.std = j.at("std").get<std::array<float, 3>>();
    p.width = j.at("width").get<int>();
    p.height = j.at("height").get<int>();
    p.resize = resize_policy_from_string(j.at("resize").get<std::string>());
    p.validate();
    return p;
}

// Digest of the metadata (but content_hash) and of every tensor, in the file's order.
inline std::string content_hash(const std::map<std::string, std::string>& metadata,
                                 const std::vector<TensorRecord>& tensors) {
    Hasher h;
    auto put_string = [&](const std::string& s) {
        const uint64_t n = s.size();
        h.update(&n, sizeof n);
        h.update(s.data(), s.size());
    };
    for (auto& [k, v] : metadata)
        if (k != "content_hash") put_string(k), put_string(v);
    for (auto& t : tensors) {
        put_string(t.name);
        put_string(::xinfer::to_string(t.dtype));
        for (int64_t d : t.shape) h.update(&d, sizeof d);
        const uint64_t n = t.bytes;
        h.update(&n, sizeof n);
        h.update(t.data, t.bytes);
    }
    return to_hex(h.digest());
}

}  // namespace detail

// Serialises a model to .xinf bytes. Graph attributes must be finite.
inline std::vector<std::byte> write_xinf(const Graph& g, const ModelMetadata& meta) {
    std::map<std::string, std::string> md;
    md["format"] = "xinfer";
    md["format_version"] = "1";
    md["graph"] = detail::graph_to_json(g);
    if (!meta.labels.empty()) md["labels"] = nlohmann::json(meta.labels).dump();
    if (meta.preprocessing) md["preprocessing"] = detail::preprocessing_to_json(*meta.preprocessing);
    std::vector<TensorRecord> records;
    SafetensorsWriter writer;
    for (auto& [name, c] : g.constants) {
        XINFER_CHECK(c.bytes == c.numel() * size_of(c.dtype), ErrorCode::internal, "constant '", name,
                     "' has ", c.bytes, " bytes for shape ", ::xinfer::to_string(c.shape));
        writer.add(name, c.dtype, c.shape, c.data, c.bytes);
        records.push_back({name, c.dtype, c.shape, c.data, c.bytes});
    }
    md["content_hash"] = detail::content_hash(md, records);
    for (auto& [k, v] : md) writer.set_metadata(k, v);
    return writer.to_bytes();
}

inline void save_xinf(const std::string& path, const Graph& g, const ModelMetadata& meta) {
    const auto bytes = write_xinf(g, meta);
    write_file_atomically(path, bytes.data(), bytes.size());
}

// Parses .xinf bytes. Constants point into `data` when it is suitably aligned (their lifetime is tied to `owner`),
// otherwise they are copied. Every malformed input throws xinfer::Error naming `source` and the problem.
inline XinfModel read_xinf(std::shared_ptr<const void> owner, const std::byte* data, size_t size,
                           const std::string& source) {
    const SafetensorsView view = parse_safetensors(data, size, source);
    auto meta = [&](const char* key) -> const std::string* {
        auto it = view.metadata.find(key);
        return it == view.metadata.end() ? nullptr : &it->second;
    };
    XINFER_CHECK(meta("format") && *meta("format") == "xinfer", ErrorCode::invalid_model, source,
                 ": not an xinfer model (safetensors metadata lacks format=xinfer)");
    XINFER_CHECK(meta("format_version") && *meta("format_version") == "1", ErrorCode::invalid_model, source,
                 ": unsupported .xinf format version '", meta("format_version") ? *meta("format_version") : "",
                 "' (this build reads version 1)");
    XINFER_CHECK(meta("content_hash"), ErrorCode::invalid_model, source, ": content_hash is missing");
    const std::string actual = detail::content_hash(view.metadata, view.tensors);
    XINFER_CHECK(actual == *meta("content_hash"), ErrorCode::invalid_model, source, ": content hash mismatch (file ",
                 *meta("content_hash"), ", computed ", actual, "): the file is corrupted or was modified");
    XINFER_CHECK(meta("graph"), ErrorCode::invalid_model, source, ": the graph is missing");
    XinfModel m;
    XINFER_TRY {
        detail::graph_from_json(*meta("graph"), m.graph);
        if (auto labels = meta("labels")) m.metadata.labels = nlohmann::json::parse(*labels).get<std::vector<std::string>>();
        if (auto pre = meta("preprocessing")) m.metadata.preprocessing = detail::preprocessing_from_json(*pre);
    } XINFER_CATCH(const Error&, e) {
        XINFER_THROW(ErrorCode::invalid_model, source, ": ", e.what());
    } XINFER_CATCH(const std::exception&, e) {  // nlohmann::json type/parse errors and malformed attributes
        XINFER_THROW(ErrorCode::invalid_model, source, ": malformed graph or metadata: ", e.what());
    }
    for (const TensorRecord& t : view.tensors) {
        Constant c;
        c.dtype = t.dtype;
        c.shape = t.shape;
        c.bytes = t.bytes;
        if (reinterpret_cast<uintptr_t>(t.data) % XINFER_ALIGNMENT == 0) {
            c.owner = owner;
            c.data = t.data;
        } else {
            c = Constant::copy_of(t.dtype, t.shape, t.data, t.bytes);
        }
        m.graph.constants[t.name] = std::move(c);
    }
    XINFER_TRY {
        m.graph.sort_and_validate();
    } XINFER_CATCH(const Error&, e) {
        XINFER_THROW(e.code(), source, ": ", e.what());
    }
    return m;
}

// Maps the file (no copy of the weights) and parses it.
inline XinfModel load_xinf(const std::string& path) {
    auto file = std::make_shared<MappedFile>(path);
    const std::byte* data = file->data();
    const size_t size = file->size();
    return read_xinf(std::move(file), data, size, path);
}

}  // namespace xinfer::io
