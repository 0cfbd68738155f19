#pragma once
// Global average pooling over NHWC: channels are the vector axis.
#include <algorithm>
#include <cstddef>
#include <xsimd/xsimd.hpp>

namespace xinfer::kernels::f32 {

// y[c] = mean over HW pixels of x[HW][C], channels [c_begin, c_end).
template <class Arch>
void global_avg_pool_f32(size_t HW, size_t C, const float* x, float* y, size_t c_begin, size_t c_end) {
    using B = xsimd::batch<float, Arch>;
    constexpr size_t S = B::size;
    const float inv = 1.0f / float(HW);
    size_t c = c_begin;
    for (; c + S <= c_end; c += S) {
        B sum(0.0f);
        for (size_t p = 0; p < HW; ++p) sum += B::load_unaligned(x + p * C + c);
        (sum * B(inv)).store_unaligned(y + c);
    }
    for (; c < c_end; ++c) {
        float sum = 0.0f;
        for (size_t p = 0; p < HW; ++p) sum += x[p * C + c];
        y[c] = sum * inv;
    }
}

}  // namespace xinfer::kernels::f32
