#pragma once
// MobileNetV2 (Sandler et al. 2018, arXiv:1801.04381) as an xinfer graph, with Keras layer and weight names
// ("Conv1/kernel", "block_3_expand_BN/gamma", ...) so weight files can fill it by name.
// Width multiplier alpha rounds channels to multiples of 8 as in the paper's reference code (make_divisible);
// the input is any multiple of 32; any class count.
#include <cmath>
#include <random>
#include <string>

#include "xinfer/graph/interpreter.hpp"
#include "xinfer/graph/passes.hpp"

namespace xinfer::models {

struct MobileNetV2Options {
    double alpha = 1.0;
    int size = 224;        // input height = width
    int classes = 1000;
    bool softmax = true;   // append a Softmax (probabilities) after the classifier
};

// The paper's channel rounding: nearest multiple of `divisor`, at least `divisor`, never more than 10% down.
inline int make_divisible(double v, int divisor = 8) {
    int n = std::max(divisor, int(v + divisor / 2.0) / divisor * divisor);
    if (n < 0.9 * v) n += divisor;
    return n;
}

namespace detail {

class MobileNetV2Builder {
public:
    MobileNetV2Builder(Graph& g, std::mt19937* rng) : g_(g), rng_(rng) {}

    // Conv (no bias) + BatchNormalization (+ ReLU6). Returns the output value name.
    std::string conv_bn(const std::string& x, const std::string& conv_name, const std::string& bn_name,
                        const std::string& relu_name, int cin, int cout, int k, int stride, bool depthwise,
                        Pads pads) {
        Node conv;
        conv.name = conv_name;
        conv.op = "Conv";
        const int cin_g = depthwise ? 1 : cin;
        const std::string w = conv_name + (depthwise ? "/depthwise_kernel" : "/kernel");
        add_constant(w, {cout, k, k, cin_g}, std::sqrt(6.0 / (k * k * cin_g)), 0.0);
        conv.inputs = {x, w};
        conv.outputs = {conv_name};
        conv.attrs["strides"] = std::vector<int64_t>{stride, stride};
        conv.attrs["pads"] = std::vector<int64_t>{pads.top, pads.left, pads.bottom, pads.right};
        if (depthwise) conv.attrs["group"] = int64_t(cin);
        g_.nodes.push_back(conv);

        Node bn;
        bn.name = bn_name;
        bn.op = "BatchNormalization";
        add_constant(bn_name + "/gamma", {cout}, 0.25, 1.0);
        add_constant(bn_name + "/beta", {cout}, 0.25, 0.0);
        add_constant(bn_name + "/moving_mean", {cout}, 0.0, 0.0);
        add_constant(bn_name + "/moving_variance", {cout}, 0.0, 1.0);
        bn.inputs = {conv_name, bn_name + "/gamma", bn_name + "/beta", bn_name + "/moving_mean",
                     bn_name + "/moving_variance"};
        bn.outputs = {bn_name};
        bn.attrs["epsilon"] = 1e-3;
        g_.nodes.push_back(bn);
        if (relu_name.empty()) return bn_name;
        Node relu;
        relu.name = relu_name;
        relu.op = "Clip";
        relu.inputs = {bn_name};
        relu.outputs = {relu_name};
        relu.attrs["clip_min"] = 0.0;
        relu.attrs["clip_max"] = 6.0;
        g_.nodes.push_back(relu);
        return relu_name;
    }

