#pragma once
// ONNX export of an xinfer graph, int8 layers in QDQ form, so other runtimes can run (and cross-check) a model
// xinfer quantized. Opset 13.
//
// int8 activations are exported as uint8 (q + 128, zero point + 128: the same real values), the form every
// runtime accelerates. An int8 layer becomes DequantizeLinear -> op (-> Relu / Clip) -> QuantizeLinear with its
// weights as int8 initializers behind a per-channel DequantizeLinear (axis 0) and its int32 bias behind one with
// scale x_scale * w_scale[c]. The graph keeps xinfer's tensor layout at its interface; convolution-like ops work
// in NCHW, with a Transpose wherever a value changes layout (once per value). Each graph op has one exporter
// function, found through Exporter::exporters().
//
// ONNX Runtime fuses the QDQ groups into QLinearConv / QGemm / QLinearGlobalAveragePool, which requantize exactly
// as xinfer does (fp32 multiplier, round half to even), but its QLinearAdd folds the zero points into an fp32
// constant and sums with two fp32 FMAs: a few per million of its outputs differ from xinfer's QAdd by 1, and the
// layers after it carry that on (tests/io/ort_export_check.sh). ExportOptions::exact_int8_add writes each QAdd as
// double arithmetic instead, which every runtime evaluates exactly as kernels/ref/requantize.hpp does.
#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "xinfer/config.hpp"
#include "xinfer/graph/graph.hpp"
#include "xinfer/io/protobuf.hpp"
#include "xinfer/io/xinf.hpp"
#include "xinfer/ops/quant_params.hpp"

namespace xinfer::io::onnx {

struct ExportOptions {
    // Each QAdd as Cast -> Sub -> Mul per input, Add, Clip, Round, Add, Cast in double: ONNX Runtime then reproduces
    // xinfer's integers exactly, but the file is no longer QDQ there (xinfer's importer does not read it back, other
    // runtimes run those nodes in double).
    bool exact_int8_add = false;
};

namespace detail {

namespace w = pb::wire;

enum OnnxType : int { kFloat = 1, kUint8 = 2, kInt8 = 3, kInt32 = 6, kInt64 = 7, kDouble = 11 };

class Exporter {
public:
    Exporter(const Graph& g, const ModelMetadata& meta, const ExportOptions& options)
        : g_(g), meta_(meta), options_(options) {}

    std::string run() {
        for (auto& in : g_.inputs) {
            XINFER_CHECK(in.dtype == DataType::f32, ErrorCode::unsupported_op, "export: input '", in.name,
                         "' is not F32");
            define(in.name, in.name, false, in.shape.size());
        }
        for (auto& n : g_.nodes) export_node(n);
        for (auto& out : g_.outputs) {  // each graph output under its own name, in the interface's layout
            const Value& v = value(out.name, Node{"(graph output)", "", {}, {}, {}});
            if (v.onnx != out.name) node(v.nchw ? "Transpose" : "Identity", {v.onnx}, out.name,
                                         v.nchw ? std::vector<std::string>{attr_ints("perm", {0, 2, 3, 1})}
                                                : std::vector<std::string>{});
        }
        std::string graph;
        for (auto& n : nodes_) graph += w::delimited(1, n);
        graph += w::delimited(2, "xinfer");
        for (auto& t : initializers_) graph += w::delimited(5, t);
        for (auto& in : g_.inputs) graph += w::delimited(11, value_info(in, kFloat));
        for (auto& out : g_.outputs) graph += w::delimited(12, value_info(out, kFloat));
        std::string model;
        model += w::vint(1, 7);  // ir_version 7 (opset 13)
        model += w::delimited(2, "xinfer");
        model += w::delimited(3, XINFER_VERSION_STRING);
        model += w::delimited(7, graph);
        model += w::delimited(8, w::delimited(1, "") + w::vint(2, 13));
        if (!meta_.labels.empty())
            model += w::delimited(14, w::delimited(1, "labels") + w::delimited(2, nlohmann::json(meta_.labels).dump()));
        // The .xinf preprocessing JSON, so an image server can feed the exported file. Under xinfer's own key: other
        // tools write free text under "preprocessing".
        if (meta_.preprocessing)
            model += w::delimited(14, w::delimited(1, "xinfer.preprocessing") +
                                          w::delimited(2, io::detail::preprocessing_to_json(*meta_.preprocessing)));
        return model;
    }

private:
    struct Value {
        std::string onnx;     // the ONNX tensor holding it
        bool nchw = false;    // a 4-D NHWC value held transposed to NCHW
        size_t rank = 0;
        std::string nchw_copy, nhwc_copy;  // cached transposes
    };

