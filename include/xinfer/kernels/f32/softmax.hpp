#pragma once
#include <cmath>
#include <cstddef>
#include <xsimd/xsimd.hpp>

namespace xinfer::kernels::f32 {

// Row-wise softmax of x[rows][cols] (rows [r_begin, r_end)), shifted by the row maximum.
template <class Arch>
void softmax_f32(size_t cols, const float* x, float* y, size_t r_begin, size_t r_end) {
    using B = xsimd::batch<float, Arch>;
    constexpr size_t S = B::size;
    for (size_t r = r_begin; r < r_end; ++r) {
        const float* xr = x + r * cols;
        float* yr = y + r * cols;
        float mx = xr[0];
        size_t c = 0;
        if (cols >= S) {
            B vmax = B::load_unaligned(xr);
            for (c = S; c + S <= cols; c += S) vmax = xsimd::max(vmax, B::load_unaligned(xr + c));
            alignas(64) float lanes[S];
            vmax.store_aligned(lanes);
            mx = lanes[0];
            for (size_t j = 1; j < S; ++j) mx = lanes[j] > mx ? lanes[j] : mx;
        }
        for (; c < cols; ++c) mx = xr[c] > mx ? xr[c] : mx;
        B vsum(0.0f);
        float sum = 0.0f;
        const B vmx(mx);
        for (c = 0; c + S <= cols; c += S) {
            const B e = xsimd::exp(B::load_unaligned(xr + c) - vmx);
            e.store_unaligned(yr + c);
            vsum += e;
        }
        for (; c < cols; ++c) sum += (yr[c] = std::exp(xr[c] - mx));
        sum += xsimd::hadd(vsum);
        const B inv(1.0f / sum);
        for (c = 0; c + S <= cols; c += S) (B::load_unaligned(yr + c) * inv).store_unaligned(yr + c);
        for (; c < cols; ++c) yr[c] *= 1.0f / sum;
    }
}

}  // namespace xinfer::kernels::f32
