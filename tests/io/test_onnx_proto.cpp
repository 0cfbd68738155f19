#include <doctest/doctest.h>

#include "protobuf_writer.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

#include "xinfer/io/mapped_file.hpp"
#include "xinfer/io/onnx/onnx_proto.hpp"
#include "xinfer/io/protobuf.hpp"

using namespace xinfer;
using namespace xinfer::io;
using onnx::AttrType;
using onnx::ElemType;

namespace {

using namespace xinfer::testing::pbwire;

const std::byte* ptr(const Bytes& s) { return reinterpret_cast<const std::byte*>(s.data()); }

// The message of the invalid_model error thrown by `f`, or "" if it does not throw.
template <class F> std::string model_error(F&& f) {
    try {
        f();
    } catch (const Error& e) {
        CHECK(e.code() == ErrorCode::invalid_model);
        return e.what();
    }
    return "";
}

// Reads every field of a message (and of its nested messages, depth first) as far as it is structurally valid.
void walk(pb::Reader r) {
    for (pb::Field f; r.next(f);)
        if (f.type == pb::WireType::length_delimited && f.number == 1) walk(r.message(f));
}

Bytes tensor_bytes(const std::string& name, ElemType type, const std::vector<int64_t>& dims, const Bytes& data) {
    Bytes t = delimited(8, name) + vint(2, uint64_t(type));
    for (int64_t d : dims) t += sint(1, d);
    return t + data;
}

onnx::TensorProto tensor(const Bytes& bytes) { return onnx::parse_tensor(ptr(bytes), bytes.size(), "t.pb"); }

template <class T> std::vector<T> values_of(const Constant& c) {
    REQUIRE(c.dtype == dtype_of<T>::value);
    return std::vector<T>(c.as<T>(), c.as<T>() + c.numel());
}

const std::string kModels = XINFER_TEST_DATA_DIR "/../../../shared/data/models";
bool exists(const std::string& path) { return std::ifstream(path).good(); }

}  // namespace

TEST_CASE("protobuf reader: every wire type") {
    const Bytes msg = vint(1, 150) + fixed64(2, 0x0102030405060708ull) + delimited(3, "abc") +
                      fixed32(4, 0xA1B2C3D4u) + vint(536870911, 1);  // the largest field number
    pb::Reader r(ptr(msg), msg.size(), "m");
    pb::Field f;
    REQUIRE(r.next(f));
    CHECK((f.number == 1 && f.type == pb::WireType::varint && f.value == 150 && f.offset == 0));
    REQUIRE(r.next(f));
    CHECK((f.number == 2 && f.type == pb::WireType::fixed64 && f.value == 0x0102030405060708ull && f.offset == 3));
    REQUIRE(r.next(f));
    CHECK((f.number == 3 && f.type == pb::WireType::length_delimited && f.size == 3 && r.string(f) == "abc"));
    REQUIRE(r.next(f));
    CHECK((f.number == 4 && f.type == pb::WireType::fixed32 && f.value == 0xA1B2C3D4u));
    REQUIRE(r.next(f));
    CHECK((f.number == 536870911 && r.uint64(f) == 1));
    CHECK_FALSE(r.next(f));
    CHECK_FALSE(r.next(f));

    pb::Reader empty(nullptr, 0, "empty");
    CHECK_FALSE(empty.next(f));
}

TEST_CASE("protobuf reader: typed values") {
    const Bytes msg = sint(1, -1) + sint(2, std::numeric_limits<int64_t>::min()) + vint(3, UINT64_MAX) +
                      sint(4, -5) + vint(5, 3) + float32(6, -1.5f) + fixed64(7, bits(0.1)) + vint(8, 4294967296ull);
    pb::Reader r(ptr(msg), msg.size(), "m");
    std::vector<pb::Field> f(8);
    for (auto& x : f) REQUIRE(r.next(x));
    CHECK(sint(1, -1).size() == 11);  // key + 10-byte varint
    CHECK(r.int64(f[0]) == -1);
    CHECK(r.int64(f[1]) == std::numeric_limits<int64_t>::min());
    CHECK(r.uint64(f[2]) == UINT64_MAX);
    CHECK(r.int32(f[3]) == -5);
    CHECK(r.sint64(f[4]) == -2);
    CHECK(r.boolean(f[4]));
    CHECK(r.float32(f[5]) == -1.5f);
    CHECK(r.float64(f[6]) == 0.1);
    CHECK(model_error([&] { (void)r.int32(f[7]); }) == "m: value 4294967296 out of int32 range at byte 60");
    CHECK(model_error([&] { (void)r.float32(f[0]); }) ==
          "m: field 1 has wire type varint, expected fixed32 at byte 0");
    CHECK(model_error([&] { (void)r.string(f[0]); }).find("expected length-delimited") != std::string::npos);
    CHECK(model_error([&] { (void)r.message(f[5]); }).find("expected length-delimited") != std::string::npos);

    CHECK(pb::zigzag_decode(0) == 0);
    CHECK(pb::zigzag_decode(1) == -1);
    CHECK(pb::zigzag_decode(4294967294ull) == 2147483647);
    CHECK(pb::zigzag_decode(UINT64_MAX) == std::numeric_limits<int64_t>::min());
    CHECK(pb::zigzag_decode(UINT64_MAX - 1) == std::numeric_limits<int64_t>::max());
}

