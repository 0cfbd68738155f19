// Post-training quantization: observers, weight quantization, malformed int8 parameters, and whole models (a
// random MobileNetV2 and the real trained one) quantized and checked against their fp32 originals.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <random>

#include "golden.hpp"
#include "xinfer/xinfer.hpp"

using namespace xinfer;

namespace {

std::vector<xt::xarray<float>> random_images(size_t count, size_t size, uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(0.0f, 1.0f);
    std::vector<xt::xarray<float>> out;
    for (size_t i = 0; i < count; ++i) {
        xt::xarray<float> x = xt::xarray<float>::from_shape({1, size, size, 3});
        // Smooth images (a few gradients) rather than white noise, closer to what a CNN sees.
        const float a = u(rng), b = u(rng), c = u(rng);
        for (size_t y = 0; y < size; ++y)
            for (size_t xx = 0; xx < size; ++xx)
                for (size_t ch = 0; ch < 3; ++ch)
                    x(0, y, xx, ch) = std::fmod(a * float(y) / float(size) + b * float(xx) / float(size) +
                                                    c * float(ch) + 0.1f * u(rng), 1.0f);
        out.push_back(std::move(x));
    }
    return out;
}

}  // namespace

TEST_CASE("quant_params_for_range covers the range and represents 0 exactly") {
    auto q = quant::quant_params_for_range(0.0, 6.0);
    CHECK(q.scale == doctest::Approx(6.0 / 255));
    CHECK(q.zero_point == -128);
    q = quant::quant_params_for_range(-1.0, 3.0);
    CHECK(q.scale == doctest::Approx(4.0 / 255));
    CHECK(kernels::ref::dequantize(q.zero_point, q.scale, q.zero_point) == 0.0f);
    CHECK(kernels::ref::quantize(-1.0f, q.scale, q.zero_point) == -128);
    CHECK(kernels::ref::quantize(3.0f, q.scale, q.zero_point) == 127);
    q = quant::quant_params_for_range(2.0, 5.0);  // widened to include 0
    CHECK(q.zero_point == -128);
    q = quant::quant_params_for_range(0.0, 0.0);  // degenerate: still a valid scale
    CHECK(q.scale > 0);
}

TEST_CASE("observers: min/max keeps outliers, the clipping methods drop them") {
    std::mt19937 rng(7);
    std::normal_distribution<float> n(0.0f, 1.0f);
    std::vector<float> x(200000);
    for (auto& v : x) v = n(rng);
    for (size_t i = 0; i < 10; ++i) x[i * 1000] = (i % 2 ? 60.0f : -60.0f);  // 0.005% outliers
    quant::RangeObserver o;
    o.observe_range(x.data(), x.size(), 1);
    o.observe_histogram(x.data(), x.size());
    const auto mm = o.range(quant::CalibrationMethod::minmax);
    CHECK(mm.first == -60.0);
    CHECK(mm.second == 60.0);
    for (auto m : {quant::CalibrationMethod::percentile, quant::CalibrationMethod::mse,
                   quant::CalibrationMethod::entropy}) {
        const std::string method = quant::to_string(m);
        CAPTURE(method);
        const auto r = o.range(m, 99.9);
        CHECK(r.second > 2.5);  // keeps the bulk of N(0, 1)
        CHECK(r.first < -2.5);
        CHECK(r.second <= 60.0);
        CHECK(r.first >= -60.0);
        // Only the percentile drops these outliers: clipping 10 values by ~50 costs more squared error (MSE) than
        // the coarser rounding of the rest, and KL barely notices 0.005% of the mass.
        if (m != quant::CalibrationMethod::percentile) continue;
        CHECK(r.second < 30.0);
        CHECK(r.first > -30.0);
    }
    // Channel means of the last dimension.
    quant::RangeObserver c;
    const float two_channels[] = {1, 10, 3, 20, 5, 30};
    c.observe_range(two_channels, 6, 2);
    CHECK(c.channel_means() == std::vector<double>{3.0, 20.0});
    CHECK_THROWS_AS(quant::calibration_method_from_string("median"), Error);
}

