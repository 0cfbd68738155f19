#pragma once
// The Open Inference Protocol v2 (KServe v2; Triton's HTTP API) on the wire: datatypes, the inference request
// (JSON, with the binary tensor extension's trailing bytes) and the inference response. No HTTP and no model here:
// the server binds what this parses to a model (serve/binding.hpp).
//
// Sources: the protocol's inference_rest.md, Triton's extension_binary_data.md and extension_classification.md
// (facts collected in the project's serving notes). The request is parsed with a SAX handler so a large tensor's
// numbers go straight into a float buffer instead of a JSON tree; nesting deeper than 100 is refused, as Triton does.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <algorithm>
#include <cstdio>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace xinfer::serve {

using nlohmann::json;

// An error with the HTTP status the protocol gives it; the message names the model, input or field.
struct HttpError : std::runtime_error {
    int status;
    HttpError(int status_, const std::string& message) : std::runtime_error(message), status(status_) {}
};

[[noreturn]] inline void bad_request(const std::string& message) { throw HttpError(400, message); }

enum class WireType { BOOL, UINT8, UINT16, UINT32, UINT64, INT8, INT16, INT32, INT64, FP16, FP32, FP64, BYTES };

inline const char* to_string(WireType t) {
    static const char* names[] = {"BOOL",  "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16",
                                  "INT32", "INT64", "FP16",   "FP32",   "FP64",   "BYTES"};
    return names[int(t)];
}

inline std::optional<WireType> wire_type_from_string(const std::string& s) {
    for (int t = 0; t <= int(WireType::BYTES); ++t)
        if (s == to_string(WireType(t))) return WireType(t);
    return std::nullopt;
}

// Bytes per element; 0 for BYTES (variable length).
inline size_t wire_size(WireType t) {
    switch (t) {
        case WireType::BOOL: case WireType::UINT8: case WireType::INT8: return 1;
        case WireType::UINT16: case WireType::INT16: case WireType::FP16: return 2;
        case WireType::UINT32: case WireType::INT32: case WireType::FP32: return 4;
        case WireType::UINT64: case WireType::INT64: case WireType::FP64: return 8;
        case WireType::BYTES: return 0;
    }
    return 0;
}

inline float half_to_float(uint16_t h) {
    const uint32_t sign = uint32_t(h >> 15) << 31, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    float v;
    if (exp == 0) v = std::ldexp(float(mant), -24);                      // zero and subnormals
    else if (exp == 31) v = mant ? std::numeric_limits<float>::quiet_NaN() : std::numeric_limits<float>::infinity();
    else v = std::ldexp(float(mant | 0x400), int(exp) - 25);
    uint32_t bits;
    std::memcpy(&bits, &v, 4);
    bits |= sign;
    std::memcpy(&v, &bits, 4);
    return v;
}

// Little-endian wire elements -> float (the host is little-endian: x86-64 and arm64 Linux).
inline void wire_to_float(WireType t, const uint8_t* src, size_t n, float* dst) {
    auto load = [&](auto tag, size_t i) {
        decltype(tag) v;
        std::memcpy(&v, src + i * sizeof(v), sizeof(v));
        return v;
    };
    for (size_t i = 0; i < n; ++i) {
        switch (t) {
            case WireType::BOOL: dst[i] = src[i] ? 1.0f : 0.0f; break;
            case WireType::UINT8: dst[i] = float(src[i]); break;
            case WireType::INT8: dst[i] = float(int8_t(src[i])); break;
            case WireType::UINT16: dst[i] = float(load(uint16_t(), i)); break;
            case WireType::INT16: dst[i] = float(load(int16_t(), i)); break;
            case WireType::UINT32: dst[i] = float(load(uint32_t(), i)); break;
            case WireType::INT32: dst[i] = float(load(int32_t(), i)); break;
            case WireType::UINT64: dst[i] = float(load(uint64_t(), i)); break;
            case WireType::INT64: dst[i] = float(load(int64_t(), i)); break;
            case WireType::FP16: dst[i] = half_to_float(load(uint16_t(), i)); break;
            case WireType::FP32: dst[i] = load(float(), i); break;
            case WireType::FP64: dst[i] = float(load(double(), i)); break;
            case WireType::BYTES: break;
        }
    }
}

