// The typed public API: TensorView inputs and outputs by position and by name, uint8 image inputs, Session's
// in-place buffers, and the plan / MACs / profile queries.
#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <thread>

#include "model_inputs.hpp"
#include "testing.hpp"

#include "xinfer/xinfer.hpp"

using namespace xinfer;

namespace {
const char* kSmallModel = "builtin:mobilenet_v2?alpha=0.35&size=64&classes=10&seed=5";
using testing::random_nhwc;

std::vector<uint8_t> random_pixels(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::vector<uint8_t> p(n);
    for (auto& v : p) v = uint8_t(rng() % 256);
    return p;
}

template <class F>
void check_error(F&& f, ErrorCode code, const std::string& part) {
    try {
        f();
        FAIL("expected an xinfer::Error");
    } catch (const Error& e) {
        CHECK(e.code() == code);
        CHECK_MESSAGE(std::string(e.what()).find(part) != std::string::npos, e.what());
    }
}
}  // namespace

TEST_CASE("TensorView: a run into caller buffers equals the xarray form, by position and by name") {
    const Model m = Model::load(kSmallModel);
    const auto x = random_nhwc(2, 64, 11);
    const xt::xarray<float> want = m.run(x);
    testing::check_not_constant(want.data(), want.size());
    const Shape in_shape{2, 64, 64, 3};
    const Shape out_shape = m.plan({in_shape}).output_shapes.at(0);
    CHECK(out_shape == Shape{2, 10});

    std::vector<float> out(20, -1.0f);
    m.run({TensorView(x.data(), in_shape)}, {TensorView(out.data(), out_shape)});
    CHECK(std::equal(out.begin(), out.end(), want.begin()));

    const std::string in_name = m.inputs()[0].name, out_name = m.outputs()[0].name;
    std::vector<float> by_name(20, -1.0f);
    m.run(NamedTensors{{in_name, TensorView(x.data(), in_shape)}},
          NamedTensors{{out_name, TensorView(by_name.data(), out_shape)}});
    CHECK(by_name == out);
    const auto named = m.run(NamedTensors{{in_name, TensorView(x.data(), in_shape)}});
    REQUIRE(named.count(out_name) == 1);
    CHECK(named.at(out_name) == want);
    // No output requested: the run happens, nothing is written.
    m.run(NamedTensors{{in_name, TensorView(x.data(), in_shape)}}, NamedTensors{});
}

TEST_CASE("TensorView: wrong names, dtypes, shapes and null buffers are clear errors") {
    const Model m = Model::load(kSmallModel);
    const auto x = random_nhwc(1, 64, 12);
    const Shape in_shape{1, 64, 64, 3};
    std::vector<float> out(10);
    const std::string in_name = m.inputs()[0].name;
    check_error([&] { m.run(NamedTensors{{"nope", TensorView(x.data(), in_shape)}}); }, ErrorCode::invalid_argument,
                "'" + in_name + "'");
    check_error([&] { m.run(NamedTensors{}); }, ErrorCode::invalid_argument, "is missing");
    check_error([&] { m.run({TensorView(x.data(), in_shape)}, {TensorView(out.data(), Shape{1, 9})}); },
                ErrorCode::shape_mismatch, "[1, 10]");
    std::vector<int8_t> wrong(10);
    check_error([&] { m.run({TensorView(x.data(), in_shape)}, {TensorView(wrong.data(), Shape{1, 10})}); },
                ErrorCode::shape_mismatch, "I8");
    check_error([&] { m.run({TensorView(wrong.data(), Shape{1, 10})}, {TensorView(out.data(), Shape{1, 10})}); },
                ErrorCode::shape_mismatch, "");
    check_error([&] { m.run({TensorView(static_cast<float*>(nullptr), in_shape)}, {TensorView()}); },
                ErrorCode::invalid_argument, "null data");
    std::vector<int8_t> s8(size_t(64 * 64 * 3));
    check_error([&] { m.run({TensorView(s8.data(), in_shape)}, {TensorView()}); }, ErrorCode::invalid_argument,
                "U8 pixels");
    RunOptions bad_threads;
    bad_threads.threads = -1;
    check_error([&] { m.run({TensorView(x.data(), in_shape)}, {TensorView(out.data(), Shape{1, 10})}, bad_threads); },
                ErrorCode::invalid_argument, "threads");
    bad_threads.threads = 100000;
    check_error([&] { m.run({TensorView(x.data(), in_shape)}, {TensorView(out.data(), Shape{1, 10})}, bad_threads); },
                ErrorCode::invalid_argument, "threads");
    check_error([&] { (void)m.input_shapes(0); }, ErrorCode::invalid_argument, "batch");
    // The model still runs after each error.
    CHECK(m.run(x).shape()[1] == 10);
}

TEST_CASE("compare_models: models whose outputs differ are an error, not a read past the smaller one") {
    const Model ten = Model::load(kSmallModel);
    const Model seven = Model::load("builtin:mobilenet_v2?alpha=0.35&size=64&classes=7&seed=5");
    const std::vector<xt::xarray<float>> x{random_nhwc(1, 64, 3), random_nhwc(1, 64, 4)};
    const Model seven_int8 = quantize(seven, x);
    check_error([&] { (void)compare_models(ten, seven_int8, x); }, ErrorCode::shape_mismatch, "[1, 10]");
    CHECK(compare_models(seven, seven_int8, x).rows == 2);
}

