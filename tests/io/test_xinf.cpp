// .xinf: round trip, and every kind of malformed file gives an xinfer::Error that names the problem.
#include <doctest/doctest.h>

#include <cstring>

#include "xinfer/io/xinf.hpp"
#include "xinfer/models/mobilenet_v2.hpp"

using namespace xinfer;

namespace {

io::XinfModel small_model() {
    models::MobileNetV2Options o;
    o.alpha = 0.35;
    o.size = 32;
    o.classes = 3;
    std::mt19937 rng(5);
    io::XinfModel m;
    m.graph = models::mobilenet_v2_graph(o, &rng);
    m.metadata.labels = {"cat", "dog", "ünïcödé"};
    io::Preprocessing p;
    p.scale = 1.0f / 255;
    p.mean = {0.1f, 0.2f, 0.3f};
    p.std = {0.5f, 0.6f, 0.7f};
    p.width = 32;
    p.height = 32;
    p.resize = io::ResizePolicy::crop;
    m.metadata.preprocessing = p;
    return m;
}

io::XinfModel parse(const std::vector<std::byte>& bytes) {
    auto copy = std::make_shared<AlignedBuffer>(bytes.size());
    if (!bytes.empty()) std::memcpy(copy->data(), bytes.data(), bytes.size());
    const std::byte* data = copy->data();
    return io::read_xinf(copy, data, bytes.size(), "test.xinf");
}

// Rewrites a file's metadata entry and recomputes a valid hash: the container stays valid, the content does not.
std::vector<std::byte> with_metadata(const io::XinfModel& m, const std::string& key, const std::string& value,
                                     bool fix_hash = true) {
    const auto bytes = io::write_xinf(m.graph, m.metadata);
    const auto view = io::parse_safetensors(bytes.data(), bytes.size(), "x");
    auto md = view.metadata;
    md[key] = value;
    if (fix_hash) md["content_hash"] = io::detail::content_hash(md, view.tensors);
    io::SafetensorsWriter w;
    for (auto& t : view.tensors) w.add(t.name, t.dtype, t.shape, t.data, t.bytes);
    for (auto& [k, v] : md) w.set_metadata(k, v);
    return w.to_bytes();
}

void check_error(const std::vector<std::byte>& bytes, const char* fragment) {
    CAPTURE(fragment);
    try {
        parse(bytes);
        FAIL("expected xinfer::Error");
    } catch (const Error& e) {
        CHECK(std::string(e.what()).find(fragment) != std::string::npos);
        CHECK(std::string(e.what()).find("test.xinf") != std::string::npos);
    }
}

}  // namespace

TEST_CASE(".xinf round trip is bit-exact: graph, constants, labels, preprocessing") {
    const io::XinfModel m = small_model();
    const auto bytes = io::write_xinf(m.graph, m.metadata);
    const io::XinfModel r = parse(bytes);
    CHECK(r.graph.nodes.size() == m.graph.nodes.size());
    for (size_t i = 0; i < m.graph.nodes.size(); ++i) {
        CHECK(r.graph.nodes[i].name == m.graph.nodes[i].name);
        CHECK(r.graph.nodes[i].op == m.graph.nodes[i].op);
        CHECK(r.graph.nodes[i].inputs == m.graph.nodes[i].inputs);
        CHECK(r.graph.nodes[i].attrs == m.graph.nodes[i].attrs);
    }
    REQUIRE(r.graph.constants.size() == m.graph.constants.size());
    for (auto& [name, c] : m.graph.constants) {
        const Constant& d = r.graph.constants.at(name);
        CHECK(d.shape == c.shape);
        CHECK(d.dtype == c.dtype);
        REQUIRE(d.bytes == c.bytes);
        CHECK(std::memcmp(d.data, c.data, c.bytes) == 0);
        CHECK(reinterpret_cast<uintptr_t>(d.data) % XINFER_ALIGNMENT == 0);
    }
    CHECK(r.metadata.labels == m.metadata.labels);
    REQUIRE(r.metadata.preprocessing);
    CHECK(r.metadata.preprocessing->mean == m.metadata.preprocessing->mean);
    CHECK(r.metadata.preprocessing->resize == io::ResizePolicy::crop);
    // Writing the parsed model again gives the same bytes.
    CHECK(io::write_xinf(r.graph, r.metadata) == bytes);
}

TEST_CASE(".xinf files saved and mapped from disk load without copying the weights") {
    const io::XinfModel m = small_model();
    const std::string path = "xinf_test_roundtrip.xinf";
    io::save_xinf(path, m.graph, m.metadata);
    const io::XinfModel r = io::load_xinf(path);
    CHECK(r.graph.constants.size() == m.graph.constants.size());
    std::remove(path.c_str());
    CHECK_THROWS_WITH_AS(io::load_xinf("does/not/exist.xinf"), doctest::Contains("does/not/exist.xinf"), Error);
}

TEST_CASE("malformed .xinf files: each gives an Error naming the problem") {
    const io::XinfModel m = small_model();
    const auto good = io::write_xinf(m.graph, m.metadata);

    SUBCASE("truncated") {
        for (size_t len : {size_t(0), size_t(5), size_t(12), good.size() / 2, good.size() - 1}) {
            CAPTURE(len);
            CHECK_THROWS_AS(parse(std::vector<std::byte>(good.begin(), good.begin() + long(len))), Error);
        }
    }
    SUBCASE("header length past the end") {
        auto bad = good;
        const uint64_t n = good.size() * 2;
        for (int i = 0; i < 8; ++i) bad[size_t(i)] = std::byte((n >> (8 * i)) & 0xff);
        CHECK_THROWS_AS(parse(bad), Error);
    }
    SUBCASE("wrong hash: one flipped weight byte") {
        auto bad = good;
        bad[good.size() - 200] ^= std::byte{0x01};
        check_error(bad, "content hash mismatch");
    }
    SUBCASE("wrong hash: edited metadata") { check_error(with_metadata(m, "labels", "[\"a\",\"b\",\"c\"]", false), "hash"); }
    SUBCASE("bad graph JSON") { check_error(with_metadata(m, "graph", "{\"nodes\": [", true), "malformed"); }
    SUBCASE("graph JSON of the wrong shape") {
        check_error(with_metadata(m, "graph", "{\"inputs\": 3, \"outputs\": [], \"nodes\": []}", true), "malformed");
    }
    SUBCASE("bad attribute") {
        std::string g = io::detail::graph_to_json(m.graph);
        const std::string from = "{\"ints\":[2,2]}";
        const size_t at = g.find(from);
        REQUIRE(at != std::string::npos);
        g.replace(at, from.size(), "{\"complex\":[2,2]}");
        check_error(with_metadata(m, "graph", g, true), "unknown attribute kind");
    }
    SUBCASE("node input that names nothing") {
        std::string g = io::detail::graph_to_json(m.graph);
        const size_t at = g.find("\"Conv1/kernel\"");
        REQUIRE(at != std::string::npos);
        g.replace(at, 14, "\"Conv1/missing\"");
        check_error(with_metadata(m, "graph", g, true), "Conv1/missing");
    }
    SUBCASE("bad preprocessing") { check_error(with_metadata(m, "preprocessing", "{\"scale\": 1}", true), "malformed"); }
    SUBCASE("not an xinfer file") { check_error(with_metadata(m, "format", "other", true), "not an xinfer model"); }
    SUBCASE("future version") { check_error(with_metadata(m, "format_version", "99", true), "version"); }
}
