#pragma once
// ONNX importer: ModelProto -> xinfer graph IR.
//
// Layout: convolutional ops run in NHWC, so every value is tracked with the layout it is stored in. A 4-D value
// produced by Conv/Pool/BatchNormalization/GlobalAveragePool is stored NHWC; graph inputs and everything else keep
// ONNX's order. Layout-free ops (activations, element-wise ops, Concat, Softmax) run on whatever layout their input
// has; a Transpose is inserted only where an op needs the other layout, once per value. A model whose interface is
// NCHW keeps that interface. Constant subgraphs (Shape/Gather/Unsqueeze/Concat/Cast... on constants) are folded;
// a dynamic batch dimension folds as -1, which Reshape reads as "the batch".
// Unsupported nodes are collected and reported together: never a half-loaded model.
//
// int8 graphs (QDQ and QOperator) import into the int8 ops of the IR: see quantized.hpp. Graph inputs and outputs
// of the IR are F32. An ONNX graph input or output of type uint8 or int8 is an F32 tensor holding the integer values
// (uint8: the real integers 0..255), converted at the boundary by a Quantize / Dequantize with scale 1; an int32
// output (ConvInteger, MatMulInteger) is an F32 tensor holding the integers. Graph inputs may also be bound to
// constants at import (`constant_inputs`), e.g. quantization parameters that a model takes as inputs.
#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "xinfer/io/mapped_file.hpp"
#include "xinfer/io/onnx/onnx_proto.hpp"
#include "xinfer/ops/tensor_ops.hpp"
#include "xinfer/io/xinf.hpp"