TEST_CASE("quantize_weights: per-channel symmetric weights, int32 bias, vanishing channels, bias correction") {
    std::mt19937 rng(11);
    std::normal_distribution<float> n(0.0f, 0.2f);
    const size_t cout = 5, k = 37;
    std::vector<float> w(cout * k), b(cout);
    for (auto& v : w) v = n(rng);
    for (auto& v : b) v = n(rng);
    for (size_t i = 0; i < k; ++i) w[3 * k + i] = 1e-30f * float(i);  // a channel whose weights vanish
    b[3] = 0.75f;
    const Constant wc = Constant::from_floats({int64_t(cout), int64_t(k)}, w), bc = Constant::from_floats({int64_t(cout)}, b);
    const float x_scale = 0.02f;
    const auto q = quant::detail::quantize_weights(wc, &bc, x_scale);
    for (size_t c = 0; c < cout; ++c) {
        const float s = q.scales.as<float>()[c];
        CHECK(s > 0);
        for (size_t i = 0; i < k; ++i) {
            const int8_t v = q.weights.as<int8_t>()[c * k + i];
            CHECK(v >= -127);
            CHECK(std::fabs(float(v) * s - w[c * k + i]) <= 0.5f * s * 1.0001f);
        }
        // Half a step, plus the fp32 rounding of the bias scale x_scale * s.
        CHECK(std::fabs(double(q.bias.as<int32_t>()[c]) * x_scale * s - b[c]) <= 0.5 * x_scale * s + 1e-6 * std::fabs(b[c]));
    }
    for (size_t i = 0; i < k; ++i) CHECK(q.weights.as<int8_t>()[3 * k + i] == 0);

    // With input means, the bias absorbs the mean error of the rounded weights.
    std::vector<double> means(k);
    for (size_t i = 0; i < k; ++i) means[i] = 0.5 + double(i % 7);
    const auto qc = quant::detail::quantize_weights(wc, &bc, x_scale, &means);
    for (size_t c = 0; c < cout; ++c) {
        const float s = qc.scales.as<float>()[c];
        double want = b[c], got = double(qc.bias.as<int32_t>()[c]) * x_scale * s;
        for (size_t i = 0; i < k; ++i) {
            want += double(w[c * k + i]) * means[i];
            got += double(qc.weights.as<int8_t>()[c * k + i]) * s * means[i];
        }
        CHECK(std::fabs(got - want) <= 0.5 * x_scale * s + 1e-6 * std::fabs(want));
    }

    // Reduced range: 7-bit weights use all of [-63, 63] and still round to the nearest step.
    const auto q7 = quant::detail::quantize_weights(wc, &bc, x_scale, nullptr, 1, 7);
    for (size_t c = 0; c < cout; ++c) {
        if (c == 3) continue;
        const float s = q7.scales.as<float>()[c];
        CHECK(s == doctest::Approx(q.scales.as<float>()[c] * 127.0f / 63.0f).epsilon(1e-6));
        int peak = 0;
        for (size_t i = 0; i < k; ++i) {
            const int v = q7.weights.as<int8_t>()[c * k + i];
            peak = std::max(peak, std::abs(v));
            CHECK(std::fabs(float(v) * s - w[c * k + i]) <= 0.5f * s * 1.0001f);
        }
        CHECK(peak == 63);
    }
    CHECK_THROWS_AS(quant::detail::quantize_weights(wc, &bc, x_scale, nullptr, 1, 9), Error);
}

