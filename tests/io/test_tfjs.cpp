// TensorFlow.js layers-format import: each layer kind against direct loops, malformed and unsupported models. The
// real nsfwjs MobileNetV2 is checked against TensorFlow.js' own outputs in test_real_models.cpp.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "testing.hpp"
#include "xinfer/io/tfjs.hpp"
#include "xinfer/model.hpp"


using namespace xinfer;
using nlohmann::json;
using Array = xt::xarray<float>;

namespace {

// A weights manifest and the matching shard bytes.
struct Weights {
    json specs = json::array();
    std::vector<std::byte> bytes;
    std::mt19937 rng{7};

    void append(const void* p, size_t n) {
        auto b = static_cast<const std::byte*>(p);
        bytes.insert(bytes.end(), b, b + n);
    }
    std::vector<float> f32(const std::string& name, const Shape& shape, float lo = -1, float hi = 1) {
        std::uniform_real_distribution<float> dist(lo, hi);
        std::vector<float> v(checked_numel(shape));
        for (auto& x : v) x = dist(rng);
        append(v.data(), v.size() * 4);
        specs.push_back({{"name", name}, {"shape", shape}, {"dtype", "float32"}});
        return v;
    }
    // Stored as uint8 or uint16 codes q; the model's values are q * scale + min.
    std::vector<float> quantized(const std::string& name, const Shape& shape, int bits, double min, double max) {
        const uint32_t levels = bits == 8 ? 255 : 65535;
        const double scale = (max - min) / levels;
        std::uniform_int_distribution<uint32_t> code(0, levels);
        std::vector<float> v;
        for (size_t i = 0; i < checked_numel(shape); ++i) {
            const uint32_t q = code(rng);
            const uint8_t le[2] = {uint8_t(q & 0xff), uint8_t(q >> 8)};
            append(le, bits == 8 ? 1 : 2);
            v.push_back(float(q * scale + min));
        }
        json quant = {{"dtype", bits == 8 ? "uint8" : "uint16"}, {"scale", scale}, {"min", min}};
        specs.push_back({{"name", name}, {"shape", shape}, {"dtype", "float32"}, {"quantization", quant}});
        return v;
    }
    void i32(const std::string& name, const std::vector<int32_t>& v) {
        append(v.data(), v.size() * 4);
        specs.push_back({{"name", name}, {"shape", {v.size()}}, {"dtype", "int32"}});
    }
    json manifest() const {
        json group;
        group["paths"] = json::array({"weights.bin"});
        group["weights"] = specs;
        return json::array({group});
    }
};

json layer(const std::string& name, const std::string& cls, json config, const std::vector<std::string>& inputs) {
    config["name"] = name;
    json nodes = json::array();
    if (!inputs.empty()) {
        json node = json::array();
        for (auto& in : inputs) node.push_back(json::array({in, 0, 0, json::object()}));
        nodes.push_back(node);
    }
    json l;
    l["name"] = name;
    l["class_name"] = cls;
    l["config"] = config;
    l["inbound_nodes"] = nodes;
    return l;
}

json input_layer(const std::string& name, const std::vector<int>& dims) {
    json shape = json::array({nullptr});
    for (int d : dims) shape.push_back(d);
    return layer(name, "InputLayer", {{"batch_input_shape", shape}, {"dtype", "float32"}, {"sparse", false}}, {});
}

// A Keras 2 functional model as TensorFlow.js saves it.
json functional(const json& layers, const std::vector<std::string>& inputs, const std::vector<std::string>& outputs,
                const Weights& w) {
    json config;
    config["name"] = "test_model";
    config["layers"] = layers;
    config["input_layers"] = json::array();
    config["output_layers"] = json::array();
    for (auto& i : inputs) config["input_layers"].push_back(json::array({i, 0, 0}));
    for (auto& o : outputs) config["output_layers"].push_back(json::array({o, 0, 0}));
    json topology;
    topology["keras_version"] = "2.2.4";
    topology["backend"] = "tensorflow";
    topology["model_config"] = {{"class_name", "Model"}, {"config", config}};
    json model;
    model["modelTopology"] = topology;
    model["weightsManifest"] = w.manifest();
    return model;
}

Array run_tfjs(const json& model, const Weights& w, const Array& x, bool optimize) {
    io::XinfModel m = io::import_tfjs(model.dump(), w.bytes, "test model");
    ModelOptions o;
    o.optimize = optimize;
    return Model::from_graph(std::move(m.graph), {}, o).run(x);
}

Array random_array(const std::vector<size_t>& shape, std::mt19937& rng, float range = 1.0f) {
    Array a = Array::from_shape(shape);
    testing::fill_random(a.data(), a.size(), rng, range);
    return a;
}

void check_near(const Array& got, const Array& want, double tol = 1e-5) {
    REQUIRE(std::vector<size_t>(got.shape().begin(), got.shape().end()) ==
            std::vector<size_t>(want.shape().begin(), want.shape().end()));
    testing::check_not_constant(want.data(), want.size());
    for (size_t i = 0; i < got.size(); ++i)
        if (!(std::fabs(double(got.data()[i]) - double(want.data()[i])) <= tol * (1.0 + std::fabs(want.data()[i])))) {
            CAPTURE(i);
            CAPTURE(got.data()[i]);
            CAPTURE(want.data()[i]);
            FAIL_CHECK("mismatch against the direct computation");
            return;
        }
}

// Runs the model with and without graph optimization and compares both with `want`.
void check_model(const json& model, const Weights& w, const Array& x, const Array& want) {
    for (bool optimize : {true, false}) {
        CAPTURE(optimize);
        check_near(run_tfjs(model, w, x, optimize), want);
    }
}

float activate(float v, const std::string& act) {
    if (act == "relu") return std::max(v, 0.0f);
    if (act == "relu6") return std::min(std::max(v, 0.0f), 6.0f);
    return v;
}

// TensorFlow's SAME padding: output ceil(in / stride); of an odd total padding, the extra pixel goes to the end.
void tf_same(int in, int k, int s, int d, int& out, int& before) {
    out = (in + s - 1) / s;
    before = std::max(0, (out - 1) * s + (k - 1) * d + 1 - in) / 2;
}

// Keras convolution straight from its kernel layout [KH][KW][C][M]. Regular: M output channels; depthwise: output
// channel c*M+m sees input channel c only. Positions outside the input read zero.
Array conv_ref(const Array& x, const std::vector<float>& k, int KH, int KW, int M, bool depthwise,
               const std::vector<float>& bias, int s, int d, int top, int left, int OH, int OW,
               const std::string& act) {
    const int N = int(x.shape()[0]), H = int(x.shape()[1]), W = int(x.shape()[2]), C = int(x.shape()[3]);
    const int cout = depthwise ? C * M : M;
    Array y = Array::from_shape({size_t(N), size_t(OH), size_t(OW), size_t(cout)});
    for (int n = 0; n < N; ++n)
        for (int oy = 0; oy < OH; ++oy)
            for (int ox = 0; ox < OW; ++ox)
                for (int o = 0; o < cout; ++o) {
                    double acc = bias.empty() ? 0.0 : bias[size_t(o)];
                    for (int ky = 0; ky < KH; ++ky)
                        for (int kx = 0; kx < KW; ++kx) {
                            const int iy = oy * s + ky * d - top, ix = ox * s + kx * d - left;
                            if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                            const size_t tap = size_t(ky * KW + kx) * size_t(C);
                            if (depthwise) {
                                const int c = o / M, m = o % M;
                                acc += double(x(n, iy, ix, c)) * k[(tap + size_t(c)) * size_t(M) + size_t(m)];
                            } else {
                                for (int i = 0; i < C; ++i)
                                    acc += double(x(n, iy, ix, i)) * k[(tap + size_t(i)) * size_t(M) + size_t(o)];
                            }
                        }
                    y(n, oy, ox, o) = activate(float(acc), act);
                }
    return y;
}

struct ConvCase {
    const char* name;
    int H, W, C, K, stride, dilation;
    const char* padding;
    int pad_top, pad_bottom, pad_left, pad_right;  // a ZeroPadding2D before the conv when any is set
    bool depthwise;
    int M;  // filters, or the depth multiplier
    bool bias;
    const char* activation;
};

}  // namespace

