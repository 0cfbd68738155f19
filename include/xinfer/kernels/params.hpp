#pragma once
// Plain-data parameters shared by kernels.
#include <cstdint>
#include <limits>

namespace xinfer::kernels {

// Output clamp fused into a kernel's epilogue: ReLU = {0, inf}, ReLU6 = {0, 6}, none = {-inf, inf}.
struct MinMax {
    float min = -std::numeric_limits<float>::infinity();
    float max = std::numeric_limits<float>::infinity();
};

// Output stage of an int8 kernel: the output zero point and the clamp bounds in the int8 domain (ReLU6 fused as
// bounds).
struct Requant {
    int32_t zero_point = 0;
    int32_t lo = -128, hi = 127;
};

inline float clamp(float v, MinMax mm) { return v < mm.min ? mm.min : (v > mm.max ? mm.max : v); }

}  // namespace xinfer::kernels