TEST_CASE("protobuf reader: malformed input") {
    auto error = [](const Bytes& msg) { return model_error([&] { walk(pb::Reader(ptr(msg), msg.size(), "bad")); }); };
    CHECK(error("\x08") == "bad: truncated varint at byte 1");
    CHECK(error("\x08\x80\x80") == "bad: truncated varint at byte 1");
    CHECK(error("\x80") == "bad: truncated varint at byte 0");
    CHECK(error("\x08" + Bytes(10, '\xFF') + "\x01") == "bad: varint overflows 64 bits at byte 1");
    CHECK(error("\x08" + Bytes(9, '\xFF') + "\x02") == "bad: varint overflows 64 bits at byte 1");
    CHECK(error("\x08" + Bytes(9, '\x80') + Bytes(1, '\0')).empty());  // 10 bytes, non-canonical but valid
    CHECK(error(Bytes("\x00", 1)) == "bad: field number 0 at byte 0");
    CHECK(error(Bytes("\x80\x80\x80\x80\x10", 5)) == "bad: field key 4294967296 out of range at byte 0");
    CHECK(error("\x0B") == "bad: field 1 is a group (unsupported) at byte 0");
    CHECK(error("\x0C") == "bad: field 1 is a group (unsupported) at byte 0");
    CHECK(error("\x0E") == "bad: invalid wire type 6 at byte 0");
    CHECK(error("\x0F") == "bad: invalid wire type 7 at byte 0");
    CHECK(error("\x09\x01\x02\x03\x04\x05\x06\x07") == "bad: truncated fixed64 (7 bytes left) at byte 1");
    CHECK(error("\x0D\x01\x02\x03") == "bad: truncated fixed32 (3 bytes left) at byte 1");
    CHECK(error("\x12\x04" "abc") == "bad: length 4 of field 2 runs past the end (3 bytes left) at byte 1");
    // Lengths that would wrap a pointer or a signed size.
    for (uint64_t huge : {uint64_t(1) << 63, (uint64_t(1) << 63) + 5, UINT64_MAX, uint64_t(SIZE_MAX) / 2 + 1}) {
        CAPTURE(huge);
        CHECK(error(key(2, 2) + varint(huge) + "xyz") ==
              "bad: length " + std::to_string(huge) + " of field 2 runs past the end (3 bytes left) at byte 1");
    }
    // A nested message ends inside its parent: errors inside it report absolute offsets.
    CHECK(error(delimited(1, delimited(1, "\x08\x80"))) == "bad: truncated varint at byte 5");
    CHECK(error(delimited(1, "\x12\x05" "ab") + "cdef") ==
          "bad: length 5 of field 2 runs past the end (2 bytes left) at byte 3");
    CHECK(error(delimited(1, delimited(1, vint(1, 1))) + "\x08\x01").empty());

    CHECK(model_error([] {
              Bytes msg(11, '\0');
              pb::Reader(ptr(msg), msg.size(), "big", pb::Limits{10, 64});
          }) == "big: message of 11 bytes exceeds the limit of 10 bytes at byte 0");
}

TEST_CASE("protobuf reader: nesting depth limit") {
    auto nested = [](int levels) {  // `levels` messages in all, the outermost included
        Bytes m = vint(2, 7);
        for (int i = 1; i < levels; ++i) m = delimited(1, m);
        return m;
    };
    CHECK(model_error([&] { Bytes m = nested(64); walk(pb::Reader(ptr(m), m.size(), "deep")); }).empty());
    const std::string err = model_error([&] { Bytes m = nested(65); walk(pb::Reader(ptr(m), m.size(), "deep")); });
    CHECK(err.find("deep: messages nested more than 64 levels deep at byte ") == 0);
    CHECK(model_error([&] { Bytes m = nested(5); walk(pb::Reader(ptr(m), m.size(), "d", pb::Limits{1000, 4})); })
              .find("nested more than 4 levels") != std::string::npos);

    // Subgraphs nest as graph -> node -> attribute -> graph: a deep chain is rejected, not a stack overflow.
    Bytes graph = delimited(2, "g");
    for (int i = 0; i < 100; ++i)
        graph = delimited(1, delimited(5, delimited(1, "then_branch") + vint(20, 5) + delimited(6, graph)));
    const Bytes model = delimited(7, graph);
    CHECK(model_error([&] { onnx::parse_model(ptr(model), model.size(), "m.onnx"); })
              .find("m.onnx: messages nested more than 64 levels deep") == 0);
}