TEST_CASE("tfjs: Conv2D and DepthwiseConv2D geometry, ZeroPadding2D folding, quantized kernels") {
    const ConvCase cases[] = {
        {"same, odd input, stride 2", 5, 7, 3, 3, 2, 1, "same", 0, 0, 0, 0, false, 4, true, "relu"},
        {"same, even input, stride 2: odd padding", 6, 8, 3, 3, 2, 1, "same", 0, 0, 0, 0, false, 3, true, "linear"},
        {"same, 2x2 kernel: odd padding", 5, 4, 2, 2, 1, 1, "same", 0, 0, 0, 0, false, 3, false, "relu"},
        {"same, dilated", 6, 5, 2, 3, 1, 2, "same", 0, 0, 0, 0, false, 3, false, "linear"},
        {"zero padding + valid, stride 2", 7, 7, 3, 3, 2, 1, "valid", 0, 1, 0, 1, false, 5, true, "linear"},
        {"asymmetric zero padding + valid", 6, 5, 2, 3, 1, 1, "valid", 2, 0, 1, 3, false, 3, true, "relu6"},
        {"valid 1x1", 4, 4, 6, 1, 1, 1, "valid", 0, 0, 0, 0, false, 8, true, "relu6"},
        {"valid 2x2, stride 2", 5, 6, 3, 2, 2, 1, "valid", 0, 0, 0, 0, false, 2, true, "linear"},
        {"depthwise same", 5, 5, 4, 3, 1, 1, "same", 0, 0, 0, 0, true, 1, true, "relu6"},
        {"depthwise same, multiplier 2, stride 2", 6, 7, 3, 3, 2, 1, "same", 0, 0, 0, 0, true, 2, false, "linear"},
        {"depthwise zero padding + valid, stride 2", 8, 8, 4, 3, 2, 1, "valid", 0, 1, 0, 1, true, 1, false, "relu"},
        {"depthwise 5x5 same, odd input, stride 2", 9, 7, 2, 5, 2, 1, "same", 0, 0, 0, 0, true, 1, true, "linear"},
    };
    std::mt19937 rng(11);
    for (const ConvCase& c : cases) {
        const std::string name = c.name;
        CAPTURE(name);
        Weights w;
        const std::string cls = c.depthwise ? "DepthwiseConv2D" : "Conv2D";
        const int cout = c.depthwise ? c.C * c.M : c.M;
        const auto kernel = w.quantized(c.depthwise ? "conv/depthwise_kernel" : "conv/kernel",
                                        {c.K, c.K, c.C, c.M}, 8, -0.9, 1.1);
        const auto bias = c.bias ? w.f32("conv/bias", {cout}) : std::vector<float>{};
        json config = {{"kernel_size", {c.K, c.K}}, {"strides", {c.stride, c.stride}}, {"padding", c.padding},
                       {"dilation_rate", {c.dilation, c.dilation}}, {"use_bias", c.bias},
                       {"activation", c.activation}, {"data_format", "channels_last"}};
        if (c.depthwise) config["depth_multiplier"] = c.M;
        else config["filters"] = c.M;
        json layers = json::array({input_layer("in", {c.H, c.W, c.C})});
        const bool zero_pad = c.pad_top || c.pad_bottom || c.pad_left || c.pad_right;
        if (zero_pad) {
            json pads = {{c.pad_top, c.pad_bottom}, {c.pad_left, c.pad_right}};
            json pad_config = {{"padding", pads}, {"data_format", "channels_last"}};
            layers.push_back(layer("pad", "ZeroPadding2D", pad_config, {"in"}));
        }
        layers.push_back(layer("conv", cls, config, {zero_pad ? "pad" : "in"}));
        const json model = functional(layers, {"in"}, {"conv"}, w);

        int OH, OW, top = c.pad_top, left = c.pad_left;
        if (std::string(c.padding) == "same") {
            tf_same(c.H, c.K, c.stride, c.dilation, OH, top);
            tf_same(c.W, c.K, c.stride, c.dilation, OW, left);
        } else {
            const int span = (c.K - 1) * c.dilation + 1;
            OH = (c.H + c.pad_top + c.pad_bottom - span) / c.stride + 1;
            OW = (c.W + c.pad_left + c.pad_right - span) / c.stride + 1;
        }
        const Array x = random_array({2, size_t(c.H), size_t(c.W), size_t(c.C)}, rng);
        check_model(model, w, x,
                    conv_ref(x, kernel, c.K, c.K, c.M, c.depthwise, bias, c.stride, c.dilation, top, left, OH, OW,
                             c.activation));
        // The padding is folded: one Conv node reads the graph input.
        const Graph g = io::import_tfjs(model.dump(), w.bytes, "test").graph;
        CHECK(g.nodes[0].op == "Conv");
        CHECK(g.nodes[0].inputs[0] == "in");
    }
}