    // --- encoding helpers
    static std::string attr_int(const std::string& name, int64_t v) {
        return w::delimited(1, name) + w::sint(3, v) + w::vint(20, 2);
    }
    static std::string attr_float(const std::string& name, float v) {
        return w::delimited(1, name) + w::float32(2, v) + w::vint(20, 1);
    }
    static std::string attr_ints(const std::string& name, const std::vector<int64_t>& v) {
        std::string s = w::delimited(1, name);
        for (auto x : v) s += w::sint(8, x);
        return s + w::vint(20, 7);
    }
    void node(const std::string& op, const std::vector<std::string>& inputs, const std::string& output,
              const std::vector<std::string>& attrs = {}) {
        std::string n;
        for (auto& in : inputs) n += w::delimited(1, in);
        n += w::delimited(2, output);
        n += w::delimited(3, output + "#" + op);
        n += w::delimited(4, op);
        for (auto& a : attrs) n += w::delimited(5, a);
        nodes_.push_back(std::move(n));
    }
    std::string initializer(const std::string& name, int type, const Shape& dims, const void* data, size_t bytes) {
        std::string t;
        for (auto d : dims) t += w::sint(1, d);
        t += w::vint(2, uint64_t(type));
        t += w::delimited(8, name);
        t += w::delimited(9, std::string(static_cast<const char*>(data), bytes));
        initializers_.push_back(std::move(t));
        return name;
    }
    std::string scalar_f32(const std::string& name, float v) { return initializer(name, kFloat, {}, &v, 4); }
    std::string scalar_f64(const std::string& name, double v) { return initializer(name, kDouble, {}, &v, 8); }
    std::string scalar_u8(const std::string& name, int32_t zero_point_s8) {
        const uint8_t v = uint8_t(zero_point_s8 + 128);
        return initializer(name, kUint8, {}, &v, 1);
    }
    // A free dimension is written as dim_param: its name, or "N" when it has none.
    static std::string value_info(const ValueInfo& v, int type) {
        std::string dims;
        for (size_t d = 0; d < v.shape.size(); ++d) {
            const std::string& param = v.dim_name(d).empty() ? std::string("N") : v.dim_name(d);
            dims += w::delimited(1, v.shape[d] >= 0 ? w::sint(1, v.shape[d]) : w::delimited(2, param));
        }
        const std::string tensor = w::vint(1, uint64_t(type)) + w::delimited(2, dims);
        return w::delimited(1, v.name) + w::delimited(2, w::delimited(1, tensor));
    }
    std::string fresh(const std::string& base) {
        std::string name = base;
        for (int i = 1; used_.count(name); ++i) name = base + "." + std::to_string(i);
        used_.insert(name);
        return name;
    }

    // --- layouts
    Value& value(const std::string& ir, const Node& user) {
        auto it = values_.find(ir);
        XINFER_CHECK(it != values_.end(), ErrorCode::invalid_model, "export: ", user.describe(), " reads unknown value '",
                     ir, "'");
        return it->second;
    }
    std::string ir_layout(const std::string& ir, const Node& user) {
        Value& v = value(ir, user);
        if (!v.nchw) return v.onnx;
        if (v.nhwc_copy.empty()) {
            v.nhwc_copy = fresh(ir + "#nhwc");
            node("Transpose", {v.onnx}, v.nhwc_copy, {attr_ints("perm", {0, 2, 3, 1})});
        }
        return v.nhwc_copy;
    }
    std::string nchw_layout(const std::string& ir, const Node& user) {
        Value& v = value(ir, user);
        XINFER_CHECK(v.rank == 4, ErrorCode::unsupported_op, "export: ", user.describe(), " needs a 4-D input");
        if (v.nchw) return v.onnx;
        if (v.nchw_copy.empty()) {
            v.nchw_copy = fresh(ir + "#nchw");
            node("Transpose", {v.onnx}, v.nchw_copy, {attr_ints("perm", {0, 3, 1, 2})});
        }
        return v.nchw_copy;
    }
    // An input of an element-wise op in the layout chosen for all its inputs.
    std::string in_layout(const std::string& ir, bool nchw, const Node& user) {
        return nchw ? nchw_layout(ir, user) : ir_layout(ir, user);
    }
    void define(const std::string& ir, const std::string& onnx, bool nchw, size_t rank) {
        used_.insert(onnx);
        values_[ir] = {onnx, nchw, rank, "", ""};
    }

