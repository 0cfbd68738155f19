// Ops with the optimized kernels against the same ops with the reference kernels: every Conv2D variant
// (gemm 1x1, dwconv3x3, direct, im2col+gemm with groups), Dense, pooling and element-wise ops, batch 1 and 3,
// one and three threads.
#include <doctest/doctest.h>

#include <random>

#include "testing.hpp"
#include "xinfer/ops/conv2d.hpp"
#include "xinfer/ops/dense.hpp"
#include "xinfer/ops/eltwise.hpp"
#include "xinfer/ops/pool.hpp"

using namespace xinfer;
using namespace xinfer::testing;
using ops::KernelSet;

namespace {

Floats run_op(const ops::Op& op, const std::vector<const Floats*>& inputs, const std::vector<Shape>& shapes,
              int threads, Shape* out_shape = nullptr) {
    const Shape out = op.output_shape(shapes);
    if (out_shape) *out_shape = out;
    Floats y(checked_numel(out));
    AlignedBuffer ws(op.workspace_bytes(shapes, threads));
    ThreadPool pool(threads);
    std::vector<const void*> ptrs;
    for (auto* f : inputs) ptrs.push_back(f->data());
    op.run({ptrs.data(), shapes.data(), y.data(), &out, ws.data(), &pool});
    return y;
}

}  // namespace

TEST_CASE("Conv2D: every variant matches the reference op (batch 1 and 3, threads 1 and 3)") {
    struct Case { int k, stride, dil; Pads pads; size_t groups, cin, cout; ops::Conv2D<float>::Variant variant; };
    using V = ops::Conv2D<float>::Variant;
    const Case cases[] = {
        {1, 1, 1, {}, 1, 17, 33, V::gemm_1x1},           {3, 1, 1, {1, 1, 1, 1}, 1, 4, 7, V::direct},
        {1, 2, 1, {}, 1, 24, 13, V::im2col_gemm},        {3, 1, 1, {1, 1, 1, 1}, 9, 9, 9, V::dwconv3x3},
        {3, 2, 1, {0, 0, 1, 1}, 13, 13, 13, V::dwconv3x3}, {3, 2, 1, {0, 0, 1, 1}, 1, 3, 32, V::direct},
        {3, 1, 2, {2, 2, 2, 2}, 6, 6, 6, V::im2col_gemm}, {3, 1, 1, {1, 0, 1, 2}, 3, 12, 9, V::im2col_gemm},
        {5, 2, 1, {2, 2, 1, 1}, 1, 16, 20, V::im2col_gemm}, {3, 3, 1, {1, 1, 1, 1}, 7, 7, 7, V::im2col_gemm},
    };
    uint32_t seed = 300;
    for (const Case& cs : cases)
        for (int batch : {1, 3})
            for (int threads : {1, 3}) {
                ++seed;
                CAPTURE(seed);
                std::mt19937 rng(seed);
                ops::Conv2DParams p;
                p.window.kernel_h = p.window.kernel_w = cs.k;
                p.window.stride_h = p.window.stride_w = cs.stride;
                p.window.dilation_h = p.window.dilation_w = cs.dil;
                p.window.pads = cs.pads;
                p.groups = cs.groups;
                p.clamp = {0.0f, 6.0f};
                const size_t cin_g = cs.cin / cs.groups, taps = size_t(cs.k * cs.k) * cin_g;
                Floats w = random_floats(cs.cout * taps, rng), b = random_floats(cs.cout, rng);
                ops::Conv2D<float> fast(p, w.data(), b.data(), cs.cout, cin_g, KernelSet::optimized, "conv");
                ops::Conv2D<float> ref(p, w.data(), b.data(), cs.cout, cin_g, KernelSet::reference, "conv");
                REQUIRE(fast.variant() == cs.variant);
                const Shape xs{batch, 11, 10, int64_t(cs.cin)};
                Floats x = random_floats(checked_numel(xs), rng, 2.0f);
                Shape ys;
                Floats got = run_op(fast, {&x}, {xs}, threads, &ys);
                Floats want = run_op(ref, {&x}, {xs}, 1);
                ops::Conv2D<float> mag_op(p, abs_of(w).data(), abs_of(b).data(), cs.cout, cin_g, KernelSet::reference, "m");
                p.clamp = {};
                ops::Conv2D<float> mag_ref(p, abs_of(w).data(), abs_of(b).data(), cs.cout, cin_g, KernelSet::reference, "m");
                Floats ax = abs_of(x);
                Floats mag = run_op(mag_ref, {&ax}, {xs}, 1);
                CAPTURE(fast.kind());
                check_close(got.data(), want.data(), mag.data(), got.size(), taps, seed);
                check_not_constant(got.data(), got.size());
            }
}

