#include <doctest/doctest.h>

#include <random>

#include "testing.hpp"
#include "xinfer/graph/executor.hpp"
#include "xinfer/graph/memory_planner.hpp"
#include "xinfer/graph/passes.hpp"

using namespace xinfer;

namespace {

Node node(std::string name, std::string op, std::vector<std::string> in, std::vector<std::string> out) {
    Node n;
    n.name = std::move(name);
    n.op = std::move(op);
    n.inputs = std::move(in);
    n.outputs = std::move(out);
    return n;
}

Constant random_constant(Shape shape, std::mt19937& rng, float lo, float hi) {
    std::uniform_real_distribution<float> d(lo, hi);
    std::vector<float> v(checked_numel(shape));
    for (auto& x : v) x = d(rng);
    return Constant::from_floats(std::move(shape), v);
}

// x -> Conv 3x3 -> BN -> ReLU6 -> Conv 1x1 -> BN -> Add(x) -> GlobalAveragePool -> Dense -> Softmax
Graph small_graph(std::mt19937& rng, int channels) {
    Graph g;
    g.inputs.push_back({"x", DataType::f32, {-1, -1, -1, channels}});
    g.constants["w1"] = random_constant({channels, 3, 3, channels}, rng, -0.3f, 0.3f);
    g.constants["w2"] = random_constant({channels, 1, 1, channels}, rng, -0.3f, 0.3f);
    for (const char* bn : {"bn1", "bn2"}) {
        g.constants[std::string(bn) + ".g"] = random_constant({channels}, rng, 0.5f, 1.5f);
        g.constants[std::string(bn) + ".b"] = random_constant({channels}, rng, -0.5f, 0.5f);
        g.constants[std::string(bn) + ".m"] = random_constant({channels}, rng, -0.5f, 0.5f);
        g.constants[std::string(bn) + ".v"] = random_constant({channels}, rng, 0.5f, 2.0f);
    }
    g.constants["fc.w"] = random_constant({5, channels}, rng, -1.0f, 1.0f);
    g.constants["fc.b"] = random_constant({5}, rng, -1.0f, 1.0f);
    // Deliberately out of order: the graph sorts itself.
    g.nodes.push_back(node("fc", "Dense", {"pool", "fc.w", "fc.b"}, {"logits"}));
    Node conv1 = node("conv1", "Conv", {"x", "w1"}, {"c1"});
    conv1.attrs["pads"] = std::vector<int64_t>{1, 1, 1, 1};
    g.nodes.push_back(conv1);
    g.nodes.push_back(node("bn1", "BatchNormalization", {"c1", "bn1.g", "bn1.b", "bn1.m", "bn1.v"}, {"b1"}));
    Node relu = node("relu", "Clip", {"b1"}, {"r1"});
    relu.attrs["clip_min"] = 0.0;
    relu.attrs["clip_max"] = 6.0;
    g.nodes.push_back(relu);
    g.nodes.push_back(node("conv2", "Conv", {"r1", "w2"}, {"c2"}));
    g.nodes.push_back(node("bn2", "BatchNormalization", {"c2", "bn2.g", "bn2.b", "bn2.m", "bn2.v"}, {"b2"}));
    g.nodes.push_back(node("add", "Add", {"x", "b2"}, {"sum"}));
    g.nodes.push_back(node("pool", "GlobalAveragePool", {"sum"}, {"pool"}));
    g.nodes.push_back(node("softmax", "Softmax", {"logits"}, {"probs"}));
    g.outputs.push_back({"probs", DataType::f32, {-1, 5}});
    g.sort_and_validate();
    return g;
}

std::vector<float> run_graph(const Graph& g, const std::vector<float>& input, Shape shape, ops::KernelSet ks,
                             int threads) {
    Executor ex(g, {ks});
    auto plan = ex.plan({shape}, threads);
    std::vector<float> out(checked_numel(plan.shapes[size_t(ex.output_ids()[0])]));
    Arena arena;
    ThreadPool pool(threads);
    ex.run(plan, arena, pool, {input.data()}, {out.data()});
    return out;
}

}  // namespace

TEST_CASE("fold_batchnorm and fuse_activations keep the function and remove the nodes") {
    const uint32_t seed = 77;
    CAPTURE(seed);
    std::mt19937 rng(seed);
    Graph g = small_graph(rng, 7);
    Graph opt = g;
    CHECK(fold_batchnorm(opt) == 2);
    CHECK(fuse_activations(opt) == 1);
    opt.sort_and_validate();
    CHECK(opt.nodes.size() == 6);
    for (auto& n : opt.nodes) CHECK(n.op != "BatchNormalization");
    for (int batch : {1, 3}) {
        const Shape shape{batch, 5, 6, 7};
        std::vector<float> x(checked_numel(shape));
        testing::fill_random(x.data(), x.size(), rng, 2.0f);
        const auto want = run_graph(g, x, shape, ops::KernelSet::reference, 1);
        const auto got = run_graph(opt, x, shape, ops::KernelSet::optimized, 2);
        REQUIRE(got.size() == want.size());
        for (size_t i = 0; i < got.size(); ++i) CHECK(got[i] == doctest::Approx(want[i]).epsilon(1e-5));
        testing::check_not_constant(want.data(), want.size());
    }
}