TEST_CASE("protobuf reader: packed and unpacked repeated scalars decode the same") {
    const std::vector<int64_t> ints = {0, 1, -1, 300, std::numeric_limits<int64_t>::min(), INT64_MAX, -70000};
    const std::vector<float> floats = {0.0f, -2.5f, 1e-30f, std::numeric_limits<float>::infinity()};
    const std::vector<double> doubles = {1.0 / 3, -0.0, 1e300};
    Bytes packed_ints, packed_floats, packed_doubles, unpacked;
    for (int64_t v : ints) packed_ints += varint(uint64_t(v)), unpacked += sint(1, v);
    for (float v : floats) packed_floats += le(bits(v), 4), unpacked += float32(2, v);
    for (double v : doubles) packed_doubles += le(bits(v), 8), unpacked += fixed64(3, bits(v));
    const Bytes packed = delimited(1, packed_ints) + delimited(2, packed_floats) + delimited(3, packed_doubles);

    for (const Bytes* msg : std::vector<const Bytes*>{&packed, &unpacked}) {
        std::vector<int64_t> got_ints;
        std::vector<float> got_floats;
        std::vector<double> got_doubles;
        pb::Reader r(ptr(*msg), msg->size(), "m");
        for (pb::Field f; r.next(f);) {
            if (f.number == 1) r.int64s(f, got_ints);
            if (f.number == 2) r.floats(f, got_floats);
            if (f.number == 3) r.doubles(f, got_doubles);
        }
        CHECK(got_ints == ints);
        CHECK(got_floats == floats);
        REQUIRE(got_doubles.size() == doubles.size());
        for (size_t i = 0; i < doubles.size(); ++i) CHECK(bits(got_doubles[i]) == bits(doubles[i]));
    }

    // A mix of both encodings appends in order; so does an ONNX field.
    const Bytes mixed = sint(1, 5) + delimited(1, varint(6) + varint(7)) + sint(1, 8);
    const auto t = tensor(mixed);
    CHECK(t.dims == std::vector<int64_t>{5, 6, 7, 8});

    auto error = [](const Bytes& msg) {
        return model_error([&] {
            pb::Reader r(ptr(msg), msg.size(), "p");
            std::vector<float> fl;
            std::vector<int64_t> in;
            std::vector<int32_t> i32;
            for (pb::Field f; r.next(f);) {
                if (f.number == 1) r.int64s(f, in);
                if (f.number == 2) r.floats(f, fl);
                if (f.number == 3) r.int32s(f, i32);
            }
        });
    };
    CHECK(error(delimited(2, "abcde")) == "p: packed run of 5 bytes is not a multiple of 4 at byte 0");
    CHECK(error(delimited(1, "\x01\x80")) == "p: truncated varint at byte 3");
    CHECK(error(delimited(3, varint(uint64_t(1) << 31))) == "p: value 2147483648 out of int32 range at byte 2");
    CHECK(error(delimited(3, varint(uint64_t(-5)))).empty());
    CHECK(error(fixed64(1, 3)) ==
          "p: field 1 has wire type fixed64, expected varint or packed length-delimited at byte 0");
    CHECK(error(vint(2, 3)) ==
          "p: field 2 has wire type varint, expected fixed32 or packed length-delimited at byte 0");
}

