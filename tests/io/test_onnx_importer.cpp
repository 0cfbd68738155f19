// ONNX importer behaviour beyond single ops: layouts across op boundaries, the NCHW interface, every unsupported
// node listed at once. Models are built byte by byte with the wire encoder.
#include <doctest/doctest.h>

#include "protobuf_writer.hpp"
#include "xinfer/xinfer.hpp"

using namespace xinfer;
using namespace xinfer::testing::pbwire;

namespace {

Bytes str(uint32_t field, const std::string& s) { return delimited(field, s); }

Bytes value_info(const std::string& name, const std::vector<int64_t>& dims) {
    Bytes shape;
    for (auto d : dims) shape += delimited(1, vint(1, uint64_t(d)));
    return str(1, name) + delimited(2, delimited(1, vint(1, 1) + delimited(2, shape)));
}

Bytes float_tensor(const std::string& name, const std::vector<int64_t>& dims, const std::vector<float>& v) {
    Bytes t;
    for (auto d : dims) t += vint(1, uint64_t(d));
    Bytes raw(v.size() * 4, '\0');
    std::memcpy(raw.data(), v.data(), raw.size());
    return t + vint(2, 1) + str(8, name) + str(9, raw);
}

Bytes node(const std::string& op, const std::vector<std::string>& in, const std::vector<std::string>& out,
           const std::string& name, const Bytes& attrs = "", const std::string& domain = "") {
    Bytes n;
    for (auto& i : in) n += str(1, i);
    for (auto& o : out) n += str(2, o);
    n += str(3, name) + str(4, op) + attrs;
    if (!domain.empty()) n += str(7, domain);
    return n;
}

Bytes model(const Bytes& graph, int64_t opset = 13) {
    return vint(1, 8) + delimited(8, str(1, "") + vint(2, uint64_t(opset))) + delimited(7, graph);
}

}  // namespace

TEST_CASE("ONNX: Conv then Flatten over a 3x3 map keeps ONNX's NCHW element order") {
    // x [1,2,3,3] -> Conv 1x1 (swaps the two channels, doubles the second) -> Flatten -> [1, 18]
    const std::vector<float> w{0, 2, 1, 0};  // out0 = 2 * in1, out1 = in0
    Bytes g = delimited(1, node("Conv", {"x", "w"}, {"c"}, "conv")) +
              delimited(1, node("Flatten", {"c"}, {"y"}, "flat")) + str(2, "g") +
              delimited(5, float_tensor("w", {2, 2, 1, 1}, w)) + delimited(11, value_info("x", {1, 2, 3, 3})) +
              delimited(12, value_info("y", {1, 18}));
    const Bytes m = model(g);
    const Model net = Model::load_from_memory(m.data(), m.size());
    CHECK(net.inputs()[0].shape == Shape{1, 2, 3, 3});
    xt::xarray<float> x = xt::xarray<float>::from_shape({1, 2, 3, 3});
    for (size_t i = 0; i < 18; ++i) x.data()[i] = float(i + 1);
    const auto y = net.run(x);
    REQUIRE(y.size() == 18);
    for (size_t i = 0; i < 9; ++i) {
        CHECK(y.data()[i] == 2.0f * x.data()[9 + i]);  // channel 0 of the output, pixel i
        CHECK(y.data()[9 + i] == x.data()[i]);
    }
}

TEST_CASE("ONNX: every unsupported node is listed with its name, op type, domain and opset") {
    Bytes g = delimited(1, node("Relu", {"x"}, {"a"}, "relu")) +
              delimited(1, node("Frobnicate", {"a"}, {"b"}, "frob_node")) +
              delimited(1, node("Relu", {"b"}, {"c"}, "relu2")) +
              delimited(1, node("Twiddle", {"c"}, {"y"}, "twiddle_node", "", "com.example")) + str(2, "g") +
              delimited(11, value_info("x", {1, 4})) + delimited(12, value_info("y", {1, 4}));
    const Bytes m = model(g, 17);
    try {
        Model::load_from_memory(m.data(), m.size(), {}, "two_unknowns.onnx");
        FAIL("expected an error");
    } catch (const Error& e) {
        const std::string msg = e.what();
        CHECK(e.code() == ErrorCode::unsupported_op);
        for (const char* part : {"2 unsupported node(s)", "frob_node", "Frobnicate", "twiddle_node", "Twiddle",
                                 "com.example", "opset 17", "two_unknowns.onnx"})
            CHECK_MESSAGE(msg.find(part) != std::string::npos, "missing '", part, "' in: ", msg);
    }
}

TEST_CASE("ONNX: malformed graphs are invalid_model errors, not crashes") {
    // A node input nothing produces.
    Bytes g = delimited(1, node("Relu", {"nowhere"}, {"y"}, "relu")) + str(2, "g") +
              delimited(11, value_info("x", {1, 4})) + delimited(12, value_info("y", {1, 4}));
    Bytes m = model(g);
    CHECK_THROWS_AS(Model::load_from_memory(m.data(), m.size()), Error);
    // Conv weights that do not fit the input's channels.
    g = delimited(1, node("Conv", {"x", "w"}, {"y"}, "conv")) + str(2, "g") +
        delimited(5, float_tensor("w", {2, 3, 1, 1}, std::vector<float>(6, 1.0f))) +
        delimited(11, value_info("x", {1, 2, 3, 3})) + delimited(12, value_info("y", {1, 2, 3, 3}));
    m = model(g);
    CHECK_THROWS_WITH_AS(Model::load_from_memory(m.data(), m.size()), doctest::Contains("conv"), Error);
    // A graph output nothing produces.
    g = delimited(1, node("Relu", {"x"}, {"a"}, "relu")) + str(2, "g") + delimited(11, value_info("x", {1, 4})) +
        delimited(12, value_info("y", {1, 4}));
    m = model(g);
    CHECK_THROWS_AS(Model::load_from_memory(m.data(), m.size()), Error);
    // Truncated bytes.
    CHECK_THROWS_AS(Model::load_from_memory(m.data(), m.size() / 2), Error);
}