TEST_CASE("tfjs: BatchNormalization, ReLU, Add of three, GlobalAveragePooling2D, Dense softmax") {
    Weights w;
    const int H = 4, W = 5, C = 3, U = 4;
    const auto kernel = w.f32("c1/kernel", {1, 1, C, C});
    const auto gamma = w.quantized("bn1/gamma", {C}, 16, 0.5, 1.5);
    const auto beta = w.f32("bn1/beta", {C});
    const auto mean = w.f32("bn1/moving_mean", {C});
    const auto var = w.quantized("bn1/moving_variance", {C}, 8, 0.2, 2.0);
    w.i32("step_counter", {3, -7});  // not used by any layer; only shifts the following offsets
    const auto mean2 = w.f32("bn2/moving_mean", {C});
    const auto var2 = w.f32("bn2/moving_variance", {C}, 0.0f, 1.0f);
    const auto dk = w.quantized("dense/kernel", {C, U}, 16, -2.0, 2.0);
    const auto db = w.f32("dense/bias", {U});
    json layers = json::array(
        {input_layer("in", {H, W, C}),
         layer("c1", "Conv2D", {{"filters", C}, {"kernel_size", {1, 1}}, {"strides", {1, 1}}, {"padding", "valid"},
                                {"dilation_rate", {1, 1}}, {"use_bias", false}, {"activation", "linear"}}, {"in"}),
         layer("bn1", "BatchNormalization", {{"axis", -1}, {"epsilon", 0.001}, {"center", true}, {"scale", true}},
               {"c1"}),
         layer("relu1", "ReLU", {{"max_value", 1.5}, {"negative_slope", 0}, {"threshold", 0}}, {"bn1"}),
         layer("bn2", "BatchNormalization", {{"axis", 3}, {"epsilon", 0.01}, {"center", false}, {"scale", false}},
               {"in"}),
         layer("sum", "Add", json::object(), {"relu1", "bn2", "in"}),
         layer("gap", "GlobalAveragePooling2D", {{"data_format", "channels_last"}}, {"sum"}),
         layer("dense", "Dense", {{"units", U}, {"activation", "softmax"}, {"use_bias", true}}, {"gap"})});
    const json model = functional(layers, {"in"}, {"dense"}, w);

    std::mt19937 rng(3);
    const Array x = random_array({2, H, W, C}, rng, 2.0f);
    Array want = Array::from_shape({2, size_t(U)});
    for (int n = 0; n < 2; ++n) {
        std::vector<double> pooled(C, 0.0);
        for (int y = 0; y < H; ++y)
            for (int xx = 0; xx < W; ++xx)
                for (int o = 0; o < C; ++o) {
                    double conv = 0;
                    for (int i = 0; i < C; ++i) conv += double(x(n, y, xx, i)) * kernel[size_t(i * C + o)];
                    const double bn = (conv - mean[o]) / std::sqrt(double(var[o]) + 1e-3) * gamma[o] + beta[o];
                    const double relu = std::min(std::max(bn, 0.0), 1.5);
                    const double bn2 = (x(n, y, xx, o) - mean2[o]) / std::sqrt(double(var2[o]) + 0.01);
                    pooled[size_t(o)] += (relu + bn2 + x(n, y, xx, o)) / (H * W);
                }
        std::vector<double> logits(U);
        double sum = 0;
        for (int u = 0; u < U; ++u) {
            logits[size_t(u)] = db[size_t(u)];
            for (int i = 0; i < C; ++i) logits[size_t(u)] += pooled[size_t(i)] * dk[size_t(i * U + u)];
            sum += std::exp(logits[size_t(u)]);
        }
        for (int u = 0; u < U; ++u) want(n, u) = float(std::exp(logits[size_t(u)]) / sum);
    }
    check_model(model, w, x, want);
    const Graph g = io::import_tfjs(model.dump(), w.bytes, "test").graph;
    CHECK(g.outputs.at(0).name == "dense");
    CHECK(g.outputs.at(0).shape == Shape{-1, U});
    CHECK(g.constants.at("bn2/gamma").to_floats() == std::vector<float>(C, 1.0f));  // scale=false: gamma is 1
}

