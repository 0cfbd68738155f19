// ONNX export: fp32 and int8 (QDQ) graphs written as ONNX and read back by xinfer's own importer. (ONNX Runtime
// runs the export in io/ort_export_check.sh.)
#include <doctest/doctest.h>

#include <random>

#include "xinfer/xinfer.hpp"

using namespace xinfer;

namespace {

xt::xarray<float> random_input(const std::vector<size_t>& dims, uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(0.0f, 1.0f);
    xt::xarray<float> x = xt::xarray<float>::from_shape(dims);
    for (auto& v : x) v = u(rng);
    return x;
}

size_t count_ops(const Graph& g, const std::string& op) {
    size_t n = 0;
    for (auto& node : g.nodes) n += node.op == op;
    return n;
}

}  // namespace

TEST_CASE("ONNX export of an fp32 MobileNetV2 imports back with the same outputs") {
    const Model m = Model::load("builtin:mobilenet_v2?alpha=0.35&size=64&classes=7&seed=2");
    const std::string onnx = m.to_onnx();
    const Model back = Model::load_from_memory(onnx.data(), onnx.size());
    CHECK(count_ops(back.graph(), "Conv") == count_ops(m.graph(), "Conv"));
    CHECK(back.inputs()[0].shape == m.inputs()[0].shape);
    // The image preprocessing travels in metadata_props, so a server can feed the exported file images.
    REQUIRE(m.metadata().preprocessing);
    REQUIRE(back.metadata().preprocessing);
    CHECK(back.metadata().preprocessing->width == m.metadata().preprocessing->width);
    CHECK(back.metadata().preprocessing->mean == m.metadata().preprocessing->mean);
    CHECK(back.metadata().preprocessing->std == m.metadata().preprocessing->std);
    CHECK(back.metadata().preprocessing->scale == m.metadata().preprocessing->scale);
    // Other tools write prose under "preprocessing" (the shared nsfw export does): not ours, ignored.
    namespace w = io::pb::wire;
    const std::string prose = onnx + w::delimited(14, w::delimited(1, "preprocessing") +
                                                          w::delimited(2, "RGB, float32 = uint8/255, NCHW"));
    CHECK(Model::load_from_memory(prose.data(), prose.size()).metadata().preprocessing);
    const std::string broken = onnx + w::delimited(14, w::delimited(1, "xinfer.preprocessing") + w::delimited(2, "{"));
    CHECK_THROWS_AS(Model::load_from_memory(broken.data(), broken.size()), Error);
    for (uint32_t seed = 1; seed <= 2; ++seed) {
        const auto x = random_input({1, 64, 64, 3}, seed);
        const auto a = m.run(x), b = back.run(x);
        REQUIRE(a.size() == b.size());
        for (size_t i = 0; i < a.size(); ++i) CHECK(b.data()[i] == doctest::Approx(a.data()[i]).epsilon(1e-5));
    }
}

TEST_CASE("ONNX export of an int8 model (QDQ) imports back into the same int8 layers and outputs") {
    const Model fp32 = Model::load("builtin:mobilenet_v2?alpha=0.35&size=64&classes=7&seed=2&softmax=0");
    std::vector<xt::xarray<float>> calib;
    for (uint32_t s = 10; s < 14; ++s) calib.push_back(random_input({1, 64, 64, 3}, s));
    const Model int8 = quantize(fp32, calib);
    const std::string onnx = int8.to_onnx();
    const Model back = Model::load_from_memory(onnx.data(), onnx.size());
    for (const char* op : {"QConv", "QAdd", "QGlobalAveragePool", "QDense"}) {
        CAPTURE(op);
        CHECK(count_ops(back.graph(), op) == count_ops(int8.graph(), op));
    }
    for (uint32_t seed = 1; seed <= 3; ++seed) {
        const auto x = random_input({1, 64, 64, 3}, seed);
        const auto a = int8.run(x), b = back.run(x);
        REQUIRE(a.size() == b.size());
        for (size_t i = 0; i < a.size(); ++i) CHECK(b.data()[i] == a.data()[i]);
    }
}

TEST_CASE("ONNX export names the node and op it cannot write") {
    Graph g;
    g.inputs = {{"x", DataType::f32, {1, 4}}};
    g.outputs = {{"y", DataType::f32, {1, 4}}};
    g.nodes = {Node{"my_tanh", "Unary", {"x"}, {"y"}, {{"op", std::string("tanh")}}}};
    g.sort_and_validate();
    CHECK_THROWS_WITH_AS(io::onnx::export_onnx(g), doctest::Contains("my_tanh"), Error);
}
