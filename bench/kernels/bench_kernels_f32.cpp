// Per-kernel benchmarks of the fp32 kernels on every layer shape of MobileNetV2 1.0/224, single-threaded, compiled
// for the same architecture as the library (XINFER_ARCH). Weights are packed once, outside the timed loop.
//   gemm/M<H*W>_K<Cin>_N<Cout>    every 1x1 convolution (expand, project, Conv_1) and the classifier (M = 1)
//   dwconv3x3/<H>x<W>x<C>_s<s>    every depthwise convolution, Keras padding
//   conv_direct/...               the 3x3 stride-2 stem
//   global_avg_pool, add, softmax the remaining element-wise / reduction kernels
#include <benchmark/benchmark.h>

#include "bench_common.hpp"

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "xinfer/config.hpp"
#include "xinfer/core/buffer.hpp"
#include "xinfer/kernels/f32/conv_direct.hpp"
#include "xinfer/kernels/f32/dwconv3x3.hpp"
#include "xinfer/kernels/f32/eltwise.hpp"
#include "xinfer/kernels/f32/gemm.hpp"
#include "xinfer/kernels/f32/pool.hpp"
#include "xinfer/kernels/f32/softmax.hpp"

namespace {

using Arch = XINFER_ARCH;
using xinfer::AlignedBuffer;
using xinfer::Pads;
using xinfer::Window2D;
namespace f32 = xinfer::kernels::f32;
const xinfer::kernels::MinMax kRelu6{0.0f, 6.0f};

using xinfer::bench::random_floats;
using xinfer::bench::set_macs;

struct GemmShape { size_t M, K, N; };
struct DwShape { size_t H, W, C; int stride; };
struct AddShape { size_t H, W, C; };
struct Layers {
    std::vector<GemmShape> gemm;
    std::vector<DwShape> dw;
    std::vector<AddShape> add;
};

// The layer shapes of MobileNetV2 1.0/224, walked from the paper's stage table (t: expansion, c: channels,
// n: repeats, s: stride of the first block) exactly as models::mobilenet_v2_graph builds them. Shapes that occur
// more than once are listed once: 34 1x1 convolutions + classifier -> 20 GEMM shapes, 17 depthwise -> 10, 10 adds -> 5.
Layers mobilenet_v2_224() {
    struct Stage { size_t t, c, n; int s; };
    const Stage stages[] = {{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2},
                            {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
    Layers L;
    size_t hw = 112, ch = 32;  // after the stem
    for (const Stage& s : stages)
        for (size_t i = 0; i < s.n; ++i) {
            const int stride = i == 0 ? s.s : 1;
            const size_t hidden = ch * s.t;
            if (s.t != 1) L.gemm.push_back({hw * hw, ch, hidden});     // expand
            L.dw.push_back({hw, hw, hidden, stride});                  // depthwise
            hw /= size_t(stride);
            L.gemm.push_back({hw * hw, hidden, s.c});                  // project
            if (stride == 1 && ch == s.c) L.add.push_back({hw, hw, s.c});
            ch = s.c;
        }
    L.gemm.push_back({hw * hw, ch, 1280});  // Conv_1
    L.gemm.push_back({1, 1280, 1000});      // classifier
    return L;
}

template <class T, class Eq>
std::vector<T> unique(std::vector<T> v, Eq eq) {
    std::vector<T> out;
    for (const T& x : v)
        if (std::none_of(out.begin(), out.end(), [&](const T& y) { return eq(x, y); })) out.push_back(x);
    return out;
}

void bm_gemm(benchmark::State& st, GemmShape s) {
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
    set_macs(st, double(s.M * s.K * s.N));
}

void bm_dwconv(benchmark::State& st, DwShape s) {
    constexpr size_t S = xsimd::batch<float, Arch>::size;
    const Pads pads = s.stride == 1 ? Pads{1, 1, 1, 1} : Pads{0, 0, 1, 1};  // Keras
    const size_t OH = size_t(Window2D::out_size(int(s.H), 3, s.stride, 1, pads.top + pads.bottom));
    const size_t OW = size_t(Window2D::out_size(int(s.W), 3, s.stride, 1, pads.left + pads.right));
    const AlignedBuffer x = random_floats(s.H * s.W * s.C, 1), w = random_floats(s.C * 9, 2), bias = random_floats(s.C, 3);
    AlignedBuffer packed(f32::packed_dwconv3x3_floats(s.C, S) * sizeof(float)), y(OH * OW * s.C * sizeof(float));
    f32::pack_dwconv3x3_ghw(s.C, S, w.as<float>(), bias.as<float>(), packed.as<float>());
    for (auto _ : st) {
        f32::dwconv3x3_f32<Arch>(s.H, s.W, s.C, x.as<float>(), packed.as<float>(), s.stride, pads,
                                 y.as<float>(), OH, OW, kRelu6, 0, OH);
        benchmark::DoNotOptimize(y.data());
        benchmark::ClobberMemory();
    }
    set_macs(st, double(OH * OW * s.C * 9));
}

void bm_stem(benchmark::State& st) {
    const size_t NR = f32::conv_direct_nr(xsimd::batch<float, Arch>::size);
    const size_t H = 224, W = 224, Cin = 3, Cout = 32;
    Window2D win;
    win.kernel_h = win.kernel_w = 3;
    win.stride_h = win.stride_w = 2;
    win.pads = {0, 0, 1, 1};
    const size_t OH = size_t(win.out_h(int(H))), OW = size_t(win.out_w(int(W))), taps_cin = 9 * Cin;
    const AlignedBuffer x = random_floats(H * W * Cin, 1), w = random_floats(Cout * taps_cin, 2), bias = random_floats(Cout, 3);
    AlignedBuffer packed(f32::packed_conv_direct_floats(Cout, taps_cin, NR) * sizeof(float)), y(OH * OW * Cout * sizeof(float));
    f32::pack_conv_direct_ohwi(Cout, taps_cin, NR, w.as<float>(), bias.as<float>(), packed.as<float>());
    for (auto _ : st) {
        f32::conv_direct_f32<Arch>(H, W, Cin, x.as<float>(), win, Cout, packed.as<float>(), y.as<float>(), OW, kRelu6, 0,
                                   OH);
        benchmark::DoNotOptimize(y.data());
        benchmark::ClobberMemory();
    }
    set_macs(st, double(OH * OW * Cout * taps_cin));
}

// HW and C come in as arguments: with compile-time sizes GCC warns about the (dead) scalar tail loop.
void bm_global_avg_pool(benchmark::State& st, size_t HW, size_t C) {
    const AlignedBuffer x = random_floats(HW * C, 1);
    AlignedBuffer y(C * sizeof(float));
    for (auto _ : st) {
        f32::global_avg_pool_f32<Arch>(HW, C, x.as<float>(), y.as<float>(), 0, C);
        benchmark::DoNotOptimize(y.data());
        benchmark::ClobberMemory();
    }
    st.SetBytesProcessed(int64_t(st.iterations()) * int64_t((HW + 1) * C * sizeof(float)));
}

void bm_add(benchmark::State& st, AddShape s) {
    const size_t n = s.H * s.W * s.C;
    const AlignedBuffer a = random_floats(n, 1), b = random_floats(n, 2);
    AlignedBuffer y(n * sizeof(float));
    for (auto _ : st) {
        f32::add_f32<Arch>(n, a.as<float>(), b.as<float>(), y.as<float>(), xinfer::kernels::MinMax{});
        benchmark::DoNotOptimize(y.data());
        benchmark::ClobberMemory();
    }
    st.SetBytesProcessed(int64_t(st.iterations()) * int64_t(3 * n * sizeof(float)));
}

void bm_softmax(benchmark::State& st, size_t n) {
    const AlignedBuffer x = random_floats(n, 1);
    AlignedBuffer y(n * sizeof(float));
    for (auto _ : st) {
        f32::softmax_f32<Arch>(n, x.as<float>(), y.as<float>(), 0, 1);
        benchmark::DoNotOptimize(y.data());
        benchmark::ClobberMemory();
    }
    st.SetBytesProcessed(int64_t(st.iterations()) * int64_t(2 * n * sizeof(float)));
}

std::string hwc(size_t H, size_t W, size_t C) {
    return std::to_string(H) + "x" + std::to_string(W) + "x" + std::to_string(C);
}

bool register_all() {
    const Layers L = mobilenet_v2_224();
    for (const GemmShape& s : unique(L.gemm, [](auto& a, auto& b) { return a.M == b.M && a.K == b.K && a.N == b.N; }))
        benchmark::RegisterBenchmark(("gemm/M" + std::to_string(s.M) + "_K" + std::to_string(s.K) + "_N" +
                                      std::to_string(s.N)).c_str(), bm_gemm, s);
    for (const DwShape& s :
         unique(L.dw, [](auto& a, auto& b) { return a.H == b.H && a.C == b.C && a.stride == b.stride; }))
        benchmark::RegisterBenchmark(("dwconv3x3/" + hwc(s.H, s.W, s.C) + "_s" + std::to_string(s.stride)).c_str(),
                                     bm_dwconv, s);
    benchmark::RegisterBenchmark("conv_direct/224x224x3_to_32_k3_s2", bm_stem);
    benchmark::RegisterBenchmark("global_avg_pool/7x7x1280", bm_global_avg_pool, size_t(49), size_t(1280));
    for (const AddShape& s : unique(L.add, [](auto& a, auto& b) { return a.H == b.H && a.C == b.C; }))
        benchmark::RegisterBenchmark(("add/" + hwc(s.H, s.W, s.C)).c_str(), bm_add, s);
    benchmark::RegisterBenchmark("softmax/1000", bm_softmax, size_t(1000));
    return true;
}

[[maybe_unused]] const bool registered = register_all();

}  // namespace
