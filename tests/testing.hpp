#pragma once
// Shared test helpers: seeded random data (never all zeros), padded buffers, written-down tolerances and
// byte-exact comparisons.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "xinfer/core/buffer.hpp"

namespace xinfer::testing {

// A float array in an AlignedBuffer (so kernels may over-read its tail, as they may in the arena).
struct Floats {
    AlignedBuffer buf;
    size_t n = 0;
    explicit Floats(size_t count = 0) : buf(count * sizeof(float)), n(count) {}
    float* data() { return buf.as<float>(); }
    const float* data() const { return buf.as<float>(); }
    float& operator[](size_t i) { return data()[i]; }
    float operator[](size_t i) const { return data()[i]; }
    size_t size() const { return n; }
};

// Uniform in [-range, range], with no exact zeros.
inline void fill_random(float* p, size_t n, std::mt19937& rng, float range = 1.0f) {
    std::uniform_real_distribution<float> dist(-range, range);
    for (size_t i = 0; i < n; ++i) {
        float v = dist(rng);
        p[i] = v == 0.0f ? range * 0.5f : v;
    }
}
inline Floats random_floats(size_t n, std::mt19937& rng, float range = 1.0f) {
    Floats f(n);
    fill_random(f.data(), n, rng, range);
    return f;
}
inline Floats abs_of(const Floats& f) {
    Floats a(f.size());
    for (size_t i = 0; i < f.size(); ++i) a[i] = std::fabs(f[i]);
    return a;
}

// An array in an AlignedBuffer, so kernels may over-read its tail as they may in the arena.
template <class T>
struct AlignedArray {
    AlignedBuffer buf;
    size_t n = 0;
    explicit AlignedArray(size_t count = 0) : buf(count * sizeof(T)), n(count) {}
    T* data() { return buf.as<T>(); }
    const T* data() const { return buf.as<T>(); }
    T& operator[](size_t i) { return data()[i]; }
    T operator[](size_t i) const { return data()[i]; }
    size_t size() const { return n; }
};
using Bytes = AlignedArray<int8_t>;

// Uniform int8 in [lo, hi], about 1 in 16 values set to an end of the range (-128 by default); never all zero.
inline Bytes random_bytes(size_t n, std::mt19937& rng, int lo = -128, int hi = 127) {
    Bytes b(n);
    std::uniform_int_distribution<int> dist(lo, hi), pick(0, 31);
    for (size_t i = 0; i < n; ++i) {
        const int p = pick(rng);
        b[i] = int8_t(p == 0 ? lo : p == 1 ? hi : dist(rng));
    }
    if (n && std::all_of(b.data(), b.data() + n, [](int8_t v) { return v == 0; })) b[0] = int8_t(hi ? hi : lo);
    return b;
}

// Byte-exact comparison; reports the first difference with its index. Returns whether all n bytes match.
inline bool check_bytes(const int8_t* got, const int8_t* want, size_t n, uint32_t seed) {
    const size_t i = size_t(std::mismatch(got, got + n, want).first - got);
    const int got_i = i < n ? got[i] : 0, want_i = i < n ? want[i] : 0;
    CAPTURE(seed);
    CAPTURE(i);
    CAPTURE(got_i);
    CAPTURE(want_i);
    CHECK_MESSAGE(i == n, "mismatch against the reference kernel");
    return i == n;
}

// Forward error bound of a float sum of K products: the optimized and the reference kernel may each be off by
// gamma_K * sum|terms| (Higham, "Accuracy and Stability of Numerical Algorithms", eq. 3.5), with
// gamma_K ~ K * 2^-24. `magnitude` is the same computation on absolute values.
inline double dot_tolerance(size_t K, double magnitude) {
    return 2.0 * double(K + 2) * std::ldexp(1.0, -24) * magnitude + 1e-30;
}

// Checks |got - want| <= dot_tolerance(K, magnitude) element-wise; reports the first failure with its index.
inline void check_close(const float* got, const float* want, const float* magnitude, size_t n, size_t K,
                        uint32_t seed) {
    for (size_t i = 0; i < n; ++i) {
        const double tol = dot_tolerance(K, magnitude[i]);
        if (!(std::fabs(double(got[i]) - double(want[i])) <= tol)) {
            CAPTURE(seed);
            CAPTURE(i);
            CAPTURE(got[i]);
            CAPTURE(want[i]);
            CAPTURE(tol);
            FAIL_CHECK("mismatch against the reference kernel");
            return;
        }
    }
}

// The outputs must not be trivial (all equal): guards against tests that cannot fail.
inline void check_not_constant(const float* p, size_t n) {
    if (n < 2) return;
    bool varied = false;
    for (size_t i = 1; i < n && !varied; ++i) varied = p[i] != p[0];
    CHECK_MESSAGE(varied, "kernel output is constant: the test data is too weak");
}

}  // namespace xinfer::testing
