// The ONNX project's own backend node tests (Debian libonnx-testdata): every test whose model xinfer imports runs
// and is compared with ONNX's expected outputs at ONNX's fp32 tolerances (rtol 1e-3, atol 1e-7); integer outputs
// (uint8, int8, int32: F32 tensors holding the integers at xinfer's interface) must match exactly. Integer inputs
// are given as F32 tensors holding the integers. Tests of ops or options xinfer does not support are skipped with
// the importer's one-line reason.
//
// The quantization tests (QuantizeLinear, QLinearConv, ConvInteger, ...) take their scales, zero points and weights
// as graph inputs; xinfer needs those as constants (as every exported int8 model has them). Such a test that does
// not load as it is runs again with every input after the first bound to its test data as a constant.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "xinfer/xinfer.hpp"

namespace fs = std::filesystem;
using namespace xinfer;

namespace {

const char* kNodeTests = "/usr/share/libonnx-testdata/data/node";

struct Outcome {
    enum Kind { passed, skipped, failed } kind;
    std::string reason;
    bool parameters_bound = false;  // passed only with the parameter inputs bound as constants
};

// A test_data_set_*/*.pb file as a constant (to_constant copies, so the mapping may go).
Constant read_constant(const fs::path& p) {
    io::MappedFile f(p.string());
    return io::onnx::to_constant(io::onnx::parse_tensor(f.data(), f.size(), p.string()), "", p.string());
}

float element_as_float(const Constant& c, size_t i) {
    switch (c.dtype) {
        case DataType::f32: return c.as<float>()[i];
        case DataType::u8: return float(c.as<uint8_t>()[i]);
        case DataType::s8: return float(c.as<int8_t>()[i]);
        case DataType::s32: return float(c.as<int32_t>()[i]);
        case DataType::s64: return float(c.as<int64_t>()[i]);
    }
    return NAN;
}

const std::set<std::string> kQuantizationOps{"QuantizeLinear", "DequantizeLinear", "QLinearConv", "QLinearMatMul",
                                            "ConvInteger", "MatMulInteger", "DynamicQuantizeLinear"};

// The graph input names of a model, and whether it uses a quantization op.
std::pair<std::vector<std::string>, bool> graph_inputs(const fs::path& model) {
    io::MappedFile f(model.string());
    const io::onnx::ModelProto m = io::onnx::parse_model(f.data(), f.size(), model.string());
    std::vector<std::string> names;
    std::set<std::string> initializers;
    for (auto& t : m.graph.initializer) initializers.insert(t.name);
    for (auto& in : m.graph.input)
        if (!initializers.count(in.name)) names.push_back(in.name);
    bool quantized = false;
    for (auto& n : m.graph.node) quantized |= kQuantizationOps.count(n.op_type) > 0;
    return {names, quantized};
}

std::string first_line(const std::string& s) {
    const size_t nl = s.find('\n');
    std::string line = nl == std::string::npos ? s : s.substr(nl + 1);
    const size_t nl2 = line.find('\n');
    if (nl2 != std::string::npos) line = line.substr(0, nl2);
    const size_t colon = line.rfind(": ");
    return colon == std::string::npos ? line : line.substr(colon + 2);
}

// Runs one test data set on a model that takes its first `unbound` graph inputs (the others are bound constants).
Outcome run_data_set(const Model& model, const fs::path& set, size_t unbound) {
    std::vector<xt::xarray<float>> inputs;
    std::vector<Constant> expected;
    try {
        for (size_t i = 0; i < unbound; ++i) {
            const Constant c = read_constant(set / ("input_" + std::to_string(i) + ".pb"));
            std::vector<size_t> dims(c.shape.begin(), c.shape.end());
            xt::xarray<float> x = xt::xarray<float>::from_shape(dims);
            for (size_t k = 0; k < c.numel(); ++k) x.data()[k] = element_as_float(c, k);
            inputs.push_back(std::move(x));
        }
        for (size_t i = 0;; ++i) {
            const fs::path p = set / ("output_" + std::to_string(i) + ".pb");
            if (!fs::exists(p)) break;
            expected.push_back(read_constant(p));
        }
    } catch (const Error& e) {
        return {Outcome::failed, std::string("test data: ") + e.what()};
    }
    std::vector<xt::xarray<float>> got;
    try {
        got = model.run(inputs);
    } catch (const Error& e) {
        return {Outcome::failed, std::string("run: ") + e.what()};
    }
    if (got.size() != expected.size()) return {Outcome::failed, "output count"};
    for (size_t o = 0; o < got.size(); ++o) {
        const Constant& want = expected[o];
        const bool exact = want.dtype != DataType::f32;  // integers
        const Shape gs(got[o].shape().begin(), got[o].shape().end());
        if (gs != want.shape) return {Outcome::failed, "output shape " + to_string(gs) + " vs " + to_string(want.shape)};
        for (size_t i = 0; i < want.numel(); ++i) {
            const float a = got[o].data()[i], b = element_as_float(want, i);
            const bool both_nan = std::isnan(a) && std::isnan(b);
            const bool ok = exact ? a == b : both_nan || std::fabs(a - b) <= 1e-7f + 1e-3f * std::fabs(b);
            if (!ok)
                return {Outcome::failed, "output " + std::to_string(o) + " element " + std::to_string(i) + ": " +
                                             std::to_string(a) + " vs " + std::to_string(b)};
        }
    }
    return {Outcome::passed, ""};
}

Outcome run_case(const fs::path& dir) {
    const fs::path model_path = dir / "model.onnx";
    std::vector<std::string> names;
    bool quantized = false;
    try {
        std::tie(names, quantized) = graph_inputs(model_path);
    } catch (const Error& e) {
        return {Outcome::failed, std::string("parse: ") + e.what()};
    }
    std::vector<fs::path> sets;
    for (const auto& set : fs::directory_iterator(dir))
        if (set.is_directory()) sets.push_back(set.path());
    std::sort(sets.begin(), sets.end());
    // Loads the model with the inputs from `first_bound` on bound to data set `set`'s values.
    auto load = [&](size_t first_bound, const fs::path& set) {
        std::map<std::string, Constant> bound;
        for (size_t i = first_bound; i < names.size(); ++i)
            bound[names[i]] = read_constant(set / ("input_" + std::to_string(i) + ".pb"));
        io::XinfModel m = io::onnx::load_onnx(model_path.string(), bound);
        return Model::from_graph(std::move(m.graph), std::move(m.metadata));
    };
    std::string reason;
    for (int attempt = 0; attempt < 2; ++attempt) {
        if (attempt == 1 && (!quantized || names.size() < 2)) break;
        const size_t unbound = attempt == 0 ? names.size() : 1;
        Outcome result{Outcome::passed, ""};
        for (const auto& set : sets) {
            std::unique_ptr<Model> model;
            try {
                model = std::make_unique<Model>(load(unbound, set));
            } catch (const Error& e) {
                if (e.code() != ErrorCode::unsupported_op) return {Outcome::failed, std::string("load: ") + e.what()};
                result = {Outcome::skipped, first_line(e.what())};
                break;
            } catch (const std::exception& e) {
                return {Outcome::failed, std::string("load threw a non-xinfer exception: ") + e.what()};
            }
            result = run_data_set(*model, set, unbound);
            if (result.kind != Outcome::passed) break;
        }
        if (result.kind != Outcome::skipped) {
            result.parameters_bound = attempt == 1;
            return result;
        }
        reason = result.reason;
    }
    return {Outcome::skipped, reason};
}

}  // namespace

