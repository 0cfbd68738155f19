// int8 ONNX graphs (QDQ and QOperator) into the IR's int8 ops: fusion, the uint8 shift, what does not fuse, the
// integer interface, malformed quantization parameters. Models are built byte by byte with the wire encoder; the
// expected values are computed here with ONNX's definitions of the ops.
#include <doctest/doctest.h>

#include <cmath>
#include <map>

#include "protobuf_writer.hpp"
#include "xinfer/xinfer.hpp"

using namespace xinfer;
using namespace xinfer::testing::pbwire;

namespace {

enum ElemType : int { FLOAT = 1, UINT8 = 2, INT8 = 3, INT32 = 6 };

Bytes str(uint32_t field, const std::string& s) { return delimited(field, s); }

template <class T>
Bytes tensor(const std::string& name, const std::vector<int64_t>& dims, int type, const std::vector<T>& v) {
    Bytes t;
    for (auto d : dims) t += vint(1, uint64_t(d));
    Bytes raw(v.size() * sizeof(T), '\0');
    if (!raw.empty()) std::memcpy(&raw[0], v.data(), raw.size());
    return t + vint(2, uint64_t(type)) + str(8, name) + str(9, raw);
}

Bytes value_info(const std::string& name, const std::vector<int64_t>& dims, int type = FLOAT) {
    Bytes shape;
    for (auto d : dims) shape += delimited(1, vint(1, uint64_t(d)));
    return str(1, name) + delimited(2, delimited(1, vint(1, uint64_t(type)) + delimited(2, shape)));
}

Bytes attr_int(const std::string& name, int64_t v) { return delimited(5, str(1, name) + vint(20, 2) + sint(3, v)); }
Bytes attr_ints(const std::string& name, const std::vector<int64_t>& v) {
    Bytes a = str(1, name) + vint(20, 7);
    for (auto x : v) a += sint(8, x);
    return delimited(5, a);
}

// A graph assembled node by node.
struct GraphBytes {
    Bytes bytes;
    GraphBytes& node(const std::string& op, const std::vector<std::string>& in, const std::vector<std::string>& out,
                     const std::string& name, const Bytes& attrs = "", const std::string& domain = "") {
        Bytes n;
        for (auto& i : in) n += str(1, i);
        for (auto& o : out) n += str(2, o);
        n += str(3, name) + str(4, op) + attrs;
        if (!domain.empty()) n += str(7, domain);
        bytes += delimited(1, n);
        return *this;
    }
    template <class T>
    GraphBytes& init(const std::string& name, const std::vector<int64_t>& dims, int type, const std::vector<T>& v) {
        bytes += delimited(5, tensor(name, dims, type, v));
        return *this;
    }
    GraphBytes& scalar(const std::string& name, float v) { return init<float>(name, {}, FLOAT, {v}); }
    GraphBytes& zero_point(const std::string& name, int type, int v) {
        if (type == UINT8) return init<uint8_t>(name, {}, UINT8, {uint8_t(v)});
        return init<int8_t>(name, {}, INT8, {int8_t(v)});
    }
    GraphBytes& input(const std::string& name, const std::vector<int64_t>& dims, int type = FLOAT) {
        bytes += delimited(11, value_info(name, dims, type));
        return *this;
    }
    GraphBytes& output(const std::string& name, const std::vector<int64_t>& dims, int type = FLOAT) {
        bytes += delimited(12, value_info(name, dims, type));
        return *this;
    }
    Bytes model(int64_t opset = 13) const {
        return vint(1, 8) + delimited(8, str(1, "") + vint(2, uint64_t(opset))) +
               delimited(8, str(1, "com.microsoft") + vint(2, 1)) + delimited(7, bytes + str(2, "g"));
    }
};

Model load(const Bytes& m, const std::string& name = "int8_test.onnx") {
    return Model::load_from_memory(m.data(), m.size(), {}, name);
}

std::map<std::string, int> op_counts(const Model& m) {
    std::map<std::string, int> ops;
    for (auto& n : m.executor().graph().nodes) ++ops[n.op];
    return ops;
}

// ONNX QuantizeLinear / DequantizeLinear on one value.
float quantize(float x, float scale, int zero_point, int lo, int hi) {
    return std::clamp(std::nearbyint(x / scale) + float(zero_point), float(lo), float(hi));
}
float dequantize(float q, float scale, int zero_point) { return (q - float(zero_point)) * scale; }

std::vector<float> pseudo_random(size_t n, uint32_t seed, float lo, float hi) {
    std::vector<float> v(n);
    uint32_t s = seed * 2654435761u + 1;
    for (auto& x : v) {
        s = s * 1664525u + 1013904223u;
        x = lo + (hi - lo) * float(s >> 8) / 16777216.0f;
    }
    return v;
}

xt::xarray<float> array(const std::vector<size_t>& shape, const std::vector<float>& v) {
    xt::xarray<float> x = xt::xarray<float>::from_shape(shape);
    std::copy(v.begin(), v.end(), x.data());
    return x;
}

// NCHW convolution, stride 1, pads 1 (3x3) or 0 (1x1): y[co] = b[co] + sum w[co][ci][ky][kx] x[ci][..].
std::vector<float> conv_nchw(const std::vector<float>& x, size_t C, size_t H, size_t W, const std::vector<float>& w,
                             size_t Cout, size_t K, const std::vector<float>& b) {
    const long pad = long(K / 2);
    std::vector<float> y(Cout * H * W);
    for (size_t co = 0; co < Cout; ++co)
        for (size_t oy = 0; oy < H; ++oy)
            for (size_t ox = 0; ox < W; ++ox) {
                float acc = b.empty() ? 0.0f : b[co];
                for (size_t ci = 0; ci < C; ++ci)
                    for (size_t ky = 0; ky < K; ++ky)
                        for (size_t kx = 0; kx < K; ++kx) {
                            const long iy = long(oy) + long(ky) - pad, ix = long(ox) + long(kx) - pad;
                            if (iy < 0 || ix < 0 || iy >= long(H) || ix >= long(W)) continue;
                            acc += w[((co * C + ci) * K + ky) * K + kx] * x[(ci * H + size_t(iy)) * W + size_t(ix)];
                        }
                y[(co * H + oy) * W + ox] = acc;
            }
    return y;
}

// The parameters of the QDQ chain below; `u8` gives the same model with uint8 activations and weights.
struct ChainParams {
    float x_scale = 0.05f, r_scale = 0.04f, y_scale = 0.06f;
    int x_zp = 3, r_zp = -128, y_zp = 5;
    std::vector<float> w_scale{0.02f, 0.03f};
    std::vector<int8_t> w = [] {
        std::vector<int8_t> v(2 * 2 * 3 * 3);
        const auto r = pseudo_random(v.size(), 7, -127.0f, 127.0f);
        for (size_t i = 0; i < v.size(); ++i) v[i] = int8_t(std::lround(r[i]));
        return v;
    }();
    std::vector<int32_t> b{120, -340};
};

// The nodes of the chain below, on parameters named xs/xz, w/ws/wz, b/bs/bz, rs/rz, ys/yz.
void add_chain_nodes(GraphBytes& g) {
    g.node("QuantizeLinear", {"x", "xs", "xz"}, {"xq"}, "q_x")
        .node("DequantizeLinear", {"xq", "xs", "xz"}, {"xd"}, "dq_x")
        .node("DequantizeLinear", {"w", "ws", "wz"}, {"wd"}, "dq_w", attr_int("axis", 0))
        .node("DequantizeLinear", {"b", "bs", "bz"}, {"bd"}, "dq_b", attr_int("axis", 0))
        .node("Conv", {"xd", "wd", "bd"}, {"c"}, "conv", attr_ints("pads", {1, 1, 1, 1}))
        .node("Relu", {"c"}, {"r"}, "relu")
        .node("QuantizeLinear", {"r", "rs", "rz"}, {"rq"}, "q_r")
        .node("DequantizeLinear", {"rq", "rs", "rz"}, {"rd"}, "dq_r")
        .node("Add", {"rd", "xd"}, {"a"}, "add")
        .node("QuantizeLinear", {"a", "ys", "yz"}, {"aq"}, "q_a")
        .node("DequantizeLinear", {"aq", "ys", "yz"}, {"y"}, "dq_y");
}

// x [1,2,4,4] -> Q -> DQ -+-> Conv 3x3 (W: DQ int8 per channel, B: DQ int32) -> Relu -> Q -> DQ -> Add -> Q -> DQ -> y
//                         +-------------------------------------------------------------------^  (the shared DQ)
Bytes qdq_chain(const ChainParams& p, bool u8) {
    const int act = u8 ? UINT8 : INT8, shift = u8 ? 128 : 0;
    GraphBytes g;
    g.input("x", {1, 2, 4, 4}).output("y", {1, 2, 4, 4});
    g.scalar("xs", p.x_scale).zero_point("xz", act, p.x_zp + shift);
    g.scalar("rs", p.r_scale).zero_point("rz", act, p.r_zp + shift);
    g.scalar("ys", p.y_scale).zero_point("yz", act, p.y_zp + shift);
    if (u8) {
        std::vector<uint8_t> w(p.w.size());
        for (size_t i = 0; i < w.size(); ++i) w[i] = uint8_t(p.w[i] + 128);
        g.init<uint8_t>("w", {2, 2, 3, 3}, UINT8, w).init<uint8_t>("wz", {2}, UINT8, {128, 128});
    } else {
        g.init<int8_t>("w", {2, 2, 3, 3}, INT8, p.w).init<int8_t>("wz", {2}, INT8, {0, 0});
    }
    g.init<float>("ws", {2}, FLOAT, p.w_scale);
    g.init<int32_t>("b", {2}, INT32, p.b).init<int32_t>("bz", {2}, INT32, {0, 0});
    g.init<float>("bs", {2}, FLOAT, {p.x_scale * p.w_scale[0], p.x_scale * p.w_scale[1]});
    add_chain_nodes(g);
    return g.model();
}

// The chain in fp32 semantics (ONNX's reference): fp32 between the quantization nodes.
std::vector<float> qdq_chain_reference(const ChainParams& p, const std::vector<float>& x) {
    std::vector<float> xd(x.size());
    for (size_t i = 0; i < x.size(); ++i)
        xd[i] = dequantize(quantize(x[i], p.x_scale, p.x_zp, -128, 127), p.x_scale, p.x_zp);
    std::vector<float> wd(p.w.size()), bd(2);
    for (size_t i = 0; i < wd.size(); ++i) wd[i] = float(p.w[i]) * p.w_scale[i / 18];
    for (size_t c = 0; c < 2; ++c) bd[c] = float(p.b[c]) * (p.x_scale * p.w_scale[c]);
    std::vector<float> c = conv_nchw(xd, 2, 4, 4, wd, 2, 3, bd), y(c.size());
    for (size_t i = 0; i < c.size(); ++i) {
        const float rd = dequantize(quantize(std::max(c[i], 0.0f), p.r_scale, p.r_zp, -128, 127), p.r_scale, p.r_zp);
        y[i] = dequantize(quantize(rd + xd[i], p.y_scale, p.y_zp, -128, 127), p.y_scale, p.y_zp);
    }
    return y;
}

}  // namespace

