// Real trained and exported models through the importers and through .xinf, against outputs recorded from the
// original framework (TensorFlow.js) and from ONNX Runtime (fp32 and int8 models).
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <map>

#include "golden.hpp"
#include "xinfer/xinfer.hpp"

using namespace xinfer;
using namespace xinfer::testing;

namespace {

// The input generator of scripts/ort_reference.js (32-bit LCG seeded with k).
xt::xarray<float> ort_reference_input(uint32_t k, const std::vector<size_t>& dims) {
    xt::xarray<float> x = xt::xarray<float>::from_shape(dims);
    uint32_t state = uint32_t((uint64_t(k) * 2654435761ull + 12345ull) & 0xffffffffull);
    for (auto& v : x) {
        state = state * 1664525u + 1013904223u;
        v = float(double(state >> 8) / 16777216.0 * 2.0 - 1.0);
    }
    return x;
}

xt::xarray<float> nchw(const xt::xarray<float>& nhwc) {
    const auto& s = nhwc.shape();
    xt::xarray<float> t = xt::xarray<float>::from_shape({s[0], s[3], s[1], s[2]});
    kernels::ref::transpose_f32({int64_t(s[0]), int64_t(s[1]), int64_t(s[2]), int64_t(s[3])}, {0, 3, 1, 2},
                                nhwc.data(), t.data());
    return t;
}

// Max |dp| over the golden photos and the number with the same top-1.
std::pair<double, size_t> compare_with_golden(const Model& model, const std::string& shared, bool nchw_input,
                                              size_t& count) {
    const auto rows = read_golden("nsfw_mobilenet_v2_tfjs_probs.tsv", 5);
    REQUIRE(rows.size() == 68);
    double max_diff = 0;
    size_t agree = 0;
    count = 0;
    for (const auto& row : rows) {
        const xt::xarray<float> x = load_photo_01(shared + "/photos/" + row.file);
        REQUIRE(x.size() == 224 * 224 * 3);
        const xt::xarray<float> y = model.run(nchw_input ? nchw(x) : x);
        REQUIRE(y.size() == 5);
        std::vector<float> g(row.probs.begin(), row.probs.end());
        for (size_t c = 0; c < 5; ++c) max_diff = std::max(max_diff, std::fabs(double(y.data()[c]) - row.probs[c]));
        agree += argmax(y.data(), 5) == argmax(g.data(), 5);
        ++count;
    }
    return {max_diff, agree};
}

}  // namespace

TEST_CASE("nsfw MobileNetV2 (ONNX, and ONNX -> .xinf) matches the original TF.js outputs on 68 photos") {
    const std::string shared = shared_data_dir();
    if (shared.empty()) {
        MESSAGE("skipped: ../shared/data not found");
        return;
    }
    const Model onnx = Model::load(shared + "/models/nsfw_mobilenet_v2.onnx");
    CHECK(onnx.metadata().labels == std::vector<std::string>{"Drawing", "Hentai", "Neutral", "Porn", "Sexy"});
    CHECK(onnx.inputs()[0].shape == Shape{1, 3, 224, 224});  // the NCHW interface is kept
    size_t count = 0;
    const auto [diff, agree] = compare_with_golden(onnx, shared, true, count);
    MESSAGE("ONNX import: max |dp| = ", diff, ", top-1 agreement ", agree, "/", count);
    CHECK(diff <= 1e-4);
    CHECK(agree == count);

    // Through .xinf: bit-identical to the imported model.
    const auto bytes = onnx.save_to_memory();
    const Model xinf = Model::load_from_memory(bytes.data(), bytes.size());
    const xt::xarray<float> x = nchw(load_photo_01(shared + "/photos/046_messi5.png"));
    CHECK(xinf.run(x) == onnx.run(x));
    CHECK(xinf.metadata().labels == onnx.metadata().labels);
}

