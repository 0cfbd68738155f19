#pragma once
// Calibration observers: from the values an activation takes on calibration inputs, choose the real range
// [lo, hi] that its int8 scale and zero point cover. Two passes: the first finds min and max, the second fills a
// histogram over [min, max] for the methods that search a clipped range.
//   minmax      the observed range
//   percentile  drop the tails beyond the given percentile (both sides; one side for non-negative data)
//   entropy     the range minimising the KL divergence between the clipped histogram and its 256-level
//               quantization (the TensorRT calibration criterion, applied to both ends)
//   mse         the range minimising the expected squared error: clipping error + rounding error (s^2 / 12)
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "xinfer/core/error.hpp"
#include "xinfer/ops/quant_params.hpp"

namespace xinfer::quant {

enum class CalibrationMethod { minmax, percentile, entropy, mse };

inline const char* to_string(CalibrationMethod m) {
    switch (m) {
        case CalibrationMethod::minmax: return "minmax";
        case CalibrationMethod::percentile: return "percentile";
        case CalibrationMethod::entropy: return "entropy";
        case CalibrationMethod::mse: return "mse";
    }
    return "?";
}

inline CalibrationMethod calibration_method_from_string(const std::string& s) {
    if (s == "minmax") return CalibrationMethod::minmax;
    if (s == "percentile") return CalibrationMethod::percentile;
    if (s == "entropy") return CalibrationMethod::entropy;
    if (s == "mse") return CalibrationMethod::mse;
    XINFER_THROW(ErrorCode::invalid_argument, "unknown calibration method '", s,
                 "' (minmax, percentile, entropy, mse)");
}

// The int8 scale and zero point that map [lo, hi] (widened to include 0) onto [-128, 127].
inline ops::QuantParams quant_params_for_range(double lo, double hi) {
    lo = std::min(lo, 0.0);
    hi = std::max(hi, 0.0);
    if (!(hi - lo > 1e-12)) hi = lo + 1e-12;
    const double scale = (hi - lo) / 255.0;
    const double zp = std::nearbyint(-128.0 - lo / scale);
    return {float(scale), int32_t(std::clamp(zp, -128.0, 127.0))};
}

class RangeObserver {
public:
    static constexpr size_t kBins = 2048;

    // Also accumulates the mean of each channel (the last dimension, `channels` long) for bias correction.
    void observe_range(const float* x, size_t n, size_t channels) {
        if (channel_sum_.size() != channels) channel_sum_.assign(channels, 0.0), rows_ = 0;
        for (size_t i = 0; i < n; ++i) {
            if (!std::isfinite(x[i])) continue;
            min_ = std::min(min_, double(x[i]));
            max_ = std::max(max_, double(x[i]));
            channel_sum_[i % channels] += double(x[i]);
        }
        rows_ += double(n / channels);
    }
    std::vector<double> channel_means() const {
        std::vector<double> m(channel_sum_);
        for (auto& v : m) v = rows_ > 0 ? v / rows_ : 0.0;
        return m;
    }
    void observe_histogram(const float* x, size_t n) {
        if (hist_.empty()) hist_.assign(kBins, 0.0);
        if (!(max_ > min_)) return;
        const double inv = double(kBins) / (max_ - min_);
        for (size_t i = 0; i < n; ++i) {
            // Exact zeros (ReLU's spike) are represented exactly by the zero point: they neither cost rounding
            // error nor should they pull the range in.
            if (!std::isfinite(x[i]) || x[i] == 0.0f) continue;
            const double b = (double(x[i]) - min_) * inv;
            hist_[size_t(std::clamp(b, 0.0, double(kBins - 1)))] += 1.0;
        }
    }
    bool seen() const { return min_ <= max_; }
    double min() const { return min_; }
    double max() const { return max_; }

