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
void im2col_nhwc(size_t H, size_t W, size_t C, const T* x, T pad, const Window2D& window, size_t OW, size_t group,
                 size_t cin_g, size_t p0, size_t p1, T* cols, size_t ld) {
    const Window2D win = window;  // a local copy: stores through an int8 `cols` could alias the caller's
    // With one group and dilation 1, a kernel row inside the image is one run of KW * C contiguous inputs.
    const size_t run = size_t(win.kernel_w) * C, taps_size = size_t(win.kernel_h) * size_t(win.kernel_w) * cin_g;
    const bool runs = cin_g == C && win.dilation_w == 1;
    auto pad_tail = [&](T* row) { std::fill(row + taps_size, row + ld, pad); };

    // Any pixel, borders included.
    auto pixel = [&](T* row, size_t oy, size_t ox) {
        T* const row_start = row;
        const long ix0 = long(ox) * win.stride_w - win.pads.left;
        const bool row_inside = runs && ix0 >= 0 && ix0 + long(win.kernel_w) <= long(W);
        for (int ky = 0; ky < win.kernel_h; ++ky) {
            const long iy = long(oy) * win.stride_h - win.pads.top + long(ky) * win.dilation_h;
            if (row_inside) {
                if (iy >= 0 && iy < long(H))
                    std::memcpy(row, x + (size_t(iy) * W + size_t(ix0)) * C, run * sizeof(T));
                else
                    std::fill(row, row + run, pad);
                row += run;
                continue;
            }
            for (int kx = 0; kx < win.kernel_w; ++kx, row += cin_g) {
                const long ix = ix0 + long(kx) * win.dilation_w;
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
        pad_tail(row_start);
    };

    // Short runs (the stem's 3 x 3 channels) of pixels whose whole window is inside the image move as one 16-byte
    // copy per kernel row where the copy ends inside the rows: every byte of a row is written, so a later run, the
    // row's padding or a later row overwrites the excess.
    const bool short_runs = runs && run * sizeof(T) <= 16;
    const long sw = win.stride_w, kw = win.kernel_w, pl = win.pads.left;
    const long ox_first = (pl + sw - 1) / sw, ox_last = (long(W) - kw + pl) / sw;  // windows inside in x
    const size_t row_step = size_t(win.dilation_h) * W * C, last_copy = size_t(win.kernel_h - 1) * run;
    const T* cols_end = cols + (p1 - p0) * ld;

    size_t p = p0, oy = p0 / OW, ox = p0 % OW;
    auto advance = [&] {
        ++p;
        if (++ox == OW) ox = 0, ++oy;
    };
    while (p < p1) {
        const long iy0 = long(oy) * win.stride_h - win.pads.top;
        const bool rows_inside = iy0 >= 0 && iy0 + long(win.kernel_h - 1) * win.dilation_h < long(H);
        if (short_runs && rows_inside && long(ox) >= ox_first && long(ox) <= ox_last) {
            // The pixels of this output row up to ox_last.
            for (size_t n = std::min(p1 - p, size_t(ox_last) + 1 - ox); n > 0; --n, advance()) {
                T* row = cols + (p - p0) * ld;
                if (row + last_copy + 16 / sizeof(T) > cols_end) break;
                const T* src = x + (size_t(iy0) * W + size_t(long(ox) * sw - pl)) * C;
                for (int ky = 0; ky < win.kernel_h; ++ky) std::memcpy(row + size_t(ky) * run, src + ky * row_step, 16);
                pad_tail(row);
            }
            if (p == p1) break;
        }
        pixel(cols + (p - p0) * ld, oy, ox);
        advance();
    }
}

}  // namespace xinfer::kernels