// One request input as received: its values converted to float (numeric types), or its elements (BYTES).
struct RequestInput {
    std::string name;
    WireType datatype = WireType::FP32;
    std::vector<int64_t> shape;
    size_t numel = 0;                   // product of shape, checked against the data
    std::vector<float> values;          // numeric data, row-major
    std::vector<std::string> elements;  // BYTES data
    std::optional<uint64_t> binary_size;
};

struct RequestOutput {
    std::string name;
    std::optional<bool> binary;  // parameters.binary_data
    int classification = 0;      // parameters.classification: top K as "value:index:label"
};

struct InferRequest {
    std::optional<std::string> id;
    json parameters = json::object();
    std::vector<RequestInput> inputs;
    std::vector<RequestOutput> outputs;  // empty: every output
    bool binary_output = false;          // parameters.binary_data_output
    std::optional<double> timeout_us;    // parameters.timeout (Triton): queue timeout for this request
    bool raw = false;                    // Inference-Header-Content-Length: 0 (the body is one input's bytes)
};

inline constexpr int kMaxJsonDepth = 100;

namespace detail {

inline std::string base64_decode(const std::string& s, const std::string& what) {
    auto value = [](char c) -> int {
        if (c >= 'A' && c <= 'Z') return c - 'A';
        if (c >= 'a' && c <= 'z') return c - 'a' + 26;
        if (c >= '0' && c <= '9') return c - '0' + 52;
        if (c == '+' || c == '-') return 62;
        if (c == '/' || c == '_') return 63;
        return -1;
    };
    std::string out;
    out.reserve(s.size() / 4 * 3);
    uint32_t acc = 0;
    int bits = 0;
    for (char c : s) {
        if (c == '=' || c == '\n' || c == '\r') continue;
        const int v = value(c);
        if (v < 0) bad_request(what + ": invalid base64");
        acc = (acc << 6) | uint32_t(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(char((acc >> bits) & 0xff));
        }
    }
    return out;
}

// SAX handler: a JSON tree for everything except inputs[i].data, whose numbers (any nesting: the protocol allows
// nested or flat) go to a flat float buffer and whose strings / {"b64": ...} objects to byte strings.
class RequestSax : public nlohmann::json_sax<json> {
public:
    json root;
    struct Capture {
        std::vector<float> numbers;
        std::vector<std::string> strings;
        bool saw_number = false, saw_string = false;
    };
    std::map<size_t, Capture> captures;  // by the input's position in "inputs"

    bool null() override { return capture_ ? fail("null in tensor data") : put(json(nullptr)); }
    bool boolean(bool v) override { return capture_ ? number(v ? 1.0 : 0.0) : put(json(v)); }
    bool number_integer(number_integer_t v) override { return capture_ ? number(double(v)) : put(json(v)); }
    bool number_unsigned(number_unsigned_t v) override { return capture_ ? number(double(v)) : put(json(v)); }
    bool number_float(number_float_t v, const string_t&) override { return capture_ ? number(v) : put(json(v)); }
    bool string(string_t& v) override {
        if (!capture_) return put(json(std::move(v)));
        if (b64_state_ == 2) {  // the value of {"b64": ...}
            pending_b64_ = std::move(v);
            b64_state_ = 3;
            return true;
        }
        if (b64_state_) return fail("tensor data: an object in data must be {\"b64\": \"...\"}");
        current_->strings.push_back(std::move(v));
        current_->saw_string = true;
        return true;
    }
    bool binary(binary_t&) override { return fail("binary JSON values are not supported"); }

