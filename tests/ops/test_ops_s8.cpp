// The int8 ops with the optimized kernels against the same ops with the reference kernels, and against the
// reference kernels called directly with multipliers and output stages worked out here from the scales, byte for
// byte: Quantize, Dequantize, every Conv2D<int8_t> variant (gemm 1x1, dwconv3x3 stride 1 and 2, im2col + GEMM for
// the stem, grouped, dilated, strided and non-square convolutions), Dense<int8_t> with int8 and fp32 outputs,
// Add<int8_t> with and without a clamp, GlobalAvgPool<int8_t>. Batch 1 and 3, one and three threads, odd shapes.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <set>
#include <vector>

#include "testing.hpp"
#include "xinfer/kernels/ref/conv2d.hpp"
#include "xinfer/kernels/ref/eltwise.hpp"
#include "xinfer/kernels/ref/gemm.hpp"
#include "xinfer/kernels/ref/pool.hpp"
#include "xinfer/kernels/ref/requantize.hpp"
#include "xinfer/ops/conv2d.hpp"
#include "xinfer/ops/dense.hpp"
#include "xinfer/ops/eltwise.hpp"
#include "xinfer/ops/pool.hpp"
#include "xinfer/ops/quantize.hpp"

using namespace xinfer;
using namespace xinfer::testing;
using kernels::MinMax;
using kernels::Requant;
using ops::KernelSet;
using ops::QuantParams;
namespace ref = xinfer::kernels::ref;

