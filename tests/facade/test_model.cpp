// The Model facade: loading, saving, running, classifying, and concurrent runs.
#include <doctest/doctest.h>

#include <thread>

#include "model_inputs.hpp"
#include "testing.hpp"
#include <xtensor/xview.hpp>

#include "xinfer/xinfer.hpp"

using namespace xinfer;

namespace {
const char* kSmall = "builtin:mobilenet_v2?alpha=0.35&size=64&classes=10&seed=3";
using testing::random_nhwc;
}  // namespace

TEST_CASE("Model: save / load / load_from_memory give bit-identical outputs") {
    const Model m = Model::load(kSmall);
    const auto x = random_nhwc(2, 64, 1);
    const auto y = m.run(x);
    CHECK(y.shape()[0] == 2);
    CHECK(y.shape()[1] == 10);
    const auto bytes = m.save_to_memory();
    const Model from_mem = Model::load_from_memory(bytes.data(), bytes.size());
    CHECK(from_mem.run(x) == y);
    m.save("model_test.xinf");
    const Model from_file = Model::load("model_test.xinf");
    std::remove("model_test.xinf");
    CHECK(from_file.run(x) == y);
    CHECK(from_file.inputs()[0].shape == Shape{-1, 64, 64, 3});
    CHECK(from_file.outputs()[0].shape == Shape{-1, 10});
    CHECK(from_file.planned_arena_bytes({{1, 64, 64, 3}}) > 0);
    CHECK(from_file.weight_bytes() > 0);
}

TEST_CASE("Model: batch N equals N single runs; more threads give the same result") {
    const Model m = Model::load(kSmall);
    const auto x = random_nhwc(3, 64, 2);
    RunOptions two;
    two.threads = 2;
    const auto y = m.run(x, two);
    for (size_t i = 0; i < 3; ++i) {
        xt::xarray<float> one = xt::view(x, xt::range(i, i + 1));
        const auto yi = m.run(one);
        for (size_t c = 0; c < 10; ++c) CHECK(yi(0, c) == doctest::Approx(y(i, c)).epsilon(1e-5));
    }
}

TEST_CASE("Model: concurrent run() from 4 threads gives identical results") {
    const Model m = Model::load(kSmall);
    std::vector<xt::xarray<float>> inputs, expected;
    for (uint32_t i = 0; i < 4; ++i) {
        inputs.push_back(random_nhwc(1 + i % 2, 64, 10 + i));
        expected.push_back(m.run(inputs.back()));
    }
    std::vector<int> mismatches(4, 0);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int r = 0; r < 10; ++r) {
                const size_t k = size_t(t + r) % 4;
                if (m.run(inputs[k]) != expected[k]) ++mismatches[size_t(t)];
            }
        });
    for (auto& th : threads) th.join();
    for (int t = 0; t < 4; ++t) CHECK(mismatches[size_t(t)] == 0);
}

TEST_CASE("Model: classify raw RGB pixels of any size; errors on bad input") {
    const Model m = Model::load(kSmall);
    std::vector<uint8_t> img(37 * 53 * 3);
    for (size_t i = 0; i < img.size(); ++i) img[i] = uint8_t((i * 37) % 251);
    const auto top = m.classify(img.data(), 37, 53, 3);
    REQUIRE(top.size() == 3);
    CHECK(top[0].probability >= top[1].probability);
    CHECK(top[1].probability >= top[2].probability);
    CHECK(top[0].label == "class " + std::to_string(top[0].index));
    CHECK_THROWS_AS(m.classify(img.data(), 0, 53, 3), Error);
    CHECK_THROWS_AS(m.classify(nullptr, 37, 53, 3), Error);
    CHECK_THROWS_AS(m.run(random_nhwc(1, 65, 1)), Error);  // wrong spatial size
}

TEST_CASE("Model: bad sources give clear errors") {
    CHECK_THROWS_WITH_AS(Model::load("builtin:resnet50"), doctest::Contains("unknown built-in"), Error);
    CHECK_THROWS_WITH_AS(Model::load("builtin:mobilenet_v2?alpha=abc"), doctest::Contains("alpha"), Error);
    CHECK_THROWS_WITH_AS(Model::load("builtin:mobilenet_v2?size=50"), doctest::Contains("multiple of 32"), Error);
    const char junk[] = "this is not a model";
    CHECK_THROWS_WITH_AS(Model::load_from_memory(junk, sizeof junk), doctest::Contains("unrecognised"), Error);
    CHECK_THROWS_AS(Model::load("no_such_model.xinf"), Error);
}

TEST_CASE("preprocess_rgb8: identity at the target size, crop keeps the centre") {
    io::Preprocessing p;
    p.width = 4;
    p.height = 2;
    std::vector<uint8_t> img(4 * 2 * 3);
    for (size_t i = 0; i < img.size(); ++i) img[i] = uint8_t(i * 7);
    std::vector<float> out(4 * 2 * 3);
    io::preprocess_rgb8(img.data(), 4, 2, 12, p, out.data());
    for (size_t i = 0; i < img.size(); ++i) CHECK(out[i] == float(img[i]));
    // An 8x2 image cropped to 4x2 is its centre columns 2..5.
    std::vector<uint8_t> wide(8 * 2 * 3);
    for (size_t i = 0; i < wide.size(); ++i) wide[i] = uint8_t(i);
    p.resize = io::ResizePolicy::crop;
    io::preprocess_rgb8(wide.data(), 8, 2, 24, p, out.data());
    for (int y = 0; y < 2; ++y)
        for (int x = 0; x < 4; ++x)
            for (int c = 0; c < 3; ++c) CHECK(out[size_t((y * 4 + x) * 3 + c)] == float(wide[size_t((y * 8 + x + 2) * 3 + c)]));
    p.std = {0.0f, 1.0f, 1.0f};
    CHECK_THROWS_AS(io::preprocess_rgb8(img.data(), 4, 2, 12, p, out.data()), Error);
}