    bool start_object(std::size_t) override {
        if (++depth_ > kMaxJsonDepth) return fail("JSON nested deeper than 100 levels");
        if (capture_) {
            if (b64_state_) return fail("tensor data: nested objects");
            b64_state_ = 1;
            return true;
        }
        return open(json::object());
    }
    bool key(string_t& k) override {
        if (capture_) {
            if (b64_state_ != 1 || k != "b64") return fail("tensor data: an object in data must be {\"b64\": \"...\"}");
            b64_state_ = 2;
            return true;
        }
        keys_.back() = k;
        return true;
    }
    bool end_object() override {
        --depth_;
        if (capture_) {
            if (b64_state_ != 3) return fail("tensor data: an object in data must be {\"b64\": \"...\"}");
            current_->strings.push_back(base64_decode(pending_b64_, "tensor data"));
            current_->saw_string = true;
            b64_state_ = 0;
            return true;
        }
        return close();
    }
    bool start_array(std::size_t) override {
        if (++depth_ > kMaxJsonDepth) return fail("JSON nested deeper than 100 levels");
        if (capture_) {
            if (b64_state_) return fail("tensor data: an array inside {\"b64\": ...}");
            ++capture_;
            return true;
        }
        // inputs[i].data: root object -> "inputs" array -> input object -> "data"
        if (stack_.size() == 3 && keys_[0] == "inputs" && keys_[2] == "data" && stack_[1]->is_array()) {
            const size_t input = stack_[1]->size() - 1;
            if (captures.count(input)) return fail("an input has \"data\" twice");
            current_ = &captures[input];
            capture_ = 1;
            return true;
        }
        return open(json::array());
    }
    bool end_array() override {
        --depth_;
        if (capture_) {
            --capture_;
            return true;
        }
        return close();
    }
    bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& e) override {
        error = error.empty() ? "malformed JSON at byte " + std::to_string(position) + ": " + e.what() : error;
        return false;
    }

    std::string error;

private:
    bool fail(const std::string& why) {
        if (error.empty()) error = why;
        return false;
    }
    bool number(double v) {
        if (b64_state_) return fail("tensor data: an object in data must be {\"b64\": \"...\"}");
        current_->numbers.push_back(float(v));
        current_->saw_number = true;
        return true;
    }
    // A scalar: the root, an array element or an object member.
    bool put(json v) {
        if (stack_.empty()) {
            root = std::move(v);
            return true;
        }
        json& parent = *stack_.back();
        if (parent.is_array()) parent.push_back(std::move(v));
        else parent[keys_.back()] = std::move(v);
        return true;
    }
    bool open(json v) {
        json* child;
        if (stack_.empty()) {
            root = std::move(v);
            child = &root;
        } else {
            json& parent = *stack_.back();
            if (parent.is_array()) {
                parent.push_back(std::move(v));
                child = &parent.back();
            } else {
                child = &(parent[keys_.back()] = std::move(v));
            }
        }
        stack_.push_back(child);
        keys_.emplace_back();
        return true;
    }
    bool close() {
        stack_.pop_back();
        keys_.pop_back();
        return true;
    }

    std::vector<json*> stack_;
    std::vector<std::string> keys_;  // per open container: the current member's key
    int depth_ = 0;
    int capture_ = 0;     // array depth inside a data capture
    int b64_state_ = 0;   // inside data: 1 "{" seen, 2 "b64" key seen, 3 value seen
    std::string pending_b64_;
    Capture* current_ = nullptr;
};

inline const json* member(const json& obj, const char* key) {
    auto it = obj.find(key);
    return it == obj.end() ? nullptr : &*it;
}

inline std::string string_member(const json& obj, const char* key, const std::string& where) {
    const json* v = member(obj, key);
    if (!v) bad_request(where + ": missing \"" + key + "\"");
    if (!v->is_string()) bad_request(where + ": \"" + key + "\" must be a string");
    return v->get<std::string>();
}