TEST_CASE("ONNX QDQ: Conv + Relu + residual Add fuse into QConv and QAdd within one step of fp32 semantics") {
    const ChainParams p;
    const Model m = load(qdq_chain(p, false));
    const auto ops = op_counts(m);
    CHECK(ops.count("QConv") == 1);
    CHECK(ops.count("QAdd") == 1);
    CHECK(ops.at("Quantize") == 1);    // x, once, shared by the QConv and the QAdd
    CHECK(ops.at("Dequantize") == 1);  // y
    for (const char* fp32 : {"Conv", "Add", "Clip", "Binary"}) CHECK_MESSAGE(!ops.count(fp32), fp32);
    for (uint32_t seed = 0; seed < 4; ++seed) {
        const auto x = pseudo_random(32, seed, -4.0f, 4.0f);
        const auto y = m.run(array({1, 2, 4, 4}, x));
        const auto want = qdq_chain_reference(p, x);
        for (size_t i = 0; i < want.size(); ++i) CHECK(std::fabs(y.data()[i] - want[i]) <= p.y_scale * 1.001f);
    }
    // The same through .xinf.
    const auto bytes = m.save_to_memory();
    const Model again = Model::load_from_memory(bytes.data(), bytes.size());
    const auto x = array({1, 2, 4, 4}, pseudo_random(32, 9, -4.0f, 4.0f));
    CHECK(again.run(x) == m.run(x));
}

