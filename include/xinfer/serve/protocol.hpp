#pragma once
// The Open Inference Protocol v2 (KServe v2; Triton's HTTP API) on the wire: datatypes, the inference request
// (JSON, with the binary tensor extension's trailing bytes) and the inference response. No HTTP and no model here:
// the server binds what this parses to a model (serve/binding.hpp).
//
// Sources: the protocol's inference_rest.md, Triton's extension_binary_data.md and extension_classification.md
// (facts collected in the project's serving notes). A large tensor's numbers are parsed straight into a float
// buffer instead of a JSON tree; nesting deeper than 100 is refused, as Triton does.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <algorithm>
#include <charconv>
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

// The request's JSON reader: a JSON tree for everything except inputs[i].data, whose numbers (nested or flat: the
// protocol allows both) are parsed straight into a float buffer, and whose strings or {"b64": ...} objects become
// byte strings. A tensor's data is nearly all of a request, and parsing it into a JSON tree first costs 5x more.
// Strict RFC 8259 grammar, UTF-8 checked (names and ids are echoed), nesting limited to kMaxJsonDepth.
class RequestReader {
public:
    struct Capture {
        std::vector<float> numbers;
        std::vector<std::string> strings;
    };
    json root;
    std::map<size_t, Capture> captures;  // by the input's position in "inputs"

    RequestReader(const char* text, size_t size) : p_(text), begin_(text), end_(text + size) {
        skip_ws();
        root = value(0, Where::root, 0);
        skip_ws();
        if (p_ != end_) fail("unexpected text after the JSON value");
    }

private:
    enum class Where { root, root_member, inputs, input, other };

