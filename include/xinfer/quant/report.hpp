#pragma once
// How faithful an int8 graph is to its fp32 original: per layer, the SQNR and cosine of the dequantized int8
// activations against the fp32 ones and the share of fp32 values outside the int8 range (saturation); on the
// outputs, top-1 agreement and |delta p| of the class probabilities.
#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "xinfer/graph/interpreter.hpp"
#include "xinfer/quant/ptq.hpp"

namespace xinfer::quant {

struct LayerReport {
    std::string value;  // the layer's output value (fp32 name)
    std::string node, op;
    double sqnr_db = 0, cosine = 0, saturation = 0;
};

struct QuantReport {
    std::vector<LayerReport> layers;  // in graph order
    size_t samples = 0, rows = 0;     // inputs compared, and output rows (batch entries) among them
    double top1_agreement = 0;        // share of rows whose arg-max agrees
    double mean_abs_dp = 0, max_abs_dp = 0;

    const LayerReport* worst_layer() const {
        const LayerReport* w = nullptr;
        for (auto& l : layers)
            if (!w || l.sqnr_db < w->sqnr_db) w = &l;
        return w;
    }
};

namespace detail {

// Softmax over the last axis unless the values already are probabilities.
inline std::vector<float> probabilities(const float* x, size_t classes, bool already) {
    std::vector<float> p(x, x + classes);
    if (already) return p;
    const float mx = *std::max_element(p.begin(), p.end());
    double sum = 0;
    for (auto& v : p) sum += (v = std::exp(v - mx));
    for (auto& v : p) v = float(v / sum);
    return p;
}

}  // namespace detail

inline QuantReport compare_graphs(const Graph& fp32, const Graph& int8, const std::vector<CalibrationSample>& samples) {
    struct Acc {
        LayerReport r;
        std::string s8_value;
        ops::QuantParams q;
        double signal = 0, noise = 0, dot = 0, norm_q = 0, outside = 0, count = 0;
    };
    std::vector<Acc> acc;
    for (auto& n : int8.nodes) {
        if (!is_int8_layer(n)) continue;
        Acc a;
        a.s8_value = n.outputs[0];
        a.r.value = fp32_value_of(n.outputs[0]);
        a.r.node = n.name;
        a.r.op = n.op;
        a.q = {float(n.get_float("y_scale", 1.0)), int32_t(n.get_int("y_zero_point", 0))};
        acc.push_back(a);
    }
    const bool probs = ends_in_softmax(fp32);
    QuantReport rep;
    double sum_dp = 0, agree = 0, dp_count = 0;
    Graph gf = fp32, gq = int8;
    for (auto& sample : samples) {
        std::vector<EvaluatedValue*> in;
        for (auto& v : sample) in.push_back(const_cast<EvaluatedValue*>(&v));
        ValueMap vf = evaluate_nodes(gf, in, {}, ops::KernelSet::optimized, true);
        ValueMap vq = evaluate_nodes(gq, in, {}, ops::KernelSet::optimized, true);
        for (auto& a : acc) {
            auto f = vf.find(a.r.value);
            auto q = vq.find(a.s8_value);
            if (f == vf.end() || q == vq.end() || q->second.dtype != DataType::s8 || q->second.shape != f->second.shape)
                continue;
            const float* ref = f->second.floats();
            const int8_t* qv = q->second.data.as<int8_t>();
            const size_t n = checked_numel(f->second.shape);
            const double lo = double(-128 - a.q.zero_point) * a.q.scale, hi = double(127 - a.q.zero_point) * a.q.scale;
            const double margin = 0.5 * a.q.scale;
            for (size_t i = 0; i < n; ++i) {
                const double r = ref[i], d = double(qv[i] - a.q.zero_point) * double(a.q.scale);
                a.signal += r * r;
                a.noise += (r - d) * (r - d);
                a.dot += r * d;
                a.norm_q += d * d;
                a.outside += (r < lo - margin || r > hi + margin);
            }
            a.count += double(n);
        }
        const EvaluatedValue& of = vf.at(fp32.outputs[0].name);
        const EvaluatedValue& oq = vq.at(int8.outputs[0].name);
        XINFER_CHECK(of.shape == oq.shape && !of.shape.empty() && of.dtype == DataType::f32 &&
                         oq.dtype == DataType::f32,
                     ErrorCode::shape_mismatch, "the two models' outputs differ: fp32 ", xinfer::to_string(of.shape),
                     " ", xinfer::to_string(of.dtype), ", int8 ", xinfer::to_string(oq.shape), " ",
                     xinfer::to_string(oq.dtype));
        const size_t rows = size_t(of.shape[0]), classes = checked_numel(of.shape) / std::max<size_t>(rows, 1);
        for (size_t r = 0; r < rows; ++r) {
            const auto pf = detail::probabilities(of.floats() + r * classes, classes, probs);
            const auto pq = detail::probabilities(oq.floats() + r * classes, classes, probs);
            agree += std::max_element(pf.begin(), pf.end()) - pf.begin() == std::max_element(pq.begin(), pq.end()) - pq.begin();
            for (size_t c = 0; c < classes; ++c) {
                const double d = std::fabs(double(pf[c]) - double(pq[c]));
                sum_dp += d;
                rep.max_abs_dp = std::max(rep.max_abs_dp, d);
                dp_count += 1;
            }
        }
        rep.rows += rows;
        ++rep.samples;
    }
    for (auto& a : acc) {
        if (a.count == 0) continue;
        a.r.sqnr_db = a.noise > 0 ? 10.0 * std::log10(a.signal / a.noise) : 200.0;
        a.r.cosine = a.signal > 0 && a.norm_q > 0 ? a.dot / std::sqrt(a.signal * a.norm_q) : 1.0;
        a.r.saturation = a.outside / a.count;
        rep.layers.push_back(a.r);
    }
    rep.top1_agreement = rep.rows ? agree / double(rep.rows) : 0;
    rep.mean_abs_dp = dp_count ? sum_dp / dp_count : 0;
    return rep;
}

}  // namespace xinfer::quant