TEST_CASE("ONNX QDQ: uint8 activations and weights with zero point 128 are int8 shifted by 128 (same results)") {
    const ChainParams p;
    const Model s8 = load(qdq_chain(p, false));
    const Model u8 = load(qdq_chain(p, true));
    CHECK(op_counts(u8) == op_counts(s8));
    for (auto& n : u8.executor().graph().nodes) {
        if (n.op != "QConv") continue;
        CHECK(n.get_int("x_zero_point", 0) == p.x_zp);
        CHECK(n.get_int("y_zero_point", 0) == p.r_zp);
        const Constant& w = u8.executor().graph().constant(n.inputs[1], n);
        REQUIRE(w.dtype == DataType::s8);
        CHECK(w.shape == Shape{2, 3, 3, 2});  // OHWI
        CHECK(int(w.as<int8_t>()[0]) == p.w[0]);
    }
    for (uint32_t seed = 0; seed < 4; ++seed) {
        const auto x = array({1, 2, 4, 4}, pseudo_random(32, seed, -4.0f, 4.0f));
        CHECK(u8.run(x) == s8.run(x));
    }
}

namespace {
Bytes attr_tensor(const std::string& name, const Bytes& t) { return delimited(5, str(1, name) + vint(20, 4) + delimited(5, t)); }

// The chain of qdq_chain as exporters such as PyTorch's write it: parameters as Constant nodes instead of
// initializers, zero points made by ConstantOfShape (int32 0 or the value) and a Cast to the quantized type, the
// int32 bias as a Cast of a float constant.
Bytes qdq_chain_exporter_style(const ChainParams& p) {
    GraphBytes g;
    g.input("x", {1, 2, 4, 4}).output("y", {1, 2, 4, 4});
    auto constant = [&](const std::string& name, const Bytes& t) {
        g.node("Constant", {}, {name}, name + "_const", attr_tensor("value", t));
    };
    auto zero_point = [&](const std::string& name, std::vector<int64_t> dims, int value, int type) {
        constant(name + "_shape", tensor<int64_t>("", {int64_t(dims.size())}, 7, dims));
        g.node("ConstantOfShape", {name + "_shape"}, {name + "_i32"}, name + "_fill",
               attr_tensor("value", tensor<int32_t>("", {1}, INT32, {value})));
        g.node("Cast", {name + "_i32"}, {name}, name + "_cast", attr_int("to", type));
    };
    constant("xs", tensor<float>("", {}, FLOAT, {p.x_scale}));
    constant("rs", tensor<float>("", {}, FLOAT, {p.r_scale}));
    constant("ys", tensor<float>("", {}, FLOAT, {p.y_scale}));
    zero_point("xz", {}, p.x_zp, INT8);
    zero_point("rz", {}, p.r_zp, INT8);
    zero_point("yz", {}, p.y_zp, INT8);
    constant("w", tensor<int8_t>("", {2, 2, 3, 3}, INT8, p.w));
    constant("ws", tensor<float>("", {2}, FLOAT, p.w_scale));
    zero_point("wz", {2}, 0, INT8);
    constant("b_float", tensor<float>("", {2}, FLOAT, {float(p.b[0]), float(p.b[1])}));
    g.node("Cast", {"b_float"}, {"b"}, "b_cast", attr_int("to", INT32));
    constant("bs", tensor<float>("", {2}, FLOAT, {p.x_scale * p.w_scale[0], p.x_scale * p.w_scale[1]}));
    zero_point("bz", {2}, 0, INT32);
    add_chain_nodes(g);
    return g.model();
}
}  // namespace

