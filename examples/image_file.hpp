#pragma once
// Decoding image files into RGB8 with stb_image (Debian libstb-dev). Define XINFER_STB_IMPLEMENTATION in exactly
// one translation unit of a program before including this header.
#include <cstdint>
#include <memory>
#include <string>

#ifdef XINFER_STB_IMPLEMENTATION
#define STB_IMAGE_IMPLEMENTATION
#endif
#include <stb/stb_image.h>

#include "xinfer/core/error.hpp"

namespace xinfer::examples {

struct RgbImage {
    int width = 0, height = 0;
    std::unique_ptr<uint8_t, void (*)(void*)> pixels{nullptr, stbi_image_free};
};

// JPEG, PNG, BMP, TGA, ... -> interleaved RGB8. Throws xinfer::Error(io) naming the file and stb's reason.
inline RgbImage load_rgb(const std::string& path) {
    RgbImage img;
    int channels = 0;
    img.pixels.reset(stbi_load(path.c_str(), &img.width, &img.height, &channels, 3));
    XINFER_CHECK(img.pixels, ErrorCode::io, path, ": cannot decode image (", stbi_failure_reason(), ")");
    XINFER_CHECK(img.width > 0 && img.height > 0 && img.width <= 65536 && img.height <= 65536, ErrorCode::io, path,
                 ": unsupported image size ", img.width, "x", img.height);
    return img;
}

}  // namespace xinfer::examples