namespace xinfer::io::onnx {

namespace detail {

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

class Unsupported : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};
// A node whose input comes from an unsupported node: not listed itself (the cause is).
class Downstream : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

inline Shape to_nhwc(const Shape& s) { return {s[0], s[2], s[3], s[1]}; }

inline std::vector<int64_t> const_ints(const Constant& c, const std::string& what) {
    std::vector<int64_t> v(c.numel());
    if (c.dtype == DataType::s64) std::copy(c.as<int64_t>(), c.as<int64_t>() + v.size(), v.begin());
    else if (c.dtype == DataType::s32) std::copy(c.as<int32_t>(), c.as<int32_t>() + v.size(), v.begin());
    else XINFER_THROW(ErrorCode::invalid_model, what, ": expected an integer tensor, got ", to_string(c.dtype));
    return v;
}

inline std::vector<float> const_floats(const Constant& c, const std::string& what) {
    std::vector<float> v(c.numel());
    const size_t n = v.size();
    switch (c.dtype) {
        case DataType::f32: std::copy(c.as<float>(), c.as<float>() + n, v.begin()); break;
        case DataType::s64: for (size_t i = 0; i < n; ++i) v[i] = float(c.as<int64_t>()[i]); break;
        case DataType::s32: for (size_t i = 0; i < n; ++i) v[i] = float(c.as<int32_t>()[i]); break;
        case DataType::s8: for (size_t i = 0; i < n; ++i) v[i] = float(c.as<int8_t>()[i]); break;
        case DataType::u8: for (size_t i = 0; i < n; ++i) v[i] = float(c.as<uint8_t>()[i]); break;
    }
    (void)what;
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

class Importer {
public:
    Importer(const ModelProto& m, std::string source, std::string base_dir,
             std::map<std::string, Constant> constant_inputs = {}, const MappedFile* mapping = nullptr)
        : m_(m), source_(std::move(source)), base_dir_(std::move(base_dir)),
          constant_inputs_(std::move(constant_inputs)), mapping_(mapping) {
        for (auto& o : m_.opset_import)
            if (o.domain.empty() || o.domain == "ai.onnx") opset_ = o.version;
    }

    XinfModel run() {
        XINFER_CHECK(m_.has_graph, ErrorCode::invalid_model, source_, ": the model has no graph");
        const GraphProto& g = m_.graph;
        for (auto& n : g.node)
            for (auto& in : n.input)
                if (!in.empty()) consumers_[in].push_back(&n);
        for (auto& out : g.output) graph_outputs_.insert(out.name);
        for (auto& t : g.initializer) {
            try {
                set_const(t.name, to_constant(t, base_dir_, source_));
                if (mapping_ && t.has_raw_data) mapping_->release(t.raw_data, t.raw_size);
            } catch (const Error& e) {
                XINFER_THROW(e.code(), e.what(), users_of(t.name));
            }
        }
        for (auto& in : g.input) {
            if (values_.count(in.name)) continue;  // an initializer listed as input (IR < 4)
            auto bound = constant_inputs_.find(in.name);
            if (bound != constant_inputs_.end()) set_const(in.name, bound->second);
            else add_graph_input(in);
        }
        std::vector<std::string> unsupported;
        for (auto& n : g.node) {
            if (fused_.count(&n)) continue;  // already part of an int8 op
            try {
                import_node(n);
                release_consumed_weights(n);
            } catch (const Downstream&) {
                for (auto& out : n.output) mark_unknown(out);
            } catch (const Unsupported& e) {
                unsupported.push_back(detail_line(n, e.what()));
                for (auto& out : n.output) mark_unknown(out);
            } catch (const Error& e) {
                if (e.code() != ErrorCode::unsupported_op) {
                    XINFER_THROW(e.code(), source_, ": node '", n.name, "' (", n.op_type, "): ", e.what());
                }
                unsupported.push_back(detail_line(n, e.what()));
                for (auto& out : n.output) mark_unknown(out);
            } catch (const std::exception& e) {  // e.g. an index out of range in a malformed model
                XINFER_THROW(ErrorCode::invalid_model, source_, ": node '", n.name, "' (", n.op_type, "): ", e.what());
            }
        }
        if (!unsupported.empty()) {
            std::string msg = source_ + ": " + std::to_string(unsupported.size()) + " unsupported node(s):";
            for (auto& u : unsupported) msg += "\n  " + u;
            throw Error(ErrorCode::unsupported_op, msg);
        }
        for (auto& out : g.output) add_graph_output(out);
        remove_dead_nodes();
        XinfModel result;
        result.graph = std::move(ir_);
        for (auto& [k, v] : m_.metadata_props)
            if (k == "labels") {
                try {
                    result.metadata.labels = nlohmann::json::parse(v).get<std::vector<std::string>>();
                } catch (const std::exception&) {
                    XINFER_THROW(ErrorCode::invalid_model, source_, ": metadata 'labels' is not a JSON list of strings");
                }
            }
        try {
            result.graph.sort_and_validate();
        } catch (const Error& e) {
            XINFER_THROW(e.code(), source_, ": ", e.what());
        }
        return result;
    }

private:
    // ---- values ----
    std::string detail_line(const NodeProto& n, const std::string& why) const {
        return ::xinfer::detail::concat("node '", n.name, "' op_type ", n.op_type, " domain '",
                                        n.domain.empty() ? "ai.onnx" : n.domain, "' opset ", opset_, ": ", why);
    }
    void set_const(const std::string& name, Constant c) {
        ValueState v;
        v.is_const = true;
        v.shape = c.shape;
        v.constant = std::move(c);
        v.ir = name;
        values_[name] = std::move(v);
    }
    void mark_unknown(const std::string& name) {
        if (name.empty()) return;
        ValueState v;
        v.ir = name;
        v.unknown = true;
        values_[name] = v;
    }
    // Frees the ONNX-order copy of a large weight once every node reading it (all of them layers, which keep
    // their own layout of it) has been imported: the importer's peak memory is then about one copy of the weights.
    void release_consumed_weights(const NodeProto& n) {
        static const std::set<std::string> layers = {"Conv", "Gemm", "MatMul"};
        if (!layers.count(n.op_type)) return;
        for (auto& in : n.input) {
            if (in.empty() || graph_outputs_.count(in) || ++imported_uses_[in] != consumers_[in].size()) continue;
            auto it = values_.find(in);
            if (it == values_.end() || !it->second.is_const || it->second.constant.bytes < (size_t(64) << 10)) continue;
            const auto& readers = consumers_[in];
            if (!std::all_of(readers.begin(), readers.end(), [&](const NodeProto* r) { return layers.count(r->op_type); }))
                continue;
            it->second.constant.owner.reset();  // the graph keeps its own reference where it shares these bytes
            it->second.constant.data = nullptr;
        }
    }
    const ValueState& value(const std::string& name) const {
        auto it = values_.find(name);
        XINFER_CHECK(it != values_.end(), ErrorCode::invalid_model, "unknown value '", name, "'");
        return it->second;
    }
    bool has_input(const NodeProto& n, size_t i) const { return n.input.size() > i && !n.input[i].empty(); }
    const ValueState& input(const NodeProto& n, size_t i) const {
        XINFER_CHECK(has_input(n, i), ErrorCode::invalid_model, "missing input ", i);
        const ValueState& v = value(n.input[i]);
        if (v.unknown) throw Downstream(n.input[i]);
        return v;
    }
    const Constant& const_input(const NodeProto& n, size_t i, const char* what) const {
        const ValueState& v = input(n, i);
        if (!v.is_const) throw Unsupported(std::string(what) + " must be a constant");
        return v.constant;
    }
    std::string fresh(const std::string& base) {
        std::string name = base;
        for (int i = 1; used_names_.count(name) || values_.count(name) || ir_.constants.count(name); ++i)
            name = base + "." + std::to_string(i);
        used_names_.insert(name);
        return name;
    }
    // An IR constant (F32) for a const value in the given layout.
    std::string ir_constant(const ValueState& v, const std::string& base, bool nhwc_rank4 = false) {
        std::vector<float> f = const_floats(v.constant, base);
        Shape shape = v.shape;
        if (nhwc_rank4) {
            while (shape.size() < 4) shape.insert(shape.begin(), 1);
            std::vector<float> t(f.size());
            kernels::ref::transpose_f32(shape, {0, 2, 3, 1}, f.data(), t.data());
            f.swap(t);
            shape = to_nhwc(shape);
        }
        const std::string name = fresh(base);
        ir_.constants[name] = Constant::from_floats(shape, f);
        return name;
    }
    void add_node(const std::string& name, const std::string& op, std::vector<std::string> inputs, const std::string& out,
                  std::map<std::string, Attribute> attrs = {}) {
        Node n;
        n.name = name;
        n.op = op;
        n.inputs = std::move(inputs);
        n.outputs = {out};
        n.attrs = std::move(attrs);
        used_names_.insert(out);
        ir_.nodes.push_back(std::move(n));
    }
    void define(const std::string& onnx_name, const std::string& ir, Layout layout, Shape shape) {
        ValueState v;
        v.ir = ir;
        v.layout = layout;
        v.shape = std::move(shape);
        values_[onnx_name] = std::move(v);
    }
    // Input i as an activation; integer activations (int8, or int32 held as F32) only where the op takes them.
    const ValueState& activation(const NodeProto& n, size_t i, bool integers_ok = false) {
        const ValueState& v = input(n, i);
        if (v.is_const) throw Unsupported("input " + std::to_string(i) + " is a constant where an activation is expected");
        if (v.shape.empty() && v.ir.empty()) throw Unsupported("input depends on an unsupported node");
        if (!integers_ok && v.elem != ElemType::float32)
            throw Unsupported(std::string("input '") + n.input[i] + "' is a " + to_string(v.elem) +
                              " tensor; this op runs on float tensors only");
        if (v.pending_pad) materialize_pad(n.input[i]);
        return values_.at(n.input[i]);
    }
    void materialize_pad(const std::string& name) {
        ValueState& v = values_.at(name);
        const std::string src = as_onnx(v.pad_source);
        const std::string out = fresh(name);
        add_node(out, "Pad", {src}, out,
                 {{"pads", std::vector<int64_t>{0, 0, v.pads.top, v.pads.left, 0, 0, v.pads.bottom, v.pads.right}},
                  {"value", 0.0}});
        v.pending_pad = false;
        v.ir = out;
        v.layout = Layout::onnx;
    }
    // The IR name of `name` stored NHWC (4-D only).
    std::string as_nhwc(const std::string& name) {
        ValueState& v = values_.at(name);
        if (v.is_int8()) return int8_in_layout(name, Layout::nhwc);
        if (v.pending_pad) materialize_pad(name);
        if (v.layout == Layout::nhwc) return v.ir;
        if (v.shape.size() != 4) throw Unsupported("expected a 4-D input, got shape " + ::xinfer::to_string(v.shape));
        auto it = converted_.find(name + "#nhwc");
        if (it != converted_.end()) return it->second;
        const std::string out = fresh(name + "/nhwc");
        add_node(out, "Transpose", {v.ir}, out, {{"perm", std::vector<int64_t>{0, 2, 3, 1}}});
        return converted_[name + "#nhwc"] = out;
    }
    // The IR name of `name` stored in ONNX order.
    std::string as_onnx(const std::string& name) {
        ValueState& v = values_.at(name);
        if (v.is_int8()) return int8_in_layout(name, Layout::onnx);
        if (v.pending_pad) materialize_pad(name);
        if (v.layout == Layout::onnx) return v.ir;
        auto it = converted_.find(name + "#onnx");
        if (it != converted_.end()) return it->second;
        const std::string out = fresh(name + "/nchw");
        add_node(out, "Transpose", {v.ir}, out, {{"perm", std::vector<int64_t>{0, 3, 1, 2}}});
        return converted_[name + "#onnx"] = out;
    }
    // Stored shape of a value.
    static Shape stored(const ValueState& v) { return v.layout == Layout::nhwc ? to_nhwc(v.shape) : v.shape; }
    // True when a 4-D NHWC value has the same element order as its ONNX form (H = W = 1).
    static bool order_agnostic(const ValueState& v) {
        return v.layout == Layout::onnx || (v.shape.size() == 4 && v.shape[2] == 1 && v.shape[3] == 1);
    }

    // ---- attributes ----
    const AttributeProto* attr(const NodeProto& n, const std::string& key) const {
        for (auto& a : n.attribute)
            if (a.name == key) return &a;
        return nullptr;
    }
    int64_t attr_int(const NodeProto& n, const std::string& key, int64_t fallback) const {
        auto a = attr(n, key);
        return a ? a->i : fallback;
    }
    float attr_float(const NodeProto& n, const std::string& key, float fallback) const {
        auto a = attr(n, key);
        return a ? a->f : fallback;
    }
    std::vector<int64_t> attr_ints(const NodeProto& n, const std::string& key, std::vector<int64_t> fallback) const {
        auto a = attr(n, key);
        return a ? a->ints : fallback;
    }
    std::string attr_string(const NodeProto& n, const std::string& key, std::string fallback) const {
        auto a = attr(n, key);
        return a ? a->s : fallback;
    }
    static int64_t norm_axis(int64_t axis, size_t rank) {
        if (axis < 0) axis += int64_t(rank);
        if (axis < 0 || axis >= int64_t(std::max<size_t>(rank, 1))) throw Unsupported("axis out of range");
        return axis;
    }

    // ---- graph boundary ----
    void add_graph_input(const ValueInfoProto& in) {
        const bool int8 = in.elem_type == ElemType::uint8 || in.elem_type == ElemType::int8;
        if (in.kind != ValueKind::tensor || (in.elem_type != ElemType::float32 && !int8))
            throw Error(ErrorCode::unsupported_op, source_ + ": graph input '" + in.name + "' is " +
                                                       to_string(in.elem_type) +
                                                       "; this build takes float32, uint8 and int8 inputs");
        XINFER_CHECK(in.has_shape, ErrorCode::unsupported_op, source_, ": graph input '", in.name, "' has no shape");
        Shape s;
        for (size_t i = 0; i < in.shape.size(); ++i) {
            const auto& d = in.shape[i];
            if (d.known && d.value >= 0) s.push_back(d.value);
            else if (i == 0) s.push_back(-1);
            else XINFER_THROW(ErrorCode::unsupported_op, source_, ": graph input '", in.name, "' has a dynamic dimension ", i);
        }
        ir_.inputs.push_back({in.name, DataType::f32, s});
        define(in.name, in.name, Layout::onnx, s);
        used_names_.insert(in.name);
        if (int8) integer_graph_input(in.name, in.elem_type);
    }
    void add_graph_output(const ValueInfoProto& out) {
        XINFER_CHECK(values_.count(out.name), ErrorCode::invalid_model, source_, ": graph output '", out.name,
                     "' is not produced");
        XINFER_CHECK(!values_.at(out.name).is_const, ErrorCode::unsupported_op, source_, ": graph output '", out.name,
                     "' is a constant");
        if (values_.at(out.name).is_int8()) integer_graph_output(out.name);
        const ValueState& v = values_.at(out.name);
        std::string ir = as_onnx(out.name);
        const bool is_input = std::any_of(ir_.inputs.begin(), ir_.inputs.end(), [&](auto& i) { return i.name == ir; });
        const bool taken = std::any_of(ir_.outputs.begin(), ir_.outputs.end(), [&](auto& o) { return o.name == ir; });
        if (ir != out.name || is_input || taken) {
            // The output must carry its ONNX name: rename whatever value holds that name, then copy into it.
            if (ir != out.name) rename_value(out.name, fresh(out.name + "/stored"));
            ir = values_.at(out.name).layout == Layout::onnx ? values_.at(out.name).ir : ir;
            add_node(out.name + "/output", "Reshape", {ir}, out.name, {{"shape", v.shape}});
        }
        ir_.outputs.push_back({out.name, DataType::f32, v.shape});
    }
    void rename_value(const std::string& from, const std::string& to) {
        for (auto& n : ir_.nodes) {
            for (auto& i : n.inputs)
                if (i == from) i = to;
            for (auto& o : n.outputs)
                if (o == from) o = to;
        }
        for (auto& [k, v] : values_)
            if (v.ir == from) v.ir = to;
        for (auto& [k, v] : converted_)
            if (v == from) v = to;
    }

    // ---- nodes ----
    void import_node(const NodeProto& n) {
        const std::string& op = n.op_type;
        if (!n.domain.empty() && n.domain != "ai.onnx" && !(n.domain == "com.microsoft" && is_microsoft_int8_op(op)))
            throw Unsupported("custom domain");
        for (auto& a : n.attribute)
            if (a.g || !a.graphs.empty()) throw Unsupported("subgraph attributes (control flow)");
        XINFER_CHECK(!n.output.empty(), ErrorCode::invalid_model, "node without outputs");
        if (try_fold(n)) return;
        if (import_int8_node(n)) return;
        if (op == "Conv") return conv(n);
        if (op == "BatchNormalization") return batch_norm(n);
        if (op == "Relu" || op == "Clip") return clip(n);
        if (op == "LeakyRelu" || op == "Sigmoid" || op == "HardSigmoid" || op == "HardSwish" || op == "Tanh" ||
            op == "Exp" || op == "Neg" || op == "Abs" || op == "Sqrt")
            return unary(n);
        if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div" || op == "Max" || op == "Min" || op == "Pow")
            return binary(n);
        if (op == "GlobalAveragePool") return global_pool(n);
        if (op == "AveragePool" || op == "MaxPool") return pool(n);
        if (op == "Flatten" || op == "Reshape" || op == "Squeeze" || op == "Unsqueeze") return reshape(n);
        if (op == "Identity" || op == "Dropout") return identity(n);
        if (op == "Transpose") return transpose(n);
        if (op == "Concat") return concat(n);
        if (op == "Softmax") return softmax(n);
        if (op == "Gemm") return gemm(n);
        if (op == "MatMul") return matmul(n);
        if (op == "Pad") return pad(n);
        if (op == "Cast") return cast(n);
        throw Unsupported("op not supported");
    }

    void check_outputs(const NodeProto& n, size_t max) const {
        for (size_t i = max; i < n.output.size(); ++i)
            if (!n.output[i].empty()) throw Unsupported("optional output " + std::to_string(i) + " is not supported");
    }

    // Window attributes shared by Conv and pooling: kernel, strides, dilations, explicit or automatic pads.
    Window2D window(const NodeProto& n, const Shape& x, int64_t kh, int64_t kw) {
        Window2D w;
        const auto strides = attr_ints(n, "strides", {1, 1}), dil = attr_ints(n, "dilations", {1, 1});
        if (strides.size() != 2 || dil.size() != 2) throw Unsupported("only 2-D windows are supported");
        auto small = [](int64_t v) {
            if (v < 0 || v > (1 << 20)) throw Error(ErrorCode::invalid_model, "window attribute out of range");
            return int(v);
        };
        w.kernel_h = small(kh), w.kernel_w = small(kw);
        w.stride_h = small(strides[0]), w.stride_w = small(strides[1]);
        w.dilation_h = small(dil[0]), w.dilation_w = small(dil[1]);
        const std::string auto_pad = attr_string(n, "auto_pad", "NOTSET");
        if (auto_pad == "NOTSET") {
            const auto p = attr_ints(n, "pads", {0, 0, 0, 0});
            if (p.size() != 4) throw Unsupported("pads of a 2-D window need 4 values");
            w.pads = {small(p[0]), small(p[1]), small(p[2]), small(p[3])};
        } else if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
            if (x[2] < 0 || x[3] < 0) throw Unsupported("auto_pad with a dynamic spatial size");
            const bool upper = auto_pad == "SAME_UPPER";
            same_pads(int(x[2]), w.kernel_h, w.stride_h, w.dilation_h, upper, w.pads.top, w.pads.bottom);
            same_pads(int(x[3]), w.kernel_w, w.stride_w, w.dilation_w, upper, w.pads.left, w.pads.right);
        } else if (auto_pad != "VALID") {
            throw Unsupported("auto_pad " + auto_pad);
        }
        w.validate();
        return w;
    }
    static Shape window_output(const Shape& x, const Window2D& w, int64_t channels) {
        const int oh = w.out_h(int(x[2])), ow = w.out_w(int(x[3]));
        XINFER_CHECK(oh > 0 && ow > 0, ErrorCode::shape_mismatch, "input ", ::xinfer::to_string(x), " smaller than the window");
        return {x[0], channels, oh, ow};
    }

    // Where a Conv reads its input and how: a pending zero Pad before it is folded into the window.
    struct ConvGeometry {
        std::string src;  // the ONNX value read (past a folded Pad)
        Window2D win;
        int64_t group = 1;
        Shape y;          // logical output shape (NCHW)
    };
    ConvGeometry conv_geometry(const NodeProto& n, const Shape& w) {
        const ValueState& xin = input(n, 0);
        if (xin.is_const) throw Unsupported("constant input");
        Pads folded;
        std::string src = n.input[0];
        if (xin.pending_pad) {
            folded = xin.pads;
            src = xin.pad_source;
        }
        const ValueState& x = values_.at(src);
        if (x.shape.size() != 4) throw Unsupported("input of rank " + std::to_string(x.shape.size()));
        Shape padded = x.shape;
        padded[2] += folded.top + folded.bottom;
        padded[3] += folded.left + folded.right;
        Window2D win = window(n, padded, w[2], w[3]);
        if (attr(n, "kernel_shape") && attr_ints(n, "kernel_shape", {}) != std::vector<int64_t>{w[2], w[3]})
            throw Error(ErrorCode::invalid_model, "kernel_shape disagrees with the weight");
        win.pads.top += folded.top, win.pads.left += folded.left;
        win.pads.bottom += folded.bottom, win.pads.right += folded.right;
        const int64_t group = attr_int(n, "group", 1);
        const int64_t cout = w[0], cin_g = w[1];
        XINFER_CHECK(group >= 1 && cin_g * group == x.shape[1] && cout % group == 0, ErrorCode::shape_mismatch,
                     "weight ", ::xinfer::to_string(w), " with group ", group, " does not fit input ", ::xinfer::to_string(x.shape));
        return {src, win, group, window_output(x.shape, win, cout)};
    }
    static std::map<std::string, Attribute> conv_attributes(const ConvGeometry& c) {
        const Window2D& w = c.win;
        return {{"strides", std::vector<int64_t>{w.stride_h, w.stride_w}},
                {"dilations", std::vector<int64_t>{w.dilation_h, w.dilation_w}},
                {"pads", std::vector<int64_t>{w.pads.top, w.pads.left, w.pads.bottom, w.pads.right}},
                {"group", c.group}};
    }

    void conv(const NodeProto& n) {
        const Constant& w = const_input(n, 1, "the weight");
        if (w.shape.size() != 4) throw Unsupported("only 2-D convolution is supported (weight rank " +
                                                   std::to_string(w.shape.size()) + ")");
        if (w.dtype != DataType::f32) throw Unsupported("non-float weights");
        const ConvGeometry geo = conv_geometry(n, w.shape);
        if (values_.at(geo.src).elem != ElemType::float32)
            throw Unsupported("input '" + geo.src + "' is a " + to_string(values_.at(geo.src).elem) + " tensor");
        const int64_t cout = w.shape[0], cin_g = w.shape[1];
        // OIHW -> OHWI
        const std::string wname = fresh(n.input[1] + "/ohwi");
        ir_.constants[wname] = Constant::make_f32({cout, w.shape[2], w.shape[3], cin_g}, [&](float* ohwi) {
            kernels::ref::transpose_f32(w.shape, {0, 2, 3, 1}, w.as<float>(), ohwi);
        });
        std::vector<std::string> inputs{as_nhwc(geo.src), wname};
        if (has_input(n, 2)) {
            const Constant& b = const_input(n, 2, "the bias");
            if (b.numel() != size_t(cout)) throw Error(ErrorCode::invalid_model, "bias length mismatch");
            inputs.push_back(ir_constant(input(n, 2), n.input[2]));
        }
        const std::string out = fresh(n.output[0]);
        add_node(fresh_node_name(n, out), "Conv", inputs, out, conv_attributes(geo));
        define(n.output[0], out, Layout::nhwc, geo.y);
    }
    std::string fresh_node_name(const NodeProto& n, const std::string& out) {
        return n.name.empty() ? out : n.name;
    }

    void batch_norm(const NodeProto& n) {
        check_outputs(n, 1);
        if (attr_int(n, "training_mode", 0)) throw Unsupported("training mode");
        const ValueState& x = activation(n, 0);
        std::vector<std::string> inputs;
        if (x.shape.size() == 4) inputs.push_back(as_nhwc(n.input[0]));
        else if (x.shape.size() == 2) inputs.push_back(as_onnx(n.input[0]));
        else throw Unsupported("input of rank " + std::to_string(x.shape.size()));
        for (size_t i = 1; i <= 4; ++i) {
            const Constant& c = const_input(n, i, "scale/bias/mean/var");
            if (int64_t(c.numel()) != x.shape[1]) throw Error(ErrorCode::invalid_model, "statistics length mismatch");
            inputs.push_back(ir_constant(input(n, i), n.input[i]));
        }
        const std::string out = fresh(n.output[0]);
        add_node(fresh_node_name(n, out), "BatchNormalization", inputs, out,
                 {{"epsilon", double(attr_float(n, "epsilon", 1e-5f))}});
        define(n.output[0], out, x.shape.size() == 4 ? Layout::nhwc : Layout::onnx, x.shape);
    }

    // Same-layout activation op: output keeps the input's layout.
    void layout_free(const NodeProto& n, const std::string& op, std::map<std::string, Attribute> attrs) {
        const ValueState& x = activation(n, 0);
        const std::string out = fresh(n.output[0]);
        const Layout layout = x.layout;
        const Shape shape = x.shape;
        add_node(fresh_node_name(n, out), op, {x.ir}, out, std::move(attrs));
        define(n.output[0], out, layout, shape);
    }

    void clip(const NodeProto& n) {
        float lo = 0.0f, hi = INFINITY;
        if (n.op_type == "Clip") {
            lo = -INFINITY;
            if (opset_ < 11) {
                lo = attr_float(n, "min", -INFINITY), hi = attr_float(n, "max", INFINITY);
            } else {
                if (has_input(n, 1)) lo = const_floats(const_input(n, 1, "min"), "min").at(0);
                if (has_input(n, 2)) hi = const_floats(const_input(n, 2, "max"), "max").at(0);
            }
        }
        std::map<std::string, Attribute> attrs;
        if (std::isfinite(lo)) attrs["clip_min"] = double(lo);
        if (std::isfinite(hi)) attrs["clip_max"] = double(hi);
        if (lo > hi) throw Unsupported("min > max");
        layout_free(n, "Clip", attrs);
    }

    void unary(const NodeProto& n) {
        static const std::map<std::string, std::string> kinds{
            {"LeakyRelu", "leaky_relu"}, {"Sigmoid", "sigmoid"}, {"HardSigmoid", "hard_sigmoid"},
            {"HardSwish", "hard_swish"}, {"Tanh", "tanh"},       {"Exp", "exp"},
            {"Neg", "neg"},              {"Abs", "abs"},         {"Sqrt", "sqrt"}};
        std::map<std::string, Attribute> attrs{{"op", kinds.at(n.op_type)}};
        if (n.op_type == "LeakyRelu") attrs["alpha"] = double(attr_float(n, "alpha", 0.01f));
        if (n.op_type == "HardSigmoid") {
            attrs["alpha"] = double(attr_float(n, "alpha", 0.2f));
            attrs["beta"] = double(attr_float(n, "beta", 0.5f));
        }
        layout_free(n, "Unary", attrs);
    }

    void binary(const NodeProto& n) {
        static const std::map<std::string, std::string> kinds{{"Add", "add"}, {"Sub", "sub"}, {"Mul", "mul"},
                                                              {"Div", "div"}, {"Max", "max"}, {"Min", "min"},
                                                              {"Pow", "pow"}};
        if (n.input.size() != 2) throw Unsupported("only two operands are supported");
        if (opset_ < 7 && attr(n, "broadcast")) throw Unsupported("legacy broadcast attribute");
        const ValueState& a0 = input(n, 0);
        const ValueState& b0 = input(n, 1);
        if ((!a0.is_const && a0.ir.empty()) || (!b0.is_const && b0.ir.empty()))
            throw Unsupported("input depends on an unsupported node");
        const std::string out = fresh(n.output[0]);
        const std::map<std::string, Attribute> attrs{{"op", kinds.at(n.op_type)}};
        if (!a0.is_const && !b0.is_const) {
            activation(n, 0), activation(n, 1);
            const ValueState& a = values_.at(n.input[0]);
            const ValueState& b = values_.at(n.input[1]);
            const Shape y = ops::broadcast_shapes(a.shape, b.shape, "broadcast");
            const bool both_nhwc = a.layout == Layout::nhwc && b.layout == Layout::nhwc;
            std::string ia = both_nhwc ? a.ir : as_onnx(n.input[0]);
            std::string ib = both_nhwc ? b.ir : as_onnx(n.input[1]);
            if (n.op_type == "Add" && a.shape == b.shape) add_node(fresh_node_name(n, out), "Add", {ia, ib}, out);
            else add_node(fresh_node_name(n, out), "Binary", {ia, ib}, out, attrs);
            define(n.output[0], out, both_nhwc ? Layout::nhwc : Layout::onnx, y);
            return;
        }
        const bool a_const = a0.is_const;
        const ValueState& act = activation(n, a_const ? 1 : 0);
        const ValueState& c = values_.at(n.input[a_const ? 0 : 1]);
        if (c.constant.dtype != DataType::f32) throw Unsupported("non-float constant operand");
        const Shape y = ops::broadcast_shapes(a_const ? c.shape : act.shape, a_const ? act.shape : c.shape, "broadcast");
        // NHWC activation: the constant is brought to rank 4 and permuted alike, which keeps broadcasting exact.
        const bool nhwc = act.layout == Layout::nhwc && c.shape.size() <= 4;
        const std::string x = nhwc ? act.ir : as_onnx(n.input[a_const ? 1 : 0]);
        const std::string k = ir_constant(c, n.input[a_const ? 0 : 1], nhwc);
        add_node(fresh_node_name(n, out), "Binary", a_const ? std::vector<std::string>{k, x} : std::vector<std::string>{x, k},
                 out, attrs);
        define(n.output[0], out, nhwc ? Layout::nhwc : Layout::onnx, y);
    }

    void global_pool(const NodeProto& n) {
        const ValueState& x = activation(n, 0);
        if (x.shape.size() != 4) throw Unsupported("input of rank " + std::to_string(x.shape.size()));
        const Shape s{x.shape[0], x.shape[1], 1, 1};
        const std::string in = as_nhwc(n.input[0]), out = fresh(n.output[0]);
        add_node(fresh_node_name(n, out), "GlobalAveragePool", {in}, out);
        define(n.output[0], out, Layout::nhwc, s);
    }

    void pool(const NodeProto& n) {
        check_outputs(n, 1);
        const ValueState& x = activation(n, 0);
        if (x.shape.size() != 4) throw Unsupported("only 2-D pooling is supported");
        const auto k = attr_ints(n, "kernel_shape", {});
        if (k.size() != 2) throw Unsupported("only 2-D pooling is supported");
        if (attr_int(n, "ceil_mode", 0)) throw Unsupported("ceil_mode = 1");
        if (attr_int(n, "storage_order", 0)) throw Unsupported("storage_order = 1");
        const Shape xs = x.shape;
        Window2D w = window(n, xs, k[0], k[1]);
        if (n.op_type == "AveragePool" && (w.dilation_h != 1 || w.dilation_w != 1)) throw Unsupported("dilated average pooling");
        const std::string in = as_nhwc(n.input[0]), out = fresh(n.output[0]);
        add_node(fresh_node_name(n, out), n.op_type, {in}, out,
                 {{"kernel_shape", std::vector<int64_t>{k[0], k[1]}},
                  {"strides", std::vector<int64_t>{w.stride_h, w.stride_w}},
                  {"dilations", std::vector<int64_t>{w.dilation_h, w.dilation_w}},
                  {"pads", std::vector<int64_t>{w.pads.top, w.pads.left, w.pads.bottom, w.pads.right}},
                  {"count_include_pad", attr_int(n, "count_include_pad", 0)}});
        define(n.output[0], out, Layout::nhwc, window_output(xs, w, xs[1]));
    }

    // The logical output shape of Flatten/Reshape/Squeeze/Unsqueeze.
    Shape reshaped(const NodeProto& n, const Shape& x) {
        const std::string& op = n.op_type;
        if (op == "Flatten") {
            int64_t axis = attr_int(n, "axis", 1);
            if (axis < 0) axis += int64_t(x.size());
            if (axis < 0 || axis > int64_t(x.size())) throw Error(ErrorCode::invalid_model, "Flatten axis out of range");
            int64_t a = 1, b = 1;
            for (size_t i = 0; i < x.size(); ++i) (int64_t(i) < axis ? a : b) *= x[i];
            if (a < 0 || b < 0) {
                if (axis == 1 && x[0] < 0 && b >= 0) return {-1, b};
                throw Unsupported("flatten of a dynamic dimension");
            }
            return {a, b};
        }
        if (op == "Reshape") {
            std::vector<int64_t> t = const_ints(const_input(n, 1, "the target shape"), "shape");
            const bool allowzero = attr_int(n, "allowzero", 0) != 0;
            int64_t known = 1, infer = -1;
            for (size_t i = 0; i < t.size(); ++i) {
                if (t[i] == 0 && !allowzero) {
                    if (i >= x.size()) throw Error(ErrorCode::invalid_model, "reshape copies a missing dimension");
                    t[i] = x[i];
                }
                if (t[i] == -1) {
                    if (infer >= 0) throw Error(ErrorCode::invalid_model, "reshape with two -1");
                    infer = int64_t(i);
                } else if (t[i] < 0) {
                    if (i == 0) continue;  // a dynamic batch copied through
                    throw Error(ErrorCode::invalid_model, "negative reshape dimension");
                } else {
                    known *= t[i];
                }
            }
            const bool dynamic = std::any_of(x.begin(), x.end(), [](int64_t d) { return d < 0; });
            int64_t total = 1;
            for (size_t i = dynamic ? 1 : 0; i < x.size(); ++i) total *= x[i];
            if (dynamic) {
                // [batch, ...] -> [batch (0 / -1 / copied), ...]: the rest must match exactly.
                if (x[0] >= 0 || (t[0] >= 0 && t[0] != x[0]) ) throw Unsupported("reshape of a dynamic dimension");
                int64_t rest = 1;
                for (size_t i = 1; i < t.size(); ++i) {
                    if (t[i] < 0) throw Unsupported("reshape of a dynamic dimension");
                    rest *= t[i];
                }
                if (rest != total) throw Unsupported("reshape moves the batch dimension");
                t[0] = -1;
                return t;
            }
            if (infer >= 0) {
                if (known == 0 || total % known) throw Error(ErrorCode::shape_mismatch, "cannot infer reshape dimension");
                t[size_t(infer)] = total / known;
            }
            return t;
        }
        std::vector<int64_t> axes;
        if (opset_ >= 13 && has_input(n, 1)) axes = const_ints(const_input(n, 1, "axes"), "axes");
        else axes = attr_ints(n, "axes", {});
        if (op == "Squeeze") {
            std::set<int64_t> drop;
            for (auto a : axes) drop.insert(norm_axis(a, x.size()));
            Shape out;
            for (size_t i = 0; i < x.size(); ++i) {
                const bool squeeze = axes.empty() ? x[i] == 1 : drop.count(int64_t(i)) > 0;
                if (squeeze && x[i] != 1) throw Error(ErrorCode::shape_mismatch, "squeezing a dimension that is not 1");
                if (!squeeze) out.push_back(x[i]);
            }
            return out;
        }
        // Unsqueeze
        const size_t rank = x.size() + axes.size();
        std::set<int64_t> add;
        for (auto a : axes) add.insert(norm_axis(a, rank));
        Shape out;
        size_t j = 0;
        for (size_t i = 0; i < rank; ++i) out.push_back(add.count(int64_t(i)) ? 1 : x[j++]);
        return out;
    }

    // Also on int8 values (the IR's Reshape keeps its input's dtype).
    void reshape(const NodeProto& n) {
        const ValueState& x = activation(n, 0, true);
        if (x.elem == ElemType::int32) throw Unsupported("reshape of an int32 tensor");
        const Shape target = reshaped(n, x.shape);
        const ElemType elem = x.elem;
        const std::string in = order_agnostic(x) ? x.ir : as_onnx(n.input[0]);
        const std::string out = fresh(n.output[0]);
        add_node(fresh_node_name(n, out), "Reshape", {in}, out, {{"shape", target}});
        define(n.output[0], out, Layout::onnx, target);
        values_.at(n.output[0]).elem = elem;
    }

    void identity(const NodeProto& n) {
        check_outputs(n, 1);
        const ValueState& x = input(n, 0);
        if (!x.is_const) activation(n, 0, true);
        values_[n.output[0]] = values_.at(n.input[0]);
    }

    void transpose(const NodeProto& n) {
        const ValueState& x = activation(n, 0);
        std::vector<int64_t> perm = attr_ints(n, "perm", {});
        if (perm.empty())
            for (size_t i = x.shape.size(); i-- > 0;) perm.push_back(int64_t(i));
        if (perm.size() != x.shape.size()) throw Error(ErrorCode::invalid_model, "perm does not match the rank");
        Shape y;
        for (auto p : perm) y.push_back(x.shape.at(size_t(norm_axis(p, x.shape.size()))));
        if (x.layout == Layout::nhwc && perm == std::vector<int64_t>{0, 2, 3, 1}) {
            define(n.output[0], x.ir, Layout::onnx, y);  // the data is already in that order
            return;
        }
        const std::string in = as_onnx(n.input[0]), out = fresh(n.output[0]);
        add_node(fresh_node_name(n, out), "Transpose", {in}, out, {{"perm", perm}});
        define(n.output[0], out, Layout::onnx, y);
    }

    void concat(const NodeProto& n) {
        const size_t rank = input(n, 0).shape.size();
        if (rank == 0) throw Unsupported("Concat of scalars");
        const int64_t axis = norm_axis(attr_int(n, "axis", 0), rank);
        bool all_nhwc = true;
        for (size_t i = 0; i < n.input.size(); ++i) all_nhwc &= activation(n, i).layout == Layout::nhwc;
        std::vector<std::string> ins;
        Shape y = values_.at(n.input[0]).shape;
        for (size_t i = 0; i < n.input.size(); ++i) {
            ins.push_back(all_nhwc ? values_.at(n.input[i]).ir : as_onnx(n.input[i]));
            if (i) y[size_t(axis)] += values_.at(n.input[i]).shape.at(size_t(axis));
        }
        static const int64_t to_stored[] = {0, 3, 1, 2};
        const std::string out = fresh(n.output[0]);
        add_node(fresh_node_name(n, out), "Concat", ins, out, {{"axis", all_nhwc ? to_stored[axis] : axis}});
        define(n.output[0], out, all_nhwc ? Layout::nhwc : Layout::onnx, y);
    }

    void softmax(const NodeProto& n) {
        const ValueState& x = activation(n, 0);
        const size_t rank = x.shape.size();
        const int64_t axis = norm_axis(attr_int(n, "axis", opset_ >= 13 ? -1 : 1), rank);
        const Shape shape = x.shape;
        const std::string out = fresh(n.output[0]);
        if (opset_ >= 13 && x.layout == Layout::nhwc) {
            static const int64_t to_stored[] = {0, 3, 1, 2};
            add_node(fresh_node_name(n, out), "SoftmaxAxes", {x.ir}, out, {{"axis", to_stored[axis]}, {"count", int64_t(1)}});
            define(n.output[0], out, Layout::nhwc, shape);
            return;
        }
        const std::string in = as_onnx(n.input[0]);
        const int64_t count = opset_ >= 13 ? 1 : int64_t(rank) - axis;
        if (size_t(axis) == rank - 1) add_node(fresh_node_name(n, out), "Softmax", {in}, out);
        else add_node(fresh_node_name(n, out), "SoftmaxAxes", {in}, out, {{"axis", axis}, {"count", count}});
        define(n.output[0], out, Layout::onnx, shape);
    }

    // y = alpha * A' B' + beta * C: a Dense layer when B (and C) are constants and A is not transposed.
    void gemm(const NodeProto& n) {
        const ValueState& a = activation(n, 0);
        const float alpha = attr_float(n, "alpha", 1.0f), beta = attr_float(n, "beta", 1.0f);
        const bool ta = attr_int(n, "transA", 0) != 0, tb = attr_int(n, "transB", 0) != 0;
        const ValueState& b = input(n, 1);
        if (a.shape.size() != 2) throw Error(ErrorCode::shape_mismatch, "Gemm needs a 2-D A");
        if (!b.is_const || ta || b.shape.size() != 2 || (has_input(n, 2) && !input(n, 2).is_const))
            return general_gemm(n, alpha, beta, ta, tb);
        const int64_t K = tb ? b.shape[1] : b.shape[0], N = tb ? b.shape[0] : b.shape[1];
        XINFER_CHECK(a.shape[1] == K, ErrorCode::shape_mismatch, "Gemm: A ", ::xinfer::to_string(a.shape), " vs B ", ::xinfer::to_string(b.shape));
        std::vector<float> converted;
        const float* bw = b.constant.dtype == DataType::f32 ? b.constant.as<float>()
                                                             : (converted = const_floats(b.constant, "B")).data();
        std::vector<std::string> inputs{as_onnx(n.input[0]), fresh(n.input[1] + "/dense")};
        ir_.constants[inputs[1]] = Constant::make_f32({N, K}, [&](float* w) {
            for (int64_t nn = 0; nn < N; ++nn)
                for (int64_t k = 0; k < K; ++k)
                    w[size_t(nn * K + k)] = alpha * (tb ? bw[size_t(nn * K + k)] : bw[size_t(k * N + nn)]);
        });
        if (has_input(n, 2)) {
            const ValueState& c = input(n, 2);
            const std::vector<float> cv = const_floats(c.constant, "C");
            std::vector<float> bias(static_cast<size_t>(N));
            if (cv.size() == 1) std::fill(bias.begin(), bias.end(), beta * cv[0]);
            else if (int64_t(cv.size()) == N && (c.shape.size() == 1 || c.shape[0] == 1))
                for (int64_t i = 0; i < N; ++i) bias[size_t(i)] = beta * cv[size_t(i)];
            else return general_gemm(n, alpha, beta, ta, tb);
            inputs.push_back(fresh(n.input[2] + "/bias"));
            ir_.constants[inputs[2]] = Constant::from_floats({N}, bias);
        }
        const std::string out = fresh(n.output[0]);
        add_node(fresh_node_name(n, out), "Dense", inputs, out);
        define(n.output[0], out, Layout::onnx, {a.shape[0], N});
    }

    // Gemm with activation operands: Transpose / MatMul / Mul / Add nodes.
    void general_gemm(const NodeProto& n, float alpha, float beta, bool ta, bool tb) {
        auto operand = [&](size_t i, bool trans) -> std::pair<std::string, Shape> {
            const ValueState& v = input(n, i);
            XINFER_CHECK(v.shape.size() == 2 || (i == 2 && v.shape.size() < 2), ErrorCode::invalid_model,
                         "Gemm operand ", i, " has shape ", ::xinfer::to_string(v.shape));
            if (v.is_const) {
                ValueState c = v;
                if (trans) {
                    std::vector<float> f = const_floats(v.constant, "operand"), t(f.size());
                    kernels::ref::transpose_f32(v.shape, {1, 0}, f.data(), t.data());
                    c.constant = Constant::from_floats({v.shape[1], v.shape[0]}, t);
                    c.shape = c.constant.shape;
                }
                return {ir_constant(c, n.input[i]), c.shape};
            }
            activation(n, i);
            std::string name = as_onnx(n.input[i]);
            Shape s = values_.at(n.input[i]).shape;
            if (trans) {
                const std::string t = fresh(n.input[i] + "/T");
                add_node(t, "Transpose", {name}, t, {{"perm", std::vector<int64_t>{1, 0}}});
                name = t;
                s = {s[1], s[0]};
            }
            return {name, s};
        };
        const auto [an, as] = operand(0, ta);
        const auto [bn, bs] = operand(1, tb);
        XINFER_CHECK(as[1] == bs[0], ErrorCode::shape_mismatch, "Gemm: A' ", ::xinfer::to_string(as), " and B' ",
                     ::xinfer::to_string(bs), " do not multiply");
        if (ir_.constants.count(an) && ir_.constants.count(bn)) throw Unsupported("both operands constant");
        std::string y = fresh(n.output[0] + "/matmul");
        add_node(y, "MatMul", {an, bn}, y);
        const Shape ys{as[0], bs[1]};
        if (alpha != 1.0f) {
            const std::string k = fresh(n.name + "/alpha"), y2 = fresh(n.output[0] + "/scaled");
            ir_.constants[k] = Constant::from_floats({1}, {alpha});
            add_node(y2, "Binary", {y, k}, y2, {{"op", std::string("mul")}});
            y = y2;
        }
        if (has_input(n, 2) && beta != 0.0f) {
            const auto [cn, cs] = operand(2, false);
            std::string c = cn;
            if (beta != 1.0f) {
                const std::string k = fresh(n.name + "/beta"), c2 = fresh(n.input[2] + "/scaled");
                ir_.constants[k] = Constant::from_floats({1}, {beta});
                if (ir_.constants.count(cn)) {
                    std::vector<float> f = ir_.constants.at(cn).to_floats();
                    for (auto& v : f) v *= beta;
                    ir_.constants[c2] = Constant::from_floats(cs, f);
                } else {
                    add_node(c2, "Binary", {cn, k}, c2, {{"op", std::string("mul")}});
                }
                c = c2;
            }
            const std::string y3 = fresh(n.output[0]);
            add_node(y3, "Binary", {y, c}, y3, {{"op", std::string("add")}});
            y = y3;
        }
        define(n.output[0], y, Layout::onnx, ys);
    }

    void matmul(const NodeProto& n) {
        const ValueState& a0 = input(n, 0);
        const ValueState& b0 = input(n, 1);
        if (a0.shape.size() < 2 || b0.shape.size() < 2) throw Unsupported("1-D MatMul operands");
        if (!a0.is_const) activation(n, 0);
        if (!b0.is_const) activation(n, 1);
        const ValueState& a = values_.at(n.input[0]);
        const ValueState& b = values_.at(n.input[1]);
        Shape y = ops::broadcast_shapes(Shape(a.shape.begin(), a.shape.end() - 2), Shape(b.shape.begin(), b.shape.end() - 2), "MatMul");
        y.push_back(a.shape[a.shape.size() - 2]);
        y.push_back(b.shape.back());
        const std::string out = fresh(n.output[0]);
        if (!a.is_const && b.is_const && a.shape.size() == 2 && b.shape.size() == 2) {
            const int64_t K = b.shape[0], N = b.shape[1];
            std::vector<float> bw = const_floats(b.constant, "B"), w(size_t(N * K));
            for (int64_t nn = 0; nn < N; ++nn)
                for (int64_t k = 0; k < K; ++k) w[size_t(nn * K + k)] = bw[size_t(k * N + nn)];
            const std::string wn = fresh(n.input[1] + "/dense");
            ir_.constants[wn] = Constant::from_floats({N, K}, w);
            add_node(fresh_node_name(n, out), "Dense", {as_onnx(n.input[0]), wn}, out);
        } else {
            const std::string an = a.is_const ? ir_constant(a, n.input[0]) : as_onnx(n.input[0]);
            const std::string bn = b.is_const ? ir_constant(b, n.input[1]) : as_onnx(n.input[1]);
            add_node(fresh_node_name(n, out), "MatMul", {an, bn}, out);
        }
        define(n.output[0], out, Layout::onnx, y);
    }

    void pad(const NodeProto& n) {
        const std::string mode = attr_string(n, "mode", "constant");
        if (mode != "constant") throw Unsupported("mode " + mode);
        std::vector<int64_t> pads;
        float value = 0.0f;
        if (opset_ < 11) {
            pads = attr_ints(n, "pads", {});
            value = attr_float(n, "value", 0.0f);
        } else {
            pads = const_ints(const_input(n, 1, "pads"), "pads");
            if (has_input(n, 2)) value = const_floats(const_input(n, 2, "constant_value"), "value").at(0);
            if (has_input(n, 3)) throw Unsupported("the axes input");
        }
        const ValueState& x = activation(n, 0);
        const size_t r = x.shape.size();
        XINFER_CHECK(pads.size() == 2 * r, ErrorCode::invalid_model, "pads has ", pads.size(), " values for rank ", r);
        Shape y(r);
        for (size_t i = 0; i < r; ++i) y[i] = x.shape[i] < 0 ? -1 : x.shape[i] + pads[i] + pads[r + i];
        const bool spatial_only = r == 4 && pads[0] == 0 && pads[1] == 0 && pads[4] == 0 && pads[5] == 0;
        const bool non_negative = std::all_of(pads.begin(), pads.end(), [](int64_t p) { return p >= 0; });
        if (spatial_only && non_negative && value == 0.0f) {
            ValueState v;
            v.pending_pad = true;
            v.pad_source = n.input[0];
            v.pads = {int(pads[2]), int(pads[3]), int(pads[6]), int(pads[7])};
            v.shape = y;
            v.ir = "";
            values_[n.output[0]] = v;
            return;
        }
        const std::string in = as_onnx(n.input[0]), out = fresh(n.output[0]);
        add_node(fresh_node_name(n, out), "Pad", {in}, out, {{"pads", pads}, {"value", double(value)}});
        define(n.output[0], out, Layout::onnx, y);
    }

    void cast(const NodeProto& n) {
        if (attr_int(n, "to", 0) != int64_t(ElemType::float32)) throw Unsupported("cast of an activation to a non-float type");
        const ValueState& x = activation(n, 0, true);
        if (x.is_int8()) {  // the integers as floats
            values_[n.output[0]] = values_.at(integer_values(n.input[0], 0));
            return;
        }
        identity(n);
        values_.at(n.output[0]).elem = ElemType::float32;
    }

    // ---- constant folding ----
    bool try_fold(const NodeProto& n) {
        const std::string& op = n.op_type;
        if (op == "Constant") {
            const AttributeProto* a = nullptr;
            for (auto& at : n.attribute) a = &at;
            if (!a || n.attribute.size() != 1) throw Error(ErrorCode::invalid_model, "Constant needs one value attribute");
            if (a->name == "value") set_const(n.output[0], to_constant(a->t, base_dir_, source_));
            else if (a->name == "value_float") set_const(n.output[0], Constant::from_floats({}, {a->f}));
            else if (a->name == "value_floats") set_const(n.output[0], Constant::from_floats({int64_t(a->floats.size())}, a->floats));
            else if (a->name == "value_int") set_const(n.output[0], ints_constant({}, {a->i}));
            else if (a->name == "value_ints") set_const(n.output[0], ints_constant({int64_t(a->ints.size())}, a->ints));
            else throw Unsupported("Constant attribute " + a->name);
            return true;
        }
        if (op == "Shape") {
            const ValueState& x = input(n, 0);
            if (x.shape.empty() && !x.is_const && x.ir.empty()) return false;
            int64_t start = attr_int(n, "start", 0), end = attr_int(n, "end", int64_t(x.shape.size()));
            const int64_t r = int64_t(x.shape.size());
            if (start < 0) start += r;
            if (end < 0) end += r;
            start = std::clamp<int64_t>(start, 0, r), end = std::clamp<int64_t>(end, 0, r);
            std::vector<int64_t> dims(x.shape.begin() + start, x.shape.begin() + std::max(start, end));
            set_const(n.output[0], ints_constant({int64_t(dims.size())}, dims));
            return true;
        }
        for (size_t i = 0; i < n.input.size(); ++i)
            if (!n.input[i].empty() && !(values_.count(n.input[i]) && values_.at(n.input[i]).is_const)) return false;
        // The folds read their inputs directly: a missing one leaves the node to the import path, which names it.
        const bool two_inputs = op == "Gather" || op == "Add" || op == "Sub" || op == "Mul" || op == "Div";
        if (n.input.empty() || n.input[0].empty() || (two_inputs && (n.input.size() < 2 || n.input[1].empty())))
            return false;
        auto empty = [](const std::string& in) { return in.empty(); };
        if (op == "Concat" && std::any_of(n.input.begin(), n.input.end(), empty)) return false;
        const Constant& x = values_.at(n.input[0]).constant;
        const auto& quantized = values_.at(n.input[0]).quantized;  // a DequantizeLinear-folded constant's integers
        if (op == "Identity" || op == "Dropout") {
            auto link = quantized;
            set_const(n.output[0], x);
            values_.at(n.output[0]).quantized = std::move(link);
            return true;
        }
        if (op == "Transpose") {  // e.g. weights laid out for another framework, after a DequantizeLinear
            std::vector<int64_t> perm = attr_ints(n, "perm", {});
            if (perm.empty())
                for (size_t i = x.shape.size(); i-- > 0;) perm.push_back(int64_t(i));
            XINFER_CHECK(perm.size() == x.shape.size(), ErrorCode::invalid_model, "perm does not match the rank");
            std::vector<bool> seen(perm.size(), false);
            for (auto& p : perm) {
                p = norm_axis(p, x.shape.size());
                XINFER_CHECK(!seen[size_t(p)], ErrorCode::invalid_model, "perm is not a permutation");
                seen[size_t(p)] = true;
            }
            std::shared_ptr<QuantizedConstant> link;
            if (quantized) {
                link = std::make_shared<QuantizedConstant>(*quantized);
                link->q = transposed_constant(quantized->q, perm);
                if (!link->params.per_tensor())
                    link->params.axis = std::find(perm.begin(), perm.end(), link->params.axis) - perm.begin();
            }
            set_const(n.output[0], transposed_constant(x, perm));
            values_.at(n.output[0]).quantized = std::move(link);
            return true;
        }
        if (op == "Cast") {
            const int64_t to = attr_int(n, "to", 0);
            if (to == int64_t(ElemType::float32)) set_const(n.output[0], Constant::from_floats(x.shape, const_floats(x, "cast")));
            else if (to == int64_t(ElemType::int64)) {
                const auto f = const_floats(x, "cast");
                std::vector<int64_t> v(f.size());
                for (size_t i = 0; i < f.size(); ++i) v[i] = int64_t(f[i]);
                set_const(n.output[0], ints_constant(x.shape, v));
            } else throw Unsupported("cast of a constant to type " + std::to_string(to));
            return true;
        }
        if (op == "Unsqueeze" || op == "Squeeze" || op == "Reshape" || op == "Flatten") {
            Constant c = x;
            c.shape = reshaped(n, x.shape);
            XINFER_CHECK(checked_numel(c.shape) == x.numel(), ErrorCode::shape_mismatch, "bad constant reshape");
            std::shared_ptr<QuantizedConstant> link;
            if (quantized && quantized->params.per_tensor()) {  // per axis, the axis may not survive a reshape
                link = std::make_shared<QuantizedConstant>(*quantized);
                link->q.shape = c.shape;
            }
            set_const(n.output[0], c);
            values_.at(n.output[0]).quantized = std::move(link);
            return true;
        }
        if (op == "Gather") {
            const auto idx = const_ints(values_.at(n.input[1]).constant, "indices");
            const Shape& is = values_.at(n.input[1]).shape;
            const int64_t axis = norm_axis(attr_int(n, "axis", 0), x.shape.size());
            size_t outer = 1, inner = 1;
            for (int64_t i = 0; i < axis; ++i) outer *= size_t(x.shape[size_t(i)]);
            for (size_t i = size_t(axis) + 1; i < x.shape.size(); ++i) inner *= size_t(x.shape[i]);
            const int64_t len = x.shape[size_t(axis)];
            Shape out(x.shape.begin(), x.shape.begin() + axis);
            out.insert(out.end(), is.begin(), is.end());
            out.insert(out.end(), x.shape.begin() + axis + 1, x.shape.end());
            const size_t esize = size_of(x.dtype);
            std::vector<std::byte> bytes(checked_numel(out) * esize);
            size_t o = 0;
            for (size_t a = 0; a < outer; ++a)
                for (int64_t i : idx) {
                    if (i < 0) i += len;
                    if (i < 0 || i >= len) throw Error(ErrorCode::invalid_model, "Gather index out of range");
                    std::memcpy(bytes.data() + o, x.data + (a * size_t(len) + size_t(i)) * inner * esize, inner * esize);
                    o += inner * esize;
                }
            set_const(n.output[0], Constant::copy_of(x.dtype, out, bytes.data(), bytes.size()));
            return true;
        }
        if (op == "Concat") {
            const int64_t axis = norm_axis(attr_int(n, "axis", 0), x.shape.size());
            if (x.shape.size() != 1 || axis != 0) return false;
            bool ints = true;
            for (auto& in : n.input) ints &= values_.at(in).constant.dtype == DataType::s64;
            if (!ints) return false;
            std::vector<int64_t> all;
            for (auto& in : n.input) {
                const auto v = const_ints(values_.at(in).constant, "concat");
                all.insert(all.end(), v.begin(), v.end());
            }
            set_const(n.output[0], ints_constant({int64_t(all.size())}, all));
            return true;
        }
        if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div") {
            const Constant& y = values_.at(n.input[1]).constant;
            if (x.dtype != DataType::f32 || y.dtype != DataType::f32) return false;
            const Shape out = ops::broadcast_shapes(x.shape, y.shape, "constant");
            std::vector<float> r(checked_numel(out));
            static const std::map<std::string, kernels::ref::BinaryOp> kinds{
                {"Add", kernels::ref::BinaryOp::add}, {"Sub", kernels::ref::BinaryOp::sub},
                {"Mul", kernels::ref::BinaryOp::mul}, {"Div", kernels::ref::BinaryOp::div}};
            kernels::ref::binary_f32(kinds.at(op), x.shape, x.as<float>(), y.shape, y.as<float>(), out, r.data());
            set_const(n.output[0], Constant::from_floats(out, r));
            return true;
        }
        return false;
    }