TEST_CASE("onnx: a hand-built model, with unknown fields skipped") {
    // Unknown fields of every wire type, interleaved with the known ones at every level.
    const Bytes junk = vint(99, 5) + fixed64(98, 1) + delimited(97, "\x08\x01???") + fixed32(96, 2) +
                       delimited(1000, Bytes(300, 'x'));
    Bytes dim_value = vint(1, 3) + junk, dim_param = delimited(2, "N") + delimited(3, "batch");
    Bytes shape = delimited(1, dim_param) + delimited(1, dim_value) + delimited(1, "");
    Bytes input = delimited(1, "x") + delimited(2, delimited(1, vint(1, 1) + delimited(2, shape) + junk)) +
                  delimited(3, "doc") + junk;
    Bytes output = delimited(1, "y") + delimited(2, delimited(4, delimited(1, "")));  // a sequence
    Bytes attr_ints = delimited(1, "pads") + vint(20, 7) + delimited(8, varint(1) + varint(2)) + sint(8, -3);
    Bytes attr_f = delimited(1, "alpha") + vint(20, 1) + float32(2, 0.25f) + junk;
    Bytes attr_s = delimited(1, "mode") + vint(20, 3) + delimited(4, Bytes("a\0b", 3));
    Bytes attr_t = delimited(1, "value") + vint(20, 4) +
                   delimited(5, tensor_bytes("v", ElemType::int64, {2}, sint(7, -1) + sint(7, 2)));
    Bytes attr_g =
        delimited(1, "body") + vint(20, 5) + delimited(6, delimited(2, "sub") + delimited(1, delimited(4, "Abs")));
    Bytes attr_strings = delimited(1, "names") + vint(20, 8) + delimited(9, "p") + delimited(9, "q");
    Bytes node = delimited(1, "x") + delimited(1, "") + delimited(1, "w") + delimited(2, "y") + delimited(3, "n0") +
                 delimited(4, "Conv") + delimited(7, "") + delimited(6, "doc") + junk + delimited(5, attr_ints) +
                 delimited(5, attr_f) + delimited(5, attr_s) + delimited(5, attr_t) + delimited(5, attr_g) +
                 delimited(5, attr_strings);
    Bytes init = tensor_bytes("w", ElemType::float32, {2, 1}, delimited(9, le(bits(1.5f), 4) + le(bits(-2.0f), 4))) +
                 junk;
    Bytes graph = delimited(1, node) + delimited(2, "main") + delimited(5, init) + delimited(11, input) +
                  delimited(12, output) + delimited(13, output) + junk + delimited(10, "graph doc") +
                  delimited(15, Bytes("\x0A\x00", 2)) + delimited(14, "\x0A\x01z");
    Bytes model = vint(1, 8) + delimited(8, delimited(1, "") + vint(2, 13) + junk) +
                  delimited(8, delimited(1, "com.microsoft") + vint(2, 1)) + delimited(2, "prod") +
                  delimited(3, "1.0") + delimited(4, "org.x") + vint(5, 42) + delimited(6, "model doc") + junk +
                  delimited(7, graph) + delimited(14, delimited(1, "k") + delimited(2, "v")) +
                  delimited(20, Bytes("\x0A\x00", 2)) + delimited(25, delimited(1, "fn"));

    const onnx::ModelProto m = onnx::parse_model(ptr(model), model.size(), "hand.onnx");
    CHECK(m.ir_version == 8);
    REQUIRE(m.opset_import.size() == 2);
    CHECK((m.opset_import[0].domain.empty() && m.opset_import[0].version == 13));
    CHECK((m.opset_import[1].domain == "com.microsoft" && m.opset_import[1].version == 1));
    CHECK((m.producer_name == "prod" && m.producer_version == "1.0" && m.domain == "org.x"));
    CHECK((m.model_version == 42 && m.doc_string == "model doc"));
    CHECK(m.metadata_props == std::vector<std::pair<std::string, std::string>>{{"k", "v"}});
    REQUIRE(m.has_graph);
    const onnx::GraphProto& g = m.graph;
    CHECK(g.name == "main");
    CHECK(g.sparse_initializers == 1);
    REQUIRE(g.input.size() == 1);
    const onnx::ValueInfoProto& x = g.input[0];
    CHECK((x.name == "x" && x.kind == onnx::ValueKind::tensor && x.elem_type == ElemType::float32 && x.has_shape));
    REQUIRE(x.shape.size() == 3);
    CHECK((!x.shape[0].known && x.shape[0].param == "N"));
    CHECK((x.shape[1].known && x.shape[1].value == 3));
    CHECK((!x.shape[2].known && x.shape[2].param.empty()));
    REQUIRE(g.output.size() == 1);
    CHECK((g.output[0].kind == onnx::ValueKind::sequence && !g.output[0].has_shape));
    CHECK(g.value_info.size() == 1);

    REQUIRE(g.node.size() == 1);
    const onnx::NodeProto& n = g.node[0];
    CHECK((n.name == "n0" && n.op_type == "Conv" && n.domain.empty()));
    CHECK(n.input == std::vector<std::string>{"x", "", "w"});
    CHECK(n.output == std::vector<std::string>{"y"});
    REQUIRE(n.attribute.size() == 6);
    CHECK((n.attribute[0].type == AttrType::ints && n.attribute[0].ints == std::vector<int64_t>{1, 2, -3}));
    CHECK((n.attribute[1].type == AttrType::f && n.attribute[1].f == 0.25f));
    CHECK((n.attribute[2].type == AttrType::s && n.attribute[2].s == Bytes("a\0b", 3)));
    CHECK((n.attribute[3].type == AttrType::t && n.attribute[3].has_t));
    CHECK(values_of<int64_t>(onnx::to_constant(n.attribute[3].t, "", "hand.onnx")) == std::vector<int64_t>{-1, 2});
    REQUIRE(n.attribute[4].g);
    CHECK(n.attribute[4].g->name == "sub");
    REQUIRE(n.attribute[4].g->node.size() == 1);
    CHECK(n.attribute[4].g->node[0].op_type == "Abs");
    CHECK(n.attribute[5].strings == std::vector<std::string>{"p", "q"});

    REQUIRE(g.initializer.size() == 1);
    const Constant w = onnx::to_constant(g.initializer[0], "", "hand.onnx");
    CHECK(w.shape == Shape{2, 1});
    CHECK(values_of<float>(w) == std::vector<float>{1.5f, -2.0f});
    CHECK(w.owner);

    // Every truncation of the model is either a valid prefix or a clean error.
    for (size_t size = 0; size < model.size(); ++size) {
        CAPTURE(size);
        try {
            (void)onnx::parse_model(ptr(model), size, "cut.onnx");
        } catch (const Error& e) {
            CHECK(e.code() == ErrorCode::invalid_model);
            CHECK(std::string(e.what()).find(" at byte ") != std::string::npos);
        }
    }
}

TEST_CASE("onnx: repeated singular messages merge and oneof members replace each other") {
    const Bytes model = delimited(7, delimited(2, "a") + delimited(1, delimited(4, "Relu"))) +
                        delimited(7, delimited(1, delimited(4, "Abs"))) + vint(1, 3) + vint(1, 7);
    const auto m = onnx::parse_model(ptr(model), model.size(), "m");
    CHECK(m.ir_version == 7);
    CHECK(m.graph.name == "a");
    REQUIRE(m.graph.node.size() == 2);
    CHECK(m.graph.node[1].op_type == "Abs");

    const Bytes dims = delimited(1, vint(1, 4) + delimited(2, "B")) + delimited(1, delimited(2, "B") + vint(1, 4));
    const Bytes vi = delimited(1, "v") + delimited(2, delimited(1, vint(1, 7) + delimited(2, dims)) +
                                                      delimited(9, delimited(1, "")));
    const Bytes with_input = delimited(7, delimited(11, vi));
    const auto m2 = onnx::parse_model(ptr(with_input), with_input.size(), "m");
    REQUIRE(m2.graph.input.size() == 1);
    CHECK(m2.graph.input[0].kind == onnx::ValueKind::optional);
    CHECK_FALSE(m2.graph.input[0].has_shape);
    const Bytes tensor_type = delimited(2, delimited(1, vint(1, 7) + delimited(2, dims)));
    const Bytes tensor_only = delimited(7, delimited(11, delimited(1, "v") + tensor_type));
    const auto m3 = onnx::parse_model(ptr(tensor_only), tensor_only.size(), "m");
    const auto& shape = m3.graph.input[0].shape;
    REQUIRE(shape.size() == 2);
    CHECK((!shape[0].known && shape[0].param == "B"));
    CHECK((shape[1].known && shape[1].value == 4));
}

