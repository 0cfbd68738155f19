// ONNX models whose inputs have symbolic dimensions (batch, height, width) load once and run at any size; the
// names of those dimensions survive .xinf and ONNX round trips. Models are built byte by byte with the wire encoder.
#include <doctest/doctest.h>

#include <cmath>

#include "protobuf_writer.hpp"
#include "xinfer/xinfer.hpp"

using namespace xinfer;
using namespace xinfer::testing::pbwire;

// Everything here lives in its own namespace, so that the file may share a unity build with the other ONNX tests
// (whose helpers have the same names).
namespace onnx_dynamic_test {
namespace {

Bytes str(uint32_t field, const std::string& s) { return delimited(field, s); }

// A float tensor value whose dimensions are sizes ("3") or symbolic names ("height").
Bytes value_info(const std::string& name, const std::vector<std::string>& dims) {
    Bytes shape;
    for (auto& d : dims) {
        const bool number = !d.empty() && d.find_first_not_of("0123456789") == std::string::npos;
        shape += delimited(1, number ? vint(1, uint64_t(std::stoll(d))) : str(2, d));
    }
    return str(1, name) + delimited(2, delimited(1, vint(1, 1) + delimited(2, shape)));
}

Bytes float_tensor(const std::string& name, const std::vector<int64_t>& dims, const std::vector<float>& v) {
    Bytes t;
    for (auto d : dims) t += vint(1, uint64_t(d));
    Bytes raw(v.size() * 4, '\0');
    std::memcpy(raw.data(), v.data(), raw.size());
    return t + vint(2, 1) + str(8, name) + str(9, raw);
}

Bytes int64_tensor(const std::string& name, const std::vector<int64_t>& v) {
    Bytes raw(v.size() * 8, '\0');
    std::memcpy(raw.data(), v.data(), raw.size());
    return vint(1, uint64_t(v.size())) + vint(2, 7) + str(8, name) + str(9, raw);
}

// Node attributes (field 5): an integer list (type INTS) or an integer (type INT).
Bytes attr_ints(const std::string& name, const std::vector<int64_t>& v) {
    Bytes a = str(1, name);
    for (auto x : v) a += sint(8, x);
    return delimited(5, a + vint(20, 7));
}
Bytes attr_int(const std::string& name, int64_t v) { return delimited(5, str(1, name) + sint(3, v) + vint(20, 2)); }

Bytes node(const std::string& op, const std::vector<std::string>& in, const std::vector<std::string>& out,
           const std::string& name, const Bytes& attrs = "") {
    Bytes n;
    for (auto& i : in) n += str(1, i);
    for (auto& o : out) n += str(2, o);
    return delimited(1, n + str(3, name) + str(4, op) + attrs);
}

Bytes model(const Bytes& graph) { return vint(1, 8) + delimited(8, str(1, "") + vint(2, 13)) + delimited(7, graph); }

std::vector<float> weights(size_t n, float phase) {
    std::vector<float> w(n);
    for (size_t i = 0; i < n; ++i) w[i] = 0.5f * std::sin(float(i) * 0.37f + phase);
    return w;
}

// Conv 3x3 (pads 1, stride 2) -> Relu -> depthwise Conv 3x3 -> GlobalAveragePool -> Flatten -> Gemm.
Bytes conv_classifier(const std::vector<std::string>& in_dims, const std::vector<std::string>& out_dims) {
    const Bytes window = attr_ints("kernel_shape", {3, 3}) + attr_ints("pads", {1, 1, 1, 1});
    const Bytes g = node("Conv", {"x", "w1", "b1"}, {"c1"}, "conv1", window + attr_ints("strides", {2, 2})) +
                    node("Relu", {"c1"}, {"r1"}, "relu1") +
                    node("Conv", {"r1", "w2"}, {"c2"}, "dwconv", window + attr_int("group", 8)) +
                    node("GlobalAveragePool", {"c2"}, {"p"}, "gap") + node("Flatten", {"p"}, {"f"}, "flatten") +
                    node("Gemm", {"f", "wd", "bd"}, {"y"}, "fc", attr_int("transB", 1)) + str(2, "g") +
                    delimited(5, float_tensor("w1", {8, 3, 3, 3}, weights(216, 0.1f))) +
                    delimited(5, float_tensor("b1", {8}, weights(8, 0.7f))) +
                    delimited(5, float_tensor("w2", {8, 1, 3, 3}, weights(72, 1.3f))) +
                    delimited(5, float_tensor("wd", {5, 8}, weights(40, 2.1f))) +
                    delimited(5, float_tensor("bd", {5}, weights(5, 2.9f))) +
                    delimited(11, value_info("x", in_dims)) + delimited(12, value_info("y", out_dims));
    return model(g);
}

// Conv 1x1 -> {MaxPool 3x3 stride 2, AveragePool 3x3 stride 2} -> Add: a feature map out, stored NHWC inside.
Bytes pooled_branches(const std::vector<std::string>& in_dims, const std::vector<std::string>& out_dims) {
    const Bytes pool = attr_ints("kernel_shape", {3, 3}) + attr_ints("pads", {1, 1, 1, 1}) +
                       attr_ints("strides", {2, 2});
    const Bytes g = node("Conv", {"x", "w"}, {"c"}, "conv", attr_ints("kernel_shape", {1, 1})) +
                    node("MaxPool", {"c"}, {"m"}, "maxpool", pool) +
                    node("AveragePool", {"c"}, {"a"}, "avgpool", pool) + node("Add", {"m", "a"}, {"y"}, "add") +
                    str(2, "g") + delimited(5, float_tensor("w", {4, 3, 1, 1}, weights(12, 0.4f))) +
                    delimited(11, value_info("x", in_dims)) + delimited(12, value_info("y", out_dims));
    return model(g);
}

Model load(const Bytes& m, const ModelOptions& o = {}) { return Model::load_from_memory(m.data(), m.size(), o); }

xt::xarray<float> input(const Shape& s, float phase) {
    xt::xarray<float> x = xt::xarray<float>::from_shape(std::vector<size_t>(s.begin(), s.end()));
    for (size_t i = 0; i < x.size(); ++i) x.data()[i] = std::sin(float(i) * 0.013f + phase);
    return x;
}

std::string dim(int64_t d) { return std::to_string(d); }

const std::vector<Shape> kSizes{{1, 3, 17, 23}, {2, 3, 32, 32}, {3, 3, 9, 40}, {1, 3, 17, 23}, {2, 3, 32, 32}};

// Runs `dynamic` at every size (alternating), each against the same model loaded with that concrete input shape.
template <class Build>
void check_against_concrete(const Model& dynamic, Build&& concrete_model) {
    for (size_t i = 0; i < kSizes.size(); ++i) {
        const Shape& s = kSizes[i];
        const xt::xarray<float> x = input(s, float(i));
        const Model concrete = load(concrete_model(s));
        const xt::xarray<float> got = dynamic.run(x), want = concrete.run(x);
        CAPTURE(to_string(s));
        REQUIRE(got.shape() == want.shape());
        CHECK(got == want);  // the same kernels: bit-exact
    }
}

}  // namespace

TEST_CASE("ONNX dynamic: a conv classifier with [batch, 3, height, width] runs at any size, as concrete loads") {
    const Model net = load(conv_classifier({"batch", "3", "height", "width"}, {"batch", "5"}));
    CHECK(net.inputs()[0].shape == Shape{-1, 3, -1, -1});
    CHECK(net.inputs()[0].dim_names == std::vector<std::string>{"batch", "", "height", "width"});
    CHECK(net.inputs()[0].describe_shape() == "[batch, 3, height, width]");
    CHECK(net.outputs()[0].describe_shape() == "[batch, 5]");
    check_against_concrete(net, [](const Shape& s) {
        return conv_classifier({dim(s[0]), "3", dim(s[2]), dim(s[3])}, {dim(s[0]), "5"});
    });
    // The reference kernels agree within the fp32 tolerance.
    const Model ref = load(conv_classifier({"batch", "3", "height", "width"}, {"batch", "5"}),
                           ModelOptions{1, ops::KernelSet::reference});
    const xt::xarray<float> x = input(kSizes[2], 0.5f);
    CHECK(xt::allclose(net.run(x), ref.run(x), 1e-4, 1e-5));
}

TEST_CASE("ONNX dynamic: pooling branches and an Add, with a free-size feature map as the output") {
    const Model net = load(pooled_branches({"batch", "3", "height", "width"}, {"batch", "4", "oh", "ow"}));
    CHECK(net.outputs()[0].describe_shape() == "[batch, 4, oh, ow]");
    check_against_concrete(net, [](const Shape& s) {
        return pooled_branches({dim(s[0]), "3", dim(s[2]), dim(s[3])},
                               {dim(s[0]), "4", dim((s[2] - 1) / 2 + 1), dim((s[3] - 1) / 2 + 1)});
    });
    const Model ref = load(pooled_branches({"batch", "3", "height", "width"}, {"batch", "4", "oh", "ow"}),
                           ModelOptions{1, ops::KernelSet::reference});
    const xt::xarray<float> x = input(kSizes[1], 0.25f);
    CHECK(xt::allclose(net.run(x), ref.run(x), 1e-4, 1e-5));
}

TEST_CASE("ONNX dynamic: unknown dimensions (no value, no name) are free too; input_shapes names the free one") {
    const Model net = load(conv_classifier({"N", "3", "", ""}, {"N", "5"}));
    CHECK(net.inputs()[0].shape == Shape{-1, 3, -1, -1});
    CHECK(net.inputs()[0].describe_shape() == "[N, 3, -1, -1]");
    CHECK(net.run(input({1, 3, 11, 7}, 0.0f)).shape() == std::vector<size_t>{1, 5});
    const Model named = load(conv_classifier({"batch", "3", "height", "width"}, {"batch", "5"}));
    try {
        (void)named.input_shapes(1);
        FAIL("expected an error");
    } catch (const Error& e) {
        CHECK(e.code() == ErrorCode::invalid_argument);
        CHECK(std::string(e.what()).find("[batch, 3, height, width]") != std::string::npos);
    }
}

TEST_CASE("ONNX dynamic: dimension names survive .xinf save/load and ONNX export/import") {
    const Model net = load(conv_classifier({"batch", "3", "height", "width"}, {"batch", "5"}));
    const std::vector<std::byte> xinf = net.save_to_memory();
    const Model from_xinf = Model::load_from_memory(xinf.data(), xinf.size());
    CHECK(from_xinf.inputs()[0].dim_names == net.inputs()[0].dim_names);
    CHECK(from_xinf.outputs()[0].dim_names == net.outputs()[0].dim_names);
    CHECK(from_xinf.save_to_memory() == xinf);
    const std::string onnx = net.to_onnx();
    const Model from_onnx = Model::load_from_memory(onnx.data(), onnx.size());
    CHECK(from_onnx.inputs()[0].describe_shape() == "[batch, 3, height, width]");
    CHECK(from_onnx.outputs()[0].describe_shape() == "[batch, 5]");
    const xt::xarray<float> x = input({2, 3, 13, 21}, 0.3f);
    CHECK(from_xinf.run(x) == net.run(x));
    CHECK(from_onnx.run(x) == net.run(x));
    // A model without names writes no dim_names entry.
    const Model plain = load(conv_classifier({"", "3", "16", "16"}, {"", "5"}));
    CHECK(plain.inputs()[0].dim_names.empty());
    const std::vector<std::byte> bytes = plain.save_to_memory();
    CHECK(std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()).find("dim_names") ==
          std::string::npos);
}