namespace {

using Raw = AlignedArray<unsigned char>;
const MinMax kRelu6{0.0f, 6.0f};

// The output of one run of `op` (any element types), with a pool of `threads`.
Raw run_op(const ops::Op& op, const std::vector<const void*>& inputs, const std::vector<Shape>& shapes, int threads) {
    const Shape out = op.output_shape(shapes);
    Raw y(checked_numel(out) * size_of(op.output_dtype()));
    AlignedBuffer ws(op.workspace_bytes(shapes, threads));
    ThreadPool pool(threads);
    op.run({inputs.data(), shapes.data(), y.data(), &out, ws.data(), &pool});
    return y;
}

const int8_t* bytes_of(const void* p) { return static_cast<const int8_t*>(p); }

// The optimized op against the reference op, and against the reference kernels called directly (`direct`).
void check_same(const Raw& fast, const Raw& reference_op, const void* direct, uint32_t seed) {
    REQUIRE(fast.size() == reference_op.size());
    {
        INFO("the optimized op against the reference op");
        check_bytes(bytes_of(fast.data()), bytes_of(reference_op.data()), fast.size(), seed);
    }
    {
        INFO("the optimized op against the reference kernels called directly");
        check_bytes(bytes_of(fast.data()), bytes_of(direct), fast.size(), seed);
    }
}

// Guards against data that could not expose a difference: int8 outputs (32 or more) take many values, at least
// one in four of them distinct.
void check_varied(const void* y, size_t n, size_t min_distinct = 16) {
    if (n < 32) return;
    const std::set<int8_t> distinct(bytes_of(y), bytes_of(y) + n);
    INFO(distinct.size(), " distinct values in ", n, " outputs");
    CHECK(distinct.size() >= std::min(min_distinct, n / 4));
}

float uniform(std::mt19937& rng, float lo, float hi) { return std::uniform_real_distribution<float>(lo, hi)(rng); }

// An activation's parameters: the zero point at the bottom of the range (as after a ReLU) on every third seed,
// near the middle otherwise.
QuantParams random_params(std::mt19937& rng, uint32_t seed, float scale_lo, float scale_hi) {
    const int zero_point = seed % 3 == 0 ? -128 : std::uniform_int_distribution<int>(-40, 40)(rng);
    return {uniform(rng, scale_lo, scale_hi), zero_point};
}

// The int8 output stage of a real-valued clamp for output parameters y (the spec, written out here).
Requant output_stage(QuantParams y, MinMax clamp) {
    auto bound = [&](float v, int32_t unbounded) {
        if (!std::isfinite(v)) return unbounded;
        return int32_t(std::clamp(std::nearbyint(double(v) / double(y.scale)) + y.zero_point, -128.0, 127.0));
    };
    return {y.zero_point, bound(clamp.min, -128), bound(clamp.max, 127)};
}

// Typical magnitude of sum_k (x - x_zero) * w over k values of int8 data (rms 74 about 0).
double accumulator_rms(size_t k, int32_t x_zero) {
    return std::sqrt(double(k)) * 74.0 * std::sqrt(74.0 * 74.0 + double(x_zero) * x_zero);
}

// An int8 layer with weights: its parameters and, worked out here, its multipliers s_x * s_w[c] / s_y.
struct LinearData {
    ops::QLinearParams q;
    std::vector<float> w_scale, multiplier;
    std::vector<int32_t> bias;
};

// Parameters of an int8 layer with weights: per-channel weight scales on two seeds out of three, the output scale
// set so that the outputs spread over about +-40 steps; `relu`: clamped to [0, 49.7 output steps] (real values).
LinearData random_linear(std::mt19937& rng, uint32_t seed, size_t n_out, size_t k, bool relu) {
    LinearData d;
    d.q.x = random_params(rng, seed, 0.02f, 0.05f);
    d.w_scale.resize(seed % 3 == 2 ? 1 : n_out);
    for (float& s : d.w_scale) s = uniform(rng, 0.004f, 0.012f);
    const double rms = accumulator_rms(k, d.q.x.zero_point);
    d.q.y = {float(double(d.q.x.scale) * 0.008 * rms / 40.0), std::uniform_int_distribution<int>(-30, 30)(rng)};
    d.q.w_scale = d.w_scale.data();
    d.q.w_scale_count = d.w_scale.size();
    if (relu) d.q.clamp = {0.0f, 49.7f * d.q.y.scale};
    for (size_t c = 0; c < n_out; ++c)
        d.multiplier.push_back(d.q.x.scale * d.w_scale[d.w_scale.size() == 1 ? 0 : c] / d.q.y.scale);
    std::uniform_int_distribution<int32_t> bias(-int32_t(rms), int32_t(rms));
    for (size_t c = 0; c < n_out; ++c) d.bias.push_back(bias(rng));
    return d;
}

// Output parameters that map the channel means of the first image of x [HW][C] onto about +-100 / spread steps, or
// fewer where the means lie far from 0.
QuantParams output_params_for(const Bytes& x, size_t HW, size_t C, QuantParams xp, float spread) {
    std::vector<double> mean(C, 0.0);
    for (size_t p = 0; p < HW; ++p)
        for (size_t c = 0; c < C; ++c) mean[c] += (double(x[p * C + c]) - xp.zero_point) * xp.scale / double(HW);
    const auto [lo, hi] = std::minmax_element(mean.begin(), mean.end());
    const double center = (*hi + *lo) / 2.0, scale = std::max(*hi - *lo, std::fabs(center)) / 200.0 * spread;
    return {float(scale), int32_t(std::clamp(std::nearbyint(-center / scale), -128.0, 127.0))};
}

struct ConvCase {
    int kh, kw, stride, dilation;
    Pads pads;
    size_t groups, cin, cout;
    int H, W;
    ops::Conv2D<int8_t>::Variant variant;
};

void conv_case(const ConvCase& cs, int batch, int threads, uint32_t seed) {
    CAPTURE(seed);
    std::mt19937 rng(seed);
    Window2D win;
    win.kernel_h = cs.kh, win.kernel_w = cs.kw;
    win.stride_h = win.stride_w = cs.stride;
    win.dilation_h = win.dilation_w = cs.dilation;
    win.pads = cs.pads;
    const size_t cin_g = cs.cin / cs.groups, k = size_t(cs.kh * cs.kw) * cin_g;
    const LinearData d = random_linear(rng, seed, cs.cout, k, seed % 2);
    const Bytes w = random_bytes(cs.cout * k, rng);
    const int32_t* bias = seed % 5 == 0 ? nullptr : d.bias.data();
    const ops::Conv2D<int8_t> fast(win, cs.groups, d.q, w.data(), bias, cs.cout, cin_g, KernelSet::optimized, "conv");
    const ops::Conv2D<int8_t> reference(win, cs.groups, d.q, w.data(), bias, cs.cout, cin_g, KernelSet::reference,
                                        "conv");
    CAPTURE(fast.kind());
    REQUIRE(fast.variant() == cs.variant);
    const Shape xs{batch, cs.H, cs.W, int64_t(cs.cin)};
    const Bytes x = random_bytes(checked_numel(xs), rng);
    const Raw got = run_op(fast, {x.data()}, {xs}, threads);
    const Raw want = run_op(reference, {x.data()}, {xs}, 1);
    const size_t H = size_t(cs.H), W = size_t(cs.W), OH = size_t(win.out_h(cs.H)), OW = size_t(win.out_w(cs.W));
    Bytes direct(size_t(batch) * OH * OW * cs.cout);
    for (size_t n = 0; n < size_t(batch); ++n)
        ref::conv2d_nhwc_s8(H, W, cs.cin, x.data() + n * H * W * cs.cin, d.q.x.zero_point, win, cs.groups, cs.cout,
                            w.data(), bias, d.multiplier.data(), direct.data() + n * OH * OW * cs.cout,
                            output_stage(d.q.y, d.q.clamp));
    check_same(got, want, direct.data(), seed);
    check_varied(got.data(), got.size());
}

void dense_case(size_t n_out, size_t k, int batch, int threads, bool float_output, uint32_t seed) {
    CAPTURE(seed);
    std::mt19937 rng(seed);
    LinearData d = random_linear(rng, seed, n_out, k, seed % 2);
    d.q.float_output = float_output;
    const MinMax clamp = d.q.clamp;
    const Bytes w = random_bytes(n_out * k, rng);
    const int32_t* bias = seed % 5 == 0 ? nullptr : d.bias.data();
    const ops::Dense<int8_t> fast(d.q, w.data(), bias, n_out, k, KernelSet::optimized, "fc");
    const ops::Dense<int8_t> reference(d.q, w.data(), bias, n_out, k, KernelSet::reference, "fc");
    CAPTURE(fast.kind());
    CHECK(fast.output_dtype() == (float_output ? DataType::f32 : DataType::s8));
    const size_t M = size_t(batch);
    const Shape xs = seed % 3 ? Shape{batch, int64_t(k)} : Shape{batch, 1, 1, int64_t(k)};
    const Bytes x = random_bytes(M * k, rng);
    const Raw got = run_op(fast, {x.data()}, {xs}, threads), want = run_op(reference, {x.data()}, {xs}, 1);
    if (!float_output) {
        Bytes direct(M * n_out);
        ref::gemm_s8(M, n_out, k, x.data(), k, d.q.x.zero_point, w.data(), bias, d.multiplier.data(), direct.data(),
                     n_out, output_stage(d.q.y, clamp));
        check_same(got, want, direct.data(), seed);
        return check_varied(got.data(), got.size());
    }
    // fp32 output: float(int32 sum) * s_x * s_w[n], clamped.
    std::vector<int32_t> sums(M * n_out);
    ref::gemm_s8_sums(M, n_out, k, x.data(), k, d.q.x.zero_point, w.data(), bias, sums.data(), n_out);
    Floats direct(M * n_out);
    for (size_t i = 0; i < M * n_out; ++i) {
        const float v = float(sums[i]) * (d.q.x.scale * d.w_scale[d.w_scale.size() == 1 ? 0 : i % n_out]);
        direct[i] = std::min(std::max(v, clamp.min), clamp.max);
    }
    check_same(got, want, direct.data(), seed);
    check_not_constant(direct.data(), direct.size());
}

}  // namespace

