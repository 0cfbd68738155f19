#pragma once
// The parts of onnx.proto that an importer needs, decoded with the bounds-checked protobuf reader (no libprotobuf).
// Field numbers follow onnx.proto (IR version 8). Unknown fields, such as those of later IR versions, are skipped as
// protobuf requires; so are doc strings (but the model's), denotations, sparse tensors, type protos of attributes,
// quantization annotations, training info and model-local functions. Repeated occurrences of a singular message
// field are merged and the last occurrence of a scalar field wins, as in protobuf.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "xinfer/core/buffer.hpp"
#include "xinfer/core/dtype.hpp"
#include "xinfer/core/error.hpp"
#include "xinfer/core/shape.hpp"
#include "xinfer/graph/graph.hpp"
#include "xinfer/io/mapped_file.hpp"
#include "xinfer/io/protobuf.hpp"

namespace xinfer::io::onnx {

// TensorProto.DataType. Values outside this list are kept as they are.
enum class ElemType : int32_t {
    undefined = 0, float32 = 1, uint8 = 2, int8 = 3, uint16 = 4, int16 = 5, int32 = 6, int64 = 7, string = 8,
    boolean = 9, float16 = 10, float64 = 11, uint32 = 12, uint64 = 13, complex64 = 14, complex128 = 15, bfloat16 = 16,
};

inline const char* to_string(ElemType t) {
    static const char* const names[] = {"UNDEFINED", "FLOAT",  "UINT8",     "INT8",       "UINT16",  "INT16",
                                        "INT32",     "INT64",  "STRING",    "BOOL",       "FLOAT16", "DOUBLE",
                                        "UINT32",    "UINT64", "COMPLEX64", "COMPLEX128", "BFLOAT16"};
    const auto i = int32_t(t);
    return i >= 0 && i <= 16 ? names[i] : "unknown";
}

// AttributeProto.AttributeType, named after the field that holds the value.
enum class AttrType : int32_t {
    undefined = 0, f = 1, i = 2, s = 3, t = 4, g = 5, floats = 6, ints = 7, strings = 8, tensors = 9, graphs = 10,
    sparse_tensor = 11, sparse_tensors = 12, type_proto = 13, type_protos = 14,
};

struct TensorProto {
    std::string name;
    std::vector<int64_t> dims;
    ElemType data_type = ElemType::undefined;
    std::vector<float> float_data;
    std::vector<int32_t> int32_data;
    std::vector<std::string> string_data;
    std::vector<int64_t> int64_data;
    std::vector<double> double_data;
    std::vector<uint64_t> uint64_data;
    // raw_data points into the parsed bytes, which must outlive this struct (to_constant copies).
    bool has_raw_data = false;
    const std::byte* raw_data = nullptr;
    size_t raw_size = 0;
    std::vector<std::pair<std::string, std::string>> external_data;  // location, offset, length, checksum
    bool external = false;                                           // data_location == EXTERNAL
    bool has_segment = false;                                        // segments are not supported
};

struct GraphProto;

struct AttributeProto {
    std::string name;
    std::string ref_attr_name;  // set inside functions only
    AttrType type = AttrType::undefined;
    float f = 0;
    int64_t i = 0;
    std::string s;
    TensorProto t;
    std::shared_ptr<GraphProto> g;  // null unless the attribute holds a graph
    std::vector<float> floats;
    std::vector<int64_t> ints;
    std::vector<std::string> strings;
    std::vector<TensorProto> tensors;
    std::vector<GraphProto> graphs;
    bool has_t = false;
    bool has_sparse_tensor = false;  // value skipped
    bool has_type_proto = false;     // value skipped
};

struct NodeProto {
    std::string name, op_type, domain;
    std::vector<std::string> input, output;  // "" marks an absent optional input
    std::vector<AttributeProto> attribute;
};

struct Dimension {
    int64_t value = 0;  // valid when known
    std::string param;  // a symbolic dimension, when not known
    bool known = false;
};

enum class ValueKind { none, tensor, sequence, map, opaque, sparse_tensor, optional };

struct ValueInfoProto {
    std::string name;
    ValueKind kind = ValueKind::none;
    ElemType elem_type = ElemType::undefined;  // of tensor and sparse_tensor values
    bool has_shape = false;                    // false: any rank
    std::vector<Dimension> shape;
};

struct GraphProto {
    std::string name;
    std::vector<NodeProto> node;
    std::vector<TensorProto> initializer;
    std::vector<ValueInfoProto> input, output, value_info;
    size_t sparse_initializers = 0;  // count only; their contents are skipped
};

struct OperatorSetId {
    std::string domain;  // "" is the default domain "ai.onnx"
    int64_t version = 0;
};

struct ModelProto {
    int64_t ir_version = 0;
    std::vector<OperatorSetId> opset_import;
    std::string producer_name, producer_version, domain, doc_string;
    int64_t model_version = 0;
    bool has_graph = false;
    GraphProto graph;
    std::vector<std::pair<std::string, std::string>> metadata_props;
};

namespace detail {
using pb::Field;
using pb::Reader;

inline std::pair<std::string, std::string> parse_entry(Reader r) {
    std::pair<std::string, std::string> kv;
    for (Field f; r.next(f);) {
        if (f.number == 1) kv.first = r.string(f);
        else if (f.number == 2) kv.second = r.string(f);
    }
    return kv;
}

inline void merge(Reader r, TensorProto& t) {
    for (Field f; r.next(f);) {
        switch (f.number) {
            case 1: r.int64s(f, t.dims); break;
            case 2: t.data_type = ElemType(r.int32(f)); break;
            case 3: (void)r.message(f), t.has_segment = true; break;
            case 4: r.floats(f, t.float_data); break;
            case 5: r.int32s(f, t.int32_data); break;
            case 6: t.string_data.push_back(r.string(f)); break;
            case 7: r.int64s(f, t.int64_data); break;
            case 8: t.name = r.string(f); break;
            case 9:
                (void)r.string(f);  // checks the wire type
                t.has_raw_data = true, t.raw_data = f.data, t.raw_size = f.size;
                break;
            case 10: r.doubles(f, t.double_data); break;
            case 11: r.uint64s(f, t.uint64_data); break;
            case 13: t.external_data.push_back(parse_entry(r.message(f))); break;
            case 14: t.external = r.int32(f) == 1; break;
            default: break;
        }
    }
}

inline void merge_shape(Reader r, ValueInfoProto& v) {
    v.has_shape = true;
    for (Field f; r.next(f);) {
        if (f.number != 1) continue;
        Reader dim = r.message(f);
        Dimension d;
        for (Field g; dim.next(g);) {
            if (g.number == 1) d.value = dim.int64(g), d.param.clear(), d.known = true;
            else if (g.number == 2) d.param = dim.string(g), d.value = 0, d.known = false;
        }
        v.shape.push_back(std::move(d));
    }
}

inline void merge_type(Reader r, ValueInfoProto& v) {
    auto become = [&](ValueKind kind) {  // the value is a oneof: another member clears the tensor details
        if (v.kind != kind) v.kind = kind, v.elem_type = ElemType::undefined, v.has_shape = false, v.shape.clear();
    };
    for (Field f; r.next(f);) {
        switch (f.number) {
            case 1:
            case 8: {  // tensor_type, sparse_tensor_type: {elem_type = 1, shape = 2}
                become(f.number == 1 ? ValueKind::tensor : ValueKind::sparse_tensor);
                Reader t = r.message(f);
                for (Field g; t.next(g);) {
                    if (g.number == 1) v.elem_type = ElemType(t.int32(g));
                    else if (g.number == 2) merge_shape(t.message(g), v);
                }
                break;
            }
            case 4: (void)r.message(f), become(ValueKind::sequence); break;
            case 5: (void)r.message(f), become(ValueKind::map); break;
            case 7: (void)r.message(f), become(ValueKind::opaque); break;
            case 9: (void)r.message(f), become(ValueKind::optional); break;
            default: break;
        }
    }
}

inline ValueInfoProto parse_value_info(Reader r) {
    ValueInfoProto v;
    for (Field f; r.next(f);) {
        if (f.number == 1) v.name = r.string(f);
        else if (f.number == 2) merge_type(r.message(f), v);
    }
    return v;
}

inline void merge(Reader r, GraphProto& g);

inline void merge(Reader r, AttributeProto& a) {
    for (Field f; r.next(f);) {
        switch (f.number) {
            case 1: a.name = r.string(f); break;
            case 21: a.ref_attr_name = r.string(f); break;
            case 20: a.type = AttrType(r.int32(f)); break;
            case 2: a.f = r.float32(f); break;
            case 3: a.i = r.int64(f); break;
            case 4: a.s = r.string(f); break;
            case 5: merge(r.message(f), a.t), a.has_t = true; break;
            case 6:
                if (!a.g) a.g = std::make_shared<GraphProto>();
                merge(r.message(f), *a.g);
                break;
            case 22: (void)r.message(f), a.has_sparse_tensor = true; break;
            case 14: (void)r.message(f), a.has_type_proto = true; break;
            case 7: r.floats(f, a.floats); break;
            case 8: r.int64s(f, a.ints); break;
            case 9: a.strings.push_back(r.string(f)); break;
            case 10: merge(r.message(f), a.tensors.emplace_back()); break;
            case 11: merge(r.message(f), a.graphs.emplace_back()); break;
            default: break;
        }
    }
}

inline NodeProto parse_node(Reader r) {
    NodeProto n;
    for (Field f; r.next(f);) {
        switch (f.number) {
            case 1: n.input.push_back(r.string(f)); break;
            case 2: n.output.push_back(r.string(f)); break;
            case 3: n.name = r.string(f); break;
            case 4: n.op_type = r.string(f); break;
            case 5: merge(r.message(f), n.attribute.emplace_back()); break;
            case 7: n.domain = r.string(f); break;
            default: break;
        }
    }
    return n;
}

inline void merge(Reader r, GraphProto& g) {
    for (Field f; r.next(f);) {
        switch (f.number) {
            case 1: g.node.push_back(parse_node(r.message(f))); break;
            case 2: g.name = r.string(f); break;
            case 5: merge(r.message(f), g.initializer.emplace_back()); break;
            case 15: (void)r.message(f), ++g.sparse_initializers; break;
            case 11: g.input.push_back(parse_value_info(r.message(f))); break;
            case 12: g.output.push_back(parse_value_info(r.message(f))); break;
            case 13: g.value_info.push_back(parse_value_info(r.message(f))); break;
            default: break;
        }
    }
}

inline OperatorSetId parse_opset(Reader r) {
    OperatorSetId id;
    for (Field f; r.next(f);) {
        if (f.number == 1) id.domain = r.string(f);
        else if (f.number == 2) id.version = r.int64(f);
    }
    return id;
}
}  // namespace detail

// Parses a serialized ModelProto. Tensors' raw_data point into `data`. Throws Error(invalid_model) naming `source`.
inline ModelProto parse_model(const std::byte* data, size_t size, const std::string& source) {
    pb::Reader r(data, size, source);
    ModelProto m;
    for (pb::Field f; r.next(f);) {
        switch (f.number) {
            case 1: m.ir_version = r.int64(f); break;
            case 8: m.opset_import.push_back(detail::parse_opset(r.message(f))); break;
            case 2: m.producer_name = r.string(f); break;
            case 3: m.producer_version = r.string(f); break;
            case 4: m.domain = r.string(f); break;
            case 5: m.model_version = r.int64(f); break;
            case 6: m.doc_string = r.string(f); break;
            case 7: detail::merge(r.message(f), m.graph), m.has_graph = true; break;
            case 14: m.metadata_props.push_back(detail::parse_entry(r.message(f))); break;
            default: break;  // training_info (20), functions (25) and unknown fields
        }
    }
    return m;
}

// Parses a serialized TensorProto (as in the test_data_set_*/input_*.pb files of ONNX backend tests).
inline TensorProto parse_tensor(const std::byte* data, size_t size, const std::string& source) {
    TensorProto t;
    detail::merge(pb::Reader(data, size, source), t);
    return t;
}

// IEEE 754 binary16 to binary32 (exact).
inline float half_to_float(uint16_t h) {
    const uint32_t sign = uint32_t(h & 0x8000u) << 16;
    const uint32_t exponent = (h >> 10) & 0x1Fu, mantissa = h & 0x3FFu;
    if (exponent == 0) {  // zero or subnormal: mantissa * 2^-24
        const float v = std::ldexp(float(mantissa), -24);
        return sign ? -v : v;
    }
    const uint32_t bits = exponent == 0x1F ? sign | 0x7F800000u | mantissa << 13
                                           : sign | (exponent + 112) << 23 | mantissa << 13;
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
}

// Rounds to nearest like a hardware conversion, without the undefined behaviour of casting out-of-range values.
inline float double_to_float(double d) {
    const double overflow = std::ldexp(1.0, 128) - std::ldexp(1.0, 103);  // FLT_MAX + half an ulp
    if (d >= overflow) return std::numeric_limits<float>::infinity();
    if (d <= -overflow) return -std::numeric_limits<float>::infinity();
    return static_cast<float>(d);
}

namespace detail {
template <class... Parts>
[[noreturn]] void tensor_error(ErrorCode code, const std::string& where, const Parts&... parts) {
    XINFER_THROW(code, where, ": ", parts...);
}

// xinfer's type for an ONNX element type, and the ONNX element's size in raw_data; throws when unsupported.
inline std::pair<DataType, size_t> storage_of(ElemType t, const std::string& where) {
    switch (t) {
        case ElemType::float32: return {DataType::f32, 4};
        case ElemType::float64: return {DataType::f32, 8};
        case ElemType::float16: return {DataType::f32, 2};
        case ElemType::uint8: return {DataType::u8, 1};
        case ElemType::boolean: return {DataType::u8, 1};
        case ElemType::int8: return {DataType::s8, 1};
        case ElemType::int16: return {DataType::s32, 2};
        case ElemType::uint16: return {DataType::s32, 2};
        case ElemType::int32: return {DataType::s32, 4};
        case ElemType::uint32: return {DataType::s32, 4};
        case ElemType::int64: return {DataType::s64, 8};
        case ElemType::uint64: return {DataType::s64, 8};
        case ElemType::undefined: tensor_error(ErrorCode::invalid_model, where, "data type is undefined");
        default:
            tensor_error(ErrorCode::unsupported_op, where, "data type ", to_string(t), " (", int32_t(t),
                         ") is not supported");
    }
}

// Converts one ONNX element, given as its little-endian bits (or a typed-field value), to xinfer's type.
// Returns false when the value does not fit.
template <class Out> bool convert(ElemType t, uint64_t bits, Out& out) {
    int64_t s = 0;
    std::memcpy(&s, &bits, sizeof s);
    switch (t) {
        case ElemType::float32: {
            const auto b = uint32_t(bits);
            float f;
            std::memcpy(&f, &b, sizeof f);
            out = Out(f);
            return true;
        }
        case ElemType::float64: {
            double d;
            std::memcpy(&d, &bits, sizeof d);
            out = Out(double_to_float(d));
            return true;
        }
        case ElemType::float16: out = Out(half_to_float(uint16_t(bits))); return bits <= 0xFFFF;
        case ElemType::boolean: out = Out(bits != 0); return true;
        case ElemType::uint8: out = Out(bits); return bits <= 0xFF;
        case ElemType::uint16: out = Out(bits); return bits <= 0xFFFF;
        case ElemType::uint32: out = Out(bits); return bits <= uint64_t(INT32_MAX);
        case ElemType::uint64: out = Out(s); return bits <= uint64_t(INT64_MAX);
        case ElemType::int8: out = Out(s); return s >= INT8_MIN && s <= INT8_MAX;
        case ElemType::int16: out = Out(s); return s >= INT16_MIN && s <= INT16_MAX;
        case ElemType::int32: out = Out(s); return s >= INT32_MIN && s <= INT32_MAX;
        case ElemType::int64: out = Out(s); return true;
        default: return false;
    }
}

// Sign-extends the little-endian element of `width` bytes at p to 64 bits for signed types.
inline uint64_t load_element(const std::byte* p, size_t width, bool is_signed) {
    uint64_t v = 0;
    for (size_t k = 0; k < width; ++k) v |= std::to_integer<uint64_t>(p[k]) << (8 * k);
    if (is_signed && width < 8 && (v >> (8 * width - 1) & 1)) v |= ~uint64_t(0) << (8 * width);
    return v;
}

inline bool is_little_endian() {
    const uint16_t probe = 1;
    unsigned char first;
    std::memcpy(&first, &probe, 1);
    return first == 1;
}

// Types whose raw_data bytes are xinfer's bytes on a little-endian host.
inline bool is_stored_as_is(ElemType t) {
    return t == ElemType::float32 || t == ElemType::uint8 || t == ElemType::int8 || t == ElemType::int32 ||
           t == ElemType::int64;
}

inline bool is_signed(ElemType t) {
    return t == ElemType::int8 || t == ElemType::int16 || t == ElemType::int32 || t == ElemType::int64;
}

// Fills `dtype` elements from `count` values produced by value(i) (as element bits); throws on a value that
// does not fit.
template <class Value>
std::shared_ptr<AlignedBuffer> fill(DataType dtype, ElemType t, size_t count, Value&& value, const std::string& where) {
    auto buf = std::make_shared<AlignedBuffer>(count * size_of(dtype));
    auto run = [&](auto* out) {
        for (size_t i = 0; i < count; ++i) {
            const uint64_t bits = value(i);
            if (!convert(t, bits, out[i]))
                tensor_error(ErrorCode::invalid_model, where, "element ", i, " does not fit in ",
                             ::xinfer::to_string(dtype), " (value bits 0x", std::hex, bits, ")");
        }
    };
    switch (dtype) {
        case DataType::f32: run(buf->as<float>()); break;
        case DataType::s8: run(buf->as<int8_t>()); break;
        case DataType::u8: run(buf->as<uint8_t>()); break;
        case DataType::s32: run(buf->as<int32_t>()); break;
        case DataType::s64: run(buf->as<int64_t>()); break;
    }
    return buf;
}

inline uint64_t parse_decimal(const std::string& text, const char* key, const std::string& where) {
    uint64_t v = 0;
    bool valid = !text.empty();
    for (char c : text) {
        valid = valid && c >= '0' && c <= '9' && v <= (UINT64_MAX - uint64_t(c - '0')) / 10;
        if (!valid) break;
        v = v * 10 + uint64_t(c - '0');
    }
    if (!valid) tensor_error(ErrorCode::invalid_model, where, "external data ", key, " '", text,
                             "' is not a non-negative integer");
    return v;
}

// A relative location that stays inside the base directory: no absolute paths, drive letters or '..'.
inline bool is_contained_path(const std::string& location) {
    if (location.empty() || location[0] == '/' || location[0] == '\\') return false;
    if (location.size() >= 2 && location[1] == ':') return false;
    size_t start = 0;
    while (start <= location.size()) {
        size_t end = location.find_first_of("/\\", start);
        if (end == std::string::npos) end = location.size();
        if (location.compare(start, end - start, "..") == 0) return false;
        start = end + 1;
    }
    return true;
}
// The file and byte range of a tensor's external data, checked to lie inside the model's directory and the file.
struct ExternalData {
    MappedFile file;
    size_t offset = 0, bytes = 0;
};
inline ExternalData external_data(const TensorProto& t, const std::string& base_dir, const std::string& where) {
    if (base_dir.empty())
        tensor_error(ErrorCode::invalid_model, where, "uses external data, which is not allowed here");
    std::string location;
    uint64_t offset = 0, length = 0;
    bool has_length = false;
    for (const auto& [key, value] : t.external_data) {
        if (key == "location") location = value;
        else if (key == "offset") offset = parse_decimal(value, "offset", where);
        else if (key == "length") length = parse_decimal(value, "length", where), has_length = true;
    }
    if (!is_contained_path(location))
        tensor_error(ErrorCode::invalid_model, where, "external data location '", location,
                     "' must be a relative path inside the model's directory");
    const std::string path = base_dir + "/" + location;
    auto open = [&] {
        XINFER_TRY {
            return MappedFile(path);
        } XINFER_CATCH(const Error&, e) {
            tensor_error(e.code(), where, e.what());
        }
    };
    MappedFile file = open();
    if (offset > file.size() || (has_length && length > file.size() - offset))
        tensor_error(ErrorCode::invalid_model, where, "external data [", offset, ", +",
                     has_length ? std::to_string(length) : "rest", ") is past the end of '", path, "' (", file.size(),
                     " bytes)");
    const size_t bytes = has_length ? size_t(length) : file.size() - size_t(offset);
    return ExternalData{std::move(file), size_t(offset), bytes};
}
}  // namespace detail

// Converts a tensor to an xinfer constant of the same shape. FLOAT, UINT8, INT8, INT32 and INT64 keep their type;
// DOUBLE and FLOAT16 become F32, BOOL becomes U8 (0 or 1), INT16 and UINT16 become I32, UINT32 becomes I32 and
// UINT64 I64 when every value fits. The values come from external data (a file named relative to `base_dir`; an
// empty base_dir forbids external data), raw_data (little-endian) or the typed fields. Throws Error naming the
// tensor and `source`: invalid_model for malformed data, unsupported_op for other element types, io for files.
inline Constant to_constant(const TensorProto& t, const std::string& base_dir, const std::string& source) {
    const std::string where = source + ": tensor '" + t.name + "'";
    using detail::tensor_error;
    if (t.has_segment) tensor_error(ErrorCode::unsupported_op, where, "segmented tensors are not supported");
    const std::pair<DataType, size_t> storage = detail::storage_of(t.data_type, where);
    const DataType dtype = storage.first;
    const size_t width = storage.second;
    size_t numel = 0;
    XINFER_TRY {
        numel = checked_numel(t.dims);
    } XINFER_CATCH(const Error&, e) {
        tensor_error(ErrorCode::invalid_model, where, e.what());
    }
    const std::string layout = ::xinfer::detail::concat(to_string(t.data_type), " ", ::xinfer::to_string(t.dims));

    std::shared_ptr<AlignedBuffer> buf;
    auto from_bytes = [&](const std::byte* p, size_t bytes, const char* what) {
        if (numel > std::numeric_limits<size_t>::max() / width || bytes != numel * width)
            tensor_error(ErrorCode::invalid_model, where, what, " has ", bytes, " bytes but ", layout, " needs ",
                         numel, " x ", width);
        if (detail::is_stored_as_is(t.data_type) && detail::is_little_endian()) {
            auto copy = std::make_shared<AlignedBuffer>(bytes);
            if (bytes) std::memcpy(copy->data(), p, bytes);
            return copy;
        }
        const bool is_signed = detail::is_signed(t.data_type);
        return detail::fill(dtype, t.data_type, numel,
                            [&](size_t i) { return detail::load_element(p + i * width, width, is_signed); }, where);
    };
    auto from_values = [&](const auto& values, const char* field) {
        if (values.size() != numel)
            tensor_error(ErrorCode::invalid_model, where, field, " has ", values.size(), " values but ", layout,
                         " needs ", numel);
        return detail::fill(dtype, t.data_type, numel, [&](size_t i) {
            using V = std::decay_t<decltype(values[i])>;
            uint64_t bits = 0;
            if constexpr (std::is_same_v<V, float>) {
                uint32_t b;
                std::memcpy(&b, &values[i], sizeof b);
                bits = b;
            } else if constexpr (std::is_same_v<V, double>) {
                std::memcpy(&bits, &values[i], sizeof bits);
            } else {
                const V v = values[i];
                if constexpr (std::is_signed_v<V>) bits = uint64_t(int64_t(v));  // sign-extended, well defined
                else bits = uint64_t(v);
            }
            return bits;
        }, where);
    };

    if (t.external) {
        const detail::ExternalData ext = detail::external_data(t, base_dir, where);
        buf = from_bytes(ext.file.data() + ext.offset, ext.bytes, "external data");
    } else if (t.has_raw_data) {
        buf = from_bytes(t.raw_data, t.raw_size, "raw_data");
    } else {
        switch (t.data_type) {
            case ElemType::float32: buf = from_values(t.float_data, "float_data"); break;
            case ElemType::float64: buf = from_values(t.double_data, "double_data"); break;
            case ElemType::int64: buf = from_values(t.int64_data, "int64_data"); break;
            case ElemType::uint32:
            case ElemType::uint64: buf = from_values(t.uint64_data, "uint64_data"); break;
            default: buf = from_values(t.int32_data, "int32_data"); break;
        }
    }
    Constant c;
    c.dtype = dtype;
    c.shape = t.dims;
    c.data = buf->data();
    c.bytes = buf->size();
    c.owner = std::move(buf);
    return c;
}

}  // namespace xinfer::io::onnx
