// The ONNX project's own backend node tests (Debian libonnx-testdata): every test whose model xinfer imports runs
// and is compared with ONNX's expected outputs at ONNX's fp32 tolerances (rtol 1e-3, atol 1e-7). Tests of ops or
// options xinfer does not support are skipped with the importer's one-line reason.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "xinfer/xinfer.hpp"

namespace fs = std::filesystem;
using namespace xinfer;

namespace {

const char* kNodeTests = "/usr/share/libonnx-testdata/data/node";

struct Outcome {
    enum Kind { passed, skipped, failed } kind;
    std::string reason;
};

// A test_data_set_*/*.pb file as a constant (to_constant copies, so the mapping may go).
Constant read_constant(const fs::path& p) {
    io::MappedFile f(p.string());
    return io::onnx::to_constant(io::onnx::parse_tensor(f.data(), f.size(), p.string()), "", p.string());
}

std::string first_line(const std::string& s) {
    const size_t nl = s.find('\n');
    std::string line = nl == std::string::npos ? s : s.substr(nl + 1);
    const size_t nl2 = line.find('\n');
    if (nl2 != std::string::npos) line = line.substr(0, nl2);
    const size_t colon = line.rfind(": ");
    return colon == std::string::npos ? line : line.substr(colon + 2);
}

Outcome run_case(const fs::path& dir) {
    std::unique_ptr<Model> model;
    try {
        model = std::make_unique<Model>(Model::load((dir / "model.onnx").string()));
    } catch (const Error& e) {
        if (e.code() == ErrorCode::unsupported_op) return {Outcome::skipped, first_line(e.what())};
        return {Outcome::failed, std::string("load: ") + e.what()};
    } catch (const std::exception& e) {
        return {Outcome::failed, std::string("load threw a non-xinfer exception: ") + e.what()};
    }
    for (const auto& set : fs::directory_iterator(dir)) {
        if (!set.is_directory()) continue;
        std::vector<xt::xarray<float>> inputs;
        std::vector<Constant> expected;
        try {
            for (size_t i = 0;; ++i) {
                const fs::path p = set.path() / ("input_" + std::to_string(i) + ".pb");
                if (!fs::exists(p)) break;
                const Constant c = read_constant(p);
                if (c.dtype != DataType::f32) return {Outcome::skipped, "non-float input"};
                std::vector<size_t> dims(c.shape.begin(), c.shape.end());
                xt::xarray<float> x = xt::xarray<float>::from_shape(dims);
                std::copy(c.as<float>(), c.as<float>() + c.numel(), x.data());
                inputs.push_back(std::move(x));
            }
            for (size_t i = 0;; ++i) {
                const fs::path p = set.path() / ("output_" + std::to_string(i) + ".pb");
                if (!fs::exists(p)) break;
                expected.push_back(read_constant(p));
            }
        } catch (const Error& e) {
            return {Outcome::failed, std::string("test data: ") + e.what()};
        }
        std::vector<xt::xarray<float>> got;
        try {
            got = model->run(inputs);
        } catch (const Error& e) {
            return {Outcome::failed, std::string("run: ") + e.what()};
        }
        if (got.size() != expected.size()) return {Outcome::failed, "output count"};
        for (size_t o = 0; o < got.size(); ++o) {
            const Constant& want = expected[o];
            if (want.dtype != DataType::f32) return {Outcome::skipped, "non-float output"};
            const Shape gs(got[o].shape().begin(), got[o].shape().end());
            if (gs != want.shape) return {Outcome::failed, "output shape " + to_string(gs) + " vs " + to_string(want.shape)};
            for (size_t i = 0; i < want.numel(); ++i) {
                const float a = got[o].data()[i], b = want.as<float>()[i];
                const bool both_nan = std::isnan(a) && std::isnan(b);
                if (!both_nan && !(std::fabs(a - b) <= 1e-7f + 1e-3f * std::fabs(b)))
                    return {Outcome::failed, "output " + std::to_string(o) + " element " + std::to_string(i) + ": " +
                                                 std::to_string(a) + " vs " + std::to_string(b)};
            }
        }
    }
    return {Outcome::passed, ""};
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
    size_t passed = 0, skipped = 0;
    std::vector<std::string> failures;
    std::map<std::string, size_t> skip_reasons;
    std::string passed_list;
    for (const auto& dir : dirs) {
        const Outcome r = run_case(dir);
        const std::string name = dir.filename().string();
        if (r.kind == Outcome::passed) ++passed, passed_list += " " + name;
        else if (r.kind == Outcome::skipped) ++skipped, ++skip_reasons[r.reason];
        else failures.push_back(name + ": " + r.reason);
    }
    std::printf("ONNX node tests: %zu passed, %zu skipped, %zu failed (of %zu)\n", passed, skipped, failures.size(),
                dirs.size());
    std::printf("passed:%s\n", passed_list.c_str());
    for (auto& [reason, count] : skip_reasons) std::printf("  skipped %4zu: %s\n", count, reason.c_str());
    for (auto& f : failures) std::printf("  FAILED %s\n", f.c_str());
    CHECK(passed > 100);
    CHECK(failures.empty());
}