TEST_CASE("ONNX QDQ: Constant nodes, ConstantOfShape and Cast of parameters fold and fuse like initializers") {
    const ChainParams p;
    const Model plain = load(qdq_chain(p, false));
    const Model exported = load(qdq_chain_exporter_style(p));
    CHECK(op_counts(exported) == op_counts(plain));
    CHECK(op_counts(exported).count("QConv") == 1);
    for (uint32_t seed = 0; seed < 4; ++seed) {
        const auto x = array({1, 2, 4, 4}, pseudo_random(32, seed, -4.0f, 4.0f));
        const auto y = exported.run(x);
        CHECK(y == plain.run(x));
        CHECK(std::any_of(y.begin(), y.end(), [](float v) { return v != 0.0f; }));
    }
}

TEST_CASE("ONNX QDQ: patterns that do not fuse still run, in fp32 between the quantization nodes") {
    SUBCASE("asymmetric uint8 weights fold to fp32; Sigmoid between DQ and Q runs in fp32") {
        GraphBytes g;
        g.input("x", {1, 2, 3, 3}).output("y", {1, 2, 3, 3});
        g.scalar("s", 0.1f).zero_point("z", UINT8, 128).scalar("ws", 0.01f).zero_point("wz", UINT8, 100);
        g.scalar("ts", 1.0f / 256).zero_point("tz", UINT8, 0);
        const std::vector<uint8_t> w{90, 130, 100, 255, 0, 101, 100, 180};
        g.init<uint8_t>("w", {2, 2, 1, 1}, UINT8, {w.begin(), w.begin() + 4});
        g.node("QuantizeLinear", {"x", "s", "z"}, {"xq"}, "q_x")
            .node("DequantizeLinear", {"xq", "s", "z"}, {"xd"}, "dq_x")
            .node("DequantizeLinear", {"w", "ws", "wz"}, {"wd"}, "dq_w")
            .node("Conv", {"xd", "wd"}, {"c"}, "conv")
            .node("QuantizeLinear", {"c", "s", "z"}, {"cq"}, "q_c")
            .node("DequantizeLinear", {"cq", "s", "z"}, {"cd"}, "dq_c")
            .node("Sigmoid", {"cd"}, {"t"}, "sigmoid")
            .node("QuantizeLinear", {"t", "ts", "tz"}, {"tq"}, "q_t")
            .node("DequantizeLinear", {"tq", "ts", "tz"}, {"y"}, "dq_y");
        const Model m = load(g.model());
        const auto ops = op_counts(m);
        CHECK(!ops.count("QConv"));
        CHECK(ops.count("Conv") == 1);
        CHECK(ops.count("Unary") == 1);
        const auto x = pseudo_random(18, 3, -3.0f, 3.0f);
        const auto y = m.run(array({1, 2, 3, 3}, x));
        for (size_t c = 0; c < 2; ++c)
            for (size_t i = 0; i < 9; ++i) {
                float acc = 0;
                for (size_t ci = 0; ci < 2; ++ci)
                    acc += dequantize(quantize(x[ci * 9 + i], 0.1f, 128, 0, 255), 0.1f, 128) *
                           ((float(w[c * 2 + ci]) - 100.0f) * 0.01f);
                const float cd = dequantize(quantize(acc, 0.1f, 128, 0, 255), 0.1f, 128);
                const float t = 1.0f / (1.0f + std::exp(-cd));
                const float want = dequantize(quantize(t, 1.0f / 256, 0, 0, 255), 1.0f / 256, 0);
                CHECK(std::fabs(y.data()[c * 9 + i] - want) <= 1.001f / 256);
            }
    }
    SUBCASE("Q(DQ(x)) with the same parameters is x; a DQ read by two consumers") {
        GraphBytes g;
        g.input("x", {1, 6}).output("y", {1, 6}).output("z", {1, 6});
        g.scalar("s", 0.5f).zero_point("q", INT8, -3);
        g.node("QuantizeLinear", {"x", "s", "q"}, {"a"}, "q1")
            .node("DequantizeLinear", {"a", "s", "q"}, {"b"}, "dq1")
            .node("QuantizeLinear", {"b", "s", "q"}, {"c"}, "q2")
            .node("DequantizeLinear", {"c", "s", "q"}, {"y"}, "dq2")
            .node("Relu", {"b"}, {"z"}, "relu");
        const Model m = load(g.model());
        const auto ops = op_counts(m);
        CHECK(ops.at("Quantize") == 1);
        CHECK(ops.at("Dequantize") == 2);
        const std::vector<float> x{-70.0f, -1.3f, -0.25f, 0.25f, 0.76f, 70.0f};
        const auto y = m.run(std::vector<xt::xarray<float>>{array({1, 6}, x)});
        for (size_t i = 0; i < 6; ++i) {
            const float want = dequantize(quantize(x[i], 0.5f, -3, -128, 127), 0.5f, -3);
            CHECK(y[0].data()[i] == want);
            CHECK(y[1].data()[i] == std::max(want, 0.0f));
        }
    }
    SUBCASE("per-axis QuantizeLinear / DequantizeLinear of an activation round as ONNX does") {
        GraphBytes g;
        g.input("x", {1, 3, 2, 2}).output("y", {1, 3, 2, 2}).output("q", {1, 3, 2, 2}, UINT8);
        g.init<float>("s", {3}, FLOAT, {0.5f, 2.0f, 0.25f}).init<uint8_t>("z", {3}, UINT8, {0, 128, 250});
        g.node("QuantizeLinear", {"x", "s", "z"}, {"q"}, "q_axis", attr_int("axis", 1))
            .node("DequantizeLinear", {"q", "s", "z"}, {"y"}, "dq_axis", attr_int("axis", 1));
        const Model m = load(g.model());
        const std::vector<float> x{0.25f, 0.75f, -1.0f, 200.0f, 3.0f, 5.0f, -7.0f, 1000.0f, 0.125f, 0.375f, -70.0f, 1.5f};
        const auto out = m.run(std::vector<xt::xarray<float>>{array({1, 3, 2, 2}, x)});
        const float s[] = {0.5f, 2.0f, 0.25f};
        const int z[] = {0, 128, 250};
        for (size_t i = 0; i < 12; ++i) {
            const float q = quantize(x[i], s[i / 4], z[i / 4], 0, 255);
            CHECK(out[1].data()[i] == q);  // the uint8 output as the integers 0..255
            CHECK(out[0].data()[i] == dequantize(q, s[i / 4], z[i / 4]));
        }
    }
}

