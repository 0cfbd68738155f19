// Per-kernel benchmarks of the int8 kernels on MobileNetV2 1.0/224 layer shapes, single-threaded, compiled for the
// library's architecture (XINFER_ARCH); the fp32 GEMM and depthwise kernels on the same shapes for comparison.
// Weights are packed once, outside the timed loop. Counters: MACs per run, MAC/s, GFLOP/s (2 per MAC) and layers
// (occurrences in the network).
//   gemm_s8/M<H*W>_K<Cin>_N<Cout>   1x1 convolutions (and the classifier, M = 1; the stem as im2col, K 27)
//   gemm_s8_w7/...                  the same with 7-bit weights (the uint8-quads kernel)
//   dwconv3x3_s8/<H>x<W>x<C>_s<s>   depthwise convolutions, Keras padding
//   gemm_f32/..., dwconv3x3_f32/... the same shapes in fp32
#include <benchmark/benchmark.h>

#include "bench_common.hpp"

#include <random>
#include <string>
#include <vector>

#include "xinfer/config.hpp"
#include "xinfer/core/buffer.hpp"
#include "xinfer/kernels/f32/dwconv3x3.hpp"
#include "xinfer/kernels/f32/gemm.hpp"
#include "xinfer/kernels/s8/dwconv3x3.hpp"
#include "xinfer/kernels/s8/gemm.hpp"

