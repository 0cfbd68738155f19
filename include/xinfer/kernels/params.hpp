#pragma once
// Plain-data parameters shared by kernels.
#include <limits>

namespace xinfer::kernels {

// Output clamp fused into a kernel's epilogue: ReLU = {0, inf}, ReLU6 = {0, 6}, none = {-inf, inf}.
struct MinMax {
    float min = -std::numeric_limits<float>::infinity();
    float max = std::numeric_limits<float>::infinity();
};

inline float clamp(float v, MinMax mm) { return v < mm.min ? mm.min : (v > mm.max ? mm.max : v); }

}  // namespace xinfer::kernels
