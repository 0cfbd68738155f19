#pragma once
// The weights of a TF.js model: model.json's "weightsManifest" (groups of shard paths and weight specs) and the
// bytes of the shards, whose concatenation holds the weights in manifest order. A weight is float32 or int32,
// optionally quantized as uint8 or uint16 codes q (value = q * scale + min, little-endian).
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "xinfer/core/shape.hpp"
#include "xinfer/io/mapped_file.hpp"
#include "xinfer/io/tfjs/json_reader.hpp"

namespace xinfer::io::tfjs {

struct WeightSpec {
    Shape shape;
    bool is_int = false;  // int32 rather than float32
    int quant_bytes = 0;  // 0: stored as is; 1: uint8; 2: uint16
    double scale = 1, min = 0;
    size_t offset = 0;  // into the concatenated shards
};

class WeightStore {
public:
    WeightStore(const JsonReader& reader, const std::vector<std::byte>& bytes) : reader_(reader), bytes_(bytes) {}

    // Reads the manifest; the weights must cover the bytes exactly.
    void read_manifest(const json& manifest) {
        reader_.to_array(manifest, "'weightsManifest'");
        size_t offset = 0;
        for (const json& group : manifest) {
            const json& weights = reader_.member(group, "weights", "weightsManifest group");
            for (const json& w : reader_.to_array(weights, "'weights'")) offset = read_entry(w, offset);
        }
        if (offset != bytes_.size())
            reader_.bad("the weight data has ", bytes_.size(), " bytes, the manifest describes ", offset);
    }

    // The spec of the weight `name`, or nullptr when the manifest has none of that name.
    const WeightSpec* find(const std::string& name) const {
        auto it = specs_.find(name);
        return it == specs_.end() ? nullptr : &it->second;
    }

    // The values of a weight as floats (int32 and quantized ones converted).
    std::vector<float> values(const WeightSpec& w) const {
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

private:
    // One manifest entry {name, shape, dtype, quantization?} stored at `offset`; returns the offset after it.
    size_t read_entry(const json& w, size_t offset) {
        const std::string name = reader_.to_string(reader_.member(w, "name", "weightsManifest entry"), "weight name");
        const std::string c = "weight '" + name + "'";
        WeightSpec spec;
        for (const json& d : reader_.to_array(reader_.member(w, "shape", c), c + " shape"))
            spec.shape.push_back(reader_.to_int(d, c + " dimension", 0, int64_t(1) << 48));
        size_t numel = 0;
        XINFER_TRY {
            numel = checked_numel(spec.shape);
        } XINFER_CATCH(const Error&, e) {
            reader_.bad(c, ": ", e.what());
        }
        const std::string dtype = reader_.to_string(reader_.member(w, "dtype", c), c + " dtype");
        if (dtype != "float32" && dtype != "int32") reader_.bad(c, ": unknown dtype '", dtype, "'");
        spec.is_int = dtype == "int32";
        if (const json* q = JsonReader::optional(w, "quantization")) read_quantization(*q, c, spec);
        const size_t elem = spec.quant_bytes ? size_t(spec.quant_bytes) : 4;
        if (numel > (std::numeric_limits<size_t>::max() - offset) / elem || offset + numel * elem > bytes_.size())
            reader_.bad(c, " (shape ", xinfer::to_string(spec.shape), ") ends past the end of the weight data (",
                      bytes_.size(), " bytes)");
        spec.offset = offset;
        offset += numel * elem;
        if (!specs_.emplace(name, std::move(spec)).second) reader_.bad(c, " appears twice in the manifest");
        return offset;
    }

    // {"dtype": "uint8" | "uint16", "scale", "min"} of the weight `c`.
    void read_quantization(const json& q, const std::string& c, WeightSpec& spec) const {
        const std::string qc = c + " quantization";
        const std::string qd = reader_.to_string(reader_.member(q, "dtype", qc), qc + " dtype");
        if (qd != "uint8" && qd != "uint16") reader_.bad(c, ": unknown quantization dtype '", qd, "'");
        spec.quant_bytes = qd == "uint8" ? 1 : 2;
        spec.scale = reader_.to_number(reader_.member(q, "scale", qc), qc + " scale");
        spec.min = reader_.to_number(reader_.member(q, "min", qc), qc + " min");
    }

    const JsonReader& reader_;
    const std::vector<std::byte>& bytes_;
    std::map<std::string, WeightSpec> specs_;
};

// A shard path from the manifest is safe when it stays in the model's folder: relative, no "..", no backslash.
inline bool is_safe_shard_path(const std::string& name) {
    return !name.empty() && name[0] != '/' && name.find('\\') == std::string::npos && name != ".." &&
           name.rfind("../", 0) != 0 && name.find("/../") == std::string::npos &&
           (name.size() < 3 || name.compare(name.size() - 3, 3, "/..") != 0);
}

inline std::vector<std::byte> read_file_bytes(const std::string& path) {
    MappedFile f(path);
    return std::vector<std::byte>(f.data(), f.data() + f.size());
}

// The shards named by `model`'s manifest, read from `dir` (empty or ending in '/') and concatenated in manifest
// order. A manifest that is absent or not an array is left to the importer to report.
inline std::vector<std::byte> read_shards(const json& model, const std::string& dir, const std::string& source) {
    std::vector<std::byte> weights;
    const json* manifest = model.is_object() && model.contains("weightsManifest") ? &model["weightsManifest"] : nullptr;
    if (!manifest || !manifest->is_array()) return weights;
    for (const json& group : *manifest) {
        const json* paths = group.is_object() && group.contains("paths") ? &group["paths"] : nullptr;
        XINFER_CHECK(paths && paths->is_array(), ErrorCode::invalid_model, source,
                     ": a weightsManifest group has no 'paths' array");
        for (const json& p : *paths) {
            XINFER_CHECK(p.is_string(), ErrorCode::invalid_model, source, ": a shard path is not a string");
            const std::string name = p.get<std::string>();
            XINFER_CHECK(is_safe_shard_path(name), ErrorCode::invalid_model, source, ": shard path '", name,
                         "' must be relative and inside the model's folder");
            const auto shard = read_file_bytes(dir + name);
            weights.insert(weights.end(), shard.begin(), shard.end());
        }
    }
    return weights;
}

}  // namespace xinfer::io::tfjs