TEST_CASE("sort_and_validate rejects cycles, missing values and duplicates") {
    Graph g;
    g.inputs.push_back({"x", DataType::f32, {1, 4}});
    g.nodes.push_back(node("a", "Clip", {"b_out"}, {"a_out"}));
    g.nodes.push_back(node("b", "Clip", {"a_out"}, {"b_out"}));
    g.outputs.push_back({"b_out", DataType::f32, {1, 4}});
    CHECK_THROWS_WITH_AS(g.sort_and_validate(), doctest::Contains("cycle"), Error);

    Graph missing;
    missing.inputs.push_back({"x", DataType::f32, {1, 4}});
    missing.nodes.push_back(node("a", "Clip", {"nowhere"}, {"y"}));
    missing.outputs.push_back({"y", DataType::f32, {1, 4}});
    CHECK_THROWS_WITH_AS(missing.sort_and_validate(), doctest::Contains("nowhere"), Error);

    Graph dup;
    dup.inputs.push_back({"x", DataType::f32, {1, 4}});
    dup.nodes.push_back(node("a", "Clip", {"x"}, {"y"}));
    dup.nodes.push_back(node("b", "Clip", {"x"}, {"y"}));
    dup.outputs.push_back({"y", DataType::f32, {1, 4}});
    CHECK_THROWS_WITH_AS(dup.sort_and_validate(), doctest::Contains("more than once"), Error);
}

TEST_CASE("the executor lists every unsupported node at once") {
    Graph g;
    g.inputs.push_back({"x", DataType::f32, {1, 4}});
    g.nodes.push_back(node("n1", "Frobnicate", {"x"}, {"a"}));
    g.nodes.push_back(node("n2", "Clip", {"a"}, {"b"}));
    g.nodes.push_back(node("n3", "Twiddle", {"b"}, {"c"}));
    g.outputs.push_back({"c", DataType::f32, {1, 4}});
    try {
        Executor ex(g);
        FAIL("expected an error");
    } catch (const Error& e) {
        CHECK(e.code() == ErrorCode::unsupported_op);
        const std::string msg = e.what();
        CHECK(msg.find("n1") != std::string::npos);
        CHECK(msg.find("Frobnicate") != std::string::npos);
        CHECK(msg.find("n3") != std::string::npos);
        CHECK(msg.find("Twiddle") != std::string::npos);
    }
}

TEST_CASE("the executor rejects inputs of the wrong shape") {
    std::mt19937 rng(3);
    Executor ex(small_graph(rng, 4));
    CHECK_THROWS_AS(ex.plan({{1, 8, 8, 5}}, 1), Error);     // channels
    CHECK_THROWS_AS(ex.plan({{1, 8, 8}}, 1), Error);        // rank
    CHECK_THROWS_AS(ex.plan({{0, 8, 8, 4}}, 1), Error);     // empty batch
    CHECK_THROWS_AS(ex.plan({{1, 8, 8, 4}, {1}}, 1), Error);  // input count
    CHECK_NOTHROW(ex.plan({{2, 8, 8, 4}}, 1));
}

TEST_CASE("plan_memory never overlaps live buffers and reuses dead ones") {
    std::mt19937 rng(11);
    for (int trial = 0; trial < 200; ++trial) {
        CAPTURE(trial);
        std::vector<BufferLifetime> bufs(1 + rng() % 30);
        for (auto& b : bufs) {
            b.bytes = 1 + rng() % 5000;
            b.first = int(rng() % 20) - 1;
            b.last = b.first + int(rng() % 6);
        }
        auto plan = plan_memory(bufs);
        size_t sum = 0;
        for (size_t i = 0; i < bufs.size(); ++i) {
            sum += bufs[i].bytes;
            CHECK(plan.offsets[i] % XINFER_ALIGNMENT == 0);
            CHECK(plan.offsets[i] + bufs[i].bytes + XINFER_EXTRA_BYTES <= plan.total_bytes);
            for (size_t j = 0; j < i; ++j) {
                const bool live_together = bufs[i].first <= bufs[j].last && bufs[j].first <= bufs[i].last;
                const bool disjoint = plan.offsets[i] + bufs[i].bytes + XINFER_EXTRA_BYTES <= plan.offsets[j] ||
                                      plan.offsets[j] + bufs[j].bytes + XINFER_EXTRA_BYTES <= plan.offsets[i];
                if (live_together) REQUIRE(disjoint);
            }
        }
    }
    // A chain a -> b -> c: a and c can share.
    auto plan = plan_memory({{1000, 0, 1}, {1000, 1, 2}, {1000, 2, 3}});
    CHECK(plan.offsets[0] == plan.offsets[2]);
}
