// Replays every input that once crashed a fuzz target (tests/fuzz/regressions/<target>/): each must now load or
// be rejected with xinfer::Error.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "../fuzz/fuzz_targets.hpp"

namespace fs = std::filesystem;

TEST_CASE("inputs that once crashed a fuzz target now load or fail with xinfer::Error") {
    const fs::path root = XINFER_TEST_DATA_DIR "/../fuzz/regressions";
    size_t replayed = 0;
    for (const char* target : {"onnx", "xinf", "tfjs", "infer_request"}) {
        if (!fs::exists(root / target)) continue;
        for (const auto& f : fs::directory_iterator(root / target)) {
            std::ifstream in(f.path(), std::ios::binary);
            const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
            const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
            CAPTURE(f.path().string());
            const std::string t = target;
            if (t == "onnx") CHECK_NOTHROW(xinfer::fuzz::onnx(data, bytes.size()));
            if (t == "xinf") CHECK_NOTHROW(xinfer::fuzz::xinf(data, bytes.size()));
            if (t == "tfjs") CHECK_NOTHROW(xinfer::fuzz::tfjs(data, bytes.size()));
            if (t == "infer_request") CHECK_NOTHROW(xinfer::fuzz::infer_request(data, bytes.size()));
            ++replayed;
        }
    }
    MESSAGE(replayed, " regression inputs replayed");
    CHECK(replayed > 0);
}
