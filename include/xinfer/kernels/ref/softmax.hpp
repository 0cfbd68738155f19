#pragma once
#include <cmath>
#include <cstddef>

namespace xinfer::kernels::ref {

// Row-wise softmax of x[rows][cols], shifted by the row maximum for stability.
inline void softmax_f32(size_t rows, size_t cols, const float* x, float* y) {
    for (size_t r = 0; r < rows; ++r) {
        const float* xr = x + r * cols;
        float* yr = y + r * cols;
        float mx = xr[0];
        for (size_t c = 1; c < cols; ++c) mx = xr[c] > mx ? xr[c] : mx;
        float sum = 0.0f;
        for (size_t c = 0; c < cols; ++c) sum += (yr[c] = std::exp(xr[c] - mx));
        for (size_t c = 0; c < cols; ++c) yr[c] /= sum;
    }
}

}  // namespace xinfer::kernels::ref
