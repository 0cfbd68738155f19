#pragma once
// im2col for the general convolution path (fp32 and int8): one row of KH*KW*cin_g values per output pixel, in
// (ky, kx, ci) order (OHWI, matching the weights). Taps in the padding hold `pad`: 0 for fp32, the input zero point
// (the real value 0) for int8. The GEMM then runs on these rows.
#include <algorithm>
#include <cstddef>
#include <cstring>

#include "xinfer/core/shape.hpp"

namespace xinfer::kernels {

// Rows for output pixels [p0, p1) of one image [H][W][C], group `group` of cin_g channels; cols has stride ld >=
// KH*KW*cin_g, and columns past KH*KW*cin_g hold `pad` too. Like every kernel it may over-read x by up to
// XINFER_EXTRA_BYTES.
template <class T>
void im2col_nhwc(size_t H, size_t W, size_t C, const T* x, T pad, const Window2D& win, size_t OW, size_t group,
                 size_t cin_g, size_t p0, size_t p1, T* cols, size_t ld) {
    // With one group and dilation 1, a kernel row inside the image is one run of KW * C contiguous inputs.
    const size_t run = size_t(win.kernel_w) * C, taps_size = size_t(win.kernel_h) * size_t(win.kernel_w) * cin_g;
    const bool runs = cin_g == C && win.dilation_w == 1;
    // Short runs (the stem's 3 x 3 channels) move as one 16-byte copy where it ends inside the rows: each byte of
    // a row is written, so a later run, the row's padding or a later row overwrites the excess.
    const bool short_runs = run * sizeof(T) <= 16;
    const T* cols_end = cols + (p1 - p0) * ld;
    size_t oy = p0 / OW, ox = p0 % OW;
    for (size_t p = p0; p < p1; ++p, ox = ox + 1 < OW ? ox + 1 : (++oy, 0)) {
        T* row = cols + (p - p0) * ld;
        const long ix0 = long(ox) * win.stride_w - win.pads.left;
        const bool row_inside = runs && ix0 >= 0 && ix0 + long(win.kernel_w) <= long(W);
        for (int ky = 0; ky < win.kernel_h; ++ky) {
            const long iy = long(oy) * win.stride_h - win.pads.top + long(ky) * win.dilation_h;
            if (row_inside) {
                if (iy >= 0 && iy < long(H) && short_runs && row + 16 / sizeof(T) <= cols_end)
                    std::memcpy(row, x + (size_t(iy) * W + size_t(ix0)) * C, 16);
                else if (iy >= 0 && iy < long(H))
                    std::memcpy(row, x + (size_t(iy) * W + size_t(ix0)) * C, run * sizeof(T));
                else
                    std::fill(row, row + run, pad);
                row += run;
                continue;
            }
            for (int kx = 0; kx < win.kernel_w; ++kx, row += cin_g) {
                const long ix = long(ox) * win.stride_w - win.pads.left + long(kx) * win.dilation_w;
                const bool inside = iy >= 0 && iy < long(H) && ix >= 0 && ix < long(W);
                const T* src = inside ? x + (size_t(iy) * W + size_t(ix)) * C + group * cin_g : nullptr;
                if (cin_g <= 8) {  // the stem (3 channels): a call per tap would cost more than the copy
                    for (size_t c = 0; c < cin_g; ++c) row[c] = inside ? src[c] : pad;
                } else if (inside) {
                    std::memcpy(row, src, cin_g * sizeof(T));
                } else {
                    for (size_t c = 0; c < cin_g; ++c) row[c] = pad;
                }
            }
        }
        std::fill(cols + (p - p0) * ld + taps_size, cols + (p - p0 + 1) * ld, pad);
    }
}

}  // namespace xinfer::kernels