TEST_CASE("malformed int8 parameters are errors naming the node, not crashes") {
    Graph g;
    g.inputs = {{"x", DataType::f32, {1, 4, 4, 3}}};
    g.outputs = {{"y", DataType::f32, {1, 4, 4, 2}}};
    const std::vector<int8_t> w(2 * 3, 1);
    const std::vector<float> ws{0.1f, 0.2f};
    g.constants["w"] = Constant::copy_of(DataType::s8, {2, 1, 1, 3}, w.data(), w.size());
    g.constants["ws"] = Constant::copy_of(DataType::f32, {2}, ws.data(), 8);
    g.constants["ws3"] = Constant::copy_of(DataType::f32, {3}, std::vector<float>{1, 1, 1}.data(), 12);
    g.constants["ws_bad"] = Constant::copy_of(DataType::f32, {2}, std::vector<float>{0.1f, -1.0f}.data(), 8);
    auto make = [&](std::map<std::string, Attribute> q_attrs, std::map<std::string, Attribute> conv_attrs,
                    const std::string& scales = "ws") {
        Graph h = g;
        Node q{"q", "Quantize", {"x"}, {"xq"}, q_attrs};
        Node c{"conv", "QConv", {"xq", "w", scales}, {"yq"}, conv_attrs};
        Node d{"dq", "Dequantize", {"yq"}, {"y"}, {{"x_scale", 0.1}, {"x_zero_point", int64_t(0)}}};
        h.nodes = {q, c, d};
        return Executor(h);
    };
    const std::map<std::string, Attribute> good_q{{"y_scale", 0.05}, {"y_zero_point", int64_t(-3)}};
    const std::map<std::string, Attribute> good_conv{{"x_scale", 0.05}, {"x_zero_point", int64_t(-3)},
                                                     {"y_scale", 0.1}, {"y_zero_point", int64_t(0)}};
    CHECK_NOTHROW(make(good_q, good_conv));
    for (double bad : {0.0, -0.5, std::nan(""), std::numeric_limits<double>::infinity()}) {
        CAPTURE(bad);
        auto q = good_q;
        q["y_scale"] = bad;
        CHECK_THROWS_WITH_AS(make(q, good_conv), doctest::Contains("'q'"), Error);
        auto c = good_conv;
        c["x_scale"] = bad;
        CHECK_THROWS_WITH_AS(make(good_q, c), doctest::Contains("'conv'"), Error);
    }
    for (int64_t zp : {int64_t(-129), int64_t(128), int64_t(255)}) {
        auto c = good_conv;
        c["y_zero_point"] = zp;
        CHECK_THROWS_WITH_AS(make(good_q, c), doctest::Contains("zero point"), Error);
    }
    auto missing = good_conv;
    missing.erase("x_scale");
    CHECK_THROWS_AS(make(good_q, missing), Error);
    CHECK_THROWS_WITH_AS(make(good_q, good_conv, "ws3"), doctest::Contains("3 weight scales for 2"), Error);
    CHECK_THROWS_WITH_AS(make(good_q, good_conv, "ws_bad"), doctest::Contains("weight scale"), Error);
    // An int8 value fed to an fp32 op is a model error, not a misread buffer.
    Graph h = g;
    h.constants["wf"] = Constant::from_floats({2, 1, 1, 3}, std::vector<float>(6, 1.0f));
    h.nodes = {Node{"q", "Quantize", {"x"}, {"xq"}, good_q}, Node{"conv", "Conv", {"xq", "wf"}, {"y"}, {}}};
    CHECK_THROWS_WITH_AS(Executor{h}, doctest::Contains("I8"), Error);
}

