#pragma once
// What the server counts, per model and in total, and its Prometheus text exposition. Native names follow
// Prometheus' conventions (`_total` counters, `_seconds` histograms; `promtool check metrics` passes); Triton's
// names (core src/metrics.cc: cumulative `_us` counters, `nv_` prefix) are added on request so Triton dashboards
// work unchanged.
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <unistd.h>
#include <vector>

#include <nlohmann/json.hpp>

namespace xinfer::serve {

// Why an inference request ended.
enum class Outcome { success, bad_request, rejected, timeout, failed };
inline const char* to_string(Outcome o) {
    static const char* names[] = {"success", "bad_request", "rejected", "timeout", "failed"};
    return names[int(o)];
}
inline constexpr int kOutcomes = 5;

class Histogram {
public:
    explicit Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}
    void observe(double v) {
        size_t i = 0;
        while (i < bounds_.size() && v > bounds_[i]) ++i;
        ++counts_[i];
        sum_ += v;
        ++count_;
    }
    // Appends `name`_bucket/_sum/_count lines with `labels` ("model=\"m\",version=\"1\"").
    void write(std::string& out, const std::string& name, const std::string& labels) const {
        uint64_t cumulative = 0;
        char buf[64];
        for (size_t i = 0; i <= bounds_.size(); ++i) {
            cumulative += counts_[i];
            if (i < bounds_.size()) std::snprintf(buf, sizeof buf, "%g", bounds_[i]);
            out += name + "_bucket{" + labels + ",le=\"" + (i < bounds_.size() ? buf : "+Inf") + "\"} " +
                   std::to_string(cumulative) + "\n";
        }
        std::snprintf(buf, sizeof buf, "%.9g", sum_);
        out += name + "_sum{" + labels + "} " + buf + "\n";
        out += name + "_count{" + labels + "} " + std::to_string(count_) + "\n";
    }

private:
    std::vector<double> bounds_;
    std::vector<uint64_t> counts_;
    double sum_ = 0;
    uint64_t count_ = 0;
};