    // ---- whole-graph bookkeeping ----
    // " (used by node 'a' (Op), ...)" for a message about the value `name`.
    std::string users_of(const std::string& name) const {
        auto it = consumers_.find(name);
        if (it == consumers_.end()) return "";
        std::string s = " (used by";
        for (size_t i = 0; i < it->second.size(); ++i)
            s += std::string(i ? ", " : " ") + "node '" + it->second[i]->name + "' (" + it->second[i]->op_type + ")";
        return s + ")";
    }
    // Drops IR nodes whose outputs nothing reads (e.g. a Dequantize made before its consumers were fused into an
    // int8 op) and the constants only they used.
    void remove_dead_nodes() {
        for (bool changed = true; changed;) {
            changed = false;
            std::set<std::string> read;
            for (auto& o : ir_.outputs) read.insert(o.name);
            for (auto& n : ir_.nodes) read.insert(n.inputs.begin(), n.inputs.end());
            const size_t before = ir_.nodes.size();
            ir_.nodes.erase(std::remove_if(ir_.nodes.begin(), ir_.nodes.end(),
                                           [&](const Node& n) {
                                               return std::none_of(n.outputs.begin(), n.outputs.end(),
                                                                   [&](auto& o) { return read.count(o) > 0; });
                                           }),
                            ir_.nodes.end());
            changed = ir_.nodes.size() != before;
        }
        std::set<std::string> read;
        for (auto& n : ir_.nodes) read.insert(n.inputs.begin(), n.inputs.end());
        for (auto it = ir_.constants.begin(); it != ir_.constants.end();)
            it = read.count(it->first) ? std::next(it) : ir_.constants.erase(it);
    }