TEST_CASE("ONNX backend node tests: every supported test passes") {
    if (!fs::exists(kNodeTests)) {
        MESSAGE("skipped: ", kNodeTests, " not found (apt-get install libonnx-testdata)");
        return;
    }
    std::vector<fs::path> dirs;
    for (const auto& d : fs::directory_iterator(kNodeTests))
        if (fs::exists(d.path() / "model.onnx")) dirs.push_back(d.path());
    std::sort(dirs.begin(), dirs.end());
    size_t passed = 0, skipped = 0, passed_bound = 0;
    std::vector<std::string> failures;
    std::map<std::string, size_t> skip_reasons;
    std::string passed_list;
    for (const auto& dir : dirs) {
        const Outcome r = run_case(dir);
        const std::string name = dir.filename().string();
        if (r.kind == Outcome::passed) ++passed, passed_bound += r.parameters_bound, passed_list += " " + name;
        else if (r.kind == Outcome::skipped) ++skipped, ++skip_reasons[r.reason];
        else failures.push_back(name + ": " + r.reason);
    }
    std::printf("ONNX node tests: %zu passed, %zu skipped, %zu failed (of %zu)\n", passed, skipped, failures.size(),
                dirs.size());
    // Run as written, parameters (weights, scales, zero points) arrive as graph inputs, as ONNX Runtime's backend
    // test feeds them; xinfer needs them as constants, so those tests pass only when bound. Both counts, until equal.
    std::printf("ONNX node tests as written: %zu passed; with parameter inputs bound as constants: %zu more\n",
                passed - passed_bound, passed_bound);
    std::printf("passed:%s\n", passed_list.c_str());
    for (auto& [reason, count] : skip_reasons) std::printf("  skipped %4zu: %s\n", count, reason.c_str());
    for (auto& f : failures) std::printf("  FAILED %s\n", f.c_str());
    CHECK(passed > 100);
    CHECK(failures.empty());
}
