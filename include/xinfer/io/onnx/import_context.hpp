#pragma once
// What every ONNX op converter works on: the IR graph being built, the state of each ONNX value (its IR name,
// layout, constant, pending pad, int8 links), name generation, and the helpers that read node inputs and move
// values between layouts.
//
// Layout: convolutional ops run in NHWC, so every value is tracked with the layout it is stored in. A 4-D value
// produced by Conv/Pool/BatchNormalization/GlobalAveragePool is stored NHWC; graph inputs and everything else keep
// ONNX's order (only 4-D values are ever NHWC). Layout-free ops run on whatever layout their input has; a Transpose
// is inserted only where an op needs the other layout, once per value.
#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "xinfer/io/onnx/import_values.hpp"
#include "xinfer/ops/tensor_ops.hpp"

namespace xinfer::io::onnx::detail {

class ImportContext;
// Converts one node (or one step of its conversion) into the IR.
using Converter = Status (*)(ImportContext&, const NodeProto&);

class ImportContext {
public:
    ImportContext(std::string source, std::string base_dir, int64_t opset)
        : source(std::move(source)), base_dir(std::move(base_dir)), opset(opset) {}

    const std::string source, base_dir;
    const int64_t opset;                                              // of the default domain
    Graph graph;                                                      // the IR being built
    std::map<std::string, ValueState> values;                         // ONNX value -> what is known of it
    std::map<std::string, std::vector<const NodeProto*>> consumers;  // ONNX value -> the nodes reading it
    std::set<std::string> graph_outputs;                              // ONNX names of the graph outputs
    std::set<const NodeProto*> fused;                                 // nodes already imported into an int8 op
    Converter convert_node = nullptr;  // the importer's entry for one node (for nodes converters synthesize)

    // ---- values ----
    void set_const(const std::string& name, Constant c) {
        ValueState v;
        v.is_const = true;
        v.shape = c.shape;
        v.constant = std::move(c);
        v.ir = name;
        values[name] = std::move(v);
    }
    void mark_unknown(const std::string& name) {
        if (name.empty()) return;
        ValueState v;
        v.ir = name;
        v.unknown = true;
        values[name] = v;
    }
    // A named constant value made by the importer.
    std::string constant_value(Constant c, const std::string& base) {
        const std::string name = fresh(base);
        set_const(name, std::move(c));
        return name;
    }
    const ValueState& value(const std::string& name) const {
        auto it = values.find(name);
        XINFER_CHECK(it != values.end(), ErrorCode::invalid_model, "unknown value '", name, "'");
        return it->second;
    }
    void define(const std::string& onnx_name, const std::string& ir, Layout layout, Shape shape) {
        ValueState v;
        v.ir = ir;
        v.layout = layout;
        v.shape = std::move(shape);
        values[onnx_name] = std::move(v);
    }
    void define_int8(const std::string& name, const std::string& ir, Layout layout, Shape shape, ElemType type,
                     std::optional<Int8Link> quantized_from = std::nullopt) {
        define(name, ir, layout, std::move(shape));
        ValueState& v = values.at(name);
        v.elem = type;
        v.quantized_from = std::move(quantized_from);
    }

    // ---- node inputs ----
    static bool has_input(const NodeProto& n, size_t i) { return n.input.size() > i && !n.input[i].empty(); }
    Result<const ValueState&> input(const NodeProto& n, size_t i) const {
        XINFER_CHECK(has_input(n, i), ErrorCode::invalid_model, "missing input ", i);
        const ValueState& v = value(n.input[i]);
        if (v.unknown) return Status::downstream(n.input[i]);
        return v;
    }
    Result<const Constant&> const_input(const NodeProto& n, size_t i, const char* what) const {
        XINFER_ONNX_LET(v, input(n, i));
        if (!v.is_const) return Status::unsupported(std::string(what) + " must be a constant");
        return v.constant;
    }
    // Input i as an activation; integer activations (int8, or int32 held as F32) only where the op takes them.
    Result<const ValueState&> activation(const NodeProto& n, size_t i, bool integers_ok = false) {
        XINFER_ONNX_LET(v, input(n, i));
        if (v.is_const)
            return Status::unsupported("input " + std::to_string(i) + " is a constant where an activation is expected");
        if (v.shape.empty() && v.ir.empty()) return Status::unsupported("input depends on an unsupported node");
        if (!integers_ok && v.elem != ElemType::float32)
            return Status::unsupported(std::string("input '") + n.input[i] + "' is a " + to_string(v.elem) +
                                       " tensor; this op runs on float tensors only");
        if (v.pending_pad) materialize_pad(n.input[i]);
        return values.at(n.input[i]);
    }
    static Status check_outputs(const NodeProto& n, size_t max) {
        for (size_t i = max; i < n.output.size(); ++i)
            if (!n.output[i].empty())
                return Status::unsupported("optional output " + std::to_string(i) + " is not supported");
        return Status::converted();
    }