TEST_CASE("ONNX QOperator: QLinearConv, QLinearAdd and QLinearGlobalAveragePool with a uint8 interface") {
    // x (uint8 [1,2,3,3]) -> QLinearConv 1x1 (uint8 weights, zero point 128) -> QLinearAdd with x
    // -> QLinearGlobalAveragePool -> y (uint8 [1,2,1,1]); channels_last 1 reads an NHWC tensor instead.
    for (int channels_last : {0, 1}) {
        CAPTURE(channels_last);
        GraphBytes g;
        g.input("x", {1, 2, 3, 3}, UINT8).output("y", channels_last ? std::vector<int64_t>{1, 1, 1, 2}
                                                                     : std::vector<int64_t>{1, 2, 1, 1}, UINT8);
        g.scalar("xs", 0.1f).zero_point("xz", UINT8, 120).scalar("cs", 0.2f).zero_point("cz", UINT8, 130);
        g.scalar("as", 0.15f).zero_point("az", UINT8, 125).scalar("ys", 0.05f).zero_point("yz", UINT8, 128);
        g.init<uint8_t>("w", {2, 2, 1, 1}, UINT8, {138, 100, 128, 255}).init<float>("ws", {2}, FLOAT, {0.5f, 0.25f});
        g.init<uint8_t>("wz", {2}, UINT8, {128, 128}).init<int32_t>("b", {2}, INT32, {40, -25});
        g.node("QLinearConv", {"x", "xs", "xz", "w", "ws", "wz", "cs", "cz", "b"}, {"c"}, "qconv")
            .node("QLinearAdd", {"c", "cs", "cz", "x", "xs", "xz", "as", "az"}, {"a"}, "qadd", "", "com.microsoft");
        if (channels_last) g.node("Transpose", {"a"}, {"t"}, "to_nhwc", attr_ints("perm", {0, 2, 3, 1}));
        g.node("QLinearGlobalAveragePool", {channels_last ? "t" : "a", "as", "az", "ys", "yz"}, {"y"}, "qgap",
               attr_int("channels_last", channels_last), "com.microsoft");
        const Model m = load(g.model());
        const auto ops = op_counts(m);
        CHECK(ops.count("QConv") == 1);
        CHECK(ops.count("QAdd") == 1);
        CHECK(ops.count("QGlobalAveragePool") == 1);
        CHECK(m.inputs()[0].dtype == DataType::f32);
        std::vector<float> x(18);
        for (size_t i = 0; i < x.size(); ++i) x[i] = float((i * 37 + 11) % 256);
        const auto y = m.run(array({1, 2, 3, 3}, x));
        const int w[] = {138 - 128, 100 - 128, 128 - 128, 255 - 128}, b[] = {40, -25};
        const float ws[] = {0.5f, 0.25f};
        for (size_t c = 0; c < 2; ++c) {
            int32_t sum = 0;
            for (size_t i = 0; i < 9; ++i) {
                int32_t acc = b[c];
                for (size_t ci = 0; ci < 2; ++ci) acc += (int32_t(x[ci * 9 + i]) - 120) * w[c * 2 + ci];
                const float cq = kernels::ref::clamp_like_simd(std::nearbyint(float(acc) * (0.1f * ws[c] / 0.2f)) + 130, 0, 255);
                const double v = double(cq - 130) * double(0.2f / 0.15f) + double(x[c * 9 + i] - 120) * double(0.1f / 0.15f);
                sum += int32_t(std::clamp(std::nearbyint(v) + 125, 0.0, 255.0)) - 125;
            }
            const float want = std::clamp(std::nearbyint(float(sum) * (0.15f / (0.05f * 9))) + 128, 0.0f, 255.0f);
            CHECK(y.data()[c] == want);
        }
    }
}