TEST_CASE("onnx: to_constant converts every supported element type") {
    auto constant = [](ElemType type, std::vector<int64_t> dims, const Bytes& data) {
        return onnx::to_constant(tensor(tensor_bytes("c", type, dims, data)), "", "c.onnx");
    };
    auto raw = [](const Bytes& b) { return delimited(9, b); };

    CHECK(values_of<float>(constant(ElemType::float32, {2}, float32(4, 1.0f) + float32(4, -0.5f))) ==
          std::vector<float>{1.0f, -0.5f});
    CHECK(values_of<float>(constant(ElemType::float64, {3}, raw(le(bits(0.1), 8) + le(bits(1e300), 8) +
                                                               le(bits(-1e300), 8)))) ==
          std::vector<float>{0.1f, INFINITY, -INFINITY});
    CHECK(values_of<float>(constant(ElemType::float64, {1}, delimited(10, le(bits(2.5), 8)))) ==
          std::vector<float>{2.5f});
    CHECK(values_of<float>(constant(ElemType::float16, {4}, raw(le(0x3C00, 2) + le(0xC000, 2) + le(0x0001, 2) +
                                                              le(0x7C00, 2)))) ==
          std::vector<float>{1.0f, -2.0f, std::ldexp(1.0f, -24), INFINITY});
    CHECK(values_of<float>(constant(ElemType::float16, {2}, vint(5, 0x3555) + vint(5, 0x8000))) ==
          std::vector<float>{onnx::half_to_float(0x3555), -0.0f});
    CHECK(values_of<uint8_t>(constant(ElemType::uint8, {3}, raw(Bytes("\x00\x7F\xFF", 3)))) ==
          std::vector<uint8_t>{0, 127, 255});
    CHECK(values_of<uint8_t>(constant(ElemType::uint8, {2}, vint(5, 0) + vint(5, 255))) ==
          std::vector<uint8_t>{0, 255});
    CHECK(values_of<int8_t>(constant(ElemType::int8, {2}, raw("\x80\x7F"))) == std::vector<int8_t>{-128, 127});
    CHECK(values_of<int8_t>(constant(ElemType::int8, {2}, sint(5, -128) + sint(5, 127))) ==
          std::vector<int8_t>{-128, 127});
    CHECK(values_of<uint8_t>(constant(ElemType::boolean, {3}, raw(Bytes("\x00\x01\x02", 3)))) ==
          std::vector<uint8_t>{0, 1, 1});
    CHECK(values_of<uint8_t>(constant(ElemType::boolean, {2}, vint(5, 1) + vint(5, 0))) ==
          std::vector<uint8_t>{1, 0});
    CHECK(values_of<int32_t>(constant(ElemType::int16, {2}, raw(le(0x8000, 2) + le(0x7FFF, 2)))) ==
          std::vector<int32_t>{-32768, 32767});
    CHECK(values_of<int32_t>(constant(ElemType::uint16, {2}, raw(le(0x8000, 2) + le(0xFFFF, 2)))) ==
          std::vector<int32_t>{32768, 65535});
    CHECK(values_of<int32_t>(constant(ElemType::int32, {2}, raw(le(0x80000000u, 4) + le(7, 4)))) ==
          std::vector<int32_t>{INT32_MIN, 7});
    CHECK(values_of<int32_t>(constant(ElemType::int32, {2}, delimited(5, varint(uint64_t(-9)) + varint(9)))) ==
          std::vector<int32_t>{-9, 9});
    CHECK(values_of<int32_t>(constant(ElemType::uint32, {1}, raw(le(INT32_MAX, 4)))) ==
          std::vector<int32_t>{INT32_MAX});
    CHECK(values_of<int32_t>(constant(ElemType::uint32, {1}, vint(11, 12))) == std::vector<int32_t>{12});
    CHECK(values_of<int64_t>(constant(ElemType::int64, {2}, raw(le(uint64_t(-2), 8) + le(3, 8)))) ==
          std::vector<int64_t>{-2, 3});
    CHECK(values_of<int64_t>(constant(ElemType::uint64, {1}, vint(11, INT64_MAX))) ==
          std::vector<int64_t>{INT64_MAX});
    // Scalars and empty tensors.
    const Constant scalar = constant(ElemType::float32, {}, raw(le(bits(3.0f), 4)));
    CHECK((scalar.shape.empty() && scalar.numel() == 1 && scalar.as<float>()[0] == 3.0f));
    CHECK(constant(ElemType::int64, {0, 5}, "").bytes == 0);
    CHECK(constant(ElemType::int64, {0}, raw("")).numel() == 0);

    auto error = [&](ElemType type, std::vector<int64_t> dims, const Bytes& data, ErrorCode code) {
        try {
            constant(type, dims, data);
        } catch (const Error& e) {
            CHECK(e.code() == code);
            return std::string(e.what());
        }
        return std::string();
    };
    const auto invalid = ErrorCode::invalid_model;
    CHECK(error(ElemType::float32, {2, 2}, raw(Bytes(12, '\0')), invalid) ==
          "c.onnx: tensor 'c': raw_data has 12 bytes but FLOAT [2, 2] needs 4 x 4");
    CHECK(error(ElemType::float32, {3}, float32(4, 1), invalid) ==
          "c.onnx: tensor 'c': float_data has 1 values but FLOAT [3] needs 3");
    CHECK(error(ElemType::int64, {2}, "", invalid) ==
          "c.onnx: tensor 'c': int64_data has 0 values but INT64 [2] needs 2");
    CHECK(error(ElemType::float32, {-1}, "", invalid).find("c.onnx: tensor 'c': negative dimension") == 0);
    CHECK(error(ElemType::float32, {INT64_MAX, INT64_MAX}, "", invalid).find("too many elements") !=
          std::string::npos);
    CHECK(error(ElemType::float32, {1 << 30, 1 << 30, 1 << 30}, raw("abcd"), invalid).find("too many elements") !=
          std::string::npos);
    CHECK(error(ElemType::uint32, {1}, raw(le(0x80000000u, 4)), invalid) ==
          "c.onnx: tensor 'c': element 0 does not fit in I32 (value bits 0x80000000)");
    CHECK(error(ElemType::uint64, {2}, vint(11, 1) + vint(11, uint64_t(INT64_MAX) + 1), invalid)
              .find("element 1 does not fit in I64") != std::string::npos);
    CHECK(error(ElemType::uint8, {1}, vint(5, 256), invalid).find("element 0 does not fit in U8") != std::string::npos);
    CHECK(error(ElemType::int8, {1}, sint(5, -129), invalid).find("element 0 does not fit in I8") != std::string::npos);
    CHECK(error(ElemType::float16, {1}, sint(5, -1), invalid).find("does not fit in F32") != std::string::npos);
    CHECK(error(ElemType::undefined, {1}, "", invalid) == "c.onnx: tensor 'c': data type is undefined");
    CHECK(error(ElemType::string, {1}, delimited(6, "s"), ErrorCode::unsupported_op) ==
          "c.onnx: tensor 'c': data type STRING (8) is not supported");
    CHECK(error(ElemType::bfloat16, {1}, raw("ab"), ErrorCode::unsupported_op).find("BFLOAT16") != std::string::npos);
    CHECK(error(ElemType(17), {1}, raw("a"), ErrorCode::unsupported_op).find("unknown (17)") != std::string::npos);
    CHECK(error(ElemType::float32, {1}, delimited(3, vint(1, 0)) + raw("abcd"), ErrorCode::unsupported_op) ==
          "c.onnx: tensor 'c': segmented tensors are not supported");
}