TEST_CASE("Conv2D<int8_t>: every variant matches the reference op and kernels (batch 1 and 3, threads 1 and 3)") {
    using V = ops::Conv2D<int8_t>::Variant;
    const ConvCase cases[] = {
        {1, 1, 1, 1, {}, 1, 17, 33, 11, 9, V::gemm_1x1},
        {1, 1, 1, 1, {}, 1, 40, 7, 5, 7, V::gemm_1x1},
        {3, 3, 1, 1, {1, 1, 1, 1}, 9, 9, 9, 11, 9, V::dwconv3x3},
        {3, 3, 1, 1, {1, 0, 2, 1}, 17, 17, 17, 7, 13, V::dwconv3x3},
        {3, 3, 2, 1, {0, 0, 1, 1}, 13, 13, 13, 11, 9, V::dwconv3x3},
        {3, 3, 2, 1, {1, 1, 1, 1}, 33, 33, 33, 9, 10, V::dwconv3x3},
        {3, 3, 2, 1, {0, 0, 1, 1}, 1, 3, 32, 15, 13, V::im2col_gemm},  // the stem
        {3, 3, 2, 1, {1, 0, 0, 1}, 1, 3, 17, 9, 11, V::im2col_gemm},
        {3, 3, 1, 1, {1, 0, 1, 2}, 3, 12, 9, 11, 9, V::im2col_gemm},   // grouped
        {1, 1, 1, 1, {}, 2, 10, 6, 7, 5, V::im2col_gemm},              // grouped 1x1
        {3, 3, 1, 1, {1, 1, 1, 1}, 5, 5, 10, 7, 9, V::im2col_gemm},    // depthwise, two outputs per channel
        {3, 3, 1, 2, {2, 2, 2, 2}, 6, 6, 6, 9, 7, V::im2col_gemm},     // dilated depthwise
        {3, 3, 3, 1, {1, 1, 1, 1}, 7, 7, 7, 11, 10, V::im2col_gemm},   // depthwise stride 3
        {5, 5, 2, 1, {2, 2, 1, 1}, 1, 16, 20, 11, 9, V::im2col_gemm},
        {1, 1, 2, 1, {}, 1, 24, 13, 11, 9, V::im2col_gemm},
        {1, 3, 1, 1, {0, 1, 0, 1}, 1, 5, 11, 7, 9, V::im2col_gemm},
    };
    uint32_t seed = 600;
    for (const ConvCase& cs : cases)
        for (int batch : {1, 3})
            for (int threads : {1, 3}) conv_case(cs, batch, threads, ++seed);
}

