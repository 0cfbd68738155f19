#pragma once
// Decoding encoded images (JPEG, PNG, BMP, TGA, ...) into interleaved RGB8 with stb_image (Debian libstb-dev).
// Define XINFER_STB_IMPLEMENTATION in exactly one translation unit of a program before including this header.
// Untrusted bytes (a server's request bodies) are checked before decoding: the header must name a supported format
// and a size within the limits, so a small file cannot make the decoder allocate gigabytes.
#include <climits>
#include <cstdint>
#include <memory>
#include <string>

#ifdef XINFER_STB_IMPLEMENTATION
#define STB_IMAGE_IMPLEMENTATION
#endif
#include <stb/stb_image.h>

#include "xinfer/core/error.hpp"

namespace xinfer::io {

struct RgbImage {
    int width = 0, height = 0;
    std::unique_ptr<uint8_t, void (*)(void*)> pixels{nullptr, stbi_image_free};
};

struct ImageLimits {
    int max_side = 16384;
    int64_t max_pixels = int64_t(64) << 20;  // 64 Mpixel: 192 MiB of RGB8
};

// Encoded image bytes -> RGB8. Throws xinfer::Error(io) naming `what` and the reason.
inline RgbImage decode_rgb(const void* bytes, size_t size, const std::string& what = "image",
                           const ImageLimits& limits = {}) {
    XINFER_CHECK(bytes && size > 0, ErrorCode::io, what, ": empty image");
    XINFER_CHECK(size <= size_t(INT_MAX), ErrorCode::io, what, ": image of ", size, " bytes is too large");
    const auto* data = static_cast<const stbi_uc*>(bytes);
    int w = 0, h = 0, channels = 0;
    XINFER_CHECK(stbi_info_from_memory(data, int(size), &w, &h, &channels), ErrorCode::io, what,
                 ": not a decodable image (", stbi_failure_reason(), ")");
    XINFER_CHECK(w > 0 && h > 0 && w <= limits.max_side && h <= limits.max_side &&
                     int64_t(w) * h <= limits.max_pixels,
                 ErrorCode::io, what, ": unsupported image size ", w, "x", h);
    RgbImage img;
    img.pixels.reset(stbi_load_from_memory(data, int(size), &img.width, &img.height, &channels, 3));
    XINFER_CHECK(img.pixels, ErrorCode::io, what, ": cannot decode image (", stbi_failure_reason(), ")");
    return img;
}

// An image file -> RGB8. Throws xinfer::Error(io) naming the file and stb's reason.
inline RgbImage load_rgb(const std::string& path) {
    RgbImage img;
    int channels = 0;
    img.pixels.reset(stbi_load(path.c_str(), &img.width, &img.height, &channels, 3));
    XINFER_CHECK(img.pixels, ErrorCode::io, path, ": cannot decode image (", stbi_failure_reason(), ")");
    XINFER_CHECK(img.width > 0 && img.height > 0 && img.width <= 65536 && img.height <= 65536, ErrorCode::io, path,
                 ": unsupported image size ", img.width, "x", img.height);
    return img;
}

}  // namespace xinfer::io