TEST_CASE("onnx: half_to_float and double_to_float") {
    for (uint32_t h = 0; h < 0x10000; ++h) {
        const float got = onnx::half_to_float(uint16_t(h));
        const int exponent = int(h >> 10 & 0x1F), mantissa = int(h & 0x3FF);
        const float sign = (h & 0x8000) ? -1.0f : 1.0f;
        if (exponent == 31 && mantissa) {
            CHECK(std::isnan(got));
            continue;
        }
        const float want = exponent == 31 ? sign * INFINITY
                           : exponent == 0 ? sign * std::ldexp(float(mantissa), -24)
                                           : sign * std::ldexp(1.0f + float(mantissa) / 1024, exponent - 15);
        if (got != want || std::signbit(got) != std::signbit(want)) {
            CAPTURE(h);
            FAIL_CHECK(got << " != " << want);
            break;
        }
    }
    const float flt_max = std::numeric_limits<float>::max();
    const double threshold = std::ldexp(1.0, 128) - std::ldexp(1.0, 103);
    CHECK(onnx::double_to_float(double(flt_max)) == flt_max);
    CHECK(onnx::double_to_float(std::nextafter(threshold, 0.0)) == flt_max);
    CHECK(onnx::double_to_float(threshold) == INFINITY);
    CHECK(onnx::double_to_float(-threshold) == -INFINITY);
    CHECK(onnx::double_to_float(1e308) == INFINITY);
    CHECK(onnx::double_to_float(1e-50) == 0.0f);
    CHECK(std::isnan(onnx::double_to_float(std::nan(""))));
}

