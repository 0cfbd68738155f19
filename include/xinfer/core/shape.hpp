#pragma once
// Shapes and convolution geometry. Activations are NHWC; rank-2 values are [N, C].
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "xinfer/core/error.hpp"

namespace xinfer {

using Shape = std::vector<int64_t>;

inline std::string to_string(const Shape& shape) {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

// Number of elements; throws on negative dims or overflow of size_t (shapes come from untrusted files).
inline size_t checked_numel(const Shape& shape) {
    size_t n = 1;
    for (int64_t d : shape) {
        XINFER_CHECK(d >= 0, ErrorCode::invalid_model, "negative dimension in shape ", to_string(shape));
        auto ud = static_cast<uint64_t>(d);
        XINFER_CHECK(ud == 0 || n <= std::numeric_limits<size_t>::max() / ud, ErrorCode::invalid_model,
                     "shape ", to_string(shape), " has too many elements");
        n *= static_cast<size_t>(ud);
    }
    return n;
}

// Explicit padding of a 2-D window op: Keras pads bottom/right before stride-2 convs, PyTorch pads all sides.
struct Pads {
    int top = 0, left = 0, bottom = 0, right = 0;
    bool operator==(const Pads& o) const {
        return top == o.top && left == o.left && bottom == o.bottom && right == o.right;
    }
};

// Geometry of a 2-D window (convolution or pooling) over an NHWC input.
struct Window2D {
    int kernel_h = 1, kernel_w = 1;
    int stride_h = 1, stride_w = 1;
    int dilation_h = 1, dilation_w = 1;
    Pads pads;

    int out_h(int in_h) const { return out_size(in_h, kernel_h, stride_h, dilation_h, pads.top + pads.bottom); }
    int out_w(int in_w) const { return out_size(in_w, kernel_w, stride_w, dilation_w, pads.left + pads.right); }

    void validate() const {
        XINFER_CHECK(kernel_h >= 1 && kernel_w >= 1 && stride_h >= 1 && stride_w >= 1 && dilation_h >= 1 &&
                         dilation_w >= 1 && pads.top >= 0 && pads.left >= 0 && pads.bottom >= 0 && pads.right >= 0,
                     ErrorCode::invalid_model, "invalid window: kernel ", kernel_h, "x", kernel_w, " stride ",
                     stride_h, "x", stride_w, " dilation ", dilation_h, "x", dilation_w, " pads ", pads.top, ",",
                     pads.left, ",", pads.bottom, ",", pads.right);
    }

    static int out_size(int in, int k, int s, int d, int pad_total) {
        const int64_t span = int64_t(d) * (k - 1) + 1;
        const int64_t padded = int64_t(in) + pad_total;
        if (padded < span) return 0;
        return static_cast<int>((padded - span) / s + 1);
    }
};

// TF/ONNX "SAME" padding: output = ceil(in / stride); the odd pixel goes to the end (SAME_UPPER) or start.
inline void same_pads(int in, int k, int s, int d, bool upper, int& begin, int& end) {
    const int out = (in + s - 1) / s;
    const int total = std::max(0, (out - 1) * s + d * (k - 1) + 1 - in);
    begin = upper ? total / 2 : total - total / 2;
    end = total - begin;
}

}  // namespace xinfer