TEST_CASE("Dense matches the reference for batch 1 and 3 and rejects the wrong feature count") {
    uint32_t seed = 400;
    for (size_t n_out : {1, 5, 16, 17, 1000})
        for (int batch : {1, 3}) {
            ++seed;
            std::mt19937 rng(seed);
            const size_t K = 37;
            Floats w = random_floats(n_out * K, rng), b = random_floats(n_out, rng);
            ops::Dense<float> fast(w.data(), b.data(), n_out, K, {}, KernelSet::optimized, "fc");
            ops::Dense<float> ref(w.data(), b.data(), n_out, K, {}, KernelSet::reference, "fc");
            ops::Dense<float> mag_op(abs_of(w).data(), abs_of(b).data(), n_out, K, {}, KernelSet::reference, "fc");
            const Shape xs{batch, 1, 1, int64_t(K)};
            Floats x = random_floats(checked_numel(xs), rng);
            Floats got = run_op(fast, {&x}, {xs}, 2), want = run_op(ref, {&x}, {xs}, 1);
            Floats ax = abs_of(x);
            Floats mag = run_op(mag_op, {&ax}, {xs}, 1);
            check_close(got.data(), want.data(), mag.data(), got.size(), K, seed);
            CHECK_THROWS_AS(fast.output_shape({{batch, 36}}), Error);
        }
}

TEST_CASE("GlobalAvgPool, Add and ChannelAffine ops match their references with batch 3 on 2 threads") {
    std::mt19937 rng(500);
    const Shape xs{3, 7, 5, 19};
    Floats a = random_floats(checked_numel(xs), rng), b = random_floats(checked_numel(xs), rng);
    ops::GlobalAvgPool<float> pf(KernelSet::optimized, "p"), pr(KernelSet::reference, "p");
    Floats gp = run_op(pf, {&a}, {xs}, 2), wp = run_op(pr, {&a}, {xs}, 1);
    for (size_t i = 0; i < gp.size(); ++i) CHECK(gp[i] == doctest::Approx(wp[i]).epsilon(1e-5));
    ops::Add<float> af({0.0f, 6.0f}, KernelSet::optimized, "add"), ar({0.0f, 6.0f}, KernelSet::reference, "add");
    Floats ga = run_op(af, {&a, &b}, {xs, xs}, 2), wa = run_op(ar, {&a, &b}, {xs, xs}, 1);
    for (size_t i = 0; i < ga.size(); ++i) REQUIRE(ga[i] == wa[i]);
    CHECK_THROWS_AS(af.output_shape({xs, {3, 7, 5, 18}}), Error);
    std::vector<float> scale(19), shift(19);
    for (size_t c = 0; c < 19; ++c) scale[c] = 0.5f + float(c) / 19.0f, shift[c] = float(c) * 0.1f - 1.0f;
    ops::ChannelAffine<float> cf(scale, shift, {}, KernelSet::optimized, "bn"), cr(scale, shift, {}, KernelSet::reference, "bn");
    Floats gc = run_op(cf, {&a}, {xs}, 2), wc = run_op(cr, {&a}, {xs}, 1);
    for (size_t i = 0; i < gc.size(); ++i) CHECK(gc[i] == doctest::Approx(wc[i]).epsilon(1e-6));
    check_not_constant(gc.data(), gc.size());
}