    // --- quantization
    static std::pair<float, int32_t> qparams(const Node& n, const std::string& prefix) {
        return {float(n.get_float(prefix + "_scale", 1.0)), int32_t(n.get_int(prefix + "_zero_point", 0))};
    }
    std::string dequantize(const std::string& onnx_u8, std::pair<float, int32_t> q, const std::string& name = "") {
        const std::string out = fresh(name.empty() ? onnx_u8 + "#f32" : name);
        node("DequantizeLinear", {onnx_u8, scalar_f32(fresh(out + "_scale"), q.first),
                                  scalar_u8(fresh(out + "_zero_point"), q.second)},
             out);
        return out;
    }
    void quantize(const std::string& onnx_f32, const std::string& out, std::pair<float, int32_t> q) {
        node("QuantizeLinear", {onnx_f32, scalar_f32(fresh(out + "_scale"), q.first),
                                scalar_u8(fresh(out + "_zero_point"), q.second)},
             out);
    }
    // Relu / Clip of a fused clamp, or the input unchanged.
    std::string activation(const Node& n, const std::string& in) {
        const float lo = n.clip_min(), hi = n.clip_max();
        if (!std::isfinite(lo) && !std::isfinite(hi)) return in;
        const std::string out = fresh(in + "#act");
        if (lo == 0.0f && !std::isfinite(hi)) {
            node("Relu", {in}, out);
        } else {
            node("Clip", {in, std::isfinite(lo) ? scalar_f32(fresh(out + "_min"), lo) : "",
                          std::isfinite(hi) ? scalar_f32(fresh(out + "_max"), hi) : ""},
                 out);
        }
        return out;
    }
    // Weights OHWI -> OIHW (4-D) or as they are (2-D), with their element type.
    template <class T>
    std::string weights(const Constant& c, int type, const std::string& name) {
        if (c.shape.size() != 4) return initializer(fresh(name), type, c.shape, c.data, c.bytes);
        const size_t O = size_t(c.shape[0]), H = size_t(c.shape[1]), W = size_t(c.shape[2]), I = size_t(c.shape[3]);
        std::vector<T> t(c.numel());
        const T* src = c.as<T>();
        for (size_t o = 0; o < O; ++o)
            for (size_t h = 0; h < H; ++h)
                for (size_t x = 0; x < W; ++x)
                    for (size_t i = 0; i < I; ++i) t[((o * I + i) * H + h) * W + x] = src[((o * H + h) * W + x) * I + i];
        return initializer(fresh(name), type, {c.shape[0], c.shape[3], c.shape[1], c.shape[2]}, t.data(),
                           t.size() * sizeof(T));
    }
    std::vector<std::string> conv_attrs(const Node& n, const Constant& wc) {
        return {attr_ints("kernel_shape", {wc.shape[1], wc.shape[2]}),
                attr_ints("strides", n.get_ints("strides", {1, 1})),
                attr_ints("pads", n.get_ints("pads", {0, 0, 0, 0})),
                attr_ints("dilations", n.get_ints("dilations", {1, 1})), attr_int("group", n.get_int("group", 1))};
    }