// Dimensions are non-negative and their product (the element count) stays below 2^40.
inline std::vector<int64_t> parse_shape(const json& obj, const std::string& where, size_t& numel) {
    const json* s = member(obj, "shape");
    if (!s) bad_request(where + ": missing \"shape\"");
    if (!s->is_array()) bad_request(where + ": \"shape\" must be an array of integers");
    std::vector<int64_t> shape;
    numel = 1;
    for (const auto& d : *s) {
        if (!d.is_number_integer()) bad_request(where + ": \"shape\" must be an array of integers");
        if (d.is_number_unsigned() ? d.get<uint64_t>() > (uint64_t(1) << 40) : d.get<int64_t>() < 0)
            bad_request(where + ": dimension " + d.dump() + " is out of range");
        const int64_t v = d.get<int64_t>();
        if (v > (int64_t(1) << 40) || (v > 0 && numel > (size_t(1) << 40) / size_t(v)))
            bad_request(where + ": shape " + s->dump() + " has too many elements");
        numel *= size_t(v);
        shape.push_back(v);
    }
    return shape;
}

inline std::optional<bool> bool_parameter(const json& params, const char* key, const std::string& where) {
    const json* v = member(params, key);
    if (!v) return std::nullopt;
    if (!v->is_boolean()) bad_request(where + ": parameter \"" + key + "\" must be a boolean");
    return v->get<bool>();
}

inline const json& parameters_of(const json& obj, const std::string& where) {
    static const json empty = json::object();
    const json* p = member(obj, "parameters");
    if (!p) return empty;
    if (!p->is_object()) bad_request(where + ": \"parameters\" must be an object");
    return *p;
}

inline void parse_outputs(const json& root, InferRequest& r) {
    const json* outs = member(root, "outputs");
    if (!outs) return;
    if (!outs->is_array()) bad_request("\"outputs\" must be an array");
    for (size_t i = 0; i < outs->size(); ++i) {
        const json& o = (*outs)[i];
        const std::string where = "outputs[" + std::to_string(i) + "]";
        if (!o.is_object()) bad_request(where + " must be an object");
        RequestOutput out;
        out.name = string_member(o, "name", where);
        for (auto& prev : r.outputs)
            if (prev.name == out.name) bad_request("output '" + out.name + "' is requested twice");
        const json& params = parameters_of(o, "output '" + out.name + "'");
        out.binary = bool_parameter(params, "binary_data", "output '" + out.name + "'");
        if (const json* k = member(params, "classification")) {
            if (!k->is_number_integer() || k->get<int64_t>() < 1 || k->get<int64_t>() > 1000000)
                bad_request("output '" + out.name + "': \"classification\" must be a positive integer");
            out.classification = int(k->get<int64_t>());
        }
        r.outputs.push_back(std::move(out));
    }
}

inline void parse_request_parameters(const json& root, InferRequest& r) {
    const json& params = parameters_of(root, "request");
    r.parameters = params;
    r.binary_output = bool_parameter(params, "binary_data_output", "request").value_or(false);
    if (const json* t = member(params, "timeout")) {
        if (!t->is_number() || t->get<double>() < 0) bad_request("request: \"timeout\" must be a number of µs >= 0");
        r.timeout_us = t->get<double>();
    }
    if (const json* id = member(root, "id")) {
        if (!id->is_string()) bad_request("\"id\" must be a string");
        r.id = id->get<std::string>();
    }
}

// Splits BYTES binary data: each element a uint32 little-endian length, then that many bytes.
inline std::vector<std::string> split_bytes_elements(const uint8_t* p, size_t n, const std::string& where) {
    std::vector<std::string> out;
    size_t at = 0;
    while (at < n) {
        if (n - at < 4) bad_request(where + ": truncated BYTES element length");
        uint32_t len;
        std::memcpy(&len, p + at, 4);
        at += 4;
        if (len > n - at) bad_request(where + ": BYTES element of " + std::to_string(len) + " bytes overruns the data");
        out.emplace_back(reinterpret_cast<const char*>(p + at), len);
        at += len;
    }
    return out;
}

}  // namespace detail