    // ---- IR graph ----
    std::string fresh(const std::string& base) {
        std::string name = base;
        for (int i = 1; used_names_.count(name) || values.count(name) || graph.constants.count(name); ++i)
            name = base + "." + std::to_string(i);
        used_names_.insert(name);
        return name;
    }
    void reserve_name(const std::string& name) { used_names_.insert(name); }
    static std::string node_name(const NodeProto& n, const std::string& out) { return n.name.empty() ? out : n.name; }
    void add_node(const std::string& name, const std::string& op, std::vector<std::string> inputs,
                  const std::string& out, std::map<std::string, Attribute> attrs = {}) {
        Node n;
        n.name = name;
        n.op = op;
        n.inputs = std::move(inputs);
        n.outputs = {out};
        n.attrs = std::move(attrs);
        used_names_.insert(out);
        graph.nodes.push_back(std::move(n));
    }
    // An IR constant (F32) for a const value, NHWC at rank 4 when asked.
    std::string ir_constant(const ValueState& v, const std::string& base, bool nhwc_rank4 = false) {
        std::vector<float> f = const_floats(v.constant);
        Shape shape = v.shape;
        if (nhwc_rank4) {
            while (shape.size() < 4) shape.insert(shape.begin(), 1);
            std::vector<float> t(f.size());
            kernels::ref::transpose_f32(shape, {0, 2, 3, 1}, f.data(), t.data());
            f.swap(t);
            shape = to_nhwc(shape);
        }
        const std::string name = fresh(base);
        graph.constants[name] = Constant::from_floats(shape, f);
        return name;
    }
    // Imports an fp32 node like `like` (its attributes when keep_attributes) on other values.
    Status synthesize(const NodeProto& like, const std::string& op, std::vector<std::string> inputs,
                      const std::string& output, bool keep_attributes) {
        NodeProto s;
        s.name = like.name.empty() ? "" : like.name + "/" + op;
        s.op_type = op;
        s.input = std::move(inputs);
        s.output = {output};
        if (keep_attributes) s.attribute = like.attribute;
        return convert_node(*this, s);
    }
    // Replaces the IR value name `from` by `to` everywhere.
    void rename_value(const std::string& from, const std::string& to) {
        for (auto& n : graph.nodes) {
            for (auto& i : n.inputs)
                if (i == from) i = to;
            for (auto& o : n.outputs)
                if (o == from) o = to;
        }
        for (auto& [k, v] : values)
            if (v.ir == from) v.ir = to;
        for (auto& [k, v] : converted_)
            if (v == from) v = to;
    }