TEST_CASE("ONNX int8: malformed quantization parameters are invalid_model errors naming the node") {
    // x [1,4,2] -> QuantizeLinear "q_bad" (scale, zero point, axis) -> DequantizeLinear -> y
    auto with_params = [](const Bytes& scale, const Bytes& zero_point, int64_t axis) {
        GraphBytes g;
        g.input("x", {1, 4, 2}).output("y", {1, 4, 2});
        g.bytes += delimited(5, scale) + delimited(5, zero_point);
        g.node("QuantizeLinear", {"x", "s", "z"}, {"q"}, "q_bad", attr_int("axis", axis));
        g.node("DequantizeLinear", {"q", "s", "z"}, {"y"}, "dq", attr_int("axis", axis));
        return g.model();
    };
    auto expect_error = [](const Bytes& model, const char* node, const char* detail) {
        CAPTURE(detail);
        try {
            load(model);
            FAIL("expected an error");
        } catch (const Error& e) {
            CHECK(e.code() == ErrorCode::invalid_model);
            const std::string msg = e.what();
            CHECK_MESSAGE(msg.find(node) != std::string::npos, msg);
            CHECK_MESSAGE(msg.find(detail) != std::string::npos, msg);
        }
    };
    const Bytes zp = tensor<int8_t>("z", {}, INT8, {0});
    for (float bad : {0.0f, -0.5f, NAN, INFINITY})
        expect_error(with_params(tensor<float>("s", {}, FLOAT, {bad}), zp, 1), "q_bad", "positive finite");
    const Bytes s = tensor<float>("s", {}, FLOAT, {0.5f});
    // A uint8 zero point whose int32_data holds 300.
    const Bytes zp300 = str(8, "z") + vint(2, UINT8) + vint(5, 300);
    expect_error(with_params(s, zp300, 1), "q_bad", "does not fit");
    // A uint8 tensor with an int8 zero point (DequantizeLinear "dq_mixed").
    {
        GraphBytes g;
        g.input("x", {1, 4}, UINT8).output("y", {1, 4});
        g.scalar("s", 0.5f).zero_point("z", INT8, 0);
        g.node("DequantizeLinear", {"x", "s", "z"}, {"y"}, "dq_mixed");
        expect_error(g.model(), "dq_mixed", "zero_point is INT8 but the quantized tensor is UINT8");
    }
    const Bytes s3 = tensor<float>("s", {3}, FLOAT, {0.5f, 0.5f, 0.5f}), z3 = tensor<int8_t>("z", {3}, INT8, {0, 0, 0});
    expect_error(with_params(s3, z3, 1), "q_bad", "3 values for axis 1 of size 4");
    const Bytes s4 = tensor<float>("s", {4}, FLOAT, {0.5f, 0.5f, 0.5f, 0.5f});
    expect_error(with_params(s4, tensor<int8_t>("z", {4}, INT8, {0, 0, 0, 0}), 5), "q_bad", "axis 5 is out of range");
    expect_error(with_params(s4, z3, 1), "q_bad", "zero_point has shape");
    // QLinearConv: a weight zero point of another type than the weight.
    {
        GraphBytes g;
        g.input("x", {1, 1, 2, 2}, UINT8).output("y", {1, 1, 2, 2}, UINT8);
        g.scalar("s", 0.5f).zero_point("z", UINT8, 128).init<int8_t>("w", {1, 1, 1, 1}, INT8, {3});
        g.scalar("ws", 0.1f).zero_point("wz", UINT8, 0);
        g.node("QLinearConv", {"x", "s", "z", "w", "ws", "wz", "s", "z"}, {"y"}, "qconv_mixed");
        expect_error(g.model(), "qconv_mixed", "w_zero_point is UINT8 but the quantized tensor is INT8");
    }
}

