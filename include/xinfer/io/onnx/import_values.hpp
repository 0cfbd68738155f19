#pragma once
// The vocabulary of the ONNX importer: what a converter returns (Status / Result), what the importer knows of each
// ONNX value (ValueState), quantization parameters, and small readers of constants and node attributes.
#include <algorithm>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "xinfer/io/onnx/onnx_proto.hpp"

namespace xinfer::io::onnx::detail {

// ---- outcomes ----

// What converting one node (or one step of it) came to. Unsupported input is a result, not an exception; a
// malformed file is still an xinfer::Error.
class [[nodiscard]] Status {
public:
    enum class Kind {
        converted,    // done
        declined,     // this converter does not apply: the next one for the op is tried
        unsupported,  // the node cannot be imported; `reason` says why
        downstream,   // an input comes from an unsupported node: the node is not listed itself (the cause is)
    };
    static Status converted() { return Status(Kind::converted, ""); }
    static Status declined() { return Status(Kind::declined, ""); }
    static Status unsupported(std::string reason) { return Status(Kind::unsupported, std::move(reason)); }
    static Status downstream(std::string value) { return Status(Kind::downstream, std::move(value)); }
    bool ok() const { return kind_ == Kind::converted; }
    Kind kind() const { return kind_; }
    const std::string& reason() const { return reason_; }

private:
    Status(Kind kind, std::string reason) : kind_(kind), reason_(std::move(reason)) {}
    Kind kind_;
    std::string reason_;
};

// A value, or the Status that prevented it (never `converted`). Result<T&> refers to a value owned elsewhere.
template <class T>
class [[nodiscard]] Result {
public:
    Result(T value) : value_(std::move(value)), status_(Status::converted()) {}  // NOLINT: implicit by design
    Result(Status failed) : status_(std::move(failed)) {}                       // NOLINT
    bool ok() const { return value_.has_value(); }
    const Status& status() const { return status_; }
    T& value() { return *value_; }

private:
    std::optional<T> value_;
    Status status_;
};

template <class T>
class [[nodiscard]] Result<T&> {
public:
    Result(T& value) : value_(&value), status_(Status::converted()) {}  // NOLINT
    Result(Status failed) : status_(std::move(failed)) {}              // NOLINT
    bool ok() const { return value_ != nullptr; }
    const Status& status() const { return status_; }
    T& value() const { return *value_; }

private:
    T* value_ = nullptr;
    Status status_;
};

inline const Status& status_of(const Status& s) { return s; }
template <class T>
const Status& status_of(const Result<T>& r) { return r.status(); }

}  // namespace xinfer::io::onnx::detail

// Returns from the enclosing converter with the Status of `expr` (a Status or a Result) unless it succeeded.
#define XINFER_ONNX_TRY(expr)                                                                   \
    do {                                                                                        \
        auto&& xinfer_onnx_try_ = (expr);                                                       \
        if (!xinfer_onnx_try_.ok()) return ::xinfer::io::onnx::detail::status_of(xinfer_onnx_try_); \
    } while (0)