TEST_CASE("ONNX dynamic: a Reshape or Shape that needs a concrete free dimension is unsupported, naming the node") {
    const auto error_of = [](const Bytes& m) -> std::string {
        try {
            load(m);
        } catch (const Error& e) {
            CHECK(e.code() == ErrorCode::unsupported_op);
            return e.what();
        }
        FAIL("expected an error");
        return "";
    };
    const Bytes reshape = model(node("Reshape", {"x", "s"}, {"y"}, "flatten_hw") + str(2, "g") +
                                delimited(5, int64_tensor("s", {0, 3, -1})) +
                                delimited(11, value_info("x", {"batch", "3", "height", "width"})) +
                                delimited(12, value_info("y", {"batch", "3", "hw"})));
    const std::string r = error_of(reshape);
    MESSAGE(r);
    CHECK(r.find("flatten_hw") != std::string::npos);
    CHECK(r.find("reshape of a dynamic dimension") != std::string::npos);
    // Shape -> Gather -> Reshape: the shape would have to be computed at run time.
    const Bytes shape_graph = model(node("Shape", {"x"}, {"s"}, "shape_of_x") +
                                    node("Gather", {"s", "i"}, {"h"}, "gather_h") +
                                    node("Reshape", {"x", "h"}, {"y"}, "reshape_by_h") + str(2, "g") +
                                    delimited(5, int64_tensor("i", {2})) +
                                    delimited(11, value_info("x", {"batch", "3", "height", "width"})) +
                                    delimited(12, value_info("y", {"n"})));
    const std::string s = error_of(shape_graph);
    MESSAGE(s);
    CHECK(s.find("shape_of_x") != std::string::npos);
    CHECK(s.find("computed at run time") != std::string::npos);
}

