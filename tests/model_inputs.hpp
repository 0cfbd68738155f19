#pragma once
// Seeded random model inputs for the facade tests (never all zeros).
#include <random>
#include <xtensor/xarray.hpp>

#include "testing.hpp"

namespace xinfer::testing {

// An NHWC float batch [n, size, size, 3], uniform in [-1, 1].
inline xt::xarray<float> random_nhwc(size_t n, size_t size, uint32_t seed) {
    xt::xarray<float> x = xt::xarray<float>::from_shape({n, size, size, 3});
    std::mt19937 rng(seed);
    fill_random(x.data(), x.size(), rng);
    return x;
}

}  // namespace xinfer::testing
