// Per-op benchmarks: ops::Conv2D<float> built through the op (so its kernel choice is what is measured) on a
// representative subset of MobileNetV2 1.0/224's convolutions, with a ThreadPool of 1 and 2 threads. The label
// is the op's kind(), i.e. the kernel variant it picked.
#include <benchmark/benchmark.h>

#include "bench_common.hpp"

#include <random>
#include <string>
#include <vector>

#include "xinfer/core/buffer.hpp"
#include "xinfer/core/thread_pool.hpp"
#include "xinfer/ops/conv2d.hpp"

namespace {

using xinfer::AlignedBuffer;
using xinfer::Shape;

using xinfer::bench::random_floats;

struct ConvCase {
    const char* layer;
    int H, W, cin, cout, k, stride;
    xinfer::Pads pads;
    bool depthwise, relu6;
};

// Keras padding: stride 1 -> {1,1,1,1} for 3x3, stride 2 -> bottom/right only.
const ConvCase kCases[] = {
    {"Conv1", 224, 224, 3, 32, 3, 2, {0, 0, 1, 1}, false, true},
    {"block_2_expand", 56, 56, 24, 144, 1, 1, {}, false, true},
    {"block_2_depthwise", 56, 56, 144, 144, 3, 1, {1, 1, 1, 1}, true, true},
    {"block_3_depthwise", 56, 56, 144, 144, 3, 2, {0, 0, 1, 1}, true, true},
    {"block_2_project", 56, 56, 144, 24, 1, 1, {}, false, false},
    {"Conv_1", 7, 7, 320, 1280, 1, 1, {}, false, true},
};

void bm_conv(benchmark::State& st, const ConvCase& c, int threads) {
    xinfer::ops::Conv2DParams p;
    p.window.kernel_h = p.window.kernel_w = c.k;
    p.window.stride_h = p.window.stride_w = c.stride;
    p.window.pads = c.pads;
    p.groups = c.depthwise ? size_t(c.cin) : 1;
    if (c.relu6) p.clamp = {0.0f, 6.0f};
    const size_t cin_g = c.depthwise ? 1 : size_t(c.cin);
    const AlignedBuffer w = random_floats(size_t(c.cout * c.k * c.k) * cin_g, 2), bias = random_floats(size_t(c.cout), 3);
    const xinfer::ops::Conv2D<float> op(p, w.as<float>(), bias.as<float>(), size_t(c.cout), cin_g,
                                        xinfer::ops::KernelSet::optimized, c.layer);
    const std::vector<Shape> in{{1, c.H, c.W, c.cin}};
    const Shape out = op.output_shape(in);
    const AlignedBuffer x = random_floats(xinfer::checked_numel(in[0]), 1);
    AlignedBuffer y(xinfer::checked_numel(out) * sizeof(float)), ws(op.workspace_bytes(in, threads));
    xinfer::ThreadPool pool(threads);
    const void* inputs[] = {x.data()};
    const xinfer::ops::RunArgs args{inputs, in.data(), y.data(), &out, ws.data(), &pool};
    for (auto _ : st) {
        op.run(args);
        benchmark::DoNotOptimize(y.data());
        benchmark::ClobberMemory();
    }
    const double macs = double(op.macs(in, out));
    st.SetLabel(op.kind());
    st.counters["MACs"] = benchmark::Counter(macs, benchmark::Counter::kDefaults, benchmark::Counter::kIs1000);
    st.counters["GFLOP/s"] =
        benchmark::Counter(2.0 * macs, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
}

bool register_all() {
    for (const ConvCase& c : kCases)
        for (int threads : {1, 2}) {
            const std::string name = std::string("Conv2D/") + c.layer + "/" + std::to_string(c.H) + "x" +
                                     std::to_string(c.W) + "x" + std::to_string(c.cin) + "_to_" +
                                     std::to_string(c.cout) + "_k" + std::to_string(c.k) + "_s" +
                                     std::to_string(c.stride) + "/threads:" + std::to_string(threads);
            benchmark::RegisterBenchmark(name.c_str(), bm_conv, c, threads)->UseRealTime();
        }
    return true;
}

[[maybe_unused]] const bool registered = register_all();

}  // namespace