    // The dequantized weights and bias of a QConv / QDense.
    std::pair<std::string, std::string> int8_weights(const Node& n) {
        const Constant& wq = g_.constant(n.inputs[1], n);
        const Constant& ws = g_.constant(n.inputs[2], n);
        XINFER_CHECK(wq.dtype == DataType::s8 && ws.dtype == DataType::f32, ErrorCode::invalid_model, "export: ",
                     n.describe(), ": expected I8 weights and F32 scales");
        const std::string w_q = weights<int8_t>(wq, kInt8, n.inputs[1]);
        const size_t cout = size_t(wq.shape[0]);
        std::vector<float> scales(cout);
        for (size_t c = 0; c < cout; ++c) scales[c] = ws.as<float>()[ws.numel() == 1 ? 0 : c];
        const std::vector<int8_t> zeros(cout, 0);
        const std::string w_f = fresh(n.inputs[1] + "#f32");
        node("DequantizeLinear",
             {w_q, initializer(fresh(w_f + "_scale"), kFloat, {int64_t(cout)}, scales.data(), cout * 4),
              initializer(fresh(w_f + "_zero_point"), kInt8, {int64_t(cout)}, zeros.data(), cout)},
             w_f, {attr_int("axis", 0)});
        std::string b_f;
        if (n.inputs.size() > 3 && !n.inputs[3].empty()) {
            const Constant& b = g_.constant(n.inputs[3], n);
            const float x_scale = qparams(n, "x").first;
            std::vector<float> b_scales(cout);
            for (size_t c = 0; c < cout; ++c) b_scales[c] = x_scale * scales[c];
            const std::vector<int32_t> b_zeros(cout, 0);
            b_f = fresh(n.inputs[3] + "#f32");
            node("DequantizeLinear",
                 {initializer(fresh(n.inputs[3]), kInt32, b.shape, b.data, b.bytes),
                  initializer(fresh(b_f + "_scale"), kFloat, {int64_t(cout)}, b_scales.data(), cout * 4),
                  initializer(fresh(b_f + "_zero_point"), kInt32, {int64_t(cout)}, b_zeros.data(), cout * 4)},
                 b_f, {attr_int("axis", 0)});
        }
        return {w_f, b_f};
    }

    // --- one exporter per op kind: writes the ONNX nodes of n and defines its output value out.
    using ExportFn = void (Exporter::*)(const Node& n, const std::string& out);

    static const std::map<std::string, ExportFn>& exporters() {
        static const std::map<std::string, ExportFn> table{
            {"Quantize", &Exporter::export_quantize},
            {"Dequantize", &Exporter::export_dequantize},
            {"QConv", &Exporter::export_int8_linear},
            {"QDense", &Exporter::export_int8_linear},
            {"QAdd", &Exporter::export_int8_add},
            {"QGlobalAveragePool", &Exporter::export_int8_global_average_pool},
            {"Conv", &Exporter::export_linear},
            {"Dense", &Exporter::export_linear},
            {"Add", &Exporter::export_add},
            {"Clip", &Exporter::export_clip},
            {"GlobalAveragePool", &Exporter::export_pool},
            {"AveragePool", &Exporter::export_pool},
            {"MaxPool", &Exporter::export_pool},
            {"Flatten", &Exporter::export_flatten},
            {"Reshape", &Exporter::export_reshape},
            {"Softmax", &Exporter::export_softmax},
            {"Transpose", &Exporter::export_transpose},
        };
        return table;
    }

    void export_node(const Node& n) {
        const std::string out = n.outputs.at(0);
        auto it = exporters().find(n.op);
        if (it == exporters().end())
            XINFER_THROW(ErrorCode::unsupported_op, "export: ", n.describe(), ": op '", n.op,
                         "' has no ONNX export yet");
        (this->*it->second)(n, out);
    }