    [[noreturn]] void fail(const std::string& why) const {
        bad_request("malformed JSON at byte " + std::to_string(p_ - begin_) + ": " + why);
    }
    void skip_ws() {
        while (p_ != end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
    }
    char peek() const { return p_ == end_ ? '\0' : *p_; }
    void expect(char c) {
        if (peek() != c) fail(std::string("expected '") + c + "'");
        ++p_;
    }
    void literal(const char* word) {
        for (const char* w = word; *w; ++w, ++p_)
            if (p_ == end_ || *p_ != *w) fail("invalid literal");
    }

    json value(int depth, Where where, size_t input) {
        switch (peek()) {
            case '{': return object(depth + 1, where);
            case '[': return array(depth + 1, where, input);
            case '"': return json(string());
            case 't': literal("true"); return json(true);
            case 'f': literal("false"); return json(false);
            case 'n': literal("null"); return json(nullptr);
            default: return number();
        }
    }

    json object(int depth, Where where) {
        if (depth > kMaxJsonDepth) bad_request("JSON nested deeper than 100 levels");
        ++p_;
        json obj = json::object();
        skip_ws();
        if (peek() == '}') {
            ++p_;
            return obj;
        }
        const size_t input = where == Where::input ? next_input_ : 0;
        if (where == Where::input) ++next_input_;
        for (;;) {
            skip_ws();
            if (peek() != '"') fail("expected a member name");
            std::string key = string();
            skip_ws();
            expect(':');
            skip_ws();
            if (where == Where::input && key == "data" && peek() == '[') {
                if (captures.count(input)) fail("\"data\" given twice");
                data_array(depth + 1, captures[input]);
            } else {
                const Where child = where == Where::root && key == "inputs" ? Where::inputs : Where::other;
                obj[key] = value(depth, child, input);
            }
            skip_ws();
            if (peek() == ',') {
                ++p_;
                continue;
            }
            expect('}');
            return obj;
        }
    }

    json array(int depth, Where where, size_t input) {
        if (depth > kMaxJsonDepth) bad_request("JSON nested deeper than 100 levels");
        ++p_;
        json arr = json::array();
        skip_ws();
        if (peek() == ']') {
            ++p_;
            return arr;
        }
        for (;;) {
            skip_ws();
            arr.push_back(value(depth, where == Where::inputs ? Where::input : Where::other, input));
            skip_ws();
            if (peek() == ',') {
                ++p_;
                continue;
            }
            expect(']');
            return arr;
        }
    }

    // inputs[i].data: numbers (true/false as 1/0), strings, or {"b64": "..."}; arrays nest to any depth.
    void data_array(int depth, Capture& cap) {
        if (depth > kMaxJsonDepth) bad_request("JSON nested deeper than 100 levels");
        ++p_;
        skip_ws();
        if (peek() == ']') {
            ++p_;
            return;
        }
        for (;;) {
            skip_ws();
            const char c = peek();
            if (c == '[') data_array(depth + 1, cap);
            else if (c == '"') cap.strings.push_back(string());
            else if (c == '{') cap.strings.push_back(b64_object(depth + 1));
            else if (c == 't') literal("true"), cap.numbers.push_back(1.0f);
            else if (c == 'f') literal("false"), cap.numbers.push_back(0.0f);
            else cap.numbers.push_back(float_number());
            skip_ws();
            if (peek() == ',') {
                ++p_;
                continue;
            }
            expect(']');
            return;
        }
    }

    std::string b64_object(int depth) {
        if (depth > kMaxJsonDepth) bad_request("JSON nested deeper than 100 levels");
        ++p_;
        skip_ws();
        if (peek() != '"' || string() != "b64") fail("an object in tensor data must be {\"b64\": \"...\"}");
        skip_ws();
        expect(':');
        skip_ws();
        if (peek() != '"') fail("\"b64\" must be a string");
        std::string bytes = base64_decode(string(), "tensor data");
        skip_ws();
        expect('}');
        return bytes;
    }

    // The extent of a number token, checked against JSON's grammar.
    const char* number_end() {
        const char* q = p_;
        if (q != end_ && *q == '-') ++q;
        auto digits = [&] {
            const char* s = q;
            while (q != end_ && *q >= '0' && *q <= '9') ++q;
            return q - s;
        };
        if (q != end_ && *q == '0') ++q;
        else if (digits() == 0) fail("invalid number");
        if (q != end_ && *q == '.') {
            ++q;
            if (digits() == 0) fail("invalid number");
        }
        if (q != end_ && (*q == 'e' || *q == 'E')) {
            ++q;
            if (q != end_ && (*q == '+' || *q == '-')) ++q;
            if (digits() == 0) fail("invalid number");
        }
        return q;
    }

    float float_number() {
        const char* q = number_end();
        float v = 0;
        const auto r = std::from_chars(p_, q, v);
        if (r.ec != std::errc() || r.ptr != q) fail("number out of the FP32 range");
        p_ = q;
        return v;
    }

    json number() {
        const char* q = number_end();
        const bool integer = std::find_if(p_, q, [](char c) { return c == '.' || c == 'e' || c == 'E'; }) == q;
        json out;
        if (integer) {
            int64_t i = 0;
            uint64_t u = 0;
            auto whole = [q](std::from_chars_result r) { return r.ec == std::errc() && r.ptr == q; };
            if (whole(std::from_chars(p_, q, i))) out = i;
            else if (whole(std::from_chars(p_, q, u))) out = u;
        }
        if (out.is_null()) {
            double d = 0;
            const auto r = std::from_chars(p_, q, d);
            if (r.ec != std::errc() || r.ptr != q) fail("number out of range");
            out = d;
        }
        p_ = q;
        return out;
    }

    static void put_utf8(std::string& s, uint32_t cp) {
        if (cp < 0x80) s += char(cp);
        else if (cp < 0x800) s += char(0xc0 | (cp >> 6)), s += char(0x80 | (cp & 0x3f));
        else if (cp < 0x10000)
            s += char(0xe0 | (cp >> 12)), s += char(0x80 | ((cp >> 6) & 0x3f)), s += char(0x80 | (cp & 0x3f));
        else
            s += char(0xf0 | (cp >> 18)), s += char(0x80 | ((cp >> 12) & 0x3f)), s += char(0x80 | ((cp >> 6) & 0x3f)),
                s += char(0x80 | (cp & 0x3f));
    }

    uint32_t hex4() {
        if (end_ - p_ < 4) fail("truncated \\u escape");
        uint32_t v = 0;
        for (int i = 0; i < 4; ++i, ++p_) {
            const char c = *p_;
            const int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                                         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
            if (d < 0) fail("invalid \\u escape");
            v = v * 16 + uint32_t(d);
        }
        return v;
    }

    // Length of the UTF-8 sequence at q (0: invalid): no overlongs, no surrogates, at most U+10FFFF.
    size_t utf8_length(const char* q) const {
        const auto b = [&](size_t i) { return uint8_t(q[i]); };
        const size_t left = size_t(end_ - q);
        const uint8_t c = b(0);
        auto cont = [&](size_t i) { return i < left && (b(i) & 0xc0) == 0x80; };
        if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
        if (c >= 0xe0 && c <= 0xef) {
            if (!cont(1) || !cont(2)) return 0;
            if ((c == 0xe0 && b(1) < 0xa0) || (c == 0xed && b(1) >= 0xa0)) return 0;
            return 3;
        }
        if (c >= 0xf0 && c <= 0xf4) {
            if (!cont(1) || !cont(2) || !cont(3)) return 0;
            if ((c == 0xf0 && b(1) < 0x90) || (c == 0xf4 && b(1) >= 0x90)) return 0;
            return 4;
        }
        return 0;
    }

    std::string string() {
        ++p_;  // the opening quote
        std::string s;
        for (;;) {
            if (p_ == end_) fail("unterminated string");
            const char c = *p_;
            if (c == '"') {
                ++p_;
                return s;
            }
            if (uint8_t(c) < 0x20) fail("control character in a string");
            if (c == '\\') {
                if (++p_ == end_) fail("unterminated string");
                const char e = *p_++;
                switch (e) {
                    case '"': s += '"'; break;
                    case '\\': s += '\\'; break;
                    case '/': s += '/'; break;
                    case 'b': s += '\b'; break;
                    case 'f': s += '\f'; break;
                    case 'n': s += '\n'; break;
                    case 'r': s += '\r'; break;
                    case 't': s += '\t'; break;
                    case 'u': {
                        uint32_t cp = hex4();
                        if (cp >= 0xd800 && cp <= 0xdbff) {
                            if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') fail("unpaired surrogate");
                            p_ += 2;
                            const uint32_t lo = hex4();
                            if (lo < 0xdc00 || lo > 0xdfff) fail("unpaired surrogate");
                            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                        } else if (cp >= 0xdc00 && cp <= 0xdfff) {
                            fail("unpaired surrogate");
                        }
                        put_utf8(s, cp);
                        break;
                    }
                    default: fail("invalid escape");
                }
                continue;
            }
            if (uint8_t(c) < 0x80) {
                s += c;
                ++p_;
                continue;
            }
            const size_t n = utf8_length(p_);
            if (n == 0) fail("invalid UTF-8 in a string");
            s.append(p_, n);
            p_ += n;
        }
    }

    const char* p_;
    const char* begin_;
    const char* end_;
    size_t next_input_ = 0;
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
        if (d.is_number_float() && std::fabs(d.get<double>()) >= 0x1p63)  // an integer beyond 64 bits
            bad_request(where + ": dimension " + d.dump() + " is out of range");
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

// JSON numbers arrive as floats; each must be a value of the declared datatype (Triton refuses 300 as UINT8, 0.5 as
// an integer, 2 as BOOL), or the model would silently see something the client did not mean. The bounds are
// rounded to float as the values are.
inline void check_json_values(WireType t, const std::vector<float>& values, const std::string& where) {
    double lo = 0, hi = 0;
    switch (t) {
        case WireType::FP32: case WireType::FP64: return;
        case WireType::FP16: lo = -65504, hi = 65504; break;
        case WireType::BOOL: lo = 0, hi = 1; break;
        case WireType::UINT8: lo = 0, hi = 255; break;
        case WireType::UINT16: lo = 0, hi = 65535; break;
        case WireType::UINT32: lo = 0, hi = 4294967295.0; break;
        case WireType::UINT64: lo = 0, hi = 18446744073709551615.0; break;
        case WireType::INT8: lo = -128, hi = 127; break;
        case WireType::INT16: lo = -32768, hi = 32767; break;
        case WireType::INT32: lo = -2147483648.0, hi = 2147483647.0; break;
        case WireType::INT64: lo = -9223372036854775808.0, hi = 9223372036854775807.0; break;
        case WireType::BYTES: return;
    }
    const bool integral = t != WireType::FP16;
    for (size_t j = 0; j < values.size(); ++j) {
        const double v = values[j];
        if (v < double(float(lo)) || v > double(float(hi)) || (integral && v != std::trunc(v)))
            bad_request(where + ": value " + json(v).dump() + " at index " + std::to_string(j) + " is not a " +
                        to_string(t) + (t == WireType::BOOL ? " (true, false, 1 or 0)" : ""));
    }
}
}  // namespace detail

// Parses an inference request. `header` is the JSON part; `binary` (possibly empty) the bytes that follow it.
inline InferRequest parse_infer_request(const char* header, size_t header_size, const uint8_t* binary,
                                        size_t binary_size) {
    detail::RequestReader reader(header, header_size);
    const json& root = reader.root;
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
            if (data || reader.captures.count(i)) bad_request(where + ": both \"data\" and \"binary_data_size\"");
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
            auto captured = reader.captures.find(i);
            if (captured == reader.captures.end())
                bad_request(where + (data ? ": \"data\" must be an array" : ": missing \"data\""));
            if (data) bad_request(where + ": \"data\" is given twice");
            auto& cap = captured->second;
            if (!cap.numbers.empty() && !cap.strings.empty())
                bad_request(where + ": \"data\" mixes numbers and strings");
            if (ri.datatype == WireType::BYTES) {
                if (!cap.numbers.empty()) bad_request(where + ": BYTES data must be strings or {\"b64\": ...}");
                ri.elements = std::move(cap.strings);
                if (ri.elements.size() != ri.numel)
                    bad_request(where + ": " + std::to_string(ri.elements.size()) + " elements for shape of " +
                                std::to_string(ri.numel));
            } else {
                if (!cap.strings.empty()) bad_request(where + ": " + to_string(ri.datatype) + " data must be numbers");
                ri.values = std::move(cap.numbers);
                if (ri.values.size() != ri.numel)
                    bad_request(where + ": " + std::to_string(ri.values.size()) + " values for shape of " +
                                std::to_string(ri.numel) + " elements");
                detail::check_json_values(ri.datatype, ri.values, where);
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
