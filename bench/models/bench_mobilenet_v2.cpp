// End-to-end MobileNetV2: models::mobilenet_v2_random -> optimize -> Executor, planned for batch 1 and run with a
// ThreadPool of 1 and 2 threads (1.0/224) and 1 thread (0.35/96). Counters:
//   MACs              multiply-accumulates of one inference: the sum of op->macs over the executor steps
//                     (convolutions and the classifier: 300.77M for 1.0/224)
//   GMAC/s            MACs per second, in units of 1e9
//   fraction_of_peak  (MACs/s) / (16 MAC/cycle * clock * threads); 16 = two 8-lane fp32 FMAs per cycle (AVX2, or
//                     Zen 4's AVX-512 at one 16-lane FMA per cycle), clock measured once at startup (below)
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "xinfer/graph/executor.hpp"
#include "xinfer/graph/passes.hpp"
#include "xinfer/models/mobilenet_v2.hpp"

namespace {

constexpr double kMacsPerCycle = 16.0;

// Core clock in Hz. Method: an integer add has a latency of one cycle, so a chain of N adds where each depends on
// the previous one takes N cycles whatever the core's width. The empty asm after each add makes the value opaque to
// the compiler (no folding of the chain into one add, no vectorization) without emitting an instruction; the loop
// counter runs in parallel on other ALUs. Timed with steady_clock, best of 5 runs of 2^26 adds (about 20 ms each
// at 3 GHz). Falls back to "cpu MHz" of /proc/cpuinfo when the result is implausible.
double measure_clock_hz() {
    constexpr uint64_t kAdds = uint64_t(1) << 26;
    double best = 1e300;
    uint64_t x = 0;
    for (int rep = 0; rep < 5; ++rep) {
        const auto t0 = std::chrono::steady_clock::now();
        for (uint64_t i = 0; i < kAdds; i += 8) {
#define XINFER_BENCH_ADD x += 1; asm volatile("" : "+r"(x));
            XINFER_BENCH_ADD XINFER_BENCH_ADD XINFER_BENCH_ADD XINFER_BENCH_ADD
            XINFER_BENCH_ADD XINFER_BENCH_ADD XINFER_BENCH_ADD XINFER_BENCH_ADD
#undef XINFER_BENCH_ADD
        }
        best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    benchmark::DoNotOptimize(x);
    const double hz = double(kAdds) / best;
    if (hz > 3e8 && hz < 1e10) return hz;
    std::ifstream cpuinfo("/proc/cpuinfo");
    for (std::string line; std::getline(cpuinfo, line);)
        if (line.rfind("cpu MHz", 0) == 0) return std::stod(line.substr(line.find(':') + 1)) * 1e6;
    return hz;
}

const double kClockHz = [] {
    const double hz = measure_clock_hz();
    benchmark::AddCustomContext("measured_clock_GHz", std::to_string(hz * 1e-9));
    return hz;
}();

// One executor per model variant, built on first use (building re-estimates batch norm on random images).
const xinfer::Executor& mobilenet_v2(double alpha, int size) {
    static std::map<std::pair<double, int>, std::unique_ptr<xinfer::Executor>> cache;
    auto& e = cache[{alpha, size}];
    if (!e) {
        xinfer::Graph g = xinfer::models::mobilenet_v2_random({alpha, size});
        xinfer::optimize(g);
        e = std::make_unique<xinfer::Executor>(std::move(g));
    }
    return *e;
}

void bm_mobilenet_v2(benchmark::State& st, double alpha, int size, int threads) {
    const xinfer::Executor& ex = mobilenet_v2(alpha, size);
    const xinfer::ExecutionPlan plan = ex.plan({{1, size, size, 3}}, threads);
    double macs = 0;
    for (size_t s = 0; s < ex.steps().size(); ++s)
        macs += double(ex.steps()[s].op->macs(plan.step_inputs[s], plan.shapes[size_t(ex.steps()[s].output)]));
    std::vector<float> input(size_t(size) * size_t(size) * 3), output(1000);
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> pixel(0.01f, 1.0f);
    for (float& v : input) v = pixel(rng);
    xinfer::ThreadPool pool(threads);
    xinfer::Arena arena;
    ex.run(plan, arena, pool, {input.data()}, {output.data()});  // warm-up: commits the arena
    const auto t0 = std::chrono::steady_clock::now();
    for (auto _ : st) {
        ex.run(plan, arena, pool, {input.data()}, {output.data()});
        benchmark::DoNotOptimize(output.data());
        benchmark::ClobberMemory();
    }
    // Wall time of the loop, so the dimensionless fraction is a plain counter (a rate counter would print "/s").
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    using C = benchmark::Counter;
    st.counters["MACs"] = C(macs, C::kDefaults, C::kIs1000);
    st.counters["GMAC/s"] = C(macs * 1e-9, C::kIsIterationInvariantRate);
    st.counters["fraction_of_peak"] =
        C(macs * double(st.iterations()) / seconds / (kMacsPerCycle * kClockHz * threads));
}

bool register_all() {
    for (int threads : {1, 2})
        benchmark::RegisterBenchmark(("mobilenet_v2_1.0_224/threads:" + std::to_string(threads)).c_str(),
                                     bm_mobilenet_v2, 1.0, 224, threads)
            ->UseRealTime()
            ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark("mobilenet_v2_0.35_96/threads:1", bm_mobilenet_v2, 0.35, 96, 1)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
    return true;
}

[[maybe_unused]] const bool registered = register_all();

}  // namespace