// Declares `name` as the value of the Result `expr`, or returns its Status from the enclosing converter.
#define XINFER_ONNX_LET(name, expr)                                                        \
    auto name##_result_ = (expr);                                                          \
    if (!name##_result_.ok()) return ::xinfer::io::onnx::detail::status_of(name##_result_); \
    decltype(auto) name = name##_result_.value()

namespace xinfer::io::onnx::detail {

// ---- values ----

enum class Layout { onnx, nhwc };

// Per-tensor or per-axis quantization parameters of an ONNX tensor, as ONNX gives them.
struct QuantInfo {
    std::vector<float> scale;         // one value: per tensor
    std::vector<int32_t> zero_point;  // as in ONNX (uint8: 0..255); as long as `scale`
    int64_t axis = -1;                // the quantized axis (normalised) when per axis
    ElemType type = ElemType::uint8;  // the integer type of the quantized tensor
    bool per_tensor() const { return scale.size() == 1; }
    // uint8 tensors are stored as int8 shifted by -128 (DESIGN.md "int8 scheme").
    int32_t offset() const { return type == ElemType::uint8 ? 128 : 0; }
    int32_t ir_zero_point(size_t i = 0) const { return zero_point[i] - offset(); }
};

// A constant that is the DequantizeLinear of an integer constant: its integers (ONNX order) and parameters.
struct QuantizedConstant {
    Constant q;
    QuantInfo params;
};

// An int8 value linked to a per-tensor scale and zero point (the IR's: uint8 zero points shifted).
struct Int8Link {
    std::string value;  // ONNX value name
    float scale = 1.0f;
    int32_t zero_point = 0;
};

// What the importer knows of an ONNX value.
struct ValueState {
    std::string ir;        // IR value name in `layout`
    Layout layout = Layout::onnx;
    Shape shape;           // logical shape in ONNX order; -1: dynamic (batch)
    bool is_const = false;
    bool unknown = false;  // produced by an unsupported node
    Constant constant;     // ONNX order, when is_const
    // A pending constant zero Pad of the spatial dims of a 4-D value: folded into a consuming Conv, materialised
    // for anything else.
    bool pending_pad = false;
    std::string pad_source;
    Pads pads;
    // The ONNX element type of an activation: float32, uint8 / int8 (`ir` is then an I8 value holding q - 128 for
    // uint8, q for int8), or int32 (an F32 value holding integers: ConvInteger / MatMulInteger outputs).
    ElemType elem = ElemType::float32;
    // An int8 value made by a QuantizeLinear of the fp32 value `quantized_from.value`: its other layout is
    // quantized from that value's other layout.
    std::optional<Int8Link> quantized_from;
    // The fp32 output of a per-tensor DequantizeLinear of an int8 value: what QDQ fusion looks for.
    std::optional<Int8Link> dequantized_from;
    // A constant folded from a DequantizeLinear of an integer constant.
    std::shared_ptr<const QuantizedConstant> quantized;
    bool is_int8() const { return elem == ElemType::uint8 || elem == ElemType::int8; }
};

inline Shape to_nhwc(const Shape& s) { return {s[0], s[2], s[3], s[1]}; }

inline bool is_int8_type(ElemType t) { return t == ElemType::uint8 || t == ElemType::int8; }

// ---- constants ----

inline std::vector<int64_t> const_ints(const Constant& c, const std::string& what) {
    std::vector<int64_t> v(c.numel());
    if (c.dtype == DataType::s64) std::copy(c.as<int64_t>(), c.as<int64_t>() + v.size(), v.begin());
    else if (c.dtype == DataType::s32) std::copy(c.as<int32_t>(), c.as<int32_t>() + v.size(), v.begin());
    else XINFER_THROW(ErrorCode::invalid_model, what, ": expected an integer tensor, got ", to_string(c.dtype));
    return v;
}

inline std::vector<float> const_floats(const Constant& c) {
    std::vector<float> v(c.numel());
    const size_t n = v.size();
    switch (c.dtype) {
        case DataType::f32: std::copy(c.as<float>(), c.as<float>() + n, v.begin()); break;
        case DataType::s64: for (size_t i = 0; i < n; ++i) v[i] = float(c.as<int64_t>()[i]); break;
        case DataType::s32: for (size_t i = 0; i < n; ++i) v[i] = float(c.as<int32_t>()[i]); break;
        case DataType::s8: for (size_t i = 0; i < n; ++i) v[i] = float(c.as<int8_t>()[i]); break;
        case DataType::u8: for (size_t i = 0; i < n; ++i) v[i] = float(c.as<uint8_t>()[i]); break;
    }
    return v;
}

// A constant of any element type with its dimensions permuted.
inline Constant transposed_constant(const Constant& c, const std::vector<int64_t>& perm) {
    const size_t rank = c.shape.size(), esize = size_of(c.dtype), n = c.numel();
    Shape out(rank);
    for (size_t i = 0; i < rank; ++i) out[i] = c.shape[size_t(perm[i])];
    std::vector<size_t> in_stride(rank, 1);
    for (size_t i = rank; i-- > 1;) in_stride[i - 1] = in_stride[i] * size_t(c.shape[i]);
    std::vector<std::byte> bytes(n * esize);
    std::vector<size_t> index(rank, 0);  // index into `out`
    for (size_t o = 0; o < n; ++o) {
        size_t src = 0;
        for (size_t i = 0; i < rank; ++i) src += index[i] * in_stride[size_t(perm[i])];
        std::memcpy(bytes.data() + o * esize, c.data + src * esize, esize);
        for (size_t i = rank; i-- > 0;) {
            if (++index[i] < size_t(out[i])) break;
            index[i] = 0;
        }
    }
    return Constant::copy_of(c.dtype, out, bytes.data(), bytes.size());
}

inline Constant ints_constant(Shape shape, const std::vector<int64_t>& v) {
    return Constant::copy_of(DataType::s64, std::move(shape), v.data(), v.size() * sizeof(int64_t));
}

// The ONNX integer type of a constant (BOOL also loads as U8; it is not a quantized type anywhere).
inline ElemType elem_of(const Constant& c) {
    switch (c.dtype) {
        case DataType::u8: return ElemType::uint8;
        case DataType::s8: return ElemType::int8;
        case DataType::s32: return ElemType::int32;
        case DataType::s64: return ElemType::int64;
        default: return ElemType::float32;
    }
}

inline int64_t integer_at(const Constant& c, size_t i) {
    switch (c.dtype) {
        case DataType::u8: return c.as<uint8_t>()[i];
        case DataType::s8: return c.as<int8_t>()[i];
        case DataType::s32: return c.as<int32_t>()[i];
        case DataType::s64: return c.as<int64_t>()[i];
        default: return 0;
    }
}

// The index along `axis` of element i of a row-major tensor of `shape` (0 when per tensor).
inline size_t channel_of(const Shape& shape, const QuantInfo& q, size_t i) {
    if (q.per_tensor()) return 0;
    size_t inner = 1;
    for (size_t d = size_t(q.axis) + 1; d < shape.size(); ++d) inner *= size_t(shape[d]);
    return (i / inner) % size_t(shape[size_t(q.axis)]);
}

// ---- node attributes ----

inline const AttributeProto* attr(const NodeProto& n, const std::string& key) {
    for (auto& a : n.attribute)
        if (a.name == key) return &a;
    return nullptr;
}
inline int64_t attr_int(const NodeProto& n, const std::string& key, int64_t fallback) {
    auto a = attr(n, key);
    return a ? a->i : fallback;
}
inline float attr_float(const NodeProto& n, const std::string& key, float fallback) {
    auto a = attr(n, key);
    return a ? a->f : fallback;
}
inline std::vector<int64_t> attr_ints(const NodeProto& n, const std::string& key, std::vector<int64_t> fallback) {
    auto a = attr(n, key);
    return a ? a->ints : fallback;
}
inline std::string attr_string(const NodeProto& n, const std::string& key, std::string fallback) {
    auto a = attr(n, key);
    return a ? a->s : fallback;
}

// An axis attribute normalised to 0..rank-1.
inline Result<int64_t> norm_axis(int64_t axis, size_t rank) {
    if (axis < 0) axis += int64_t(rank);
    if (axis < 0 || axis >= int64_t(std::max<size_t>(rank, 1))) return Status::unsupported("axis out of range");
    return axis;
}

// The logical shape of broadcasting a with b, where -1 is a free dimension: free against 1 or free stays free,
// free against a size n is n (the executor checks the actual sizes when it plans).
inline Shape logical_broadcast(const Shape& a, const Shape& b, const std::string& who) {
    Shape out(std::max(a.size(), b.size()), 1);
    for (size_t i = 0; i < out.size(); ++i) {
        const int64_t da = i < out.size() - a.size() ? 1 : a[i - (out.size() - a.size())];
        const int64_t db = i < out.size() - b.size() ? 1 : b[i - (out.size() - b.size())];
        const bool free_a = da < 0, free_b = db < 0;
        XINFER_CHECK(free_a || free_b || da == db || da == 1 || db == 1, ErrorCode::shape_mismatch, who,
                     ": shapes ", ::xinfer::to_string(a), " and ", ::xinfer::to_string(b), " do not broadcast");
        if (free_a || free_b) out[i] = free_a && free_b ? -1 : free_a ? (db == 1 ? -1 : db) : (da == 1 ? -1 : da);
        else out[i] = da == 1 ? db : da;
    }
    return out;
}

}  // namespace xinfer::io::onnx::detail
