#pragma once
// Post-training quantization of an fp32 graph into the int8 op set (graph.hpp): calibrate activation ranges on
// sample inputs, quantize weights per output channel (symmetric) and biases to int32, and put Quantize /
// Dequantize nodes wherever an int8 op meets an fp32 one.
//
// Quantized (detail::quantization_rules()): Conv, Dense, Add, GlobalAveragePool (and AveragePool over the whole
// input). Flatten / Reshape pass int8 through. Everything else (Softmax, generic tensor ops, ...) stays fp32, as
// do nodes named in options.keep_fp32.
#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "xinfer/graph/interpreter.hpp"
#include "xinfer/graph/passes.hpp"
#include "xinfer/quant/observers.hpp"

namespace xinfer::quant {

struct QuantizeOptions {
    CalibrationMethod method = CalibrationMethod::mse;
    double percentile = 99.99;          // for CalibrationMethod::percentile
    std::set<std::string> keep_fp32;    // node names to leave in fp32
    int auto_fp32 = 0;                  // also leave this many of the least accurate layers in fp32
    bool bias_correction = true;        // fold the mean error of the int8 weights into the biases
    // Weights in [-(2^(b-1) - 1), 2^(b-1) - 1]. 7 ("reduce range") keeps every pair of uint8 x int8 products within
    // int16, so runtimes whose AVX2 kernels sum pairs in int16 (ONNX Runtime's) compute exactly what xinfer does.
    int weight_bits = 8;
    std::function<void(size_t done, size_t total)> progress;  // called during calibration
};

// One calibration sample: the graph's inputs, F32.
using CalibrationSample = std::vector<EvaluatedValue>;

inline const char* const kQuantizedSuffix = "::q";
inline const char* const kDequantizedSuffix = "::dq";

namespace detail {

inline void set_qparams(Node& n, const std::string& prefix, ops::QuantParams q) {
    n.attrs[prefix + "_scale"] = double(q.scale);
    n.attrs[prefix + "_zero_point"] = int64_t(q.zero_point);
}

struct QuantizedWeights {
    Constant weights, scales, bias;  // I8 [Cout][...], F32 [Cout], I32 [Cout] (empty without a bias)
};

// Per-output-channel symmetric int8 weights (w [Cout][rest]) and an int32 bias at scale x_scale * w_scale[c]. A
// channel's scale is raised where the bias would not fit in int32 (channels with vanishing weights, e.g. from a
// batch norm with zero variance): those weights round to 0 and the bias carries the output.
//
// Bias correction: with x_means (the mean of each input channel on calibration data, indexed by the weights'
// innermost dimension plus group * cin_per_group), the expected error sum_k (w - w_q)[c][k] E[x_k] of the
// rounded weights is added to the bias. It matters where a batch norm with a small variance was folded in: the
// weighted sum and the bias then nearly cancel, and the rounding error of the weights is systematic.
inline QuantizedWeights quantize_weights(const Constant& w, const Constant* bias, float x_scale,
                                         const std::vector<double>* x_means = nullptr, size_t groups = 1,
                                         int weight_bits = 8) {
    XINFER_CHECK(weight_bits >= 2 && weight_bits <= 8, ErrorCode::invalid_argument,
                 "weight bits must be in [2, 8], got ", weight_bits);
    const double qmax = double((1 << (weight_bits - 1)) - 1);
    const size_t cout = size_t(w.shape[0]), rest = w.numel() / std::max<size_t>(cout, 1);
    const float* src = w.as<float>();
    std::vector<int8_t> q(w.numel());
    std::vector<float> scales(cout);
    const bool with_bias = bias || x_means;
    std::vector<int32_t> qb(with_bias ? cout : 0);
    const size_t cin_g = size_t(w.shape.back()), cout_g = cout / std::max<size_t>(groups, 1);
    const bool correct = x_means && x_means->size() == cin_g * groups;
    constexpr double kBiasLimit = double(1 << 30);
    for (size_t c = 0; c < cout; ++c) {
        double b = bias ? double(bias->as<float>()[c]) : 0.0;
        double amax = 0;
        for (size_t i = 0; i < rest; ++i) amax = std::max(amax, std::fabs(double(src[c * rest + i])));
        double s = amax / qmax;
        s = std::max(s, std::fabs(b) / (double(x_scale) * kBiasLimit));
        s = std::max(s, 1e-20);
        const float sf = float(s);
        scales[c] = sf;
        for (size_t i = 0; i < rest; ++i)
            q[c * rest + i] = int8_t(std::clamp(std::nearbyint(src[c * rest + i] / sf), -float(qmax), float(qmax)));
        if (correct) {
            const size_t first = (c / std::max<size_t>(cout_g, 1)) * cin_g;
            for (size_t i = 0; i < rest; ++i)
                b += (double(src[c * rest + i]) - double(q[c * rest + i]) * sf) * (*x_means)[first + i % cin_g];
        }
        if (with_bias) {
            const double bs = double(x_scale * sf);
            qb[c] = int32_t(std::clamp(std::nearbyint(b / bs), -kBiasLimit, kBiasLimit));
        }
    }
    QuantizedWeights r;
    r.weights = Constant::copy_of(DataType::s8, w.shape, q.data(), q.size());
    r.scales = Constant::copy_of(DataType::f32, {int64_t(cout)}, scales.data(), cout * sizeof(float));
    if (with_bias) r.bias = Constant::copy_of(DataType::s32, {int64_t(cout)}, qb.data(), cout * sizeof(int32_t));
    return r;
}

}  // namespace detail

// What calibration saw of every fp32 value: its range and channel means, and its shape.
struct Calibration {
    std::map<std::string, RangeObserver> observers;
    std::map<std::string, Shape> shapes;