    // Constant filled with U(center - half_range, center + half_range) (or `center` without an rng).
    void add_constant(const std::string& name, Shape shape, double half_range, double center) {
        std::vector<float> v(checked_numel(shape), float(center));
        if (rng_ && half_range > 0) {
            std::uniform_real_distribution<double> d(center - half_range, center + half_range);
            for (auto& x : v) x = float(d(*rng_));
        }
        g_.constants[name] = Constant::from_floats(std::move(shape), v);
    }

private:
    Graph& g_;
    std::mt19937* rng_;
};

}  // namespace detail

// The graph with constant weights (unit batch norm), or seeded random weights when rng is given.
inline Graph mobilenet_v2_graph(const MobileNetV2Options& o, std::mt19937* rng = nullptr) {
    static const double valid_alpha[] = {0.35, 0.5, 0.75, 1.0, 1.3, 1.4};
    bool alpha_ok = false;
    for (double a : valid_alpha) alpha_ok |= std::fabs(a - o.alpha) < 1e-9;
    XINFER_CHECK(alpha_ok, ErrorCode::invalid_argument, "MobileNetV2 alpha must be one of 0.35, 0.5, 0.75, 1.0, 1.3, 1.4; got ",
                 o.alpha);
    XINFER_CHECK(o.size >= 32 && o.size % 32 == 0 && o.size <= 4096, ErrorCode::invalid_argument,
                 "MobileNetV2 input size must be a multiple of 32 in [32, 4096], got ", o.size);
    XINFER_CHECK(o.classes >= 1 && o.classes <= 1000000, ErrorCode::invalid_argument, "bad class count ", o.classes);
    Graph g;
    g.inputs.push_back({"input", DataType::f32, {-1, o.size, o.size, 3}});
    detail::MobileNetV2Builder b(g, rng);
    const Pads same{1, 1, 1, 1}, stride2{0, 0, 1, 1};  // Keras: stride-2 convs pad bottom/right only
    int channels = make_divisible(32 * o.alpha);
    std::string x = b.conv_bn("input", "Conv1", "bn_Conv1", "Conv1_relu", 3, channels, 3, 2, false, stride2);
    struct Stage { int t, c, n, s; };
    const Stage stages[] = {{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2},
                            {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
    int block = 0;
    for (const Stage& st : stages) {
        const int out = make_divisible(st.c * o.alpha);
        for (int i = 0; i < st.n; ++i, ++block) {
            const int stride = i == 0 ? st.s : 1;
            const std::string prefix = block == 0 ? "expanded_conv_" : "block_" + std::to_string(block) + "_";
            std::string h = x;
            int hidden = channels;
            if (st.t != 1) {
                hidden = channels * st.t;
                h = b.conv_bn(h, prefix + "expand", prefix + "expand_BN", prefix + "expand_relu", channels, hidden, 1,
                              1, false, {});
            }
            h = b.conv_bn(h, prefix + "depthwise", prefix + "depthwise_BN", prefix + "depthwise_relu", hidden, hidden,
                          3, stride, true, stride == 2 ? stride2 : same);
            h = b.conv_bn(h, prefix + "project", prefix + "project_BN", "", hidden, out, 1, 1, false, {});
            if (stride == 1 && channels == out) {
                Node add;
                add.name = prefix + "add";
                add.op = "Add";
                add.inputs = {x, h};
                add.outputs = {add.name};
                g.nodes.push_back(add);
                h = add.name;
            }
            x = h;
            channels = out;
        }
    }
    const int last = o.alpha > 1.0 ? make_divisible(1280 * o.alpha) : 1280;
    x = b.conv_bn(x, "Conv_1", "Conv_1_bn", "out_relu", channels, last, 1, 1, false, {});
    g.nodes.push_back(Node{"global_average_pooling2d", "GlobalAveragePool", {x}, {"global_average_pooling2d"}, {}});
    b.add_constant("predictions/kernel", {o.classes, last}, std::sqrt(6.0 / last), 0.0);
    b.add_constant("predictions/bias", {o.classes}, rng ? 0.1 : 0.0, 0.0);
    g.nodes.push_back(Node{"predictions", "Dense", {"global_average_pooling2d", "predictions/kernel", "predictions/bias"},
                           {"predictions"}, {}});
    std::string output = "predictions";
    if (o.softmax) {
        g.nodes.push_back(Node{"predictions_softmax", "Softmax", {"predictions"}, {"probabilities"}, {}});
        output = "probabilities";
    }
    g.outputs.push_back({output, DataType::f32, {-1, o.classes}});
    g.sort_and_validate();
    return g;
}

// Sets every BatchNormalization's statistics to the mean and variance of its input on `sample` (NHWC), so that
// activations keep unit scale through a randomly initialised network instead of vanishing.
inline void reestimate_batchnorm(Graph& g, const EvaluatedValue& sample) {
    EvaluatedValue input;
    input.shape = sample.shape;
    input.data.resize(sample.data.size());
    std::memcpy(input.data.data(), sample.data.data(), sample.data.size());
    evaluate_nodes(g, {&input}, [](Graph& graph, const Node& n, const ValueMap& values) {
        if (n.op != "BatchNormalization") return;
        const EvaluatedValue& x = values.at(n.inputs[0]);
        const size_t C = size_t(x.shape.back()), count = checked_numel(x.shape) / C;
        std::vector<double> sum(C, 0.0), sq(C, 0.0);
        for (size_t p = 0; p < count; ++p)
            for (size_t c = 0; c < C; ++c) {
                const double v = x.floats()[p * C + c];
                sum[c] += v;
                sq[c] += v * v;
            }
        std::vector<float> mean(C), var(C);
        for (size_t c = 0; c < C; ++c) {
            mean[c] = float(sum[c] / double(count));
            var[c] = float(std::max(0.0, sq[c] / double(count) - double(mean[c]) * double(mean[c])));
        }
        graph.constants[n.inputs[3]] = Constant::from_floats({int64_t(C)}, mean);
        graph.constants[n.inputs[4]] = Constant::from_floats({int64_t(C)}, var);
    });
}

// A MobileNetV2 with seeded random weights whose batch-norm statistics are re-estimated on seeded random
// images: outputs differ between inputs, which makes it usable for speed, structure and int8 checks.
inline Graph mobilenet_v2_random(const MobileNetV2Options& o, uint32_t seed = 42) {
    std::mt19937 rng(seed);
    Graph g = mobilenet_v2_graph(o, &rng);
    EvaluatedValue sample;
    // Enough images that the last 1x1 layers (size/32 pixels square) see at least 256 positions per channel:
    // statistics from a handful of positions give tiny variances and a badly conditioned network.
    const int last_pixels = (o.size / 32) * (o.size / 32);
    const int batch = std::max(2, (256 + last_pixels - 1) / last_pixels);
    sample.shape = {batch, o.size, o.size, 3};
    sample.data.resize(checked_numel(sample.shape) * sizeof(float));
    std::uniform_real_distribution<float> pixel(0.0f, 1.0f);
    float* p = sample.data.as<float>();
    for (size_t i = 0; i < checked_numel(sample.shape); ++i) p[i] = pixel(rng);
    reestimate_batchnorm(g, sample);
    return g;
}

}  // namespace xinfer::models
