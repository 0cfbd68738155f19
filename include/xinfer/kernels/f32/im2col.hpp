#pragma once
// im2col for the general convolution fallback: one row of K = KH*KW*Cin_g values per output pixel (OHWI order,
// matching the weights), zeros where a tap falls into the padding. The GEMM then runs on these rows.
#include <algorithm>
#include <cstddef>
#include <cstring>

#include "xinfer/core/shape.hpp"

namespace xinfer::kernels::f32 {

// Rows for output pixels [p_begin, p_end) of one image, group g; cols has stride ldc >= KH*KW*cin_g.
inline void im2col_nhwc_f32(size_t H, size_t W, size_t Cin, const float* x, const Window2D& win, size_t OW,
                            size_t g, size_t cin_g, size_t p_begin, size_t p_end, float* cols, size_t ldc) {
    for (size_t p = p_begin; p < p_end; ++p) {
        const size_t oy = p / OW, ox = p % OW;
        float* row = cols + (p - p_begin) * ldc;
        for (int ky = 0; ky < win.kernel_h; ++ky) {
            const long iy = long(oy) * win.stride_h - win.pads.top + long(ky) * win.dilation_h;
            for (int kx = 0; kx < win.kernel_w; ++kx, row += cin_g) {
                const long ix = long(ox) * win.stride_w - win.pads.left + long(kx) * win.dilation_w;
                if (iy < 0 || iy >= long(H) || ix < 0 || ix >= long(W))
                    std::fill(row, row + cin_g, 0.0f);
                else
                    std::memcpy(row, x + (size_t(iy) * W + size_t(ix)) * Cin + g * cin_g, cin_g * sizeof(float));
            }
        }
    }
}

}  // namespace xinfer::kernels::f32