    // Activation parameters of every observed value for the chosen method.
    std::map<std::string, ops::QuantParams> params(const QuantizeOptions& options) const {
        std::map<std::string, ops::QuantParams> p;
        for (auto& [name, o] : observers)
            if (o.seen()) {
                const auto [lo, hi] = o.range(options.method, options.percentile);
                p[name] = quant_params_for_range(lo, hi);
            }
        return p;
    }
};

inline Calibration calibrate(const Graph& graph, const std::vector<CalibrationSample>& samples,
                             const QuantizeOptions& options) {
    XINFER_CHECK(!samples.empty(), ErrorCode::invalid_argument, "quantization needs at least one calibration sample");
    Calibration cal;
    const bool histogram = options.method != CalibrationMethod::minmax;
    const size_t passes = histogram ? 2 : 1;
    Graph g = graph;
    for (size_t pass = 0; pass < passes; ++pass)
        for (size_t i = 0; i < samples.size(); ++i) {
            std::vector<EvaluatedValue*> in;
            for (auto& v : samples[i]) in.push_back(const_cast<EvaluatedValue*>(&v));
            ValueMap values = evaluate_nodes(g, in, {}, ops::KernelSet::optimized, true);
            for (auto& [name, v] : values) {
                if (v.dtype != DataType::f32 || v.shape.empty()) continue;
                auto& o = cal.observers[name];
                const size_t n = checked_numel(v.shape), channels = size_t(std::max<int64_t>(v.shape.back(), 1));
                if (pass == 0) o.observe_range(v.floats(), n, channels);
                else o.observe_histogram(v.floats(), n);
                cal.shapes[name] = v.shape;
            }
            if (options.progress) options.progress(pass * samples.size() + i + 1, passes * samples.size());
        }
    return cal;
}

namespace detail {

// One rewrite of an fp32 graph into an int8 one: the graph being written, and the names of the fp32 and int8
// forms of each value, with a Quantize or Dequantize node added the first time a form is asked for.
class Int8Rewrite {
public:
    Int8Rewrite(const Graph& g, const std::map<std::string, ops::QuantParams>& params,
                const std::map<std::string, Shape>& shapes, const Calibration* bias_correction, int weight_bits)
        : source(g), shapes(shapes), bias_correction(bias_correction), weight_bits(weight_bits), params_(params) {
        out_.inputs = g.inputs;
        out_.outputs = g.outputs;
        for (auto& o : g.outputs) graph_outputs_.insert(o.name);
        for (auto& in : g.inputs) f32_name_[in.name] = in.name;
    }

    const Graph& source;
    const std::map<std::string, Shape>& shapes;  // of the fp32 values, as calibration saw them
    const Calibration* bias_correction;          // null: no bias correction
    const int weight_bits;

    // The calibrated parameters of fp32 value v.
    ops::QuantParams param(const std::string& v) const {
        auto it = params_.find(v);
        XINFER_CHECK(it != params_.end(), ErrorCode::invalid_argument, "no calibration range for value '", v, "'");
        return it->second;
    }
    // The parameters of the int8 form of v (which must exist).
    ops::QuantParams s8_param(const std::string& v) const { return qp_.at(v); }
    bool has_s8(const std::string& v) const { return s8_name_.count(v) != 0; }