TEST_CASE("TensorView: uint8 pixels are normalised in place of the float preprocessing, NHWC and NCHW") {
    const Model m = Model::load(kSmallModel);  // ImageNet preprocessing at 64 x 64
    const auto rgb = random_pixels(64 * 64 * 3, 13);
    const xt::xarray<float> want = m.run(m.image_input(rgb.data(), 64, 64));
    std::vector<float> got(10);
    m.run({TensorView(rgb.data(), Shape{1, 64, 64, 3})}, {TensorView(got.data(), Shape{1, 10})});
    CHECK(std::equal(got.begin(), got.end(), want.begin()));

    // The same network behind an NCHW interface, as imported ONNX models have: a Transpose to NHWC first.
    io::XinfModel nchw_model = models::builtin_model(std::string(kSmallModel).substr(8));
    Graph& g = nchw_model.graph;
    const std::string nhwc_name = g.inputs[0].name;
    g.inputs[0].name = "pixels_nchw";
    g.inputs[0].shape = {-1, 3, 64, 64};
    g.nodes.insert(g.nodes.begin(), Node{"to_nhwc", "Transpose", {"pixels_nchw"}, {nhwc_name},
                                          {{"perm", std::vector<int64_t>{0, 2, 3, 1}}}});
    const Model nchw = Model::from_graph(std::move(nchw_model.graph), nchw_model.metadata);
    std::vector<uint8_t> planes(rgb.size());
    for (size_t p = 0; p < 64 * 64; ++p)
        for (size_t c = 0; c < 3; ++c) planes[c * 64 * 64 + p] = rgb[p * 3 + c];
    const xt::xarray<float> want_nchw = nchw.run(nchw.image_input(rgb.data(), 64, 64));
    std::vector<float> got_nchw(10);
    nchw.run({TensorView(planes.data(), Shape{1, 3, 64, 64})}, {TensorView(got_nchw.data(), Shape{1, 10})});
    CHECK(std::equal(got_nchw.begin(), got_nchw.end(), want_nchw.begin()));
}

TEST_CASE("Session: inputs and outputs in the arena, kept across runs and reshapes") {
    const Model m = Model::load(kSmallModel);
    Session s(m);
    CHECK(s.input_shapes() == std::vector<Shape>{{1, 64, 64, 3}});
    const auto x1 = random_nhwc(1, 64, 21);
    TensorView in = s.input(0);
    CHECK(in.shape == Shape{1, 64, 64, 3});
    std::copy(x1.begin(), x1.end(), in.as<float>());
    s.run();
    const TensorView out = s.output(m.outputs()[0].name);
    const xt::xarray<float> want1 = m.run(x1);
    CHECK(std::equal(want1.begin(), want1.end(), out.as<float>()));
    // The input survives the run: running again without rewriting it gives the same output.
    CHECK(std::equal(x1.begin(), x1.end(), in.as<float>()));
    std::vector<float> first(out.as<float>(), out.as<float>() + out.numel());
    s.run();
    CHECK(std::equal(first.begin(), first.end(), out.as<float>()));

    s.reshape({{3, 64, 64, 3}});
    const auto x3 = random_nhwc(3, 64, 22);
    std::copy(x3.begin(), x3.end(), s.input(m.inputs()[0].name).as<float>());
    s.run();
    const xt::xarray<float> want3 = m.run(x3);
    CHECK(s.output(0).shape == Shape{3, 10});
    CHECK(std::equal(want3.begin(), want3.end(), s.output(0).as<float>()));
    check_error([&] { s.output(1); }, ErrorCode::invalid_argument, "out of range");
}

TEST_CASE("Session: one per thread, concurrently, each equal to Model::run") {
    const Model m = Model::load(kSmallModel, ModelOptions{2});
    std::vector<xt::xarray<float>> inputs, want;
    for (uint32_t t = 0; t < 3; ++t) {
        inputs.push_back(random_nhwc(1, 64, 30 + t));
        want.push_back(m.run(inputs.back()));
    }
    std::vector<int> ok(3, 0);
    std::vector<std::thread> threads;
    for (size_t t = 0; t < 3; ++t)
        threads.emplace_back([&, t] {
            Session s(m, 2);
            for (int r = 0; r < 4; ++r) {
                std::copy(inputs[t].begin(), inputs[t].end(), s.input(0).as<float>());
                s.run();
                ok[t] += std::equal(want[t].begin(), want[t].end(), s.output(0).as<float>());
            }
        });
    for (auto& th : threads) th.join();
    CHECK(ok == std::vector<int>{4, 4, 4});
}

TEST_CASE("Model: plan, MACs and profile without reaching into the executor") {
    const Model m = Model::load(kSmallModel);
    const ModelPlan p = m.plan({{2, 64, 64, 3}});
    CHECK(p.layers.size() == m.executor().steps().size());
    size_t sum = 0;
    for (auto& l : p.layers) {
        CHECK(!l.kind.empty());
        sum += l.macs;
    }
    CHECK(sum == p.macs);
    CHECK(m.macs({{2, 64, 64, 3}}) == 2 * m.macs());
    CHECK(p.arena_bytes >= p.activation_bytes + p.workspace_bytes);
    CHECK(p.arena_bytes == m.planned_arena_bytes({{2, 64, 64, 3}}));
    ProfileOptions po;
    po.runs = 3;
    const Profile prof = m.profile(m.input_shapes(1), po);
    CHECK(prof.median_ns.size() == prof.plan.layers.size());
    CHECK(prof.total_ns > 0);
    CHECK(prof.runs == 3);
    CHECK(prof.threads == 1);
    check_error([&] { m.plan({{1, 32, 32}}); }, ErrorCode::shape_mismatch, "");
}