    // ---- int8 (quantized.hpp) ----
    static bool is_microsoft_int8_op(const std::string& op);
    bool import_int8_node(const NodeProto& n);
    void integer_graph_input(const std::string& name, ElemType type);
    void integer_graph_output(const std::string& name);
    std::string int8_in_layout(const std::string& name, Layout want);
    std::string integer_values(const std::string& name, int32_t zero_point);
    QuantInfo quant_info(const NodeProto& n, size_t scale_i, size_t zero_point_i, const Shape& shape, ElemType type,
                         int64_t axis, const std::string& what);
    QuantInfo tensor_quant_info(const NodeProto& n, size_t scale_i, size_t zero_point_i, ElemType type,
                                const std::string& what);
    ElemType integer_type(const NodeProto& n, size_t i);
    const ValueState& int8_activation(const NodeProto& n, size_t i, const char* what);
    void define_int8(const std::string& name, const std::string& ir, Layout layout, Shape shape, ElemType type,
                     std::optional<Int8Link> quantized_from = std::nullopt);
    std::string axis_constant(const std::vector<float>& values, const Shape& shape, int64_t axis, Layout layout,
                              const std::string& base);
    std::string binary_with_constant(const std::string& x_ir, const std::string& k, const char* op,
                                     const std::string& base);
    std::string dequantized(const std::string& name, const QuantInfo& q, const std::string& out,
                            const std::string& node_name);
    void quantize_into(const std::string& x, const QuantInfo& q, const std::string& out, const std::string& node_name);
    std::string constant_value(Constant c, const std::string& base);
    std::string integer_operand(const std::string& name, const QuantInfo& q, const std::string& base);
    void synthesize(const NodeProto& like, const std::string& op, std::vector<std::string> inputs,
                    const std::string& output, bool keep_attributes);
    void quantize_linear(const NodeProto& n);
    void dequantize_linear(const NodeProto& n);
    struct OutputQuant {
        std::vector<const NodeProto*> nodes;  // the Relu/Clip (if any) and the QuantizeLinear
        std::string value;                    // the QuantizeLinear's output
        QuantInfo y;
        float clip_min = -INFINITY, clip_max = INFINITY;
    };
    std::optional<OutputQuant> output_quantizer(const NodeProto& n, bool allow_activation);
    const Int8Link* dequantized_input(const NodeProto& n, size_t i);
    void define_fused_output(const OutputQuant& oq, const std::string& ir, Layout layout, Shape shape);
    std::map<std::string, Attribute> qattrs(const OutputQuant& oq) const;
    bool fuse_conv(const NodeProto& n);
    bool fuse_dense(const NodeProto& n);
    bool fuse_add(const NodeProto& n);
    bool fuse_global_pool(const NodeProto& n);
    void qlinear_conv(const NodeProto& n);
    void qlinear_matmul(const NodeProto& n);
    void qlinear_add(const NodeProto& n);
    void qlinear_global_pool(const NodeProto& n);
    void integer_conv_or_matmul(const NodeProto& n);
    void on_integers(const NodeProto& n);