namespace {

using Arch = XINFER_ARCH;
using xinfer::AlignedBuffer;
using xinfer::Pads;
using xinfer::Window2D;
namespace f32 = xinfer::kernels::f32;
namespace s8 = xinfer::kernels::s8;
using xinfer::bench::random_bytes;
using xinfer::bench::random_floats;

const xinfer::kernels::Requant kRelu6Q{-128, -128, -32};  // ReLU6 as int8 bounds: [q(0), q(6)]
const xinfer::kernels::MinMax kRelu6{0.0f, 6.0f};

// Every distinct 1x1 convolution (and the classifier and the stem's im2col GEMM) and depthwise convolution of
// MobileNetV2 1.0/224, with how often it occurs in the network (the "layers" counter), so that a network total is
// the sum of layers x time.
struct GemmShape { size_t M, K, N, layers; };
struct DwShape { size_t H, W, C; int stride; size_t layers; };

const GemmShape kGemmShapes[] = {
    {12544, 27, 32, 1}, {12544, 32, 16, 1}, {12544, 16, 96, 1}, {3136, 96, 24, 1}, {3136, 24, 144, 2},
    {3136, 144, 24, 1}, {784, 144, 32, 1},  {784, 32, 192, 3},  {784, 192, 32, 2}, {196, 192, 64, 1},
    {196, 64, 384, 4},  {196, 384, 64, 3},  {196, 384, 96, 1},  {196, 96, 576, 3}, {196, 576, 96, 2},
    {49, 576, 160, 1},  {49, 160, 960, 3},  {49, 960, 160, 2},  {49, 960, 320, 1}, {49, 320, 1280, 1},
    {1, 1280, 1000, 1}};
const DwShape kDwShapes[] = {{112, 112, 32, 1, 1}, {112, 112, 96, 2, 1}, {56, 56, 144, 1, 1}, {56, 56, 144, 2, 1},
                             {28, 28, 192, 1, 2},  {28, 28, 192, 2, 1},  {14, 14, 384, 1, 4}, {14, 14, 576, 1, 2},
                             {14, 14, 576, 2, 1},  {7, 7, 960, 1, 3}};

void set_mac_counters(benchmark::State& st, double macs, size_t layers) {
    xinfer::bench::set_macs(st, macs);
    st.counters["layers"] = double(layers);
    st.counters["MAC/s"] = benchmark::Counter(macs, benchmark::Counter::kIsIterationInvariantRate,
                                              benchmark::Counter::kIs1000);
}

std::vector<float> multipliers(size_t n) { return std::vector<float>(n, 1.0f / 4096.0f); }

// weight_bits 8: the int16-pairs kernel; 7: the uint8-quads one.
void bm_gemm_s8(benchmark::State& st, GemmShape s, int weight_bits) {
    const int w_max = (1 << (weight_bits - 1)) - 1;
    const AlignedBuffer a = random_bytes(s.M * s.K, 1), w = random_bytes(s.N * s.K, 2, -w_max - 1, w_max);
    const std::vector<int32_t> bias(s.N, 1000);
    const std::vector<float> mult = multipliers(s.N);
    AlignedBuffer packed(s8::packed_gemm_s8_bytes(s.N, s.K, w.as<int8_t>())), y(s.M * s.N);
    s8::pack_gemm_goi_s8(s.N, s.K, w.as<int8_t>(), bias.data(), -3, mult.data(), packed.data());
    for (auto _ : st) {
        s8::gemm_s8<Arch>(0, s.M, s.N, s.K, a.as<int8_t>(), s.K, packed.data(), y.as<int8_t>(), s.N, kRelu6Q);
        benchmark::DoNotOptimize(y.data());
        benchmark::ClobberMemory();
    }
    set_mac_counters(st, double(s.M * s.K * s.N), s.layers);
}

void bm_gemm_f32(benchmark::State& st, GemmShape s) {
    constexpr size_t NR = f32::GemmConfig<Arch>::nr;
    const AlignedBuffer a = random_floats(s.M * s.K, 1), w = random_floats(s.N * s.K, 2), bias = random_floats(s.N, 3);
    AlignedBuffer packed(f32::packed_gemm_floats(s.N, s.K, NR) * sizeof(float)), c(s.M * s.N * sizeof(float));
    f32::pack_gemm_goi(s.N, s.K, NR, w.as<float>(), bias.as<float>(), packed.as<float>());
    const size_t panels = (s.N + NR - 1) / NR;
    for (auto _ : st) {
        f32::gemm_f32<Arch>(0, s.M, 0, panels, s.N, s.K, a.as<float>(), s.K, packed.as<float>(), c.as<float>(), s.N,
                            kRelu6);
        benchmark::DoNotOptimize(c.data());
        benchmark::ClobberMemory();
    }
    set_mac_counters(st, double(s.M * s.K * s.N), s.layers);
}

Pads keras_pads(int stride) { return stride == 1 ? Pads{1, 1, 1, 1} : Pads{0, 0, 1, 1}; }

void bm_dwconv_s8(benchmark::State& st, DwShape s) {
    const Pads pads = keras_pads(s.stride);
    const size_t OH = size_t(Window2D::out_size(int(s.H), 3, s.stride, 1, pads.top + pads.bottom));
    const size_t OW = size_t(Window2D::out_size(int(s.W), 3, s.stride, 1, pads.left + pads.right));
    const AlignedBuffer x = random_bytes(s.H * s.W * s.C, 1), w = random_bytes(s.C * 9, 2);
    const std::vector<int32_t> bias(s.C, 100);
    const std::vector<float> mult = multipliers(s.C);
    AlignedBuffer packed(s8::packed_dwconv3x3_s8_bytes(s.C)), y(OH * OW * s.C);
    AlignedBuffer workspace(s8::dwconv3x3_s8_workspace_bytes(s.C));
    s8::pack_dwconv3x3_ghw_s8(s.C, w.as<int8_t>(), bias.data(), -3, mult.data(), packed.data());
    s8::prepare_dwconv3x3_s8_workspace(s.C, -3, workspace.data());
    for (auto _ : st) {
        s8::dwconv3x3_s8<Arch>(s.H, s.W, s.C, x.as<int8_t>(), packed.data(), workspace.data(), s.stride, pads,
                               y.as<int8_t>(), OH, OW, kRelu6Q, 0, OH);
        benchmark::DoNotOptimize(y.data());
        benchmark::ClobberMemory();
    }
    set_mac_counters(st, double(OH * OW * s.C * 9), s.layers);
}

void bm_dwconv_f32(benchmark::State& st, DwShape s) {
    constexpr size_t S = xsimd::batch<float, Arch>::size;
    const Pads pads = keras_pads(s.stride);
    const size_t OH = size_t(Window2D::out_size(int(s.H), 3, s.stride, 1, pads.top + pads.bottom));
    const size_t OW = size_t(Window2D::out_size(int(s.W), 3, s.stride, 1, pads.left + pads.right));
    const AlignedBuffer x = random_floats(s.H * s.W * s.C, 1), w = random_floats(s.C * 9, 2);
    const AlignedBuffer bias = random_floats(s.C, 3);
    AlignedBuffer packed(f32::packed_dwconv3x3_floats(s.C, S) * sizeof(float)), y(OH * OW * s.C * sizeof(float));
    f32::pack_dwconv3x3_ghw(s.C, S, w.as<float>(), bias.as<float>(), packed.as<float>());
    for (auto _ : st) {
        f32::dwconv3x3_f32<Arch>(s.H, s.W, s.C, x.as<float>(), packed.as<float>(), s.stride, pads,
                                 y.as<float>(), OH, OW, kRelu6, 0, OH);
        benchmark::DoNotOptimize(y.data());
        benchmark::ClobberMemory();
    }
    set_mac_counters(st, double(OH * OW * s.C * 9), s.layers);
}

bool register_all() {
    for (const GemmShape& s : kGemmShapes) {
        const std::string name = "M" + std::to_string(s.M) + "_K" + std::to_string(s.K) + "_N" + std::to_string(s.N);
        benchmark::RegisterBenchmark(("gemm_s8/" + name).c_str(), bm_gemm_s8, s, 8);
        benchmark::RegisterBenchmark(("gemm_s8_w7/" + name).c_str(), bm_gemm_s8, s, 7);
        benchmark::RegisterBenchmark(("gemm_f32/" + name).c_str(), bm_gemm_f32, s);
    }
    for (const DwShape& s : kDwShapes) {
        const std::string name = std::to_string(s.H) + "x" + std::to_string(s.W) + "x" + std::to_string(s.C) + "_s" +
                                 std::to_string(s.stride);
        benchmark::RegisterBenchmark(("dwconv3x3_s8/" + name).c_str(), bm_dwconv_s8, s);
        benchmark::RegisterBenchmark(("dwconv3x3_f32/" + name).c_str(), bm_dwconv_f32, s);
    }
    return true;
}

[[maybe_unused]] const bool registered = register_all();

}  // namespace