    // The chosen range; the histogram methods need observe_histogram to have run.
    std::pair<double, double> range(CalibrationMethod method, double percentile = 99.99) const {
        XINFER_CHECK(seen(), ErrorCode::invalid_argument, "calibration saw no finite values");
        if (method == CalibrationMethod::minmax || hist_.empty() || !(max_ > min_)) return {min_, max_};
        if (method == CalibrationMethod::percentile) return percentile_range(percentile);
        // Candidates shrink both ends toward 0 by the same factor, so the zero point stays put.
        double best = std::numeric_limits<double>::infinity();
        std::pair<double, double> chosen{min_, max_};
        for (int step = 0; step <= 120; ++step) {
            const double f = std::pow(0.97, step);
            const double lo = std::min(0.0, min_) * f, hi = std::max(0.0, max_) * f;
            if (hi - lo < (max_ - min_) * 256.0 / kBins) break;  // keep >= 256 histogram bins in range
            const double err = method == CalibrationMethod::mse ? mse(lo, hi) : kl_divergence(lo, hi);
            if (err < best) best = err, chosen = {lo, hi};
        }
        return chosen;
    }

private:
    double bin_center(size_t i) const { return min_ + (double(i) + 0.5) * (max_ - min_) / double(kBins); }
    double total() const {
        double t = 0;
        for (double c : hist_) t += c;
        return t;
    }

    std::pair<double, double> percentile_range(double pct) const {
        const double t = total(), tail = t * (1.0 - pct / 100.0);
        const bool two_sided = min_ < 0;
        double acc = 0, lo = min_, hi = max_;
        if (two_sided) {
            for (size_t i = 0; i < kBins; ++i)
                if ((acc += hist_[i]) > tail / 2) {
                    lo = min_ + double(i) * (max_ - min_) / kBins;
                    break;
                }
        }
        acc = 0;
        for (size_t i = kBins; i-- > 0;)
            if ((acc += hist_[i]) > (two_sided ? tail / 2 : tail)) {
                hi = min_ + double(i + 1) * (max_ - min_) / kBins;
                break;
            }
        return {lo, hi};
    }

    double mse(double lo, double hi) const {
        const double s = (hi - lo) / 255.0;
        double err = 0;
        for (size_t i = 0; i < kBins; ++i) {
            if (hist_[i] == 0) continue;
            const double x = bin_center(i), c = std::clamp(x, lo, hi);
            err += hist_[i] * ((x - c) * (x - c) + s * s / 12.0);
        }
        return err;
    }

    // KL(P || Q): P is the histogram restricted to [lo, hi] with the clipped tails added to the edge bins; Q is the
    // in-range histogram alone quantized to 255 levels (each level's mass spread evenly over its non-empty bins), so
    // clipping costs the mass it moves to the edges.
    double kl_divergence(double lo, double hi) const {
        const double width = (max_ - min_) / double(kBins);
        const size_t i0 = size_t(std::clamp(std::floor((lo - min_) / width), 0.0, double(kBins - 1)));
        const size_t i1 = size_t(std::clamp(std::ceil((hi - min_) / width), double(i0 + 1), double(kBins)));
        const size_t n = i1 - i0;
        const std::vector<double> in_range(hist_.begin() + long(i0), hist_.begin() + long(i1));
        std::vector<double> p = in_range;
        for (size_t i = 0; i < i0; ++i) p.front() += hist_[i];
        for (size_t i = i1; i < kBins; ++i) p.back() += hist_[i];
        const size_t levels = 255;
        std::vector<double> q(n, 0.0);
        for (size_t l = 0; l < levels; ++l) {
            const size_t b0 = l * n / levels, b1 = (l + 1) * n / levels;
            double mass = 0;
            size_t nonzero = 0;
            for (size_t b = b0; b < b1; ++b) mass += in_range[b], nonzero += p[b] > 0;
            for (size_t b = b0; b < b1; ++b)
                if (p[b] > 0) q[b] = std::max(mass / double(nonzero), 1e-12);
        }
        double sp = 0, sq = 0;
        for (size_t b = 0; b < n; ++b) sp += p[b], sq += q[b];
        double kl = 0;
        for (size_t b = 0; b < n; ++b)
            if (p[b] > 0) kl += p[b] / sp * std::log((p[b] / sp) / (q[b] / sq));
        return kl;
    }

    double min_ = std::numeric_limits<double>::infinity(), max_ = -std::numeric_limits<double>::infinity();
    std::vector<double> hist_, channel_sum_;
    double rows_ = 0;
};

}  // namespace xinfer::quant