TEST_CASE("nsfw MobileNetV2 (TF.js layers, and TF.js -> .xinf) matches the original TF.js outputs on 68 photos") {
    const std::string shared = shared_data_dir();
    if (shared.empty()) {
        MESSAGE("skipped: ../shared/data not found");
        return;
    }
    const Model tfjs = Model::load(shared + "/models/nsfw_mobilenet_v2_tfjs/model.json");
    CHECK(tfjs.inputs()[0].shape == Shape{-1, 224, 224, 3});  // Keras' NHWC interface
    size_t count = 0;
    const auto [diff, agree] = compare_with_golden(tfjs, shared, false, count);
    MESSAGE("TF.js import: max |dp| = ", diff, ", top-1 agreement ", agree, "/", count);
    CHECK(diff <= 1e-4);
    CHECK(agree == count);

    const auto bytes = tfjs.save_to_memory();
    const Model xinf = Model::load_from_memory(bytes.data(), bytes.size());
    const xt::xarray<float> x = load_photo_01(shared + "/photos/046_messi5.png");
    CHECK(xinf.run(x) == tfjs.run(x));
}

TEST_CASE("torchvision MobileNetV2 (ONNX) matches ONNX Runtime's recorded outputs") {
    const std::string shared = shared_data_dir();
    if (shared.empty()) {
        MESSAGE("skipped: ../shared/data not found");
        return;
    }
    const Model model = Model::load(shared + "/models/mobilenetv2_tv_fp32.onnx");
    std::ifstream ref(XINFER_TEST_DATA_DIR "/golden/mobilenetv2_tv_fp32_ort.bin", std::ios::binary);
    std::vector<float> want(3 * 1000);
    ref.read(reinterpret_cast<char*>(want.data()), std::streamsize(want.size() * sizeof(float)));
    REQUIRE(ref.gcount() == std::streamsize(want.size() * sizeof(float)));
    double worst = 0;
    for (uint32_t k = 0; k < 3; ++k) {
        const xt::xarray<float> y = model.run(ort_reference_input(k, {1, 3, 224, 224}));
        REQUIRE(y.size() == 1000);
        double num = 0, den = 0;
        for (size_t i = 0; i < 1000; ++i) {
            const double d = double(y.data()[i]) - want[k * 1000 + i];
            num += d * d;
            den += double(want[k * 1000 + i]) * want[k * 1000 + i];
        }
        worst = std::max(worst, std::sqrt(num / den));
        CHECK(argmax(y.data(), 1000) == argmax(want.data() + k * 1000, 1000));
    }
    MESSAGE("relative L2 vs ONNX Runtime 1.30 logits: ", worst);
    CHECK(worst < 1e-5);
}

