#pragma once
// Checked access to model.json values. A value of the wrong type or range is an ErrorCode::invalid_model error whose
// message starts with the model's file name and names the field.
#include <cmath>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "xinfer/core/error.hpp"

namespace xinfer::io::tfjs {

using nlohmann::json;

constexpr int64_t kMaxDim = int64_t(1) << 24;     // activation sizes and unit counts
constexpr int64_t kMaxWindow = int64_t(1) << 20;  // kernel sizes, strides, dilations, paddings

class JsonReader {
public:
    explicit JsonReader(std::string source) : source_(std::move(source)) {}

    const std::string& source() const { return source_; }

    // Throws invalid_model with the message "<source>: <a...>".
    template <class... A> [[noreturn]] void bad(const A&... a) const {
        XINFER_THROW(ErrorCode::invalid_model, source_, ": ", a...);
    }

    // The member `key` of the object `obj`; `ctx` names the object in errors.
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

    // An integer in [lo, hi]; a float with an integral value counts as one.
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

private:
    std::string source_;
};

}  // namespace xinfer::io::tfjs
