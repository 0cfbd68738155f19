// Whole MobileNetV2 (seeded random weights, re-estimated batch norm): the optimized executor against the
// all-reference executor (same graph), and the optimized graph against the graph as built (reference kernels).
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "testing.hpp"
#include "xinfer/graph/passes.hpp"
#include "xinfer/models/mobilenet_v2.hpp"

using namespace xinfer;

namespace {

std::vector<float> run_executor(const Executor& ex, const std::vector<float>& x, const Shape& shape, int threads,
                                size_t* arena_bytes = nullptr) {
    auto plan = ex.plan({shape}, threads);
    if (arena_bytes) *arena_bytes = plan.arena_bytes;
    std::vector<float> out(checked_numel(plan.shapes[size_t(ex.output_ids()[0])]));
    Arena arena;
    ThreadPool pool(threads);
    ex.run(plan, arena, pool, {x.data()}, {out.data()});
    return out;
}

std::vector<float> run(const Graph& g, const std::vector<float>& x, const Shape& shape, ops::KernelSet ks, int threads,
                       bool logits) {
    Graph copy = g;
    if (logits) {  // compare before the softmax, where the network's arithmetic shows
        copy.nodes.pop_back();
        copy.outputs[0].name = "predictions";
    }
    return run_executor(Executor(copy, {ks}), x, shape, threads);
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

TEST_CASE("FusedBlock: every inverted-residual block fused, bit-identical to the unfused steps at any input size") {
    models::MobileNetV2Options o;
    Graph g = models::mobilenet_v2_random(o, 11);
    optimize(g);
    g.inputs[0].shape = {-1, -1, -1, 3};  // the convolutions take any size
    const Executor fused(g), unfused(g, {ops::KernelSet::optimized, false});
    size_t blocks = 0, expand = 0, residual = 0;
    for (auto& st : fused.steps()) {
        const std::string kind = st.op->kind();
        if (kind.rfind("FusedBlock", 0) != 0) continue;
        ++blocks;
        expand += kind.find("FusedBlock 1x1+") == 0;
        residual += kind.find("+add") != std::string::npos;
    }
    CHECK(blocks == 17);  // t = 1 block without expansion, 16 with; 10 add their input
    CHECK(expand == 16);
    CHECK(residual == 10);
    CHECK(fused.steps().size() + 16 + 17 + 10 == unfused.steps().size());
    // 224: the blocks at 112, 56 and 28 pixels run in bands, the later ones whole; odd sizes put band and thread
    // boundaries at every offset, and batch 2 makes a thread's rows span two images.
    for (const Shape& shape : {Shape{1, 224, 224, 3}, Shape{2, 97, 83, 3}, Shape{1, 161, 37, 3}})
        for (int threads : {1, 3}) {
            CAPTURE(to_string(shape));
            CAPTURE(threads);
            std::vector<float> x(checked_numel(shape));
            std::mt19937 rng(uint32_t(shape[1] * 7 + threads));
            testing::fill_random(x.data(), x.size(), rng);
            size_t fused_arena = 0, unfused_arena = 0;
            const auto want = run_executor(unfused, x, shape, threads, &unfused_arena);
            const auto got = run_executor(fused, x, shape, threads, &fused_arena);
            REQUIRE(got.size() == want.size());
            size_t differ = 0;
            for (size_t i = 0; i < got.size(); ++i) differ += std::memcmp(&got[i], &want[i], sizeof(float)) != 0;
            CHECK(differ == 0);
            if (shape[1] == 224) CHECK(double(fused_arena) < 0.6 * double(unfused_arena));  // 6.0 -> 3.3 MB
        }
}