TEST_CASE("tfjs: pooling with SAME padding, Flatten, Activation, Dense, Dropout, Reshape") {
    Weights w;
    const auto dk = w.quantized("dense/kernel", {8, 6}, 8, -1.0, 1.0);
    const auto db = w.f32("dense/bias", {6});
    json layers = json::array(
        {input_layer("in", {7, 6, 2}),
         layer("maxpool", "MaxPooling2D", {{"pool_size", {3, 3}}, {"strides", {2, 2}}, {"padding", "same"}}, {"in"}),
         layer("avgpool", "AveragePooling2D", {{"pool_size", {2, 2}}, {"strides", nullptr}, {"padding", "same"}},
               {"maxpool"}),
         layer("flat", "Flatten", json::object(), {"avgpool"}),
         layer("clip", "Activation", {{"activation", "relu6"}}, {"flat"}),
         layer("dense", "Dense", {{"units", 6}, {"activation", "relu"}, {"use_bias", true}}, {"clip"}),
         layer("drop", "Dropout", {{"rate", 0.5}}, {"dense"}),
         layer("reshape", "Reshape", {{"target_shape", {3, -1}}}, {"drop"}),
         layer("probs", "Activation", {{"activation", "softmax"}}, {"reshape"})});
    const json model = functional(layers, {"in"}, {"probs"}, w);

    std::mt19937 rng(5);
    const Array x = random_array({3, 7, 6, 2}, rng, 8.0f);
    // Max pool 3x3/2 SAME on 7x6: 4x3 outputs, padding rows 1 + 1, columns 0 + 1 (padding never wins).
    Array mp = Array::from_shape({3, 4, 3, 2});
    for (int n = 0; n < 3; ++n)
        for (int oy = 0; oy < 4; ++oy)
            for (int ox = 0; ox < 3; ++ox)
                for (int c = 0; c < 2; ++c) {
                    float m = -INFINITY;
                    for (int iy = oy * 2 - 1; iy < oy * 2 + 2; ++iy)
                        for (int ix = ox * 2; ix < ox * 2 + 3; ++ix)
                            if (iy >= 0 && iy < 7 && ix < 6) m = std::max(m, float(x(n, iy, ix, c)));
                    mp(n, oy, ox, c) = m;
                }
    Array want = Array::from_shape({3, 3, 2});
    for (int n = 0; n < 3; ++n) {
        // Average pool 2x2/2 SAME on 4x3: 2x2 outputs, one padding column at the right, not counted.
        std::vector<double> flat;
        for (int oy = 0; oy < 2; ++oy)
            for (int ox = 0; ox < 2; ++ox)
                for (int c = 0; c < 2; ++c) {
                    double s = 0;
                    int count = 0;
                    for (int iy = oy * 2; iy < oy * 2 + 2; ++iy)
                        for (int ix = ox * 2; ix < std::min(ox * 2 + 2, 3); ++ix) s += mp(n, iy, ix, c), ++count;
                    flat.push_back(std::min(std::max(s / count, 0.0), 6.0));
                }
        std::vector<double> dense(6);
        for (int u = 0; u < 6; ++u) {
            double acc = db[size_t(u)];
            for (int i = 0; i < 8; ++i) acc += flat[size_t(i)] * dk[size_t(i * 6 + u)];
            dense[size_t(u)] = std::max(acc, 0.0);
        }
        for (int r = 0; r < 3; ++r) {
            const double a = std::exp(dense[size_t(2 * r)]), b = std::exp(dense[size_t(2 * r + 1)]);
            want(n, r, 0) = float(a / (a + b));
            want(n, r, 1) = float(b / (a + b));
        }
    }
    check_model(model, w, x, want);
}