    // ---- layouts ----
    void materialize_pad(const std::string& name) {
        ValueState& v = values.at(name);
        const std::string src = as_onnx(v.pad_source);
        const std::string out = fresh(name);
        add_node(out, "Pad", {src}, out,
                 {{"pads", std::vector<int64_t>{0, 0, v.pads.top, v.pads.left, 0, 0, v.pads.bottom, v.pads.right}},
                  {"value", 0.0}});
        v.pending_pad = false;
        v.ir = out;
        v.layout = Layout::onnx;
    }
    // The IR name of `name` stored NHWC. Converters call it on 4-D values only.
    std::string as_nhwc(const std::string& name) {
        ValueState& v = values.at(name);
        if (v.is_int8()) return int8_in_layout(name, Layout::nhwc);
        if (v.pending_pad) materialize_pad(name);
        if (v.layout == Layout::nhwc) return v.ir;
        require_rank4(v);
        auto it = converted_.find(name + "#nhwc");
        if (it != converted_.end()) return it->second;
        const std::string out = fresh(name + "/nhwc");
        add_node(out, "Transpose", {v.ir}, out, {{"perm", std::vector<int64_t>{0, 2, 3, 1}}});
        return converted_[name + "#nhwc"] = out;
    }
    // The IR name of `name` stored in ONNX order.
    std::string as_onnx(const std::string& name) {
        ValueState& v = values.at(name);
        if (v.is_int8()) return int8_in_layout(name, Layout::onnx);
        if (v.pending_pad) materialize_pad(name);
        if (v.layout == Layout::onnx) return v.ir;
        auto it = converted_.find(name + "#onnx");
        if (it != converted_.end()) return it->second;
        const std::string out = fresh(name + "/nchw");
        add_node(out, "Transpose", {v.ir}, out, {{"perm", std::vector<int64_t>{0, 3, 1, 2}}});
        return converted_[name + "#onnx"] = out;
    }
    // True when a 4-D NHWC value has the same element order as its ONNX form (H = W = 1).
    static bool order_agnostic(const ValueState& v) {
        return v.layout == Layout::onnx || (v.shape.size() == 4 && v.shape[2] == 1 && v.shape[3] == 1);
    }
    // The IR name of the int8 value `name` stored in `want`.
    std::string int8_in_layout(const std::string& name, Layout want) {
        const ValueState v = values.at(name);
        if (v.layout == want) return v.ir;
        require_rank4(v);
        const bool nhwc = want == Layout::nhwc;
        const std::string key = v.ir + (nhwc ? "#nhwc" : "#onnx");
        if (auto it = converted_.find(key); it != converted_.end()) return it->second;
        const std::string out = fresh(name + (nhwc ? "/nhwc" : "/nchw"));
        const auto& from = v.quantized_from;
        if (from && values.count(from->value) && !values.at(from->value).unknown) {
            // Quantize the fp32 value in the other layout instead of moving int8 data.
            const std::string f = nhwc ? as_nhwc(from->value) : as_onnx(from->value);
            add_node(out, "Quantize", {f}, out,
                     {{"y_scale", double(from->scale)}, {"y_zero_point", int64_t(from->zero_point)}});
        } else {
            // Integers survive Dequantize -> Transpose -> Quantize with scale 1 exactly.
            const std::string f = fresh(name + "/values"), t = fresh(name + "/moved");
            add_node(f, "Dequantize", {v.ir}, f, {{"x_scale", 1.0}, {"x_zero_point", int64_t(0)}});
            add_node(t, "Transpose", {f}, t,
                     {{"perm", nhwc ? std::vector<int64_t>{0, 2, 3, 1} : std::vector<int64_t>{0, 3, 1, 2}}});
            add_node(out, "Quantize", {t}, out, {{"y_scale", 1.0}, {"y_zero_point", int64_t(0)}});
        }
        return converted_[key] = out;
    }
    // A value (same layout) holding q - zero_point as F32, q being the ONNX integers of the 8-bit value `name`.
    std::string integer_values(const std::string& name, int32_t zero_point) {
        const ValueState v = values.at(name);
        const int32_t offset = v.elem == ElemType::uint8 ? 128 : 0;
        const std::string key = v.ir + "#minus" + std::to_string(zero_point);
        if (auto it = converted_.find(key); it != converted_.end()) return it->second;
        const std::string f = fresh(name + "/integers");
        add_node(f, "Dequantize", {v.ir}, f, {{"x_scale", 1.0}, {"x_zero_point", int64_t(zero_point - offset)}});
        define(f, f, v.layout, v.shape);
        return converted_[key] = f;
    }

    // ---- diagnostics ----
    // "node 'a' op_type Op domain 'd' opset k: why", one line of the unsupported-nodes report.
    std::string detail_line(const NodeProto& n, const std::string& why) const {
        return ::xinfer::detail::concat("node '", n.name, "' op_type ", n.op_type, " domain '",
                                        n.domain.empty() ? "ai.onnx" : n.domain, "' opset ", opset, ": ", why);
    }
    // " (used by node 'a' (Op), ...)" for a message about the value `name`.
    std::string users_of(const std::string& name) const {
        auto it = consumers.find(name);
        if (it == consumers.end()) return "";
        std::string s = " (used by";
        for (size_t i = 0; i < it->second.size(); ++i)
            s += std::string(i ? ", " : " ") + "node '" + it->second[i]->name + "' (" + it->second[i]->op_type + ")";
        return s + ")";
    }

private:
    // Only 4-D values change layout: every converter checks the rank before it asks for NHWC.
    static void require_rank4(const ValueState& v) {
        XINFER_CHECK(v.shape.size() == 4, ErrorCode::internal, "a layout change of a value of shape ",
                     ::xinfer::to_string(v.shape));
    }

    std::set<std::string> used_names_;
    std::map<std::string, std::string> converted_;  // "<value>#nhwc" etc. -> the IR value already made for it
};

}  // namespace xinfer::io::onnx::detail
