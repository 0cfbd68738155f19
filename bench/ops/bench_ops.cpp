// Per-op benchmarks: ops built through their constructors (so their kernel choice is what is measured) on a
// representative subset of MobileNetV2 1.0/224's layers, fp32 and int8 side by side, with a ThreadPool of 1 and 2
// threads. The label is the op's kind(), i.e. the kernel variant it picked.
//   Conv2D/<layer>/..., Conv2D_s8/<layer>/...   the stem, an expand, depthwise stride 1 and 2, a project, Conv_1
//   Add/..., Add_s8/...                         a residual add
//   Dense/..., Dense_s8/..., Dense_s8_f32out/... the classifier (int8 input; int8 or fp32 output)
// Counters: MACs and GFLOP/s (2 per MAC) for convolutions and dense layers; items (elements) and bytes per second
// for the add.
#include <benchmark/benchmark.h>

#include "bench_common.hpp"

#include <cstdint>
#include <string>
#include <vector>

#include "xinfer/core/buffer.hpp"
#include "xinfer/core/thread_pool.hpp"
#include "xinfer/ops/conv2d.hpp"
#include "xinfer/ops/dense.hpp"
#include "xinfer/ops/eltwise.hpp"

namespace {

using xinfer::AlignedBuffer;
using xinfer::Shape;
using xinfer::ops::KernelSet;
using xinfer::ops::QuantParams;

using xinfer::bench::random_bytes;
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

const xinfer::kernels::MinMax kRelu6{0.0f, 6.0f};
// int8 activations: inputs after a ReLU6 (zero point -128), outputs of a layer without a clamp around 0.
const QuantParams kRelu6Out{6.0f / 255.0f, -128}, kLinearOut{0.1f, 3};
const std::vector<float> kWeightScales(1280, 0.004f);

// Runs `op` on the given inputs until the benchmark stops; labels it with kind(). Returns the output shape.
Shape run_op(benchmark::State& st, const xinfer::ops::Op& op, const std::vector<Shape>& in,
             const std::vector<const AlignedBuffer*>& inputs, int threads) {
    const Shape out = op.output_shape(in);
    AlignedBuffer y(xinfer::checked_numel(out) * xinfer::size_of(op.output_dtype()));
    AlignedBuffer ws(op.workspace_bytes(in, threads));
    xinfer::ThreadPool pool(threads);
    std::vector<const void*> pointers;
    for (const AlignedBuffer* x : inputs) pointers.push_back(x->data());
    const xinfer::ops::RunArgs args{pointers.data(), in.data(), y.data(), &out, ws.data(), &pool};
    for (auto _ : st) {
        op.run(args);
        benchmark::DoNotOptimize(y.data());
        benchmark::ClobberMemory();
    }
    st.SetLabel(op.kind());
    return out;
}

void run_with_macs(benchmark::State& st, const xinfer::ops::Op& op, const Shape& in_shape, const AlignedBuffer& x,
                   int threads) {
    const std::vector<Shape> in{in_shape};
    const Shape out = run_op(st, op, in, {&x}, threads);
    xinfer::bench::set_macs(st, double(op.macs(in, out)));
}

xinfer::Window2D conv_window(const ConvCase& c) {
    xinfer::Window2D w;
    w.kernel_h = w.kernel_w = c.k;
    w.stride_h = w.stride_w = c.stride;
    w.pads = c.pads;
    return w;
}

void bm_conv(benchmark::State& st, const ConvCase& c, int threads) {
    xinfer::ops::Conv2DParams p;
    p.window = conv_window(c);
    p.groups = c.depthwise ? size_t(c.cin) : 1;
    if (c.relu6) p.clamp = kRelu6;
    const size_t cin_g = c.depthwise ? 1 : size_t(c.cin);
    const AlignedBuffer w = random_floats(size_t(c.cout * c.k * c.k) * cin_g, 2);
    const AlignedBuffer bias = random_floats(size_t(c.cout), 3);
    const xinfer::ops::Conv2D<float> op(p, w.as<float>(), bias.as<float>(), size_t(c.cout), cin_g,
                                        KernelSet::optimized, c.layer);
    const Shape in{1, c.H, c.W, c.cin};
    run_with_macs(st, op, in, random_floats(xinfer::checked_numel(in), 1), threads);
}

void bm_conv_s8(benchmark::State& st, const ConvCase& c, int threads) {
    xinfer::ops::QLinearParams q;
    q.x = c.k == 3 && !c.depthwise ? kLinearOut : kRelu6Out;  // the stem reads the quantized image
    q.y = c.relu6 ? kRelu6Out : kLinearOut;
    q.w_scale = kWeightScales.data();
    q.w_scale_count = size_t(c.cout);
    if (c.relu6) q.clamp = kRelu6;
    const size_t cin_g = c.depthwise ? 1 : size_t(c.cin);
    const AlignedBuffer w = random_bytes(size_t(c.cout * c.k * c.k) * cin_g, 2);
    const std::vector<int32_t> bias(size_t(c.cout), 100);
    const xinfer::ops::Conv2D<int8_t> op(conv_window(c), c.depthwise ? size_t(c.cin) : 1, q, w.as<int8_t>(),
                                         bias.data(), size_t(c.cout), cin_g, KernelSet::optimized, c.layer);
    const Shape in{1, c.H, c.W, c.cin};
    run_with_macs(st, op, in, random_bytes(xinfer::checked_numel(in), 1), threads);
}

// MobileNetV2's classifier: 1280 -> 1000, batch 1.
constexpr size_t kFeatures = 1280, kClasses = 1000;

void bm_dense(benchmark::State& st, int threads) {
    const AlignedBuffer w = random_floats(kClasses * kFeatures, 2), bias = random_floats(kClasses, 3);
    const xinfer::ops::Dense<float> op(w.as<float>(), bias.as<float>(), kClasses, kFeatures, {},
                                       KernelSet::optimized, "classifier");
    run_with_macs(st, op, {1, int64_t(kFeatures)}, random_floats(kFeatures, 1), threads);
}

void bm_dense_s8(benchmark::State& st, bool float_output, int threads) {
    xinfer::ops::QLinearParams q;
    q.x = {0.02f, -128};
    q.y = kLinearOut;
    q.w_scale = kWeightScales.data();
    q.w_scale_count = 1;
    q.float_output = float_output;
    const AlignedBuffer w = random_bytes(kClasses * kFeatures, 2);
    const std::vector<int32_t> bias(kClasses, 100);
    const xinfer::ops::Dense<int8_t> op(q, w.as<int8_t>(), bias.data(), kClasses, kFeatures, KernelSet::optimized,
                                        "classifier");
    run_with_macs(st, op, {1, int64_t(kFeatures)}, random_bytes(kFeatures, 1), threads);
}

// block_2_add: 56x56x24.
const Shape kAddShape{1, 56, 56, 24};

void set_add_counters(benchmark::State& st, size_t element_bytes) {
    const int64_t n = int64_t(xinfer::checked_numel(kAddShape));
    st.SetItemsProcessed(int64_t(st.iterations()) * n);
    st.SetBytesProcessed(int64_t(st.iterations()) * 3 * n * int64_t(element_bytes));
}

void bm_add(benchmark::State& st, int threads) {
    const xinfer::ops::Add<float> op({}, KernelSet::optimized, "block_2_add");
    const size_t n = xinfer::checked_numel(kAddShape);
    const AlignedBuffer a = random_floats(n, 1), b = random_floats(n, 2);
    run_op(st, op, {kAddShape, kAddShape}, {&a, &b}, threads);
    set_add_counters(st, sizeof(float));
}

void bm_add_s8(benchmark::State& st, int threads) {
    const xinfer::ops::Add<int8_t> op(kLinearOut, {0.12f, -4}, {0.15f, 1}, {}, KernelSet::optimized, "block_2_add");
    const size_t n = xinfer::checked_numel(kAddShape);
    const AlignedBuffer a = random_bytes(n, 1), b = random_bytes(n, 2);
    run_op(st, op, {kAddShape, kAddShape}, {&a, &b}, threads);
    set_add_counters(st, 1);
}

std::string conv_name(const char* op, const ConvCase& c) {
    return std::string(op) + "/" + c.layer + "/" + std::to_string(c.H) + "x" + std::to_string(c.W) + "x" +
           std::to_string(c.cin) + "_to_" + std::to_string(c.cout) + "_k" + std::to_string(c.k) + "_s" +
           std::to_string(c.stride);
}

template <class F, class... Args>
void register_threads(const std::string& name, F fn, Args... args) {
    for (int threads : {1, 2})
        benchmark::RegisterBenchmark((name + "/threads:" + std::to_string(threads)).c_str(), fn, args..., threads)
            ->UseRealTime();
}

bool register_all() {
    for (const ConvCase& c : kCases) {
        register_threads(conv_name("Conv2D", c), bm_conv, c);
        register_threads(conv_name("Conv2D_s8", c), bm_conv_s8, c);
    }
    register_threads("Add/block_2_add/56x56x24", bm_add);
    register_threads("Add_s8/block_2_add/56x56x24", bm_add_s8);
    register_threads("Dense/classifier/1280_to_1000", bm_dense);
    register_threads("Dense_s8/classifier/1280_to_1000", bm_dense_s8, false);
    register_threads("Dense_s8_f32out/classifier/1280_to_1000", bm_dense_s8, true);
    return true;
}

[[maybe_unused]] const bool registered = register_all();

}  // namespace