TEST_CASE("tfjs: Sequential model (Keras 2.2 config list, implicit input)") {
    Weights w;
    const auto k1 = w.f32("d1/kernel", {5, 3});
    const auto b1 = w.f32("d1/bias", {3});
    const auto k2 = w.quantized("d2/kernel", {3, 2}, 8, -1.0, 1.0);
    json layers = json::array();
    layers.push_back({{"class_name", "Dense"},
                      {"config", {{"name", "d1"}, {"units", 3}, {"activation", "relu"}, {"use_bias", true},
                                  {"batch_input_shape", {nullptr, 5}}, {"dtype", "float32"}}}});
    layers.push_back({{"class_name", "Dense"},
                      {"config", {{"name", "d2"}, {"units", 2}, {"activation", "linear"}, {"use_bias", false}}}});
    json model;
    model["modelTopology"] = {{"class_name", "Sequential"}, {"config", layers}};
    model["weightsManifest"] = w.manifest();

    std::mt19937 rng(9);
    const Array x = random_array({4, 5}, rng);
    Array want = Array::from_shape({4, 2});
    for (int n = 0; n < 4; ++n)
        for (int o = 0; o < 2; ++o) {
            double acc = 0;
            for (int h = 0; h < 3; ++h) {
                double hidden = b1[size_t(h)];
                for (int i = 0; i < 5; ++i) hidden += x(n, i) * k1[size_t(i * 3 + h)];
                acc += std::max(hidden, 0.0) * k2[size_t(h * 2 + o)];
            }
            want(n, o) = float(acc);
        }
    check_model(model, w, x, want);
    const Graph g = io::import_tfjs(model.dump(), w.bytes, "seq").graph;
    REQUIRE(g.inputs.size() == 1);
    CHECK(g.inputs[0].name == "d1_input");
    CHECK(g.inputs[0].shape == Shape{-1, 5});
}

