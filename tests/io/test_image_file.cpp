// Image decoding (io/image_file.hpp): what decodes, what is refused with a clear error, and the PNG that stb_image
// would mishandle (an empty first IDAT chunk).
#define XINFER_STB_IMPLEMENTATION
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <doctest/doctest.h>
#include <stb/stb_image_write.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

#include "xinfer/io/image_file.hpp"

namespace {

std::vector<uint8_t> random_rgb(int w, int h, unsigned seed) {
    std::mt19937 rng(seed);
    std::vector<uint8_t> px(size_t(w) * h * 3);
    for (auto& p : px) p = uint8_t(rng());
    return px;
}

std::vector<uint8_t> encode_png(const std::vector<uint8_t>& rgb, int w, int h) {
    std::vector<uint8_t> out;
    auto sink = [](void* ctx, void* data, int size) {
        auto* v = static_cast<std::vector<uint8_t>*>(ctx);
        v->insert(v->end(), static_cast<uint8_t*>(data), static_cast<uint8_t*>(data) + size);
    };
    REQUIRE(stbi_write_png_to_func(sink, &out, w, h, 3, rgb.data(), w * 3));
    return out;
}

uint32_t crc32(const uint8_t* p, size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; ++i) {
        c ^= p[i];
        for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return ~c;
}

// Inserts an empty chunk of `type` before the first IDAT chunk.
std::vector<uint8_t> with_empty_chunk_before_idat(const std::vector<uint8_t>& png, const char* type) {
    const std::string s(png.begin(), png.end());
    const size_t at = s.find("IDAT") - 4;
    uint8_t chunk[12] = {0, 0, 0, 0};
    std::memcpy(chunk + 4, type, 4);
    const uint32_t crc = crc32(chunk + 4, 4);
    for (int i = 0; i < 4; ++i) chunk[8 + i] = uint8_t(crc >> (24 - 8 * i));
    std::vector<uint8_t> out(png.begin(), png.begin() + long(at));
    out.insert(out.end(), chunk, chunk + 12);
    out.insert(out.end(), png.begin() + long(at), png.end());
    return out;
}

void check_pixels(const xinfer::io::RgbImage& img, const std::vector<uint8_t>& rgb, int w, int h) {
    REQUIRE(img.width == w);
    REQUIRE(img.height == h);
    CHECK(std::memcmp(img.pixels.get(), rgb.data(), rgb.size()) == 0);
}

}  // namespace

TEST_CASE("image: a PNG decodes to its exact pixels, also with empty IDAT chunks") {
    const int w = 13, h = 7;
    const auto rgb = random_rgb(w, h, 3);
    const auto png = encode_png(rgb, w, h);
    check_pixels(xinfer::io::decode_rgb(png.data(), png.size()), rgb, w, h);

    const auto leading_empty = with_empty_chunk_before_idat(png, "IDAT");
    std::vector<uint8_t> cleaned;
    REQUIRE(xinfer::io::detail::png_without_empty_idat(leading_empty.data(), leading_empty.size(), cleaned));
    CHECK(cleaned == png);
    check_pixels(xinfer::io::decode_rgb(leading_empty.data(), leading_empty.size()), rgb, w, h);

    // Other empty chunks and non-PNG bytes are left to the decoder as they are.
    const auto other_empty = with_empty_chunk_before_idat(png, "tEXt");
    CHECK_FALSE(xinfer::io::detail::png_without_empty_idat(other_empty.data(), other_empty.size(), cleaned));
    check_pixels(xinfer::io::decode_rgb(other_empty.data(), other_empty.size()), rgb, w, h);
    CHECK_FALSE(xinfer::io::detail::png_without_empty_idat(rgb.data(), rgb.size(), cleaned));

    // Truncated at every byte (also inside the empty chunk, after its header): decoded or refused with an error,
    // never a crash or undefined behaviour.
    for (size_t n = 1; n < leading_empty.size(); ++n) {
        CAPTURE(n);
        try {
            (void)xinfer::io::decode_rgb(leading_empty.data(), n);
        } catch (const xinfer::Error& e) {
            CHECK(e.code() == xinfer::ErrorCode::io);
        }
    }
}

TEST_CASE("image: bad bytes, oversized headers and missing files are refused with the reason") {
    const std::string garbage = "not an image";
    CHECK_THROWS_WITH_AS(xinfer::io::decode_rgb(garbage.data(), garbage.size(), "upload"),
                         doctest::Contains("upload: not a decodable image"), xinfer::Error);
    CHECK_THROWS_WITH_AS(xinfer::io::decode_rgb(nullptr, 0, "upload"), doctest::Contains("empty image"),
                         xinfer::Error);

    const auto png = encode_png(random_rgb(40, 30, 4), 40, 30);
    xinfer::io::ImageLimits small;
    small.max_side = 32;
    CHECK_THROWS_WITH_AS(xinfer::io::decode_rgb(png.data(), png.size(), "upload", small),
                         doctest::Contains("unsupported image size 40x30"), xinfer::Error);

    const auto dir = std::filesystem::temp_directory_path();
    CHECK_THROWS_WITH_AS(xinfer::io::load_rgb((dir / "xinfer-no-such-image.png").string()),
                         doctest::Contains("cannot open image file"), xinfer::Error);
    const auto path = (dir / "xinfer-test-image.png").string();
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(png.data()), long(png.size()));
    const auto img = xinfer::io::load_rgb(path);
    CHECK(img.width == 40);
    CHECK(img.height == 30);
    std::remove(path.c_str());
}