    std::string as_s8(const std::string& v) {
        if (auto it = s8_name_.find(v); it != s8_name_.end()) return it->second;
        Node q{v + kQuantizedSuffix, "Quantize", {f32_name_.at(v)}, {v + kQuantizedSuffix}, {}};
        set_qparams(q, "y", qp_[v] = param(v));
        out_.nodes.push_back(q);
        return s8_name_[v] = q.outputs[0];
    }
    std::string as_f32(const std::string& v) {
        if (auto it = f32_name_.find(v); it != f32_name_.end()) return it->second;
        const std::string name = graph_outputs_.count(v) ? v : v + kDequantizedSuffix;
        Node dq{name, "Dequantize", {s8_name_.at(v)}, {name}, {}};
        set_qparams(dq, "x", qp_.at(v));
        out_.nodes.push_back(dq);
        return f32_name_[v] = name;
    }
    // An int8 node's output: named as the fp32 value, except for graph outputs, which get a Dequantize.
    void emit_s8(Node n, ops::QuantParams y) {
        const std::string v = n.outputs[0];
        n.outputs[0] = graph_outputs_.count(v) ? v + kQuantizedSuffix : v;
        s8_name_[v] = n.outputs[0];
        qp_[v] = y;
        out_.nodes.push_back(std::move(n));
        if (graph_outputs_.count(v)) as_f32(v);
    }
    // A node left in fp32, reading the fp32 forms of its inputs.
    void emit_f32(const Node& n) {
        Node f = n;
        for (auto& in : f.inputs) {
            if (in.empty() || source.is_constant(in)) copy_constant(in);
            else in = as_f32(in);
        }
        f32_name_[n.outputs[0]] = n.outputs[0];
        out_.nodes.push_back(std::move(f));
    }
    void add_constant(const std::string& name, Constant c) { out_.constants[name] = std::move(c); }

    Graph finish() {
        for (auto& o : source.outputs) as_f32(o.name);
        out_.sort_and_validate();
        return std::move(out_);
    }

private:
    void copy_constant(const std::string& name) {
        if (!name.empty() && source.is_constant(name)) out_.constants[name] = source.constants.at(name);
    }