TEST_CASE("ONNX int8: ConvInteger and MatMulInteger give their int32 results as F32 integers") {
    GraphBytes g;
    g.input("x", {1, 1, 3, 3}, UINT8).input("a", {2, 3}, INT8).output("y", {1, 1, 2, 2}, INT32).output("m", {2, 2}, INT32);
    g.init<uint8_t>("w", {1, 1, 2, 2}, UINT8, {1, 2, 3, 4}).zero_point("xz", UINT8, 1);
    g.init<int8_t>("b", {3, 2}, INT8, {1, -2, 3, 4, -5, 6}).init<int8_t>("bz", {2}, INT8, {1, -1});
    g.node("ConvInteger", {"x", "w", "xz"}, {"y"}, "convint").node("MatMulInteger", {"a", "b", "", "bz"}, {"m"}, "mmint");
    const Model m = load(g.model());
    const std::vector<float> x{2, 3, 4, 5, 6, 7, 8, 9, 10}, a{1, -2, 3, -4, 5, -6};
    const auto out = m.run(std::vector<xt::xarray<float>>{array({1, 1, 3, 3}, x), array({2, 3}, a)});
    const std::vector<float> conv_want{1 * 1 + 2 * 2 + 4 * 3 + 5 * 4, 2 * 1 + 3 * 2 + 5 * 3 + 6 * 4,
                                       4 * 1 + 5 * 2 + 7 * 3 + 8 * 4, 5 * 1 + 6 * 2 + 8 * 3 + 9 * 4};
    for (size_t i = 0; i < 4; ++i) CHECK(out[0].data()[i] == conv_want[i]);
    const int b[3][2] = {{1 - 1, -2 + 1}, {3 - 1, 4 + 1}, {-5 - 1, 6 + 1}};
    for (size_t r = 0; r < 2; ++r)
        for (size_t c = 0; c < 2; ++c) {
            float want = 0;
            for (size_t k = 0; k < 3; ++k) want += a[r * 3 + k] * float(b[k][c]);
            CHECK(out[1].data()[r * 2 + c] == want);
        }
}

TEST_CASE("ONNX QDQ: int8 weights in another layout (DequantizeLinear, then a constant Transpose) still fuse") {
    // Weights stored HWIO [3,3,2,2] quantized along O (axis 3), as a TF converter may leave them; the fused QConv
    // must equal the chain built from the OIHW weights.
    const ChainParams p;
    std::vector<int8_t> hwio(p.w.size());
    for (size_t o = 0; o < 2; ++o)
        for (size_t i = 0; i < 2; ++i)
            for (size_t y = 0; y < 3; ++y)
                for (size_t x = 0; x < 3; ++x) hwio[((y * 3 + x) * 2 + i) * 2 + o] = p.w[((o * 2 + i) * 3 + y) * 3 + x];
    GraphBytes g;
    g.input("x", {1, 2, 4, 4}).output("y", {1, 2, 4, 4});
    g.scalar("xs", p.x_scale).zero_point("xz", INT8, p.x_zp).scalar("rs", p.r_scale).zero_point("rz", INT8, p.r_zp);
    g.init<int8_t>("w", {3, 3, 2, 2}, INT8, hwio).init<float>("ws", {2}, FLOAT, p.w_scale);
    g.init<float>("b", {2}, FLOAT, {float(p.b[0]) * p.x_scale * p.w_scale[0], float(p.b[1]) * p.x_scale * p.w_scale[1]});
    g.node("QuantizeLinear", {"x", "xs", "xz"}, {"xq"}, "q_x")
        .node("DequantizeLinear", {"xq", "xs", "xz"}, {"xd"}, "dq_x")
        .node("DequantizeLinear", {"w", "ws"}, {"wd"}, "dq_w", attr_int("axis", 3))
        .node("Transpose", {"wd"}, {"wt"}, "to_oihw", attr_ints("perm", {3, 2, 0, 1}))
        .node("Conv", {"xd", "wt", "b"}, {"c"}, "conv", attr_ints("pads", {1, 1, 1, 1}))
        .node("QuantizeLinear", {"c", "rs", "rz"}, {"cq"}, "q_c")
        .node("DequantizeLinear", {"cq", "rs", "rz"}, {"y"}, "dq_y");
    const Model m = load(g.model());
    CHECK(op_counts(m).count("QConv") == 1);
    const auto x = pseudo_random(32, 5, -4.0f, 4.0f);
    const auto y = m.run(array({1, 2, 4, 4}, x));
    std::vector<float> xd(32), wd(36), bd(2);
    for (size_t i = 0; i < 32; ++i) xd[i] = dequantize(quantize(x[i], p.x_scale, p.x_zp, -128, 127), p.x_scale, p.x_zp);
    for (size_t i = 0; i < 36; ++i) wd[i] = float(p.w[i]) * p.w_scale[i / 18];
    for (size_t c = 0; c < 2; ++c) bd[c] = float(p.b[c]) * p.x_scale * p.w_scale[c];
    const auto c = conv_nchw(xd, 2, 4, 4, wd, 2, 3, bd);
    for (size_t i = 0; i < c.size(); ++i)
        CHECK(std::fabs(y.data()[i] - dequantize(quantize(c[i], p.r_scale, p.r_zp, -128, 127), p.r_scale, p.r_zp)) <=
              p.r_scale * 1.001f);
}

