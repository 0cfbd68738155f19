#pragma once
// Decoding encoded images (JPEG, PNG, BMP, TGA, ...) into interleaved RGB8 with stb_image (Debian libstb-dev).
// Define XINFER_STB_IMPLEMENTATION in exactly one translation unit of a program before including this header.
// Untrusted bytes (a server's request bodies) are checked before decoding: the header must name a supported format
// and a size within the limits, so a small file cannot make the decoder allocate gigabytes.
#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

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

namespace detail {

// A PNG whose first IDAT chunk is empty makes stb_image call memcpy with a null destination (undefined behaviour,
// though a zero-length copy). Empty IDAT chunks carry nothing, so such a file is decoded from a copy without them.
// stb reads a chunk's data once it has its 8-byte header (length, type), so an empty IDAT chunk whose CRC is cut
// off counts too. Returns false, leaving `out` alone, when the bytes are not a PNG or have no empty IDAT chunk.
inline bool png_without_empty_idat(const uint8_t* data, size_t size, std::vector<uint8_t>& out) {
    static const uint8_t signature[8] = {137, 'P', 'N', 'G', 13, 10, 26, 10};
    if (size < 8 || std::memcmp(data, signature, 8) != 0) return false;
    auto chunk_length = [&](size_t at) {
        return uint32_t(data[at]) << 24 | uint32_t(data[at + 1]) << 16 | uint32_t(data[at + 2]) << 8 | data[at + 3];
    };
    bool found = false;
    size_t at = 8;
    while (size - at >= 8) {  // a whole chunk header
        const size_t total = std::min(size - at, size_t(chunk_length(at)) + 12);  // length, type, data, CRC
        if (chunk_length(at) == 0 && std::memcmp(data + at + 4, "IDAT", 4) == 0) {
            if (!found) out.assign(data, data + at);
            found = true;
        } else if (found) {
            out.insert(out.end(), data + at, data + at + total);
        }
        at += total;
    }
    if (found) out.insert(out.end(), data + at, data + size);  // a cut-off chunk header: stb reports it
    return found;
}

}  // namespace detail

// Encoded image bytes -> RGB8. Throws xinfer::Error(io) naming `what` and the reason.
inline RgbImage decode_rgb(const void* bytes, size_t size, const std::string& what = "image",
                           const ImageLimits& limits = {}) {
    XINFER_CHECK(bytes && size > 0, ErrorCode::io, what, ": empty image");
    XINFER_CHECK(size <= size_t(INT_MAX), ErrorCode::io, what, ": image of ", size, " bytes is too large");
    const auto* data = static_cast<const stbi_uc*>(bytes);
    std::vector<uint8_t> cleaned;
    if (detail::png_without_empty_idat(data, size, cleaned)) {
        data = cleaned.data();
        size = cleaned.size();
    }
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

// An image file -> RGB8, with the same checks as decoded bytes. Throws xinfer::Error(io) naming the file.
inline RgbImage load_rgb(const std::string& path, const ImageLimits& limits = {}) {
    std::ifstream in(path, std::ios::binary);
    XINFER_CHECK(in, ErrorCode::io, path, ": cannot open image file");
    const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    XINFER_CHECK(!in.bad(), ErrorCode::io, path, ": cannot read image file");
    return decode_rgb(bytes.data(), bytes.size(), path, limits);
}

}  // namespace xinfer::io
