#pragma once
// Helpers the xinfer subcommands share: timing, loading the model named by --model, concrete input shapes and
// random inputs for timing runs.
#include <sys/resource.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "args.hpp"
#include "xinfer/xinfer.hpp"

namespace xinfer::cli {

using Clock = std::chrono::steady_clock;

// What every subcommand that loads a model says about M.
inline const char* kModelNote =
    "M: a .xinf, .onnx or TF.js model.json file, or builtin:mobilenet_v2?alpha=1.0&size=224[&classes=1000&seed=42]\n";

inline Option model_option(const std::string& value = "M") {
    return {"--model", value, "the model: a file or builtin:ARCH?PARAMS (see below)"};
}
inline Option threads_option() { return {"--threads", "N", "worker threads (default 1)"}; }
inline Option no_fuse_option() {
    return {"--no-fuse", "", "one step per layer instead of one per inverted-residual block (same results)"};
}

inline double ms_since(Clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

inline double peak_rss_mb() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return double(ru.ru_maxrss) / 1024.0;  // Linux reports kilobytes
}

inline long file_bytes(const std::string& path) {
    std::error_code ec;
    const auto n = std::filesystem::file_size(path, ec);
    return ec ? -1 : long(n);
}

// The model named by --model; --no-fuse where the subcommand declares it.
inline xinfer::Model load_model(const Args& args, int threads, double* load_ms = nullptr) {
    xinfer::ModelOptions o;
    o.threads = threads;
    o.fuse_blocks = !(args.declares("--no-fuse") && args.has("--no-fuse"));
    const std::string path = args.need("--model");
    const auto t0 = Clock::now();
    xinfer::Model m = xinfer::Model::load(path, o);
    if (load_ms) *load_ms = ms_since(t0);
    return m;
}

// A concrete input shape: the model's, with -1 (any) dimensions set to `batch` (dim 0) or rejected.
inline xinfer::Shape concrete_shape(const xinfer::TensorSpec& spec, int batch) {
    xinfer::Shape s = spec.shape;
    for (size_t d = 0; d < s.size(); ++d)
        if (s[d] < 0) {
            XINFER_CHECK(d == 0, ErrorCode::invalid_argument, "input '", spec.name, "' has a free dimension ", d,
                         " (shape ", xinfer::to_string(spec.shape), "): use `xinfer run` with a concrete input");
            s[d] = batch;
        }
    return s;
}

// Uniform [0, 1) values for every model input, from a fixed seed: the inputs of timing runs.
struct RandomInputs {
    std::vector<xinfer::Shape> shapes;
    std::vector<xt::xarray<float>> arrays;
    std::vector<const float*> pointers;

    RandomInputs(const xinfer::Model& model, int batch) {
        std::mt19937 rng(1);
        std::uniform_real_distribution<float> dist(0.0f, 1.0f);
        for (const auto& spec : model.inputs()) {
            shapes.push_back(concrete_shape(spec, batch));
            const std::vector<size_t> dims(shapes.back().begin(), shapes.back().end());
            arrays.push_back(xt::xarray<float>::from_shape(dims));
            for (auto& v : arrays.back()) v = dist(rng);
        }
        for (const auto& x : arrays) pointers.push_back(x.data());
    }
};

}  // namespace xinfer::cli