    const ModelProto& m_;
    std::string source_, base_dir_;
    std::map<std::string, Constant> constant_inputs_;
    int64_t opset_ = 1;
    std::map<std::string, ValueState> values_;
    std::map<std::string, std::string> converted_;
    std::set<std::string> used_names_;
    Graph ir_;
    std::map<std::string, std::vector<const NodeProto*>> consumers_;  // ONNX value -> the nodes reading it
    const MappedFile* mapping_ = nullptr;
    std::map<std::string, size_t> imported_uses_;                      // ONNX value -> readers imported so far
    std::set<std::string> graph_outputs_;
    std::set<const NodeProto*> fused_;  // nodes already imported as part of an int8 op
};

}  // namespace detail

}  // namespace xinfer::io::onnx

#include "xinfer/io/onnx/quantized.hpp"

namespace xinfer::io::onnx {

// Imports ONNX bytes; external data files are looked up next to `base_dir` (empty: none allowed). Graph inputs named
// in `constant_inputs` become constants with those values.
// `mapping`, when the bytes are a mapped file, lets the importer drop each page of it from memory once copied.
inline XinfModel import_onnx(const std::byte* data, size_t size, const std::string& source,
                             const std::string& base_dir = "",
                             const std::map<std::string, Constant>& constant_inputs = {},
                             const MappedFile* mapping = nullptr) {
    const ModelProto m = parse_model(data, size, source);
    if (mapping) mapping->release(data, size);  // parsing touched every page; each weight is read once more below
    return detail::Importer(m, source, base_dir, constant_inputs, mapping).run();
}

inline XinfModel load_onnx(const std::string& path, const std::map<std::string, Constant>& constant_inputs = {}) {
    MappedFile file(path);
    const size_t slash = path.find_last_of('/');
    const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
    return import_onnx(file.data(), file.size(), path, dir, constant_inputs, &file);
}

}  // namespace xinfer::io::onnx