TEST_CASE("ONNX QDQ: a Gemm read in fp32 (no QuantizeLinear after it) runs as a QDense with an fp32 output") {
    // x [3, 37] -> Q -> DQ -> Gemm (W: DQ int8 [21, 37] per row, transB; C: DQ int32 or fp32) -> y, as the
    // classifier of torchvision's QDQ MobileNetV2.
    const size_t M = 3, K = 37, N = 21;
    const float xs = 0.05f;
    const int xz = -7;
    std::vector<int8_t> w(N * K);
    const auto r = pseudo_random(w.size(), 11, -127.0f, 127.0f);
    for (size_t i = 0; i < w.size(); ++i) w[i] = int8_t(std::lround(r[i]));
    std::vector<float> ws(N), bs(N);
    std::vector<int32_t> b(N);
    for (size_t n = 0; n < N; ++n) ws[n] = 0.001f * float(n + 3), bs[n] = xs * ws[n], b[n] = int32_t(n * 97) - 900;
    for (bool int32_bias : {true, false}) {
        CAPTURE(int32_bias);
        GraphBytes g;
        g.input("x", {int64_t(M), int64_t(K)}).output("y", {int64_t(M), int64_t(N)});
        g.scalar("xs", xs).zero_point("xz", INT8, xz);
        g.init<int8_t>("w", {int64_t(N), int64_t(K)}, INT8, w).init<float>("ws", {int64_t(N)}, FLOAT, ws);
        g.node("QuantizeLinear", {"x", "xs", "xz"}, {"xq"}, "q_x")
            .node("DequantizeLinear", {"xq", "xs", "xz"}, {"xd"}, "dq_x")
            .node("DequantizeLinear", {"w", "ws"}, {"wd"}, "dq_w", attr_int("axis", 0));
        if (int32_bias) {
            g.init<int32_t>("b", {int64_t(N)}, INT32, b).init<float>("bs", {int64_t(N)}, FLOAT, bs);
            g.node("DequantizeLinear", {"b", "bs"}, {"bd"}, "dq_b", attr_int("axis", 0));
        } else {
            std::vector<float> bf(N);
            for (size_t n = 0; n < N; ++n) bf[n] = float(b[n]) * bs[n];
            g.init<float>("bd", {int64_t(N)}, FLOAT, bf);
        }
        g.node("Gemm", {"xd", "wd", "bd"}, {"y"}, "fc", attr_int("transB", 1));
        const Model m = load(g.model());
        ModelOptions ro;
        ro.kernels = ops::KernelSet::reference;
        const Bytes bytes = g.model();
        const Model m_ref = Model::load_from_memory(bytes.data(), bytes.size(), ro, "int8_test.onnx");
        // An fp32 bias would have to be rounded to int32: that Gemm stays in fp32.
        CHECK(op_counts(m).count("QDense") == size_t(int32_bias));
        CHECK(op_counts(m).count("Dense") == size_t(!int32_bias));
        const auto x = pseudo_random(M * K, 6, -6.0f, 6.0f);
        const auto y = m.run(array({M, K}, x)), y_ref = m_ref.run(array({M, K}, x));
        REQUIRE(y.size() == M * N);
        for (size_t i = 0; i < M; ++i)
            for (size_t n = 0; n < N; ++n) {
                double want = double(b[n]) * bs[n];
                for (size_t k = 0; k < K; ++k)
                    want += double(dequantize(quantize(x[i * K + k], xs, xz, -128, 127), xs, xz)) *
                            double(w[n * K + k]) * ws[n];
                CHECK(y.data()[i * N + n] == doctest::Approx(want).epsilon(1e-5));
                if (int32_bias) CHECK(y.data()[i * N + n] == y_ref.data()[i * N + n]);  // kernel sets agree exactly
            }
    }
}