// Parses an inference request. `header` is the JSON part; `binary` (possibly empty) the bytes that follow it.
inline InferRequest parse_infer_request(const char* header, size_t header_size, const uint8_t* binary,
                                        size_t binary_size) {
    detail::RequestSax sax;
    const bool ok = json::sax_parse(header, header + header_size, &sax);
    if (!ok) bad_request(sax.error.empty() ? "malformed JSON" : sax.error);
    const json& root = sax.root;
    if (!root.is_object()) bad_request("the request must be a JSON object");
    InferRequest r;
    detail::parse_request_parameters(root, r);
    const json* inputs = detail::member(root, "inputs");
    if (!inputs || !inputs->is_array()) bad_request("\"inputs\" must be an array");
    if (inputs->empty()) bad_request("\"inputs\" is empty");
    size_t binary_at = 0;
    for (size_t i = 0; i < inputs->size(); ++i) {
        const json& in = (*inputs)[i];
        if (!in.is_object()) bad_request("inputs[" + std::to_string(i) + "] must be an object");
        RequestInput ri;
        ri.name = detail::string_member(in, "name", "inputs[" + std::to_string(i) + "]");
        const std::string where = "input '" + ri.name + "'";
        for (auto& prev : r.inputs)
            if (prev.name == ri.name) bad_request(where + " is given twice");
        const std::string dt = detail::string_member(in, "datatype", where);
        const auto wt = wire_type_from_string(dt);
        if (!wt) bad_request(where + ": unknown datatype '" + dt + "'");
        ri.datatype = *wt;
        ri.shape = detail::parse_shape(in, where, ri.numel);
        const json& params = detail::parameters_of(in, where);
        if (const json* bs = detail::member(params, "binary_data_size")) {
            if (!bs->is_number_integer() || bs->get<int64_t>() < 0)
                bad_request(where + ": \"binary_data_size\" must be a non-negative integer");
            ri.binary_size = bs->get<uint64_t>();
        }
        const json* data = detail::member(in, "data");
        if (ri.binary_size) {
            if (data || sax.captures.count(i)) bad_request(where + ": both \"data\" and \"binary_data_size\"");
            if (*ri.binary_size > binary_size - binary_at)
                bad_request(where + ": binary_data_size " + std::to_string(*ri.binary_size) + " exceeds the " +
                            std::to_string(binary_size - binary_at) + " bytes left in the body");
            const uint8_t* p = binary + binary_at;
            const size_t n = size_t(*ri.binary_size);
            binary_at += n;
            if (ri.datatype == WireType::BYTES) {
                ri.elements = detail::split_bytes_elements(p, n, where);
                if (ri.elements.size() != ri.numel)
                    bad_request(where + ": " + std::to_string(ri.elements.size()) + " BYTES elements for shape of " +
                                std::to_string(ri.numel));
            } else {
                if (n != ri.numel * wire_size(ri.datatype))
                    bad_request(where + ": binary_data_size " + std::to_string(n) + " is not " +
                                std::to_string(ri.numel) + " " + to_string(ri.datatype) + " elements");
                ri.values.resize(ri.numel);
                wire_to_float(ri.datatype, p, ri.numel, ri.values.data());
            }
        } else {
            // The SAX handler took every array-valued "data" out of the tree; anything else there is wrong.
            auto captured = sax.captures.find(i);
            if (captured == sax.captures.end())
                bad_request(where + (data ? ": \"data\" must be an array" : ": missing \"data\""));
            if (data) bad_request(where + ": \"data\" is given twice");
            auto& cap = captured->second;
            if (cap.saw_number && cap.saw_string) bad_request(where + ": \"data\" mixes numbers and strings");
            if (ri.datatype == WireType::BYTES) {
                if (cap.saw_number) bad_request(where + ": BYTES data must be strings or {\"b64\": ...}");
                ri.elements = std::move(cap.strings);
                if (ri.elements.size() != ri.numel)
                    bad_request(where + ": " + std::to_string(ri.elements.size()) + " elements for shape of " +
                                std::to_string(ri.numel));
            } else {
                if (cap.saw_string) bad_request(where + ": " + to_string(ri.datatype) + " data must be numbers");
                ri.values = std::move(cap.numbers);
                if (ri.values.size() != ri.numel)
                    bad_request(where + ": " + std::to_string(ri.values.size()) + " values for shape of " +
                                std::to_string(ri.numel) + " elements");
            }
        }
        r.inputs.push_back(std::move(ri));
    }
    if (binary_at != binary_size)
        bad_request("the body has " + std::to_string(binary_size - binary_at) +
                    " bytes after the tensors that binary_data_size accounts for");
    detail::parse_outputs(root, r);
    return r;
}