    void export_quantize(const Node& n, const std::string& out) {
        const Value& in = value(n.inputs[0], n);
        const std::string name = fresh(in.nchw ? out + "#nchw" : out);
        quantize(in.onnx, name, qparams(n, "y"));
        define(out, name, in.nchw, in.rank);
    }
    void export_dequantize(const Node& n, const std::string& out) {
        const Value& in = value(n.inputs[0], n);
        define(out, dequantize(in.onnx, qparams(n, "x"), in.nchw ? out + "#nchw" : out), in.nchw, in.rank);
    }
    // QConv and QDense.
    void export_int8_linear(const Node& n, const std::string& out) {
        const bool conv = n.op == "QConv";
        const std::string x = conv ? nchw_layout(n.inputs[0], n) : flatten(n.inputs[0], n);
        const std::string xf = dequantize(x, qparams(n, "x"));
        auto [wf, bf] = int8_weights(n);
        const std::string y = fresh(out + "#acc");
        std::vector<std::string> ins{xf, wf};
        if (!bf.empty()) ins.push_back(bf);
        if (conv) node("Conv", ins, y, conv_attrs(n, g_.constant(n.inputs[1], n)));
        else node("Gemm", ins, y, {attr_int("transB", 1)});
        if (!conv && !n.has("y_scale")) {  // fp32 output: no QuantizeLinear
            define(out, activation(n, y), false, 2);
            return;
        }
        const std::string name = fresh(conv ? out + "#nchw" : out);
        quantize(activation(n, y), name, qparams(n, "y"));
        define(out, name, conv, conv ? 4 : 2);
    }
    void export_int8_add(const Node& n, const std::string& out) {
        if (options_.exact_int8_add) return export_int8_add_exact(n, out);
        const bool nchw = value(n.inputs[0], n).nchw;
        const std::string a = dequantize(in_layout(n.inputs[0], nchw, n), qparams(n, "a"));
        const std::string b = dequantize(in_layout(n.inputs[1], nchw, n), qparams(n, "b"));
        const std::string y = fresh(out + "#sum");
        node("Add", {a, b}, y);
        const std::string name = fresh(nchw ? out + "#nchw" : out);
        quantize(activation(n, y), name, qparams(n, "y"));
        define(out, name, nchw, value(n.inputs[0], n).rank);
    }
    // QAdd as kernels::ref::add_requantize computes it: (q - z) * (s / s_y) per input in double (exact products),
    // one rounding of their sum, the clamp to the output's int8 bounds, Round (half to even) and the zero point.
    void export_int8_add_exact(const Node& n, const std::string& out) {
        const bool nchw = value(n.inputs[0], n).nchw;
        const auto [sa, za] = qparams(n, "a");
        const auto [sb, zb] = qparams(n, "b");
        const auto [sy, zy] = qparams(n, "y");
        const kernels::Requant rq = ops::make_requant({sy, zy}, {n.clip_min(), n.clip_max()});
        const std::string a = scaled_f64(in_layout(n.inputs[0], nchw, n), za, sa / sy);
        const std::string b = scaled_f64(in_layout(n.inputs[1], nchw, n), zb, sb / sy);
        const std::string sum = fresh(out + "#sum"), clipped = fresh(out + "#clip"), rounded = fresh(out + "#round");
        const std::string shifted = fresh(out + "#u8");
        node("Add", {a, b}, sum);
        node("Clip", {sum, scalar_f64(fresh(clipped + "_min"), rq.lo - rq.zero_point),
                      scalar_f64(fresh(clipped + "_max"), rq.hi - rq.zero_point)},
             clipped);
        node("Round", {clipped}, rounded);
        node("Add", {rounded, scalar_f64(fresh(shifted + "_zero_point"), rq.zero_point + 128)}, shifted);
        const std::string name = fresh(nchw ? out + "#nchw" : out);
        node("Cast", {shifted}, name, {attr_int("to", kUint8)});
        define(out, name, nchw, value(n.inputs[0], n).rank);
    }
    // (q - z) * m in double for a uint8 tensor (q + 128, z + 128 as exported) and an fp32 multiplier m.
    std::string scaled_f64(const std::string& onnx_u8, int32_t zero_point_s8, float m) {
        const std::string wide = fresh(onnx_u8 + "#f64"), centered = fresh(onnx_u8 + "#centered");
        const std::string scaled = fresh(onnx_u8 + "#scaled");
        node("Cast", {onnx_u8}, wide, {attr_int("to", kDouble)});
        node("Sub", {wide, scalar_f64(fresh(centered + "_zero_point"), zero_point_s8 + 128)}, centered);
        node("Mul", {centered, scalar_f64(fresh(scaled + "_m"), m)}, scaled);
        return scaled;
    }
    void export_int8_global_average_pool(const Node& n, const std::string& out) {
        const std::string x = dequantize(nchw_layout(n.inputs[0], n), qparams(n, "x"));
        const std::string y = fresh(out + "#mean");
        node("GlobalAveragePool", {x}, y);
        const std::string name = fresh(out + "#nchw");
        quantize(y, name, qparams(n, "y"));
        define(out, name, true, 4);
    }
    // Conv and Dense.
    void export_linear(const Node& n, const std::string& out) {
        const bool conv = n.op == "Conv";
        const Constant& wc = g_.constant(n.inputs[1], n);
        std::vector<std::string> ins{conv ? nchw_layout(n.inputs[0], n) : flatten(n.inputs[0], n),
                                     weights<float>(wc, kFloat, n.inputs[1])};
        if (n.inputs.size() > 2 && !n.inputs[2].empty()) {
            const Constant& b = g_.constant(n.inputs[2], n);
            ins.push_back(initializer(fresh(n.inputs[2]), kFloat, b.shape, b.data, b.bytes));
        }
        const std::string y = fresh(out + "#linear");
        if (conv) node("Conv", ins, y, conv_attrs(n, wc));
        else node("Gemm", ins, y, {attr_int("transB", 1)});
        define(out, rename(activation(n, y), conv ? out + "#nchw" : out), conv, conv ? 4 : 2);
    }
    void export_add(const Node& n, const std::string& out) {
        const bool nchw = value(n.inputs[0], n).nchw;
        const std::string y = fresh(out + "#sum");
        node("Add", {in_layout(n.inputs[0], nchw, n), in_layout(n.inputs[1], nchw, n)}, y);
        define(out, rename(activation(n, y), nchw ? out + "#nchw" : out), nchw, value(n.inputs[0], n).rank);
    }
    void export_clip(const Node& n, const std::string& out) {
        const Value& in = value(n.inputs[0], n);
        define(out, rename(activation(n, in.onnx), in.nchw ? out + "#nchw" : out), in.nchw, in.rank);
    }
    // GlobalAveragePool, AveragePool and MaxPool: the ONNX op of the same name.
    void export_pool(const Node& n, const std::string& out) {
        std::vector<std::string> attrs;
        if (n.op != "GlobalAveragePool") {
            attrs = {attr_ints("kernel_shape", n.get_ints("kernel_shape", {})),
                     attr_ints("strides", n.get_ints("strides", {1, 1})),
                     attr_ints("pads", n.get_ints("pads", {0, 0, 0, 0}))};
            if (n.op == "AveragePool")
                attrs.push_back(attr_int("count_include_pad", n.get_int("count_include_pad", 0)));
        }
        const std::string name = fresh(out + "#nchw");
        node(n.op, {nchw_layout(n.inputs[0], n)}, name, attrs);
        define(out, name, true, 4);
    }
    void export_flatten(const Node& n, const std::string& out) {
        define(out, rename(flatten(n.inputs[0], n), out), false, 2);
    }
    void export_reshape(const Node& n, const std::string& out) {
        std::vector<int64_t> shape = n.get_ints("shape", {});
        if (!shape.empty() && shape[0] < 0) shape[0] = 0;  // ONNX: 0 copies the input's (batch) dimension
        const std::string name = fresh(out);
        node("Reshape", {ir_layout(n.inputs[0], n), initializer(fresh(out + "_shape"), kInt64,
                                                             {int64_t(shape.size())}, shape.data(), shape.size() * 8)},
             name);
        define(out, name, false, shape.size());
    }
    void export_softmax(const Node& n, const std::string& out) {
        const std::string name = fresh(out);
        node("Softmax", {ir_layout(n.inputs[0], n)}, name, {attr_int("axis", -1)});
        define(out, name, false, value(n.inputs[0], n).rank);
    }
    void export_transpose(const Node& n, const std::string& out) {
        const auto perm = n.get_ints("perm", {});
        const Value in = value(n.inputs[0], n);
        if (in.rank == 4 && !in.nchw && perm == std::vector<int64_t>{0, 2, 3, 1}) {
            define(out, in.onnx, true, 4);  // NCHW -> NHWC: the input is the NCHW form of the output
        } else if (in.rank == 4 && in.nchw && perm == std::vector<int64_t>{0, 3, 1, 2}) {
            define(out, in.onnx, false, 4);  // back to NCHW: the held form itself
        } else {
            const std::string name = fresh(out);
            node("Transpose", {ir_layout(n.inputs[0], n)}, name, {attr_ints("perm", perm)});
            define(out, name, false, perm.size());
        }
    }

    // [N, ...] in xinfer's layout -> [N, K], as Flatten and Dense read it.
    std::string flatten(const std::string& ir, const Node& user) {
        const Value& v = value(ir, user);
        const std::string in = ir_layout(ir, user);
        if (v.rank == 2) return in;
        const std::string out = fresh(ir + "#flat");
        node("Flatten", {in}, out, {attr_int("axis", 1)});
        return out;
    }
    // Gives an op's final ONNX tensor the IR value's name (so graph outputs keep theirs).
    std::string rename(const std::string& onnx, const std::string& ir) {
        const std::string name = fresh(ir);
        node("Identity", {onnx}, name);
        return name;
    }

    const Graph& g_;
    const ModelMetadata& meta_;
    const ExportOptions options_;
    std::map<std::string, Value> values_;
    std::set<std::string> used_;
    std::vector<std::string> nodes_, initializers_;
};

}  // namespace detail

// The serialized ONNX ModelProto of graph g (sorted, e.g. a Model's graph()).
inline std::string export_onnx(const Graph& g, const ModelMetadata& metadata = {}, const ExportOptions& options = {}) {
    return detail::Exporter(g, metadata, options).run();
}

}  // namespace xinfer::io::onnx
