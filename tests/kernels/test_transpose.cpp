#include <doctest/doctest.h>

#include <algorithm>
#include <numeric>
#include <random>
#include <vector>

#include "xinfer/kernels/ref/tensor.hpp"

using namespace xinfer;

namespace {
// y[index] = x[index permuted], one element at a time: the definition of a transpose.
std::vector<float> transpose_by_definition(const std::vector<int64_t>& dims, const std::vector<int64_t>& perm,
                                           const std::vector<float>& x) {
    const size_t r = dims.size();
    std::vector<size_t> xs(r, 1);
    for (size_t i = r - 1; i > 0; --i) xs[i - 1] = xs[i] * size_t(dims[i]);
    std::vector<int64_t> ydims(r), idx(r, 0);
    for (size_t i = 0; i < r; ++i) ydims[i] = dims[size_t(perm[i])];
    std::vector<float> y(x.size());
    for (size_t o = 0; o < y.size(); ++o) {
        size_t src = 0;
        for (size_t i = 0; i < r; ++i) src += size_t(idx[i]) * xs[size_t(perm[i])];
        y[o] = x[src];
        for (size_t i = r; i-- > 0;) {
            if (++idx[i] < ydims[i]) break;
            idx[i] = 0;
        }
    }
    return y;
}
}  // namespace

TEST_CASE("transpose_f32 equals the definition for every permutation of ranks 2 to 4 (tiled and looped paths)") {
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    for (const std::vector<int64_t>& dims : std::vector<std::vector<int64_t>>{
             {37, 70}, {1, 3, 5}, {2, 3, 33}, {1, 3, 7, 9}, {2, 5, 1, 34}, {3, 1, 35, 2}}) {
        std::vector<float> x(size_t(std::accumulate(dims.begin(), dims.end(), int64_t(1), std::multiplies<>())));
        for (auto& v : x) v = u(rng);
        std::vector<int64_t> perm(dims.size());
        std::iota(perm.begin(), perm.end(), 0);
        do {
            std::vector<float> y(x.size(), -7.0f);
            kernels::ref::transpose_f32(dims, perm, x.data(), y.data());
            CAPTURE(perm.size());
            REQUIRE(y == transpose_by_definition(dims, perm, x));
        } while (std::next_permutation(perm.begin(), perm.end()));
    }
}