    const std::map<std::string, ops::QuantParams>& params_;
    Graph out_;
    std::set<std::string> graph_outputs_;
    std::map<std::string, std::string> f32_name_, s8_name_;  // value -> the name of its fp32 / int8 form
    std::map<std::string, ops::QuantParams> qp_;             // int8 forms' parameters
};

// Conv -> QConv, Dense -> QDense: int8 weights, int32 bias (bias-corrected with calibration).
inline void quantize_linear(Int8Rewrite& r, const Node& n) {
    const Graph& g = r.source;
    Node q = n;
    q.op = n.op == "Conv" ? "QConv" : "QDense";
    const ops::QuantParams y = r.param(n.outputs[0]);
    q.inputs = {r.as_s8(n.inputs[0])};
    set_qparams(q, "x", r.s8_param(n.inputs[0]));
    set_qparams(q, "y", y);
    const bool has_bias = n.inputs.size() > 2 && !n.inputs[2].empty();
    std::vector<double> means;
    if (r.bias_correction) {
        auto it = r.bias_correction->observers.find(n.inputs[0]);
        if (it != r.bias_correction->observers.end()) means = it->second.channel_means();
    }
    auto qw = quantize_weights(g.constant(n.inputs[1], n), has_bias ? &g.constant(n.inputs[2], n) : nullptr,
                               r.s8_param(n.inputs[0]).scale, means.empty() ? nullptr : &means,
                               size_t(n.get_int("group", 1)), r.weight_bits);
    const std::string wname = n.inputs[1] + "::int8", sname = n.inputs[1] + "::scale";
    r.add_constant(wname, qw.weights);
    r.add_constant(sname, qw.scales);
    q.inputs.push_back(wname);
    q.inputs.push_back(sname);
    if (qw.bias.data) {
        const std::string bname = (has_bias ? n.inputs[2] : n.name + ".bias") + "::int32";
        r.add_constant(bname, qw.bias);
        q.inputs.push_back(bname);
    }
    r.emit_s8(std::move(q), y);
}

inline void quantize_add(Int8Rewrite& r, const Node& n) {
    Node q = n;
    q.op = "QAdd";
    q.inputs = {r.as_s8(n.inputs[0]), r.as_s8(n.inputs[1])};
    set_qparams(q, "a", r.s8_param(n.inputs[0]));
    set_qparams(q, "b", r.s8_param(n.inputs[1]));
    const ops::QuantParams y = r.param(n.outputs[0]);
    set_qparams(q, "y", y);
    r.emit_s8(std::move(q), y);
}

// GlobalAveragePool, or a whole-input AveragePool -> QGlobalAveragePool.
inline void quantize_global_average_pool(Int8Rewrite& r, const Node& n) {
    Node q{n.name, "QGlobalAveragePool", {r.as_s8(n.inputs[0])}, n.outputs, {}};
    set_qparams(q, "x", r.s8_param(n.inputs[0]));
    const ops::QuantParams y = r.param(n.outputs[0]);
    set_qparams(q, "y", y);
    r.emit_s8(std::move(q), y);
}

// Flatten / Reshape of an int8 value: the same node on the int8 form, same parameters.
inline void pass_int8_through(Int8Rewrite& r, const Node& n) {
    Node q = n;
    q.inputs = {r.as_s8(n.inputs[0])};
    r.emit_s8(std::move(q), r.s8_param(n.inputs[0]));
}

inline bool always(const Int8Rewrite&, const Node&) { return true; }

// An AveragePool whose window is its whole (unpadded) input: a global average pool in disguise.
inline bool averages_whole_input(const Int8Rewrite& r, const Node& n) {
    auto it = r.shapes.find(n.inputs[0]);
    const auto k = n.get_ints("kernel_shape", {});
    return it != r.shapes.end() && it->second.size() == 4 && k.size() == 2 && k[0] == it->second[1] &&
           k[1] == it->second[2] && n.get_ints("pads", {0, 0, 0, 0}) == std::vector<int64_t>{0, 0, 0, 0};
}

inline bool input_is_int8(const Int8Rewrite& r, const Node& n) { return r.has_s8(n.inputs[0]); }

// How an op kind becomes int8: when it applies (given the node and what calibration and the rewrite so far know),
// and the rewrite that emits the node's int8 form.
struct QuantizationRule {
    bool (*applies)(const Int8Rewrite&, const Node&);
    void (*rewrite)(Int8Rewrite&, const Node&);
};

// The op kinds with an int8 form. Every other node (and every node named in keep_fp32) stays fp32.
inline const std::map<std::string, QuantizationRule>& quantization_rules() {
    static const std::map<std::string, QuantizationRule> table{
        {"Conv", {always, quantize_linear}},
        {"Dense", {always, quantize_linear}},
        {"Add", {always, quantize_add}},
        {"GlobalAveragePool", {always, quantize_global_average_pool}},
        {"AveragePool", {averages_whole_input, quantize_global_average_pool}},
        {"Flatten", {input_is_int8, pass_int8_through}},
        {"Reshape", {input_is_int8, pass_int8_through}},
    };
    return table;
}

}  // namespace detail

// Rewrites g (sorted, optimized, fp32) into an int8 graph with the given activation parameters.
// With calibration (for channel means), weights get bias correction.
inline Graph quantize_graph(const Graph& g, const std::map<std::string, ops::QuantParams>& params,
                            const std::map<std::string, Shape>& shapes, const std::set<std::string>& keep_fp32,
                            const Calibration* bias_correction = nullptr, int weight_bits = 8) {
    detail::Int8Rewrite r(g, params, shapes, bias_correction, weight_bits);
    const auto& rules = detail::quantization_rules();
    for (const Node& n : g.nodes) {
        auto rule = rules.find(n.op);
        if (rule != rules.end() && !keep_fp32.count(n.name) && rule->second.applies(r, n)) rule->second.rewrite(r, n);
        else r.emit_f32(n);
    }
    return r.finish();
}

inline bool is_int8_layer(const Node& n) {
    return n.op == "QConv" || (n.op == "QDense" && n.has("y_scale")) || n.op == "QAdd" ||
           n.op == "QGlobalAveragePool";
}

// The fp32 value an int8 layer's output stands for (graph outputs get a suffix in the int8 graph).
inline std::string fp32_value_of(std::string v) {
    const std::string suffix = kQuantizedSuffix;
    if (v.size() > suffix.size() && v.compare(v.size() - suffix.size(), suffix.size(), suffix) == 0)
        v.resize(v.size() - suffix.size());
    return v;
}

}  // namespace xinfer::quant