namespace {

// Input [4,4,2] -> Conv2D "conv" 3x3 SAME (2 filters) -> Flatten "flat" -> Dense "dense" (3, softmax).
struct SmallModel {
    Weights w;
    json model;
    SmallModel() {
        w.quantized("conv/kernel", {3, 3, 2, 2}, 8, -1.0, 1.0);
        w.f32("conv/bias", {2});
        w.f32("dense/kernel", {32, 3});
        w.quantized("dense/bias", {3}, 16, -0.5, 0.5);
        json layers = json::array(
            {input_layer("in", {4, 4, 2}),
             layer("conv", "Conv2D", {{"filters", 2}, {"kernel_size", {3, 3}}, {"strides", {1, 1}},
                                      {"padding", "same"}, {"activation", "relu"}, {"use_bias", true}}, {"in"}),
             layer("flat", "Flatten", json::object(), {"conv"}),
             layer("dense", "Dense", {{"units", 3}, {"activation", "softmax"}}, {"flat"})});
        model = functional(layers, {"in"}, {"dense"}, w);
    }
    json& layers() { return model["modelTopology"]["model_config"]["config"]["layers"]; }
    json& weight(size_t i) { return model["weightsManifest"][0]["weights"][i]; }
};

void check_error(const std::string& text, const std::vector<std::byte>& bytes, ErrorCode code,
                 const std::vector<std::string>& fragments) {
    std::string message;
    try {
        io::import_tfjs(text, bytes, "bad_model.json");
    } catch (const Error& e) {
        CHECK(e.code() == code);
        message = e.what();
    }
    CAPTURE(message);
    REQUIRE_MESSAGE(!message.empty(), "expected an xinfer::Error");
    CHECK(message.find("bad_model.json") != std::string::npos);
    for (auto& f : fragments) CHECK_MESSAGE(message.find(f) != std::string::npos, "missing: ", f);
}
void check_error(const SmallModel& m, ErrorCode code, const std::vector<std::string>& fragments) {
    check_error(m.model.dump(), m.w.bytes, code, fragments);
}

}  // namespace

