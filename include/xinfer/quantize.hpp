#pragma once
// Post-training int8 quantization of a Model and the fp32-vs-int8 report, on the facade's types (the algorithms
// are in quant/).
#include <algorithm>
#include <set>
#include <vector>

#include "xinfer/model.hpp"
#include "xinfer/quant/ptq.hpp"
#include "xinfer/quant/report.hpp"

namespace xinfer {

namespace quant {

// Model inputs (one tensor per graph input, as Model::run takes them) as calibration samples.
inline std::vector<CalibrationSample> samples_from(const std::vector<std::vector<xt::xarray<float>>>& inputs) {
    std::vector<CalibrationSample> samples;
    for (auto& one : inputs) {
        CalibrationSample s;
        for (auto& t : one) {
            EvaluatedValue v;
            v.shape.assign(t.shape().begin(), t.shape().end());
            v.data.resize(t.size() * sizeof(float));
            std::copy(t.data(), t.data() + t.size(), v.data.as<float>());
            s.push_back(std::move(v));
        }
        samples.push_back(std::move(s));
    }
    return samples;
}

// An fp32 graph (sorted, optimized) quantized with activation ranges calibrated on `samples`.
inline Graph quantize_model_graph(const Graph& fp32, const std::vector<CalibrationSample>& samples,
                                  const QuantizeOptions& options) {
    const Calibration cal = calibrate(fp32, samples, options);
    const auto params = cal.params(options);
    const Calibration* correction = options.bias_correction ? &cal : nullptr;
    std::set<std::string> keep = options.keep_fp32;
    Graph q = quantize_graph(fp32, params, cal.shapes, keep, correction, options.weight_bits);
    if (options.auto_fp32 > 0) {
        // Leave the least accurate layers (lowest SQNR on the calibration samples) in fp32.
        QuantReport rep = compare_graphs(fp32, q, samples);
        std::sort(rep.layers.begin(), rep.layers.end(),
                  [](const LayerReport& a, const LayerReport& b) { return a.sqnr_db < b.sqnr_db; });
        for (size_t i = 0; i < rep.layers.size() && i < size_t(options.auto_fp32); ++i) keep.insert(rep.layers[i].node);
        q = quantize_graph(fp32, params, cal.shapes, keep, correction, options.weight_bits);
    }
    return q;
}

}  // namespace quant

// Post-training int8 quantization: calibration_inputs holds one entry per sample, each with one tensor per model
// input (as Model::run takes them). The result is an ordinary Model: run, save, classify.
inline Model quantize(const Model& model, const std::vector<std::vector<xt::xarray<float>>>& calibration_inputs,
                      const quant::QuantizeOptions& options = {}, ModelOptions model_options = {}) {
    Graph q = quant::quantize_model_graph(model.graph(), quant::samples_from(calibration_inputs), options);
    model_options.optimize = false;
    return Model::from_graph(std::move(q), model.metadata(), model_options);
}

// Single-input models: one tensor per sample.
inline Model quantize(const Model& model, const std::vector<xt::xarray<float>>& calibration_inputs,
                      const quant::QuantizeOptions& options = {}, const ModelOptions& model_options = {}) {
    std::vector<std::vector<xt::xarray<float>>> wrapped;
    for (auto& t : calibration_inputs) wrapped.push_back({t});
    return quantize(model, wrapped, options, model_options);
}

// The fp32-vs-int8 report of two single-input models with the same interface (see quant/report.hpp).
inline quant::QuantReport compare_models(const Model& fp32, const Model& int8,
                                         const std::vector<xt::xarray<float>>& inputs) {
    std::vector<std::vector<xt::xarray<float>>> wrapped;
    for (auto& t : inputs) wrapped.push_back({t});
    return quant::compare_graphs(fp32.graph(), int8.graph(), quant::samples_from(wrapped));
}

}  // namespace xinfer