// One output of the response: float values (or, for classification, strings) and its shape.
struct ResponseOutput {
    std::string name;
    std::vector<int64_t> shape;
    const float* values = nullptr;  // FP32, numel(shape) of them
    std::vector<std::string> strings;  // BYTES (classification)
    bool binary = false;
};

inline void append_float(std::string& out, float v) {
    if (!std::isfinite(v)) {  // JSON has no NaN/Inf; Triton and KServe write them as strings too
        out += std::isnan(v) ? "\"NaN\"" : v > 0 ? "\"Infinity\"" : "\"-Infinity\"";
        return;
    }
    char buf[32];
    const int n = std::snprintf(buf, sizeof buf, "%.9g", double(v));
    out.append(buf, size_t(n));
}

inline size_t numel_of(const std::vector<int64_t>& shape) {
    size_t n = 1;
    for (auto d : shape) n *= size_t(d);
    return n;
}

// The response: JSON, then (when any output is binary) the binary outputs' bytes. `json_size` receives the JSON
// part's length (the Inference-Header-Content-Length value).
inline std::string write_infer_response(const std::string& model, const std::string& version,
                                        const std::optional<std::string>& id,
                                        const std::vector<ResponseOutput>& outputs, size_t& json_size) {
    std::string out = "{\"model_name\":" + json(model).dump() + ",\"model_version\":" + json(version).dump();
    if (id) out += ",\"id\":" + json(*id).dump();
    out += ",\"outputs\":[";
    std::string tail;
    for (size_t i = 0; i < outputs.size(); ++i) {
        const auto& o = outputs[i];
        const bool bytes = o.values == nullptr;
        out += i ? ",{" : "{";
        out += "\"name\":" + json(o.name).dump() + ",\"datatype\":\"" + (bytes ? "BYTES" : "FP32") + "\",\"shape\":" +
               json(o.shape).dump();
        if (o.binary) {
            const size_t before = tail.size();
            if (bytes) {
                for (auto& s : o.strings) {
                    const uint32_t len = uint32_t(s.size());
                    tail.append(reinterpret_cast<const char*>(&len), 4);
                    tail += s;
                }
            } else {
                tail.append(reinterpret_cast<const char*>(o.values), numel_of(o.shape) * sizeof(float));
            }
            out += ",\"parameters\":{\"binary_data_size\":" + std::to_string(tail.size() - before) + "}}";
            continue;
        }
        out += ",\"data\":[";
        if (bytes) {
            for (size_t j = 0; j < o.strings.size(); ++j) out += (j ? "," : "") + json(o.strings[j]).dump();
        } else {
            const size_t n = numel_of(o.shape);
            for (size_t j = 0; j < n; ++j) {
                if (j) out += ',';
                append_float(out, o.values[j]);
            }
        }
        out += "]}";
    }
    out += "]}";
    json_size = out.size();
    return out + tail;
}

// Triton's classification strings for one row: "value:index:label", best first, value with 6 decimals.
inline std::vector<std::string> classification_strings(const float* row, size_t n, int k,
                                                       const std::vector<std::string>& labels) {
    std::vector<size_t> order(n);
    for (size_t i = 0; i < n; ++i) order[i] = i;
    const size_t top = std::min(n, size_t(k));
    std::partial_sort(order.begin(), order.begin() + long(top), order.end(),
                      [&](size_t a, size_t b) { return row[a] > row[b] || (row[a] == row[b] && a < b); });
    std::vector<std::string> out;
    for (size_t i = 0; i < top; ++i) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%f:%zu", double(row[order[i]]), order[i]);
        std::string s = buf;
        if (order[i] < labels.size()) s += ":" + labels[order[i]];
        out.push_back(std::move(s));
    }
    return out;
}

}  // namespace xinfer::serve