TEST_CASE("torchvision MobileNetV2 int8 (ONNX QDQ and QOperator) runs in int8 ops and matches ONNX Runtime") {
    const std::string shared = shared_data_dir();
    if (shared.empty()) {
        MESSAGE("skipped: ../shared/data not found");
        return;
    }
    const Model fp32 = Model::load(shared + "/models/mobilenetv2_tv_fp32.onnx");
    // Bounds on |logit - ONNX Runtime's logit|. xinfer's int8 ops requantize as ONNX specifies (fp32 multiplier,
    // round half to even), as ONNX Runtime's CPU kernels do, so every int8 value agrees: measured, the QOperator
    // logits (dequantized uint8, step 0.0053) are identical and the QDQ ones differ by 6e-7. QOperator: one output
    // step, for a single rounding that lands the other way. QDQ: no QuantizeLinear follows the classifier, so its
    // output is fp32: xinfer sums its 1280 int8 products exactly and scales once, ONNX Runtime sums them in fp32.
    struct Case {
        const char* model;
        const char* golden;
        double bound;
    };
    for (const Case& c : {Case{"mobilenetv2_tv_int8_qdq.onnx", "mobilenetv2_tv_int8_qdq_ort.bin", 1e-4},
                          Case{"mobilenetv2_tv_int8_qop.onnx", "mobilenetv2_tv_int8_qop_ort.bin", 0.00531864 * 1.001}}) {
        const std::string name = c.model;
        CAPTURE(name);
        const Model model = Model::load(shared + "/models/" + c.model);
        std::map<std::string, int> ops;
        for (auto& n : model.executor().graph().nodes) ++ops[n.op];
        CHECK(ops["QConv"] == 52);
        CHECK(ops["QAdd"] == 10);
        CHECK(ops["QGlobalAveragePool"] == 1);
        CHECK(ops["Quantize"] == 1);
        CHECK(ops["QDense"] == 1);  // the classifier: int8 output (QOperator) or fp32 output (QDQ, no Q after it)
        CHECK(ops.count("Dense") == 0);
        CHECK(ops.count("Conv") == 0);
        CHECK(ops.count("Add") == 0);
        CHECK(ops.count("Clip") == 0);  // ReLU6 is the QConv's output clamp
        // xinfer's own QDQ export of the QDQ model imports back into the same int8 ops, and the NCHW input's layout
        // change stays one Transpose before the Quantize (no int8 round trip through extra Transposes).
        const bool qdq = name.find("qdq") != std::string::npos;
        const std::string onnx = qdq ? model.to_onnx() : std::string();
        const Model back = qdq ? Model::load_from_memory(onnx.data(), onnx.size()) : fp32;
        if (qdq) {
            std::map<std::string, int> back_ops;
            for (auto& n : back.executor().graph().nodes) ++back_ops[n.op];
            for (const char* op : {"QConv", "QAdd", "QGlobalAveragePool", "QDense", "Transpose"}) {
                CAPTURE(op);
                CHECK(back_ops[op] == ops[op]);
            }
            CHECK(back_ops["Transpose"] == 1);
        }
        std::ifstream ref(std::string(XINFER_TEST_DATA_DIR "/golden/") + c.golden, std::ios::binary);
        std::vector<float> want(3 * 1000);
        ref.read(reinterpret_cast<char*>(want.data()), std::streamsize(want.size() * sizeof(float)));
        REQUIRE(ref.gcount() == std::streamsize(want.size() * sizeof(float)));
        double max_diff = 0, min_cos = 1, min_cos_fp32 = 1;
        for (uint32_t k = 0; k < 3; ++k) {
            const xt::xarray<float> x = ort_reference_input(k, {1, 3, 224, 224});
            const xt::xarray<float> y = model.run(x), yf = fp32.run(x), y_back = back.run(x);
            REQUIRE(y.size() == 1000);
            REQUIRE(y_back.size() == 1000);
            for (size_t i = 0; qdq && i < 1000; ++i)
                CHECK(y_back.data()[i] == doctest::Approx(y.data()[i]).epsilon(1e-5));
            const float* w = want.data() + k * 1000;
            double dot = 0, yy = 0, ww = 0, dot_f = 0, ff = 0;
            for (size_t i = 0; i < 1000; ++i) {
                const double a = y.data()[i], b = w[i], f = yf.data()[i];
                max_diff = std::max(max_diff, std::fabs(a - b));
                dot += a * b, yy += a * a, ww += b * b, dot_f += a * f, ff += f * f;
            }
            min_cos = std::min(min_cos, dot / std::sqrt(yy * ww));
            min_cos_fp32 = std::min(min_cos_fp32, dot_f / std::sqrt(yy * ff));
            CHECK(argmax(y.data(), 1000) == argmax(w, 1000));
        }
        MESSAGE(name, ": max |dlogit| vs ONNX Runtime 1.30 = ", max_diff, ", cosine >= ", min_cos,
                "; cosine with the fp32 model >= ", min_cos_fp32);
        CHECK(max_diff <= c.bound);
        CHECK(min_cos > 0.99999);
    }
}