TEST_CASE("Builtin MobileNetV2 with input [-1, -1, -1, 3] runs at 96, 128 and 160 as separate loads do") {
    io::XinfModel m = models::builtin_model("mobilenet_v2?alpha=0.35&size=96&classes=10&seed=3");
    Graph any_size = m.graph;
    any_size.inputs[0].shape = {-1, -1, -1, 3};
    const Model net = Model::from_graph(any_size, m.metadata);
    for (int64_t size : {96, 128, 160, 96, 160}) {
        Graph fixed = m.graph;
        fixed.inputs[0].shape = {-1, size, size, 3};
        const Model one = Model::from_graph(fixed, m.metadata);
        const xt::xarray<float> x = input({1, size, size, 3}, float(size));
        CAPTURE(size);
        CHECK(net.run(x) == one.run(x));
    }
}

TEST_CASE("Run context plan cache: up to 4 input-shape sets, the least recently used evicted") {
    detail::RunContext ctx(1);
    auto plan_of = [](int64_t n) {
        ExecutionPlan p;
        p.input_shapes = {{n, 3}};
        return p;
    };
    for (int64_t n = 1; n <= 4; ++n) ctx.add(plan_of(n));
    CHECK(ctx.find({{1, 3}}) != nullptr);  // 1 becomes the most recent; 2 the least
    ctx.add(plan_of(5));
    CHECK(ctx.plans.size() == 4);
    CHECK(ctx.find({{2, 3}}) == nullptr);
    for (int64_t n : {1, 3, 4, 5}) CHECK(ctx.find({{n, 3}}) != nullptr);
    CHECK(ctx.current()->input_shapes == std::vector<Shape>{{5, 3}});
    detail::RunContext one(1, 1);
    one.add(plan_of(1));
    one.add(plan_of(2));
    CHECK(one.plans.size() == 1);
    CHECK(one.current()->input_shapes == std::vector<Shape>{{2, 3}});
}

}  // namespace onnx_dynamic_test
