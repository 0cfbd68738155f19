// Whole MobileNetV2 (seeded random weights, re-estimated batch norm): the optimized executor against the
// all-reference executor (same graph), and the optimized graph against the graph as built (reference kernels).
#include <doctest/doctest.h>

#include <cmath>
#include <random>

#include "testing.hpp"
#include "xinfer/graph/passes.hpp"
#include "xinfer/models/mobilenet_v2.hpp"

using namespace xinfer;

namespace {

std::vector<float> run(const Graph& g, const std::vector<float>& x, const Shape& shape, ops::KernelSet ks, int threads,
                       bool logits) {
    Graph copy = g;
    if (logits) {  // compare before the softmax, where the network's arithmetic shows
        copy.nodes.pop_back();
        copy.outputs[0].name = "predictions";
    }
    Executor ex(copy, {ks});
    auto plan = ex.plan({shape}, threads);
    std::vector<float> out(checked_numel(plan.shapes[size_t(ex.output_ids()[0])]));
    Arena arena;
    ThreadPool pool(threads);
    ex.run(plan, arena, pool, {x.data()}, {out.data()});
    return out;
}

double relative_l2(const std::vector<float>& a, const std::vector<float>& b) {
    double num = 0, den = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        num += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
        den += double(b[i]) * b[i];
    }
    return std::sqrt(num / den);
}

void check_model(double alpha, int size, int batch) {
    models::MobileNetV2Options o;
    o.alpha = alpha;
    o.size = size;
    const uint32_t seed = 7;
    CAPTURE(seed);
    CAPTURE(alpha);
    CAPTURE(size);
    const Graph g = models::mobilenet_v2_random(o, seed);
    Graph opt = g;
    optimize(opt);
    CHECK(opt.nodes.size() < g.nodes.size());
    const Shape shape{batch, size, size, 3};
    std::vector<float> x(checked_numel(shape));
    std::mt19937 rng(seed + 1);
    testing::fill_random(x.data(), x.size(), rng);
    for (auto& v : x) v = 0.5f + 0.5f * v;
    for (bool logits : {true, false}) {
        CAPTURE(logits);
        // Kernels: optimized vs reference executor on the same (optimized) graph.
        const auto want = run(opt, x, shape, ops::KernelSet::reference, 1, logits);
        const auto got = run(opt, x, shape, ops::KernelSet::optimized, 2, logits);
        CHECK(relative_l2(got, want) < 1e-5);
        // Passes: the folded/fused graph vs the graph as built, both on reference kernels.
        const auto unfused = run(g, x, shape, ops::KernelSet::reference, 1, logits);
        CHECK(relative_l2(want, unfused) < 1e-5);
        // The network must not have collapsed: different images give different outputs.
        double spread = 0;
        for (size_t i = 0; i < want.size(); ++i) spread = std::max(spread, std::fabs(double(want[i]) - want[0]));
        CHECK(spread > 1e-3);
    }
}

}  // namespace

TEST_CASE("MobileNetV2 0.35/96 batch 3: optimized executor == reference executor (relative L2 < 1e-5)") {
    check_model(0.35, 96, 3);
}

TEST_CASE("MobileNetV2 1.0/224 batch 1: optimized executor == reference executor (relative L2 < 1e-5)") {
    check_model(1.0, 224, 1);
}

TEST_CASE("MobileNetV2 builder: channel rounding, sizes and argument checks") {
    CHECK(models::make_divisible(32 * 0.35) == 16);
    CHECK(models::make_divisible(16 * 0.35) == 8);
    CHECK(models::make_divisible(24 * 1.4) == 32);
    CHECK(models::make_divisible(1280 * 1.3) == 1664);
    for (double alpha : {0.35, 0.5, 0.75, 1.0, 1.3, 1.4}) {
        models::MobileNetV2Options o;
        o.alpha = alpha;
        o.size = 64;
        o.classes = 7;
        Graph g = models::mobilenet_v2_graph(o);
        optimize(g);
        Executor ex(g);
        auto plan = ex.plan({{2, 64, 64, 3}}, 1);
        CHECK(plan.shapes[size_t(ex.output_ids()[0])] == Shape{2, 7});
    }
    models::MobileNetV2Options bad;
    bad.alpha = 0.6;
    CHECK_THROWS_AS(models::mobilenet_v2_graph(bad), Error);
    bad.alpha = 1.0;
    bad.size = 100;
    CHECK_THROWS_AS(models::mobilenet_v2_graph(bad), Error);
}
