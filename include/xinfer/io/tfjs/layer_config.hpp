#pragma once
// Typed, checked reads of one layer's Keras config. A malformed value is an invalid_model error naming the file, the
// layer and the field: "<source>: layer 'conv' (Conv2D): 'filters' must be an integer, got ...".
#include <array>
#include <string>

#include "xinfer/io/tfjs/topology.hpp"

namespace xinfer::io::tfjs {

class LayerConfig {
public:
    using Pair = std::array<int64_t, 2>;

    LayerConfig(const JsonReader& reader, const Layer& layer) : reader_(reader), layer_(layer) {}

    const Layer& layer() const { return layer_; }

    // "layer 'name' (Class): 'key'", the name of a field in messages.
    std::string ctx(const char* key) const { return where(layer_) + ": '" + key + "'"; }

    // The field, or nullptr when absent or null.
    const json* find(const char* key) const { return JsonReader::optional(*layer_.config, key); }

    // The field `key`, which must be present: "<field> is missing" otherwise.
    const json& require(const char* key) const {
        const json* v = find(key);
        if (!v) reader_.bad(ctx(key), " is missing");
        return *v;
    }

    int64_t int_opt(const char* key, int64_t fallback, int64_t lo, int64_t hi) const {
        const json* v = find(key);
        return v ? reader_.to_int(*v, ctx(key), lo, hi) : fallback;
    }

    bool bool_opt(const char* key, bool fallback) const {
        const json* v = find(key);
        if (!v) return fallback;
        if (!v->is_boolean()) reader_.bad(ctx(key), " must be true or false, got ", v->dump());
        return v->get<bool>();
    }

    std::string string_opt(const char* key, const std::string& fallback) const {
        const json* v = find(key);
        return v ? reader_.to_string(*v, ctx(key)) : fallback;
    }

    double number(const json& v, const char* key) const { return reader_.to_number(v, ctx(key)); }

    // An int or a list of two ints (Keras kernel_size, strides, dilation_rate, pool_size).
    Pair pair_opt(const char* key, Pair fallback, int64_t lo) const {
        const json* v = find(key);
        if (!v) return fallback;
        if (!v->is_array()) {
            const int64_t x = reader_.to_int(*v, ctx(key), lo, kMaxWindow);
            return {x, x};
        }
        if (v->size() != 2) reader_.bad(ctx(key), " must hold 2 values, got ", v->dump());
        return {reader_.to_int((*v)[0], ctx(key), lo, kMaxWindow), reader_.to_int((*v)[1], ctx(key), lo, kMaxWindow)};
    }

private:
    const JsonReader& reader_;
    const Layer& layer_;
};

}  // namespace xinfer::io::tfjs
