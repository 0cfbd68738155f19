// The C API's cost over the C++ facade: the same built-in MobileNetV2 run at batch 1, 1 thread, once through
// xinfer::Model::run with typed views and once through xinfer_model_run (libxinfer_c.so) into the same kind of
// caller buffers. Sizes: 0.35/96 (a short run, where a fixed per-call cost would show) and 1.0/224.
//   bench/bench_c_api --benchmark_repetitions=10 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "xinfer/c/xinfer.h"
#include "xinfer/xinfer.hpp"

namespace {

struct Case {
    const char* source;
    int side;
};
const Case kCases[] = {{"builtin:mobilenet_v2?alpha=0.35&size=96", 96}, {"builtin:mobilenet_v2", 224}};

std::vector<float> random_input(int side) {
    std::vector<float> x(size_t(side) * side * 3);
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> dist(0.0f, 1.0f);
    for (auto& v : x) v = dist(rng);
    return x;
}

void BM_cpp_run(benchmark::State& state) {
    const Case& c = kCases[state.range(0)];
    const xinfer::Model model = xinfer::Model::load(c.source);
    const auto x = random_input(c.side);
    const xinfer::Shape in_shape{1, c.side, c.side, 3};
    const xinfer::Shape out_shape = model.plan({in_shape}).output_shapes[0];
    std::vector<float> y(xinfer::checked_numel(out_shape));
    for (auto _ : state) {
        model.run({xinfer::TensorView(x.data(), in_shape)}, {xinfer::TensorView(y.data(), out_shape)});
        benchmark::DoNotOptimize(y.data());
    }
    state.SetLabel(c.source);
}

void BM_c_run(benchmark::State& state) {
    const Case& c = kCases[state.range(0)];
    xinfer_model* model = nullptr;
    if (xinfer_model_load(c.source, nullptr, &model) != XINFER_OK) {
        state.SkipWithError(xinfer_last_error());
        return;
    }
    const auto x = random_input(c.side);
    const int64_t in_dims[4] = {1, c.side, c.side, 3};
    const xinfer_tensor in{const_cast<float*>(x.data()), XINFER_F32, 4, in_dims};
    int64_t out_dims[8];
    size_t out_rank = 0;
    xinfer_model_output_shape(model, &in, 1, 0, out_dims, 8, &out_rank);
    size_t n = 1;
    for (size_t d = 0; d < out_rank; ++d) n *= size_t(out_dims[d]);
    std::vector<float> y(n);
    const xinfer_tensor out{y.data(), XINFER_F32, out_rank, out_dims};
    for (auto _ : state) {
        if (xinfer_model_run(model, &in, 1, &out, 1, 0) != XINFER_OK) {
            state.SkipWithError(xinfer_last_error());
            break;
        }
        benchmark::DoNotOptimize(y.data());
    }
    xinfer_model_free(model);
    state.SetLabel(c.source);
}

// A call that does no work: the fixed cost of crossing the C interface (status, message reset, exception guard).
void BM_c_call(benchmark::State& state) {
    xinfer_model* model = nullptr;
    xinfer_model_load("builtin:mobilenet_v2?alpha=0.35&size=32", nullptr, &model);
    size_t count = 0;
    for (auto _ : state) {
        xinfer_model_input_count(model, &count);
        benchmark::DoNotOptimize(count);
    }
    xinfer_model_free(model);
}

}  // namespace

BENCHMARK(BM_cpp_run)->DenseRange(0, 1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_c_run)->DenseRange(0, 1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_c_call);