TEST_CASE("Dense<int8_t> with int8 and fp32 outputs matches the reference op and kernels") {
    const size_t shapes[][2] = {{1, 37}, {17, 37}, {33, 64}, {1000, 129}};
    uint32_t seed = 700;
    for (const auto& s : shapes)
        for (int batch : {1, 3})
            for (int threads : {1, 3})
                for (bool float_output : {false, true}) dense_case(s[0], s[1], batch, threads, float_output, ++seed);
}

TEST_CASE("Add<int8_t> with and without a clamp matches the reference op and kernel") {
    uint32_t seed = 800;
    for (int batch : {1, 3})
        for (int threads : {1, 3})
            for (const MinMax clamp : {kRelu6, MinMax{}}) {
                ++seed;
                CAPTURE(seed);
                std::mt19937 rng(seed);
                const QuantParams a = random_params(rng, seed, 0.02f, 0.05f);
                const QuantParams b = random_params(rng, seed + 1, 0.02f, 0.05f);
                const QuantParams y{(a.scale + b.scale) * uniform(rng, 0.6f, 0.9f),
                                    std::uniform_int_distribution<int>(-30, 30)(rng)};
                const ops::Add<int8_t> fast(a, b, y, clamp, KernelSet::optimized, "add");
                const ops::Add<int8_t> reference(a, b, y, clamp, KernelSet::reference, "add");
                const Shape xs{batch, 13, 11, 33};  // over 4096 elements: split between threads
                const size_t n = checked_numel(xs);
                const Bytes xa = random_bytes(n, rng), xb = random_bytes(n, rng);
                const Raw got = run_op(fast, {xa.data(), xb.data()}, {xs, xs}, threads);
                const Raw want = run_op(reference, {xa.data(), xb.data()}, {xs, xs}, 1);
                Bytes direct(n);
                ref::add_s8(n, xa.data(), a.zero_point, a.scale / y.scale, xb.data(), b.zero_point, b.scale / y.scale,
                            direct.data(), output_stage(y, clamp));
                check_same(got, want, direct.data(), seed);
                check_varied(got.data(), got.size());
            }
}

