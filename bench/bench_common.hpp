#pragma once
// Helpers shared by the benchmark programs.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>

#include "xinfer/core/buffer.hpp"

namespace xinfer::bench {

// n floats, uniform in +-[0.25, 1] (never zero), deterministic per seed.
inline AlignedBuffer random_floats(size_t n, unsigned seed) {
    AlignedBuffer b(n * sizeof(float));
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> mag(0.25f, 1.0f);
    for (size_t i = 0; i < n; ++i) b.as<float>()[i] = (rng() & 1 ? 1.0f : -1.0f) * mag(rng);
    return b;
}

// n int8 values, uniform in [lo, hi], deterministic per seed.
inline AlignedBuffer random_bytes(size_t n, unsigned seed, int lo = -128, int hi = 127) {
    AlignedBuffer b(n);
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> dist(lo, hi);
    for (size_t i = 0; i < n; ++i) b.as<int8_t>()[i] = int8_t(dist(rng));
    return b;
}

// "MACs" per run and "GFLOP/s" = 2 * MACs per iteration as a rate.
inline void set_macs(benchmark::State& st, double macs) {
    st.counters["MACs"] = benchmark::Counter(macs, benchmark::Counter::kDefaults, benchmark::Counter::kIs1000);
    st.counters["GFLOP/s"] =
        benchmark::Counter(2.0 * macs, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
}

}  // namespace xinfer::bench