TEST_CASE("onnx: external data") {
    namespace fs = std::filesystem;
    const fs::path dir = fs::temp_directory_path() / ("xinfer_onnx_ext_" + std::to_string(::getpid()));
    fs::create_directories(dir / "sub");
    {
        std::ofstream out(dir / "sub" / "w.bin", std::ios::binary);
        const Bytes data = "junk" + le(bits(1.0f), 4) + le(bits(2.0f), 4) + le(bits(3.0f), 4);
        out.write(data.data(), std::streamsize(data.size()));
    }
    auto ext = [](const std::string& location, const std::string& offset, const std::string& length) {
        Bytes b = vint(14, 1) + delimited(13, delimited(1, "location") + delimited(2, location));
        if (!offset.empty()) b += delimited(13, delimited(1, "offset") + delimited(2, offset));
        if (!length.empty()) b += delimited(13, delimited(1, "length") + delimited(2, length));
        return b + delimited(13, delimited(1, "checksum") + delimited(2, "ignored"));
    };
    auto load = [&](std::vector<int64_t> dims, const Bytes& fields, const std::string& base) {
        return onnx::to_constant(tensor(tensor_bytes("e", ElemType::float32, dims, fields)), base, "m.onnx");
    };
    auto error = [&](std::vector<int64_t> dims, const Bytes& fields, const std::string& base, ErrorCode code) {
        try {
            load(dims, fields, base);
        } catch (const Error& e) {
            CHECK(e.code() == code);
            return std::string(e.what());
        }
        return std::string();
    };
    const std::string base = dir.string();
    CHECK(values_of<float>(load({3}, ext("sub/w.bin", "4", "12"), base)) == std::vector<float>{1, 2, 3});
    CHECK(values_of<float>(load({2}, ext("sub/w.bin", "8", ""), base)) == std::vector<float>{2, 3});
    CHECK(values_of<float>(load({1}, ext("./sub/w.bin", "12", "4"), base)) == std::vector<float>{3});
    CHECK(values_of<float>(load({0}, ext("sub/w.bin", "16", "0"), base)).empty());
    // raw_data next to external data is ignored.
    CHECK(values_of<float>(load({1}, delimited(9, "abcd") + ext("sub/w.bin", "4", "4"), base)) ==
          std::vector<float>{1});

    const auto invalid = ErrorCode::invalid_model;
    CHECK(error({3}, ext("sub/w.bin", "4", "12"), "", invalid) ==
          "m.onnx: tensor 'e': uses external data, which is not allowed here");
    for (const char* bad : {"/etc/passwd", "../w.bin", "sub/../../w.bin", "sub\\..\\w.bin", "\\w.bin", "C:w.bin",
                            "..", ""}) {
        CAPTURE(bad);
        CHECK(error({1}, ext(bad, "", ""), base, invalid).find("must be a relative path inside") != std::string::npos);
    }
    CHECK(error({3}, ext("sub/w.bin", "8", "12"), base, invalid).find("is past the end of") != std::string::npos);
    CHECK(error({3}, ext("sub/w.bin", "17", ""), base, invalid).find("is past the end of") != std::string::npos);
    CHECK(error({3}, ext("sub/w.bin", "18446744073709551615", "1"), base, invalid).find("past the end") !=
          std::string::npos);
    CHECK(error({3}, ext("sub/w.bin", "18446744073709551616", ""), base, invalid) ==
          "m.onnx: tensor 'e': external data offset '18446744073709551616' is not a non-negative integer");
    CHECK(error({3}, ext("sub/w.bin", "-4", ""), base, invalid).find("is not a non-negative integer") !=
          std::string::npos);
    CHECK(error({2}, ext("sub/w.bin", "4", ""), base, invalid) ==
          "m.onnx: tensor 'e': external data has 12 bytes but FLOAT [2] needs 2 x 4");
    CHECK(error({1}, ext("sub/missing.bin", "", ""), base, ErrorCode::io).find("m.onnx: tensor 'e': cannot open") ==
          0);
    fs::remove_all(dir);
}

TEST_CASE("onnx: the shared real models") {
    struct Expected {
        const char* file;
        size_t nodes, initializers, attributes, parameters;
        std::map<std::string, size_t> ops;
        std::vector<std::pair<std::string, int64_t>> opsets;
    };
    const std::vector<Expected> models = {
        {"mobilenetv2_tv_fp32.onnx", 100, 176, 264, 3487886,
         {{"Conv", 52}, {"Clip", 35}, {"Add", 10}, {"GlobalAveragePool", 1}, {"Flatten", 1}, {"Gemm", 1}},
         {{"", 13}}},
        {"mobilenetv2_tv_int8_qdq.onnx", 334, 516, 370, 3560238,
         {{"QuantizeLinear", 64}, {"DequantizeLinear", 170}, {"Conv", 52}, {"Clip", 35}, {"Add", 10},
          {"GlobalAveragePool", 1}, {"Flatten", 1}, {"Gemm", 1}},
         {{"", 13}}},
        {"mobilenetv2_tv_int8_qop.onnx", 68, 344, 262, 3524060,
         {{"QuantizeLinear", 1}, {"QLinearConv", 52}, {"QLinearAdd", 10}, {"QLinearGlobalAveragePool", 1},
          {"Flatten", 1}, {"QLinearMatMul", 1}, {"DequantizeLinear", 1}, {"Add", 1}},
         {{"", 13}, {"com.microsoft", 1}}},
        {"nsfw_mobilenet_v2.onnx", 162, 341, 328, 2619571,
         {{"Pad", 5}, {"Conv", 52}, {"BatchNormalization", 52}, {"Clip", 35}, {"Add", 10}, {"GlobalAveragePool", 1},
          {"Flatten", 1}, {"Gemm", 3}, {"Relu", 2}, {"Softmax", 1}},
         {{"", 13}}},
    };
    for (const Expected& want : models) {
        const std::string path = kModels + "/" + want.file;
        if (!exists(path)) {
            MESSAGE("skipped: ", path, " not found");
            continue;
        }
        CAPTURE(path);
        MappedFile file(path);
        const onnx::ModelProto m = onnx::parse_model(file.data(), file.size(), path);
        CHECK(m.ir_version == 7);
        std::vector<std::pair<std::string, int64_t>> opsets;
        for (auto& o : m.opset_import) opsets.emplace_back(o.domain, o.version);
        CHECK(opsets == want.opsets);
        const onnx::GraphProto& g = m.graph;
        CHECK(g.node.size() == want.nodes);
        CHECK(g.initializer.size() == want.initializers);
        std::map<std::string, size_t> ops;
        size_t attributes = 0;
        for (auto& n : g.node) ++ops[n.op_type], attributes += n.attribute.size();
        CHECK(ops == want.ops);
        CHECK(attributes == want.attributes);
        size_t parameters = 0;
        for (auto& t : g.initializer) parameters += onnx::to_constant(t, "", path).numel();
        CHECK(parameters == want.parameters);
        REQUIRE(g.input.size() == 1);
        CHECK((g.input[0].name == "input" && g.input[0].elem_type == ElemType::float32));
        REQUIRE(g.input[0].shape.size() == 4);
        for (size_t i = 0; i < 4; ++i) CHECK(g.input[0].shape[i].value == std::vector<int64_t>{1, 3, 224, 224}[i]);
        REQUIRE(g.output.size() == 1);
    }

    const std::string fp32 = kModels + "/mobilenetv2_tv_fp32.onnx";
    if (exists(fp32)) {
        MappedFile file(fp32);
        const auto m = onnx::parse_model(file.data(), file.size(), fp32);
        const onnx::NodeProto& conv = m.graph.node[0];
        CHECK(conv.op_type == "Conv");
        CHECK(conv.name == "/features/features.0/features.0.0/Conv");
        CHECK(conv.input == std::vector<std::string>{"input", "onnx::Conv_538", "onnx::Conv_539"});
        std::vector<std::string> names;
        for (auto& a : conv.attribute) names.push_back(a.name);
        CHECK(names == std::vector<std::string>{"dilations", "group", "kernel_shape", "pads", "strides"});
        CHECK((conv.attribute[1].type == AttrType::i && conv.attribute[1].i == 1));
        CHECK((conv.attribute[4].type == AttrType::ints && conv.attribute[4].ints == std::vector<int64_t>{2, 2}));
        CHECK(m.graph.node.back().op_type == "Gemm");
        CHECK(m.graph.output[0].name == "logits");
        const onnx::TensorProto& w = m.graph.initializer[0];
        CHECK((w.name == "classifier.1.weight" && w.dims == std::vector<int64_t>{1000, 1280} && w.has_raw_data));
    }
    const std::string nsfw = kModels + "/nsfw_mobilenet_v2.onnx";
    if (exists(nsfw)) {
        MappedFile file(nsfw);
        const auto m = onnx::parse_model(file.data(), file.size(), nsfw);
        REQUIRE(m.metadata_props.size() == 6);
        CHECK(m.metadata_props[0] == std::make_pair(std::string("source_format"), std::string("layers-model")));
        CHECK(m.producer_name == "tfjs_to_onnx.py");
        CHECK(m.producer_version == "1");
    }
}