TEST_CASE("GlobalAvgPool<int8_t> matches the reference op and kernel") {
    uint32_t seed = 900;
    for (const Shape& image : {Shape{7, 5, 19}, Shape{1, 1, 33}, Shape{13, 11, 70}})
        for (int batch : {1, 3})
            for (int threads : {1, 3}) {
                ++seed;
                CAPTURE(seed);
                std::mt19937 rng(seed);
                const size_t HW = size_t(image[0] * image[1]), C = size_t(image[2]);
                const QuantParams x = random_params(rng, seed, 0.02f, 0.05f);
                const Shape xs{batch, image[0], image[1], image[2]};
                const Bytes in = random_bytes(checked_numel(xs), rng);
                const QuantParams y = output_params_for(in, HW, C, x, uniform(rng, 1.0f, 1.3f));
                const ops::GlobalAvgPool<int8_t> fast(x, y, KernelSet::optimized, "pool");
                const ops::GlobalAvgPool<int8_t> reference(x, y, KernelSet::reference, "pool");
                const Raw got = run_op(fast, {in.data()}, {xs}, threads);
                const Raw want = run_op(reference, {in.data()}, {xs}, 1);
                Bytes direct(size_t(batch) * C);
                const float multiplier = x.scale / (y.scale * float(HW));
                for (size_t n = 0; n < size_t(batch); ++n)
                    ref::global_avg_pool_s8(HW, C, in.data() + n * HW * C, x.zero_point, multiplier,
                                            direct.data() + n * C, Requant{y.zero_point, -128, 127});
                check_same(got, want, direct.data(), seed);
                check_varied(got.data(), got.size());
            }
}

TEST_CASE("Quantize and Dequantize match the reference ops and kernels") {
    uint32_t seed = 1000;
    for (int batch : {1, 3})
        for (int threads : {1, 3}) {
            ++seed;
                CAPTURE(seed);
            std::mt19937 rng(seed);
            const QuantParams p = random_params(rng, seed, 0.02f, 0.05f);
            const Shape xs{batch, 13, 11, 33};  // over 4096 elements: split between threads
            const size_t n = checked_numel(xs);
            const Floats x = random_floats(n, rng, 100.0f * p.scale);
            const ops::Quantize fast_q(p, KernelSet::optimized, "q"), reference_q(p, KernelSet::reference, "q");
            const Raw got = run_op(fast_q, {x.data()}, {xs}, threads), want = run_op(reference_q, {x.data()}, {xs}, 1);
            Bytes direct(n);
            ref::quantize_f32_s8(n, x.data(), p.scale, p.zero_point, direct.data());
            check_same(got, want, direct.data(), seed);
            check_varied(got.data(), got.size(), 100);

            const Bytes q = random_bytes(n, rng);
            const ops::Dequantize fast_d(p, KernelSet::optimized, "dq"), reference_d(p, KernelSet::reference, "dq");
            const Raw got_d = run_op(fast_d, {q.data()}, {xs}, threads);
            const Raw want_d = run_op(reference_d, {q.data()}, {xs}, 1);
            Floats direct_d(n);
            ref::dequantize_s8_f32(n, q.data(), p.scale, p.zero_point, direct_d.data());
            check_same(got_d, want_d, direct_d.data(), seed);
            check_not_constant(direct_d.data(), n);
        }
}