TEST_CASE("tfjs: malformed models are invalid_model errors naming the layer or weight") {
    const auto invalid = ErrorCode::invalid_model;
    {
        SmallModel m;  // the unmodified model imports and runs
        std::mt19937 rng(1);
        const Array y = run_tfjs(m.model, m.w, random_array({1, 4, 4, 2}, rng), true);
        CHECK(y.shape()[1] == 3);
    }
    SmallModel base;
    check_error("{\"modelTopology\": [", base.w.bytes, invalid, {"not valid JSON"});
    check_error("[1, 2]", base.w.bytes, invalid, {"expected a JSON object"});
    {
        SmallModel m;
        m.model.erase("modelTopology");
        check_error(m, invalid, {"'modelTopology' is missing"});
    }
    {
        SmallModel m;
        m.w.bytes.pop_back();
        check_error(m, invalid, {"weight 'dense/bias'", "past the end"});
    }
    {
        SmallModel m;
        m.w.bytes.resize(m.w.bytes.size() + 4);
        check_error(m, invalid, {"the manifest describes"});
    }
    {
        SmallModel m;
        m.layers()[1]["config"]["filters"] = 3;
        check_error(m, invalid, {"layer 'conv' (Conv2D)", "weight 'conv/kernel' has shape [3, 3, 2, 2]"});
    }
    {
        SmallModel m;
        m.layers()[1]["config"]["filters"] = "two";
        check_error(m, invalid, {"layer 'conv' (Conv2D)", "'filters' must be an integer"});
    }
    {
        SmallModel m;
        m.layers()[1]["config"]["kernel_size"] = {3, 3, 3};
        check_error(m, invalid, {"layer 'conv'", "'kernel_size' must hold 2 values"});
    }
    {
        SmallModel m;
        m.layers()[3]["config"]["units"] = -3;
        check_error(m, invalid, {"layer 'dense'", "'units'", "out of range"});
    }
    {
        SmallModel m;
        m.weight(0)["shape"] = {3, 3, -2, -2};
        check_error(m, invalid, {"weight 'conv/kernel'", "out of range"});
    }
    {
        SmallModel m;
        m.weight(2)["shape"] = {int64_t(1) << 40, int64_t(1) << 40};
        check_error(m, invalid, {"weight 'dense/kernel'", "too many elements"});
    }
    {
        SmallModel m;
        m.weight(1)["dtype"] = "float64";
        check_error(m, invalid, {"weight 'conv/bias'", "unknown dtype 'float64'"});
    }
    {
        SmallModel m;
        m.weight(3)["quantization"]["dtype"] = "int4";
        check_error(m, invalid, {"weight 'dense/bias'", "quantization dtype 'int4'"});
    }
    {
        SmallModel m;
        m.weight(1)["name"] = "conv/b";
        check_error(m, invalid, {"layer 'conv'", "weight 'conv/bias' is not in the weights manifest"});
    }
    {
        SmallModel m;
        m.weight(1)["name"] = "conv/kernel";
        check_error(m, invalid, {"weight 'conv/kernel' appears twice"});
    }
    {
        SmallModel m;
        m.layers()[1]["inbound_nodes"][0][0][0] = "nowhere";
        check_error(m, invalid, {"layer 'conv'", "input 'nowhere' is not a layer"});
    }
    {
        SmallModel m;  // conv <- dense <- flat <- conv
        m.layers()[1]["inbound_nodes"][0][0][0] = "dense";
        check_error(m, invalid, {"cycle"});
    }
    {
        SmallModel m;
        m.layers()[2]["name"] = "conv";
        check_error(m, invalid, {"two layers are named 'conv'"});
    }
    {
        SmallModel m;
        m.model["modelTopology"]["model_config"]["config"]["output_layers"][0][0] = "gone";
        check_error(m, invalid, {"output layer 'gone'"});
    }
    {
        SmallModel m;  // the Keras 3 form of inbound nodes
        m.layers()[2]["inbound_nodes"] = json::array({{{"args", json::array()}, {"kwargs", json::object()}}});
        check_error(m, invalid, {"layer 'flat'", "nested-list format"});
    }
    {
        SmallModel m;
        m.layers()[0]["config"]["batch_input_shape"] = {nullptr, 4, 4, 3};
        check_error(m, invalid, {"layer 'conv'", "weight 'conv/kernel' has shape"});
    }
    {
        SmallModel m;
        m.layers()[0]["config"]["batch_input_shape"] = {nullptr, 2, 2, 2};
        m.layers()[1]["config"]["padding"] = "valid";
        check_error(m, invalid, {"layer 'conv'", "does not fit"});
    }
    {
        SmallModel m;
        m.layers()[2]["inbound_nodes"] = json::array();
        check_error(m, invalid, {"layer 'flat' (Flatten) has no inputs"});
    }
    {
        SmallModel m;
        m.model["modelTopology"]["model_config"]["class_name"] = "Graph";
        check_error(m, invalid, {"'Graph'"});
    }
}

TEST_CASE("tfjs: every unsupported feature is listed in one unsupported_op error") {
    Weights w;
    auto conv = [](const std::string& act, const char* format) {
        return json{{"filters", 2}, {"kernel_size", {3, 3}}, {"padding", "same"}, {"activation", act},
                    {"data_format", format}, {"use_bias", false}};
    };
    json layers = json::array(
        {input_layer("in", {8, 8, 3}), layer("lam", "Lambda", {{"function", "x"}}, {"in"}),
         layer("c_tanh", "Conv2D", conv("tanh", "channels_last"), {"in"}),
         layer("leaky", "ReLU", {{"negative_slope", 0.1}}, {"c_tanh"}),
         layer("pad_pool", "ZeroPadding2D", {{"padding", 1}}, {"in"}),
         layer("pool", "MaxPooling2D", {{"pool_size", 2}}, {"pad_pool"}),
         layer("pad_same", "ZeroPadding2D", {{"padding", {1, 2}}}, {"in"}),
         layer("c_same", "Conv2D", conv("linear", "channels_last"), {"pad_same"}),
         layer("c_first", "Conv2D", conv("linear", "channels_first"), {"in"}),
         layer("after", "Dense", {{"units", 2}}, {"lam"})});
    const json model = functional(layers, {"in"}, {"after", "leaky", "pool", "c_same", "c_first"}, w);
    check_error(model.dump(), w.bytes, ErrorCode::unsupported_op,
                {"6 unsupported", "layer 'lam' (Lambda): unknown layer class",
                 "layer 'c_tanh' (Conv2D): activation 'tanh'",
                 "layer 'leaky' (ReLU): negative_slope 0.1", "layer 'pad_pool' (ZeroPadding2D)",
                 "layer 'pad_same' (ZeroPadding2D)", "layer 'c_first' (Conv2D): data_format 'channels_first'"});
    // A layer used twice (shared weights).
    SmallModel m;
    m.layers()[2]["inbound_nodes"].push_back(m.layers()[2]["inbound_nodes"][0]);
    check_error(m, ErrorCode::unsupported_op, {"layer 'flat' (Flatten): the layer is used 2 times"});
}

