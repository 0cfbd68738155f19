// ONNX export with ExportOptions::exact_int8_add: the nodes written for a QAdd, evaluated as ONNX defines them (in
// double), give kernels::ref::add_requantize's integers for every pair of int8 inputs. (ONNX Runtime runs such
// exports in io/ort_export_check.sh.)
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <map>

#include "xinfer/kernels/ref/requantize.hpp"
#include "xinfer/xinfer.hpp"

using namespace xinfer;

namespace {

struct AddParams {
    float sa, sb, sy;
    int32_t za, zb, zy;
    double clip_min, clip_max;
};

// a, b -> Quantize -> QAdd -> Dequantize -> y, all [1, 4].
Graph qadd_graph(const AddParams& p) {
    Graph g;
    g.inputs = {{"a", DataType::f32, {1, 4}}, {"b", DataType::f32, {1, 4}}};
    g.outputs = {{"y", DataType::f32, {1, 4}}};
    std::map<std::string, Attribute> add{{"a_scale", double(p.sa)}, {"a_zero_point", int64_t(p.za)},
                                         {"b_scale", double(p.sb)}, {"b_zero_point", int64_t(p.zb)},
                                         {"y_scale", double(p.sy)}, {"y_zero_point", int64_t(p.zy)}};
    if (std::isfinite(p.clip_min)) add["clip_min"] = p.clip_min;
    if (std::isfinite(p.clip_max)) add["clip_max"] = p.clip_max;
    g.nodes = {
        Node{"qa", "Quantize", {"a"}, {"aq"}, {{"y_scale", double(p.sa)}, {"y_zero_point", int64_t(p.za)}}},
        Node{"qb", "Quantize", {"b"}, {"bq"}, {{"y_scale", double(p.sb)}, {"y_zero_point", int64_t(p.zb)}}},
        Node{"add", "QAdd", {"aq", "bq"}, {"yq"}, add},
        Node{"dq", "Dequantize", {"yq"}, {"y"}, {{"x_scale", double(p.sy)}, {"x_zero_point", int64_t(p.zy)}}},
    };
    g.sort_and_validate();
    return g;
}

// The exported nodes between the two QuantizeLinear outputs and the DequantizeLinear, evaluated on one element.
class ScalarEvaluator {
public:
    explicit ScalarEvaluator(const io::onnx::ModelProto& m) : m_(m) {
        for (auto& t : m.graph.initializer) {
            double v = 0;
            if (t.data_type == io::onnx::ElemType::float64 && t.raw_size == 8) std::memcpy(&v, t.raw_data, 8);
            constants_[t.name] = v;
        }
    }
    // The uint8 result for uint8 inputs qa, qb (as exported: int8 + 128); -1 where a Cast to uint8 gets a value
    // that is not one.
    int evaluate(int qa, int qb) const {
        std::map<std::string, double> v = constants_;
        for (auto& n : m_.graph.node) {
            if (n.op_type == "QuantizeLinear") v[n.output[0]] = n.input[0] == "a" ? qa : qb;
            if (n.op_type == "DequantizeLinear") return int(v.at(n.input[0]));
            auto in = [&](size_t i) { return v.at(n.input[i]); };
            const std::string& op = n.op_type;
            if (op == "Cast") v[n.output[0]] = in(0);
            if (op == "Sub") v[n.output[0]] = in(0) - in(1);
            if (op == "Mul") v[n.output[0]] = in(0) * in(1);
            if (op == "Add") v[n.output[0]] = in(0) + in(1);
            if (op == "Clip") v[n.output[0]] = std::min(std::max(in(0), in(1)), in(2));
            if (op == "Round") v[n.output[0]] = std::nearbyint(in(0));
            const bool to_uint8 = op == "Cast" && n.attribute.at(0).i == int64_t(io::onnx::ElemType::uint8);
            if (to_uint8 && !(in(0) == std::floor(in(0)) && in(0) >= 0 && in(0) <= 255)) return -1;
        }
        return -1;
    }

private:
    const io::onnx::ModelProto& m_;
    std::map<std::string, double> constants_;
};

}  // namespace

TEST_CASE("ONNX export with exact int8 adds computes QAdd's integers for every input pair") {
    const double inf = std::numeric_limits<double>::infinity();
    const AddParams cases[] = {
        {0.05f, 0.031f, 0.07f, 3, -20, -5, -inf, inf},
        {0.0123f, 0.2f, 0.11f, -128, 127, 0, 0.0, inf},       // ReLU
        {0.047f, 0.047f, 0.0236f, -100, 40, -128, 0.0, 6.0},  // ReLU6
        {1.0f / 255, 3.0f / 255, 1.0f / 128, 0, 0, 0, -inf, inf},
    };
    io::onnx::ExportOptions options;
    options.exact_int8_add = true;
    for (const AddParams& p : cases) {
        CAPTURE(p.sa);
        const Graph g = qadd_graph(p);
        const std::string bytes = io::onnx::export_onnx(g, {}, options);
        const auto model =
            io::onnx::parse_model(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size(), "exact add");
        for (auto& n : model.graph.node) CHECK(n.op_type != "QLinearAdd");
        const ScalarEvaluator eval(model);
        const kernels::Requant rq = ops::make_requant({p.sy, p.zy}, {float(p.clip_min), float(p.clip_max)});
        const float ma = p.sa / p.sy, mb = p.sb / p.sy;
        size_t mismatches = 0;
        for (int a = -128; a <= 127; ++a)
            for (int b = -128; b <= 127; ++b) {
                const int want = kernels::ref::add_requantize(a - p.za, b - p.zb, ma, mb, rq.zero_point, rq.lo, rq.hi);
                mismatches += eval.evaluate(a + 128, b + 128) - 128 != want;
            }
        CHECK(mismatches == 0);
    }
}

TEST_CASE("ONNX export without options writes QAdd as QDQ") {
    const Graph g = qadd_graph({0.05f, 0.031f, 0.07f, 3, -20, -5, 0.0, 6.0});
    const std::string bytes = io::onnx::export_onnx(g);
    const auto model = io::onnx::parse_model(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size(), "qdq");
    size_t quantize = 0, round = 0;
    for (auto& n : model.graph.node) {
        quantize += n.op_type == "QuantizeLinear";
        round += n.op_type == "Round";
    }
    CHECK(quantize == 3);
    CHECK(round == 0);
}
