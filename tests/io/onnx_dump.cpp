// Prints a canonical text dump of ONNX models (.onnx) and serialized tensors (.pb), as parsed by xinfer.
// onnx_dump.py prints the same dump through the onnx Python package; onnx_crosscheck.sh compares the two.
// Usage: onnx_dump FILE...
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "xinfer/io/mapped_file.hpp"
#include "xinfer/io/onnx/onnx_proto.hpp"

using namespace xinfer;
namespace ox = xinfer::io::onnx;

namespace {

// Polynomial hash: sum of (byte_i + 1) * K^(i + 1) mod 2^64 (easy to vectorize in numpy).
uint64_t poly_hash(const void* data, size_t size) {
    constexpr uint64_t K = 0x100000001B3ull;
    const auto* p = static_cast<const unsigned char*>(data);
    uint64_t h = 0, power = 1;
    for (size_t i = 0; i < size; ++i) {
        power *= K;
        h += (uint64_t(p[i]) + 1) * power;
    }
    return h;
}

std::string quote(const std::string& s) {
    std::string out = "'";
    for (unsigned char c : s) {
        if (c >= 0x20 && c < 0x7F && c != '\\' && c != '\'') {
            out += char(c);
        } else {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        }
    }
    return out + "'";
}

std::string number(double v) {
    if (std::isnan(v)) return "nan";
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.9g", v);
    return buf;
}

template <class T, class F> std::string list(const std::vector<T>& values, F&& format) {
    std::string out = "[";
    for (size_t i = 0; i < values.size(); ++i) out += (i ? "," : "") + format(values[i]);
    return out + "]";
}

std::string ints(const std::vector<int64_t>& v) {
    return list(v, [](int64_t x) { return std::to_string(x); });
}

std::string tensor(const ox::TensorProto& t, const std::string& base_dir) {
    std::string out = "tensor " + quote(t.name) + " type=" + std::to_string(int32_t(t.data_type)) +
                      " dims=" + ints(t.dims) + " raw=" + std::to_string(int(t.has_raw_data)) + " -> ";
    if (t.data_type == ox::ElemType::string) {
        std::string joined;
        for (const std::string& s : t.string_data) {
            for (int i = 0; i < 8; ++i) joined += char((uint64_t(s.size()) >> (8 * i)) & 0xFF);
            joined += s;
        }
        return out + "strings=" + std::to_string(t.string_data.size()) + " hash=" +
               std::to_string(poly_hash(joined.data(), joined.size()));
    }
    try {
        const Constant c = ox::to_constant(t, base_dir, "dump");
        return out + to_string(c.dtype) + " bytes=" + std::to_string(c.bytes) +
               " hash=" + std::to_string(poly_hash(c.data, c.bytes));
    } catch (const Error&) {
        return out + "none";
    }
}

std::string value_info(const ox::ValueInfoProto& v) {
    static const char* const kinds[] = {"none", "tensor", "sequence", "map", "opaque", "sparse_tensor", "optional"};
    std::string out = quote(v.name) + " " + kinds[int(v.kind)];
    if (v.kind == ox::ValueKind::tensor || v.kind == ox::ValueKind::sparse_tensor) {
        out += " elem=" + std::to_string(int32_t(v.elem_type));
        out += v.has_shape ? " shape=" + list(v.shape, [](const ox::Dimension& d) {
            return d.known ? std::to_string(d.value) : "?" + d.param;
        }) : " noshape";
    }
    return out;
}

void graph(const ox::GraphProto& g, const std::string& indent, const std::string& base_dir);

void attribute(const ox::AttributeProto& a, const std::string& indent, const std::string& base_dir) {
    std::printf("%sattr %s", indent.c_str(), quote(a.name).c_str());
    if (!a.ref_attr_name.empty()) std::printf(" ref=%s", quote(a.ref_attr_name).c_str());
    const std::string inner = indent + "  ";
    switch (a.type) {
        case ox::AttrType::f: std::printf(" f %s\n", number(a.f).c_str()); break;
        case ox::AttrType::i: std::printf(" i %lld\n", static_cast<long long>(a.i)); break;
        case ox::AttrType::s: std::printf(" s %s\n", quote(a.s).c_str()); break;
        case ox::AttrType::t: std::printf(" t %s\n", tensor(a.t, base_dir).c_str()); break;
        case ox::AttrType::floats:
            std::printf(" floats %s\n", list(a.floats, [](float x) { return number(x); }).c_str());
            break;
        case ox::AttrType::ints: std::printf(" ints %s\n", ints(a.ints).c_str()); break;
        case ox::AttrType::strings: std::printf(" strings %s\n", list(a.strings, quote).c_str()); break;
        case ox::AttrType::tensors:
            std::printf(" tensors %zu\n", a.tensors.size());
            for (const auto& t : a.tensors) std::printf("%s%s\n", inner.c_str(), tensor(t, base_dir).c_str());
            break;
        case ox::AttrType::g:
            std::printf(" g\n");
            if (a.g) graph(*a.g, inner, base_dir);
            break;
        case ox::AttrType::graphs:
            std::printf(" graphs %zu\n", a.graphs.size());
            for (const auto& sub : a.graphs) graph(sub, inner, base_dir);
            break;
        default: std::printf(" type %d\n", int(a.type)); break;
    }
}

void graph(const ox::GraphProto& g, const std::string& indent, const std::string& base_dir) {
    const char* in = indent.c_str();
    std::printf("%sgraph %s\n", in, quote(g.name).c_str());
    for (const auto& v : g.input) std::printf("%sinput %s\n", in, value_info(v).c_str());
    for (const auto& v : g.output) std::printf("%soutput %s\n", in, value_info(v).c_str());
    for (const auto& v : g.value_info) std::printf("%svalue_info %s\n", in, value_info(v).c_str());
    for (const auto& t : g.initializer) std::printf("%sinitializer %s\n", in, tensor(t, base_dir).c_str());
    std::printf("%ssparse_initializers %zu\n", in, g.sparse_initializers);
    for (const auto& n : g.node) {
        std::printf("%snode %s %s %s in=%s out=%s\n", in, quote(n.op_type).c_str(), quote(n.domain).c_str(),
                    quote(n.name).c_str(), list(n.input, quote).c_str(), list(n.output, quote).c_str());
        for (const auto& a : n.attribute) attribute(a, indent + "  ", base_dir);
    }
}

void dump(const std::string& path) {
    const size_t slash = path.find_last_of('/');
    const std::string base_dir = slash == std::string::npos ? "." : path.substr(0, slash);
    io::MappedFile file(path);
    if (path.size() >= 3 && path.compare(path.size() - 3, 3, ".pb") == 0) {
        std::printf("%s\n", tensor(ox::parse_tensor(file.data(), file.size(), path), base_dir).c_str());
        return;
    }
    const ox::ModelProto m = ox::parse_model(file.data(), file.size(), path);
    std::printf("ir_version %lld model_version %lld\n", static_cast<long long>(m.ir_version),
                static_cast<long long>(m.model_version));
    std::printf("producer %s %s domain %s\n", quote(m.producer_name).c_str(), quote(m.producer_version).c_str(),
                quote(m.domain).c_str());
    for (const auto& o : m.opset_import)
        std::printf("opset %s %lld\n", quote(o.domain).c_str(), static_cast<long long>(o.version));
    for (const auto& [k, v] : m.metadata_props) std::printf("metadata %s %s\n", quote(k).c_str(), quote(v).c_str());
    if (m.has_graph) graph(m.graph, "", base_dir);
}

}  // namespace

int main(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        std::printf("#### %s\n", argv[i]);
        try {
            dump(argv[i]);
        } catch (const Error& e) {
            std::printf("error\n");
            std::fprintf(stderr, "%s\n", e.what());
        }
    }
    return 0;
}