TEST_CASE("tfjs: import from files, shards concatenated in manifest order") {
    namespace fs = std::filesystem;
    const fs::path dir = fs::temp_directory_path() / ("xinfer_tfjs_" + std::to_string(std::random_device{}()));
    fs::create_directories(dir / "shards");
    SmallModel m;
    const size_t split = 37;  // mid-weight: shards need not align with weights
    std::ofstream(dir / "shards" / "a.bin", std::ios::binary)
        .write(reinterpret_cast<const char*>(m.w.bytes.data()), std::streamsize(split));
    std::ofstream(dir / "shards" / "b.bin", std::ios::binary)
        .write(reinterpret_cast<const char*>(m.w.bytes.data() + split), std::streamsize(m.w.bytes.size() - split));
    auto write_model = [&](const json& paths) {
        json model = m.model;
        model["weightsManifest"][0]["paths"] = paths;
        std::ofstream(dir / "model.json") << model.dump();
        return (dir / "model.json").string();
    };
    const std::string path = write_model({"shards/a.bin", "shards/b.bin"});
    std::mt19937 rng(2);
    const Array x = random_array({1, 4, 4, 2}, rng);
    const Array want = run_tfjs(m.model, m.w, x, true);
    check_near(Model::from_graph(io::import_tfjs(path).graph).run(x), want, 0.0);

    auto code_of = [](const std::string& p) {
        try {
            io::import_tfjs(p);
        } catch (const Error& e) {
            return e.code();
        }
        return ErrorCode::internal;
    };
    write_model({"shards/a.bin", "shards/missing.bin"});
    CHECK(code_of(path) == ErrorCode::io);
    for (const char* escape : {"../b.bin", "shards/../../b.bin", "/etc/hostname", ".."}) {
        CAPTURE(escape);
        write_model({"shards/a.bin", escape});
        CHECK(code_of(path) == ErrorCode::invalid_model);
    }
    CHECK(code_of((dir / "absent.json").string()) == ErrorCode::io);
    fs::remove_all(dir);
}

TEST_CASE("tfjs: any value anywhere in model.json replaced gives a model or an xinfer::Error") {
    SmallModel m;
    const json original = m.model;
    const json replacements[] = {nullptr, -1, 0, 2.5, 1e30, "x", json::array(), json::object(), true, 7};
    const json flat = original.flatten();
    size_t imported = 0, rejected = 0;
    auto attempt = [&](const std::string& text) {
        try {
            io::XinfModel model = io::import_tfjs(text, m.w.bytes, "fuzz");
            ++imported;
            Model::from_graph(std::move(model.graph));
        } catch (const Error&) {
            ++rejected;
        }
    };
    for (auto& [pointer, value] : flat.items()) {
        for (const json& r : replacements) {
            json mutated = original;
            mutated[json::json_pointer(pointer)] = r;
            attempt(mutated.dump());
        }
        json removed = original;  // and the member or element removed
        const json::json_pointer p(pointer);
        if (!p.empty() && removed[p.parent_pointer()].is_object()) removed[p.parent_pointer()].erase(p.back());
        attempt(removed.dump());
    }
    const std::string text = original.dump();
    for (size_t cut = 0; cut < text.size(); cut += 7) attempt(text.substr(0, cut));
    MESSAGE(imported, " mutated models imported, ", rejected, " rejected with xinfer::Error");
    CHECK(rejected > 0);
}