TEST_CASE("PTQ of a random MobileNetV2: faithful, exact across kernel sets, smaller, and stable through .xinf") {
    ModelOptions fo;
    // No softmax: the outputs are dequantized int8 values, so kernel sets must agree exactly.
    const Model fp32 = Model::load("builtin:mobilenet_v2?alpha=0.35&size=96&classes=10&seed=3&softmax=0", fo);
    const auto calib = random_images(8, 96, 1), eval = random_images(6, 96, 2);
    quant::QuantizeOptions qo;
    const Model int8 = quantize(fp32, calib, qo);
    size_t int8_layers = 0;
    for (auto& n : int8.graph().nodes) int8_layers += quant::is_int8_layer(n);
    CHECK(int8_layers == 52 + 10 + 1 + 1);  // 52 convs, 10 adds, the pool, the classifier

    const auto rep = compare_models(fp32, int8, eval);
    REQUIRE(rep.layers.size() == int8_layers);
    // Random weights on synthetic images drift further than the real model in deep layers (see the real-model
    // test for the fidelity bar); the first layers measure the quantizer itself.
    for (size_t i = 0; i < 3; ++i) {
        CAPTURE(rep.layers[i].value);
        CHECK(rep.layers[i].sqnr_db > 25.0);
    }
    CHECK(rep.worst_layer()->cosine > 0.75);

    // The reference kernels are the spec: the optimized int8 kernels must give the same bytes.
    ModelOptions ro;
    ro.kernels = ops::KernelSet::reference;
    const auto bytes = int8.save_to_memory();
    const Model int8_ref = Model::load_from_memory(bytes.data(), bytes.size(), ro);
    const Model int8_reloaded = Model::load_from_memory(bytes.data(), bytes.size());
    // Full-range weights run the uint8-quads GEMM only where VNNI makes it exact.
    size_t full_range_quads = 0;
    for (auto& step : int8_reloaded.executor().steps())
        full_range_quads += step.op->kind().find(" quads") != std::string::npos;
    CHECK(full_range_quads == (kernels::s8::quads_exact_for_any_weights() ? 52 - 17 + 1 : 0));
    for (auto& x : eval) {
        const auto y = int8.run(x);
        const auto y_ref = int8_ref.run(x);
        const auto y_reloaded = int8_reloaded.run(x);
        REQUIRE(y.size() == 10);
        for (size_t i = 0; i < y.size(); ++i) {
            CHECK(y.data()[i] == y_ref.data()[i]);
            CHECK(y.data()[i] == y_reloaded.data()[i]);
        }
    }
    // 7-bit weights: every GEMM runs the uint8-quads kernel, still byte for byte the reference.
    quant::QuantizeOptions q7 = qo;
    q7.weight_bits = 7;
    const auto bytes_w7 = quantize(fp32, calib, q7).save_to_memory();
    const Model w7 = Model::load_from_memory(bytes_w7.data(), bytes_w7.size());
    const Model w7_ref = Model::load_from_memory(bytes_w7.data(), bytes_w7.size(), ro);
    size_t quads_gemms = 0;
    for (auto& step : w7.executor().steps()) quads_gemms += step.op->kind().find(" quads") != std::string::npos;
    CHECK(quads_gemms == 52 - 17 + 1);  // the 1x1 convolutions, the stem and the classifier (not the depthwise)
    for (auto& x : eval) {
        const auto y = w7.run(x), y_ref = w7_ref.run(x);
        for (size_t i = 0; i < y.size(); ++i) CHECK(y.data()[i] == y_ref.data()[i]);
    }
    // Batch 2 gives each image's batch-1 result.
    xt::xarray<float> two = xt::concatenate(xt::xtuple(eval[0], eval[1]), 0);
    const auto y2 = int8.run(two);
    const auto y0 = int8.run(eval[0]), y1 = int8.run(eval[1]);
    for (size_t i = 0; i < 10; ++i) {
        CHECK(y2(0, i) == y0.data()[i]);
        CHECK(y2(1, i) == y1.data()[i]);
    }
    // Metadata and per-channel scales weigh more in this small model than in MobileNetV2 1.0 (26.6%).
    CHECK(double(bytes.size()) < 0.35 * double(fp32.save_to_memory().size()));

    // Layers can be kept in fp32 by name, or automatically.
    qo.keep_fp32 = {int8.graph().nodes[1].name};
    const Model partial = quantize(fp32, calib, qo);
    size_t partial_layers = 0;
    for (auto& n : partial.graph().nodes) partial_layers += quant::is_int8_layer(n);
    CHECK(partial_layers == int8_layers - 1);
    qo.keep_fp32.clear();
    qo.auto_fp32 = 3;
    const Model automatic = quantize(fp32, calib, qo);
    size_t auto_layers = 0;
    for (auto& n : automatic.graph().nodes) auto_layers += quant::is_int8_layer(n);
    CHECK(auto_layers == int8_layers - 3);
    CHECK(automatic.run(eval[0]).size() == 10);
}

TEST_CASE("PTQ of the real MobileNetV2 agrees with fp32 on held-out photos") {
    const std::string shared = testing::shared_data_dir();
    if (shared.empty()) {
        MESSAGE("skipped: ../shared/data is not present");
        return;
    }
    const Model fp32 = Model::load(shared + "/models/nsfw_mobilenet_v2.onnx");
    std::vector<std::string> photos;
    for (auto& e : std::filesystem::directory_iterator(shared + "/photos"))
        if (e.path().extension() == ".png") photos.push_back(e.path().string());
    std::sort(photos.begin(), photos.end());
    REQUIRE(photos.size() >= 60);
    std::vector<xt::xarray<float>> calib, eval;
    for (size_t i = 0; i < photos.size(); ++i) {
        xt::xarray<float> x = testing::load_photo_01(photos[i]);  // already 224x224
        REQUIRE(x.size() == 224 * 224 * 3);
        xt::xarray<float> t = xt::xarray<float>::from_shape({1, 3, 224, 224});  // the ONNX model is NCHW
        kernels::ref::transpose_f32({1, 224, 224, 3}, {0, 3, 1, 2}, x.data(), t.data());
        (i % 2 ? eval : calib).push_back(std::move(t));
    }
    const Model int8 = quantize(fp32, calib);
    const auto rep = compare_models(fp32, int8, eval);
    MESSAGE("top-1 agreement ", rep.top1_agreement, ", mean |dp| ", rep.mean_abs_dp, ", max |dp| ", rep.max_abs_dp,
            ", lowest layer SQNR ", rep.worst_layer()->sqnr_db, " dB (", rep.worst_layer()->value, ")");
    CHECK(rep.layers.size() >= 60);
    CHECK(rep.top1_agreement >= 0.95);
    CHECK(rep.mean_abs_dp < 0.01);
    for (auto& l : rep.layers) {
        CAPTURE(l.value);
        CHECK(l.sqnr_db > 15.0);
    }
}