TEST_CASE("onnx: mutated real model either parses or throws xinfer::Error") {
    const std::string path = kModels + "/mobilenetv2_tv_fp32.onnx";
    if (!exists(path)) {
        MESSAGE("skipped: ", path, " not found");
        return;
    }
    MappedFile file(path);
    std::vector<std::byte> bytes(file.data(), file.data() + file.size());
    const onnx::ModelProto clean = onnx::parse_model(bytes.data(), bytes.size(), path);

    // Mutate the structure, not the weights: pick positions outside every raw_data payload.
    std::vector<std::pair<size_t, size_t>> structure;  // [begin, end) ranges
    {
        std::vector<std::pair<size_t, size_t>> payloads;
        for (auto& t : clean.graph.initializer)
            payloads.emplace_back(size_t(t.raw_data - bytes.data()), size_t(t.raw_data - bytes.data()) + t.raw_size);
        std::sort(payloads.begin(), payloads.end());
        size_t at = 0;
        for (auto& [b, e] : payloads) {
            if (b > at) structure.emplace_back(at, b);
            at = std::max(at, e);
        }
        if (at < bytes.size()) structure.emplace_back(at, bytes.size());
    }
    size_t structural_bytes = 0;
    for (auto& [b, e] : structure) structural_bytes += e - b;
    REQUIRE(structural_bytes > 1000);

    const uint32_t seed = 20240607;
    CAPTURE(seed);
    std::mt19937 rng(seed);
    auto pick = [&] {
        size_t k = std::uniform_int_distribution<size_t>(0, structural_bytes - 1)(rng);
        for (auto& [b, e] : structure) {
            if (k < e - b) return b + k;
            k -= e - b;
        }
        return size_t(0);
    };
    const uint8_t interesting[] = {0x00, 0x01, 0x7F, 0x80, 0xFF, 0x08, 0x0A, 0x12, 0x0B, 0x0E};
    size_t parsed = 0, rejected = 0, constants = 0;
    const int iterations = 300;
    for (int iter = 0; iter < iterations; ++iter) {
        CAPTURE(iter);
        std::vector<std::pair<size_t, std::byte>> saved;
        size_t size = bytes.size();
        const int kind = iter % 4;
        const int edits = 1 + int(rng() % 8);
        for (int e = 0; e < edits; ++e) {
            const size_t at = pick();
            saved.emplace_back(at, bytes[at]);
            if (kind == 0) bytes[at] ^= std::byte(1u << (rng() % 8));
            else if (kind == 1) bytes[at] = std::byte(interesting[rng() % sizeof interesting]);
            else if (kind == 2) bytes[at] = std::byte(rng() & 0xFF);
        }
        if (kind == 3) size = pick();
        try {
            const onnx::ModelProto m = onnx::parse_model(bytes.data(), size, "mutated.onnx");
            ++parsed;
            for (auto& t : m.graph.initializer) {
                if (t.raw_size > (size_t(1) << 20)) continue;  // keep the loop fast under sanitizers
                try {
                    constants += onnx::to_constant(t, "", "mutated.onnx").numel() > 0;
                } catch (const Error&) {
                }
            }
        } catch (const Error& e) {
            ++rejected;
            CHECK(e.code() == ErrorCode::invalid_model);
        }
        for (auto it = saved.rbegin(); it != saved.rend(); ++it) bytes[it->first] = it->second;
    }
    CAPTURE(constants);
    CHECK(parsed + rejected == size_t(iterations));
    CHECK(rejected > 0);
    CHECK(parsed > 0);
}
