#pragma once
// Image preprocessing from raw pixels: bilinear resize (stretch, or resize-shorter-side + centre crop) and
// normalisation into an NHWC float tensor: value = (pixel * scale - mean[c]) / std[c].
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <string>

#include "xinfer/core/error.hpp"

namespace xinfer::io {

enum class ResizePolicy { stretch, crop };

inline const char* to_string(ResizePolicy r) { return r == ResizePolicy::crop ? "crop" : "stretch"; }
inline ResizePolicy resize_policy_from_string(const std::string& s) {
    if (s == "stretch") return ResizePolicy::stretch;
    if (s == "crop") return ResizePolicy::crop;
    XINFER_THROW(ErrorCode::invalid_argument, "unknown resize policy '", s, "' (expected stretch or crop)");
}

// How a model wants its RGB input prepared. Stored in model files; `width`/`height` 0 means "not known".
struct Preprocessing {
    float scale = 1.0f;
    std::array<float, 3> mean{0.0f, 0.0f, 0.0f};
    std::array<float, 3> std{1.0f, 1.0f, 1.0f};
    int width = 0, height = 0;
    ResizePolicy resize = ResizePolicy::stretch;

    void validate() const {
        XINFER_CHECK(width > 0 && height > 0 && width <= 16384 && height <= 16384, ErrorCode::invalid_argument,
                     "preprocessing: input size ", width, "x", height, " is out of range");
        XINFER_CHECK(std::isfinite(scale) && scale != 0.0f, ErrorCode::invalid_argument, "preprocessing: bad scale ",
                     scale);
        for (int c = 0; c < 3; ++c)
            XINFER_CHECK(std::isfinite(mean[size_t(c)]) && std::isfinite(std[size_t(c)]) && std[size_t(c)] != 0.0f,
                         ErrorCode::invalid_argument, "preprocessing: bad mean/std for channel ", c);
    }
};

// value = (pixel * scale - mean[c]) / std[c], computed as pixel * mul[c] + add[c].
struct Normalization {
    float mul[3], add[3];
    explicit Normalization(const Preprocessing& p) {
        for (size_t c = 0; c < 3; ++c) {
            mul[c] = p.scale / p.std[c];
            add[c] = -p.mean[c] / p.std[c];
        }
    }
    float operator()(float pixel, int c) const { return pixel * mul[c] + add[c]; }
};

// Normalises n RGB8 values that are already at the model's size (no resampling): channel c of element i is
// (i / channel_stride) % 3, so channel_stride 1 reads interleaved pixels (NHWC) and H*W reads planes (NCHW).
// Gives exactly what preprocess_rgb8 gives for an image at the target size.
inline void normalize_rgb8(const uint8_t* src, size_t n, size_t channel_stride, const Preprocessing& p, float* dst) {
    p.validate();
    XINFER_CHECK(channel_stride >= 1, ErrorCode::invalid_argument, "normalize_rgb8: channel stride 0");
    const Normalization norm(p);
    for (size_t i = 0; i < n; ++i) dst[i] = norm(float(src[i]), int((i / channel_stride) % 3));
}

// Bilinear sampling with half-pixel centres (the convention of OpenCV, PIL and TensorFlow's
// half_pixel_centers=true). An image already at the target size (stretch) is copied exactly.
// src: interleaved RGB8, `stride` bytes per row. dst: [height][width][3] floats, normalised.
inline void preprocess_rgb8(const uint8_t* src, int src_w, int src_h, size_t stride, const Preprocessing& p,
                            float* dst) {
    p.validate();
    XINFER_CHECK(src && src_w > 0 && src_h > 0 && src_w <= 65536 && src_h <= 65536 && stride >= size_t(src_w) * 3,
                 ErrorCode::invalid_argument, "image of ", src_w, "x", src_h, " pixels (row stride ", stride,
                 ") is not a valid RGB image");
    // Source window that maps onto the output: all of it, or the centred crop with the output's aspect ratio.
    double win_x = 0, win_y = 0, win_w = src_w, win_h = src_h;
    if (p.resize == ResizePolicy::crop) {
        const double s = std::min(double(src_w) / p.width, double(src_h) / p.height);
        win_w = p.width * s;
        win_h = p.height * s;
        win_x = (src_w - win_w) / 2;
        win_y = (src_h - win_h) / 2;
    }
    const double sx = win_w / p.width, sy = win_h / p.height;
    const Normalization norm(p);
    for (int y = 0; y < p.height; ++y) {
        const double fy = std::clamp(win_y + (y + 0.5) * sy - 0.5, 0.0, double(src_h - 1));
        const int y0 = int(fy), y1 = std::min(y0 + 1, src_h - 1);
        const float wy = float(fy - y0);
        for (int x = 0; x < p.width; ++x) {
            const double fx = std::clamp(win_x + (x + 0.5) * sx - 0.5, 0.0, double(src_w - 1));
            const int x0 = int(fx), x1 = std::min(x0 + 1, src_w - 1);
            const float wx = float(fx - x0);
            const uint8_t* r0 = src + size_t(y0) * stride;
            const uint8_t* r1 = src + size_t(y1) * stride;
            float* out = dst + (size_t(y) * size_t(p.width) + size_t(x)) * 3;
            for (int c = 0; c < 3; ++c) {
                const float top = r0[x0 * 3 + c] + wx * float(r0[x1 * 3 + c] - r0[x0 * 3 + c]);
                const float bottom = r1[x0 * 3 + c] + wx * float(r1[x1 * 3 + c] - r1[x0 * 3 + c]);
                const float v = top + wy * (bottom - top);
                out[c] = norm(v, c);
            }
        }
    }
}

}  // namespace xinfer::io
