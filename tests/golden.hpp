#pragma once
// Real data for the tests: the shared data folder (real models and photos; absent on a user's fresh machine, where
// such tests are skipped), the committed golden outputs, and photo decoding. Include in one test file per binary:
// stb_image is compiled with static linkage here.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#include <stb/stb_image.h>

#include <xtensor/xarray.hpp>

namespace xinfer::testing {

// ../shared/data beside the repository (as CI and developers have it), or "" when absent.
inline std::string shared_data_dir() {
    const std::string dir = XINFER_TEST_DATA_DIR "/../../../shared/data";
    return std::filesystem::exists(dir + "/models") ? dir : "";
}

struct GoldenRow {
    std::string file;
    std::vector<double> probs;
};

// tests/data/golden/<name>: a header, then file name, one probability per class, and the top-1 label.
inline std::vector<GoldenRow> read_golden(const std::string& name, size_t classes) {
    std::ifstream in(XINFER_TEST_DATA_DIR "/golden/" + name);
    std::vector<GoldenRow> rows;
    std::string line;
    std::getline(in, line);
    while (std::getline(in, line)) {
        std::stringstream ss(line);
        GoldenRow row;
        ss >> row.file;
        row.probs.resize(classes);
        for (auto& p : row.probs) ss >> p;
        if (ss) rows.push_back(row);
    }
    return rows;
}

// A photo as float NHWC [1, H, W, 3], pixels / 255 (no resizing).
inline xt::xarray<float> load_photo_01(const std::string& path) {
    int w = 0, h = 0, c = 0;
    unsigned char* px = stbi_load(path.c_str(), &w, &h, &c, 3);
    if (!px) return {};
    xt::xarray<float> x = xt::xarray<float>::from_shape({1, size_t(h), size_t(w), 3});
    for (size_t i = 0; i < size_t(w) * size_t(h) * 3; ++i) x.data()[i] = float(px[i]) / 255.0f;
    stbi_image_free(px);
    return x;
}

inline size_t argmax(const float* p, size_t n) {
    size_t best = 0;
    for (size_t i = 1; i < n; ++i)
        if (p[i] > p[best]) best = i;
    return best;
}

}  // namespace xinfer::testing