inline std::vector<double> latency_buckets() {
    return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

// Count and total nanoseconds: the unit of Triton's statistics extension.
struct CountNs {
    uint64_t count = 0, ns = 0;
    void add(uint64_t n) {
        ++count;
        ns += n;
    }
    nlohmann::json to_json() const { return {{"count", count}, {"ns", ns}}; }
};

// Phases of one request, in nanoseconds.
struct RequestTimes {
    uint64_t total = 0, queue = 0, input = 0, infer = 0, output = 0;
};

// One model's statistics. Requests update it under its mutex: a few counters per request, far below the cost of
// the inference itself.
class ModelStats {
public:
    std::atomic<int64_t> queue_depth{0};
    std::atomic<bool> ready{false};
    std::atomic<double> load_seconds{0};

    void request_done(Outcome o, const RequestTimes& t) {
        std::lock_guard<std::mutex> lock(mutex_);
        ++outcomes_[size_t(o)];
        const double s = 1e-9;
        request_.observe(double(t.total) * s);
        if (o == Outcome::success) {
            success_.add(t.total);
            queue_.add(t.queue);
            input_.add(t.input);
            infer_.add(t.infer);
            output_.add(t.output);
            queue_hist_.observe(double(t.queue) * s);
            input_hist_.observe(double(t.input) * s);
            output_hist_.observe(double(t.output) * s);
            last_inference_ms_ = uint64_t(std::chrono::duration_cast<std::chrono::milliseconds>(
                                              std::chrono::system_clock::now().time_since_epoch())
                                              .count());
        } else {
            fail_.add(t.total);
        }
    }
    // One execution of `batch` inferences that took `ns`.
    void execution_done(int64_t batch, uint64_t ns) {
        std::lock_guard<std::mutex> lock(mutex_);
        ++executions_;
        inferences_ += uint64_t(batch);
        infer_hist_.observe(double(ns) * 1e-9);
        batch_hist_.observe(double(batch));
        batch_infer_[batch].add(ns);
    }

    nlohmann::json triton_stats(const std::string& name, const std::string& version) const {
        std::lock_guard<std::mutex> lock(mutex_);
        nlohmann::json batches = nlohmann::json::array();
        for (auto& [size, c] : batch_infer_)
            batches.push_back({{"batch_size", size},
                               {"compute_input", CountNs{c.count, 0}.to_json()},
                               {"compute_infer", c.to_json()},
                               {"compute_output", CountNs{c.count, 0}.to_json()}});
        return {{"name", name},
                {"version", version},
                {"last_inference", last_inference_ms_},
                {"inference_count", inferences_},
                {"execution_count", executions_},
                {"inference_stats",
                 {{"success", success_.to_json()},
                  {"fail", fail_.to_json()},
                  {"queue", queue_.to_json()},
                  {"compute_input", input_.to_json()},
                  {"compute_infer", infer_.to_json()},
                  {"compute_output", output_.to_json()}}},
                {"batch_stats", batches}};
    }

    // Appends this model's samples of every metric family, in the order of `families` (see write_prometheus).
    void write_native(std::map<std::string, std::string>& families, const std::string& labels) const {
        std::lock_guard<std::mutex> lock(mutex_);
        for (int o = 0; o < kOutcomes; ++o)
            families["xinfer_inference_requests_total"] += "xinfer_inference_requests_total{" + labels +
                                                           ",outcome=\"" + to_string(Outcome(o)) + "\"} " +
                                                           std::to_string(outcomes_[size_t(o)]) + "\n";
        families["xinfer_inferences_total"] += "xinfer_inferences_total{" + labels + "} " +
                                               std::to_string(inferences_) + "\n";
        families["xinfer_executions_total"] += "xinfer_executions_total{" + labels + "} " +
                                               std::to_string(executions_) + "\n";
        request_.write(families["xinfer_request_duration_seconds"], "xinfer_request_duration_seconds", labels);
        queue_hist_.write(families["xinfer_queue_duration_seconds"], "xinfer_queue_duration_seconds", labels);
        input_hist_.write(families["xinfer_compute_input_duration_seconds"], "xinfer_compute_input_duration_seconds",
                          labels);
        infer_hist_.write(families["xinfer_compute_infer_duration_seconds"], "xinfer_compute_infer_duration_seconds",
                          labels);
        output_hist_.write(families["xinfer_compute_output_duration_seconds"],
                           "xinfer_compute_output_duration_seconds", labels);
        batch_hist_.write(families["xinfer_batch_size"], "xinfer_batch_size", labels);
        families["xinfer_queue_depth"] += "xinfer_queue_depth{" + labels + "} " +
                                          std::to_string(queue_depth.load()) + "\n";
        families["xinfer_model_ready"] += "xinfer_model_ready{" + labels + "} " + (ready ? "1" : "0") + "\n";
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.6f", load_seconds.load());
        families["xinfer_model_load_duration_seconds"] += "xinfer_model_load_duration_seconds{" + labels + "} " +
                                                          buf + "\n";
    }

    void write_triton(std::map<std::string, std::string>& families, const std::string& labels) const {
        std::lock_guard<std::mutex> lock(mutex_);
        auto line = [&](const char* name, const std::string& extra, uint64_t v) {
            families[name] += std::string(name) + "{" + labels + extra + "} " + std::to_string(v) + "\n";
        };
        line("nv_inference_request_success", "", outcomes_[size_t(Outcome::success)]);
        line("nv_inference_request_failure", ",reason=\"REJECTED\"",
             outcomes_[size_t(Outcome::rejected)] + outcomes_[size_t(Outcome::timeout)]);
        line("nv_inference_request_failure", ",reason=\"BACKEND\"", outcomes_[size_t(Outcome::failed)]);
        line("nv_inference_request_failure", ",reason=\"OTHER\"", outcomes_[size_t(Outcome::bad_request)]);
        line("nv_inference_request_failure", ",reason=\"CANCELED\"", 0);
        line("nv_inference_count", "", inferences_);
        line("nv_inference_exec_count", "", executions_);
        line("nv_inference_request_duration_us", "", (success_.ns + fail_.ns) / 1000);
        line("nv_inference_queue_duration_us", "", queue_.ns / 1000);
        line("nv_inference_compute_input_duration_us", "", input_.ns / 1000);
        line("nv_inference_compute_infer_duration_us", "", infer_.ns / 1000);
        line("nv_inference_compute_output_duration_us", "", output_.ns / 1000);
        line("nv_inference_pending_request_count", "", uint64_t(std::max<int64_t>(0, queue_depth.load())));
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.6f", load_seconds.load());
        families["nv_model_load_duration_secs"] += "nv_model_load_duration_secs{" + labels + "} " + buf + "\n";
    }

private:
    mutable std::mutex mutex_;
    std::array<uint64_t, kOutcomes> outcomes_{};
    uint64_t inferences_ = 0, executions_ = 0, last_inference_ms_ = 0;
    CountNs success_, fail_, queue_, input_, infer_, output_;
    std::map<int64_t, CountNs> batch_infer_;
    Histogram request_{latency_buckets()}, queue_hist_{latency_buckets()}, input_hist_{latency_buckets()},
        infer_hist_{latency_buckets()}, output_hist_{latency_buckets()}, batch_hist_{{1, 2, 4, 8, 16, 32, 64}};
};

// Family metadata: name -> (type, help). The order here is the order in the exposition.
struct MetricFamily {
    const char* name;
    const char* type;
    const char* help;
};

inline const std::vector<MetricFamily>& native_families() {
    static const std::vector<MetricFamily> f = {
        {"xinfer_inference_requests_total", "counter", "Inference requests by outcome"},
        {"xinfer_inferences_total", "counter", "Inferences performed (a batch of n counts n)"},
        {"xinfer_executions_total", "counter", "Model executions (batches); inferences / executions = mean batch"},
        {"xinfer_request_duration_seconds", "histogram", "Whole inference request, receipt to response"},
        {"xinfer_queue_duration_seconds", "histogram", "Time a request waited in the batcher's queue"},
        {"xinfer_compute_input_duration_seconds", "histogram", "Input parsing, image decoding and preprocessing"},
        {"xinfer_compute_infer_duration_seconds", "histogram", "Model execution, per batch"},
        {"xinfer_compute_output_duration_seconds", "histogram", "Output encoding"},
        {"xinfer_batch_size", "histogram", "Inferences per model execution"},
        {"xinfer_queue_depth", "gauge", "Requests waiting in the batcher's queue"},
        {"xinfer_model_ready", "gauge", "1 when the model is loaded and warmed up"},
        {"xinfer_model_load_duration_seconds", "gauge", "Time the model's last load and warm-up took"},
    };
    return f;
}

inline const std::vector<MetricFamily>& triton_families() {
    static const std::vector<MetricFamily> f = {
        {"nv_inference_request_success", "counter", "Number of successful inference requests, all batch sizes"},
        {"nv_inference_request_failure", "counter", "Number of failed inference requests, all batch sizes"},
        {"nv_inference_count", "counter", "Number of inferences performed (does not include cached requests)"},
        {"nv_inference_exec_count", "counter", "Number of model executions performed (does not include cached "
                                               "requests)"},
        {"nv_inference_request_duration_us", "counter", "Cumulative inference request duration in microseconds"},
        {"nv_inference_queue_duration_us", "counter", "Cumulative inference queuing duration in microseconds"},
        {"nv_inference_compute_input_duration_us", "counter", "Cumulative compute input duration in microseconds"},
        {"nv_inference_compute_infer_duration_us", "counter", "Cumulative compute inference duration in "
                                                              "microseconds"},
        {"nv_inference_compute_output_duration_us", "counter", "Cumulative inference compute output duration in "
                                                               "microseconds"},
        {"nv_inference_pending_request_count", "gauge", "Instantaneous number of pending requests awaiting "
                                                        "execution per-model."},
        {"nv_model_load_duration_secs", "gauge", "Model load time in seconds"},
    };
    return f;
}

// Server-wide counters.
class ServerStats {
public:
    std::atomic<int64_t> inflight{0};

    void http_response(int status) {
        std::lock_guard<std::mutex> lock(mutex_);
        ++http_[status];
    }
    void write(std::string& out) const {
        std::lock_guard<std::mutex> lock(mutex_);
        out += "# HELP xinfer_http_requests_total HTTP responses by status code\n"
               "# TYPE xinfer_http_requests_total counter\n";
        for (auto& [code, n] : http_)
            out += "xinfer_http_requests_total{code=\"" + std::to_string(code) + "\"} " + std::to_string(n) + "\n";
        out += "# HELP xinfer_inflight_requests Inference requests being handled\n"
               "# TYPE xinfer_inflight_requests gauge\n"
               "xinfer_inflight_requests " + std::to_string(inflight.load()) + "\n";
        out += "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
               "# TYPE process_resident_memory_bytes gauge\n"
               "process_resident_memory_bytes " + std::to_string(resident_bytes()) + "\n";
    }

    static uint64_t resident_bytes() {
        std::ifstream statm("/proc/self/statm");
        uint64_t size = 0, resident = 0;
        statm >> size >> resident;
        return resident * uint64_t(sysconf(_SC_PAGESIZE));
    }

private:
    mutable std::mutex mutex_;
    std::map<int, uint64_t> http_;
};

// The whole exposition: families in order, each with HELP and TYPE once, then every model's samples.
inline std::string write_prometheus(const std::vector<std::pair<std::string, const ModelStats*>>& models,
                                    const ServerStats& server, bool triton) {
    std::map<std::string, std::string> samples;
    for (auto& [name, stats] : models) {
        const std::string labels = "model=\"" + name + "\",version=\"1\"";
        stats->write_native(samples, labels);
        if (triton) stats->write_triton(samples, labels);
    }
    std::string out;
    auto emit = [&](const std::vector<MetricFamily>& families) {
        for (auto& f : families) {
            out += std::string("# HELP ") + f.name + " " + f.help + "\n# TYPE " + f.name + " " + f.type + "\n";
            out += samples[f.name];
        }
    };
    emit(native_families());
    server.write(out);
    if (triton) emit(triton_families());
    return out;
}

}  // namespace xinfer::serve
