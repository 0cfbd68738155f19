// Every int8 kernel against its scalar reference (kernels/ref/), byte for byte: odd shapes, every tile remainder,
// extreme zero points, saturating and non-saturating multipliers, half-way ties, weights of -128. Each kernel runs
// for the build's architecture and for the portable code path.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <iterator>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>
#include <xsimd/xsimd.hpp>

#include "testing.hpp"
#include "xinfer/config.hpp"
#include "xinfer/core/buffer.hpp"
#include "xinfer/kernels/ref/conv2d.hpp"
#include "xinfer/kernels/ref/eltwise.hpp"
#include "xinfer/kernels/ref/gemm.hpp"
#include "xinfer/kernels/ref/pool.hpp"
#include "xinfer/kernels/ref/requantize.hpp"
#include "xinfer/kernels/s8/dwconv3x3.hpp"
#include "xinfer/kernels/s8/eltwise.hpp"
#include "xinfer/kernels/s8/gemm.hpp"
#include "xinfer/kernels/im2col.hpp"
#include "xinfer/kernels/s8/pool.hpp"

using namespace xinfer;
using namespace xinfer::testing;
using kernels::Requant;
namespace s8 = xinfer::kernels::s8;
namespace ref = xinfer::kernels::ref;

namespace {

// Not an xsimd architecture: the kernels take their portable C++ path for it.
struct PortableArch {
    static constexpr const char* name() { return "portable C++"; }
};

}  // namespace

TYPE_TO_STRING(PortableArch);
#define XINFER_S8_ARCHS XINFER_ARCH, PortableArch

namespace {

int8_t random_zero_point(std::mt19937& rng, uint32_t seed) {
    switch (seed % 5) {
        case 0: return -128;
        case 1: return 127;
        case 2: return 0;
        default: return int8_t(std::uniform_int_distribution<int>(-128, 127)(rng));
    }
}

// Output stages: full range, ReLU6-like (lo = zero point), a narrow band, extreme zero points.
Requant random_requant(std::mt19937& rng, uint32_t seed) {
    Requant rq;
    switch ((seed / 5) % 5) {
        case 0: rq = {0, -128, 127}; break;
        case 1: {
            const int zp = std::uniform_int_distribution<int>(-128, 60)(rng);
            rq = {zp, zp, std::min(127, zp + 48)};
            break;
        }
        case 2: rq = {-128, -128, 127}; break;
        case 3: rq = {127, -128, 127}; break;
        default: {
            const int zp = std::uniform_int_distribution<int>(-128, 127)(rng);
            rq = {zp, -100, 90};
        }
    }
    return rq;
}

float log_uniform(std::mt19937& rng, float lo, float hi) {
    return std::exp(std::uniform_real_distribution<float>(std::log(lo), std::log(hi))(rng));
}

// Per-channel multipliers: "calibrated" ones spread the outputs over about +-64 (given the accumulators' typical
// magnitude `acc_rms`), others drawn from the realistic range 1e-4..1e-1, which saturates often.
// Every 11th seed mixes in multipliers of 1 and above (which take the kernels' fp32-clamp path) and 0.5 (ties).
std::vector<float> random_multipliers(size_t n, std::mt19937& rng, bool calibrated, double acc_rms, uint32_t seed) {
    std::vector<float> m(n);
    for (float& v : m)
        v = calibrated ? float(64.0 / std::max(acc_rms, 1.0)) * log_uniform(rng, 0.25f, 4.0f)
                       : log_uniform(rng, 1e-4f, 1e-1f);
    const float large[] = {1.0f, 2.5f, 0.5f, 1e-3f, 3e4f};
    if (seed % 11 == 0)
        for (size_t i = 0; i < n; i += 3) m[i] = large[(i / 3) % std::size(large)];
    return m;
}

std::vector<int32_t> random_bias(size_t n, std::mt19937& rng, int32_t range) {
    std::vector<int32_t> b(n);
    std::uniform_int_distribution<int32_t> dist(-range, range);
    for (int32_t& v : b) v = dist(rng);
    return b;
}

// Rough rms of sum_k (a - zp) * w for uniform int8 data (weights of rms weight_rms).
double acc_rms(size_t taps, int zero_point, double weight_rms = 74.0) {
    return std::sqrt(double(taps)) * weight_rms * std::sqrt(74.0 * 74.0 + double(zero_point) * zero_point) + 1.0;
}

// Guards against tests that cannot fail: of the cases meant to give informative outputs (calibrated multipliers,
// full output range around a central zero point), nearly all must vary and most must lie inside the clamp bounds.
struct Informative {
    size_t cases = 0, varied = 0, unclamped = 0;
    static bool eligible(const Requant& rq) { return rq.lo == -128 && rq.hi == 127 && std::abs(rq.zero_point) <= 64; }
    void add(const int8_t* y, size_t n, const Requant& rq) {
        if (n < 8 || !eligible(rq)) return;
        ++cases;
        varied += std::any_of(y + 1, y + n, [&](int8_t v) { return v != y[0]; });
        unclamped += size_t(std::count_if(y, y + n, [&](int8_t v) { return v > rq.lo && v < rq.hi; })) * 2 > n;
    }
    void check(size_t min_cases = 10) const {
        INFO(cases, " informative cases, ", varied, " with varied outputs, ", unclamped, " mostly unclamped");
        CHECK(cases >= min_cases);
        CHECK(varied * 10 >= cases * 9);
        CHECK(unclamped * 10 >= cases * 7);
    }
};

struct GemmCase {
    size_t M, N, K, lda, ldy;
    int8_t x_zero;
    Requant rq;
    bool calibrated;
};

// Runs gemm_s8 over rows [0, split) and [split, M) and compares with ref::gemm_s8, including the untouched padding
// columns of Y. Returns the output for further checks.
template <class Arch>
Bytes run_gemm_case(const GemmCase& c, const Bytes& A, const Bytes& W, const int32_t* bias, const float* multiplier,
                    size_t split, uint32_t seed) {
    AlignedArray<unsigned char> packed(s8::packed_gemm_s8_bytes(c.N, c.K, W.data()));
    s8::pack_gemm_goi_s8(c.N, c.K, W.data(), bias, c.x_zero, multiplier, packed.data());
    // Weights in [-64, 63] take the uint8-quads layout, any other the int16 pairs, unless VNNI makes quads exact.
    const bool seven_bit = std::all_of(W.data(), W.data() + c.N * c.K, [](int8_t w) { return w >= -64 && w < 64; });
    CHECK(s8::packed_gemm_s8_layout(packed.data()) ==
          (seven_bit || s8::quads_exact_for_any_weights() ? s8::GemmS8Layout::uint8_quads
                                                          : s8::GemmS8Layout::int16_pairs));
    const int8_t sentinel = 0x5a;
    Bytes got(c.M * c.ldy), want(c.M * c.ldy);
    std::fill(got.data(), got.data() + got.size(), sentinel);
    std::fill(want.data(), want.data() + want.size(), sentinel);
    s8::gemm_s8<Arch>(0, split, c.N, c.K, A.data(), c.lda, packed.data(), got.data(), c.ldy, c.rq);
    s8::gemm_s8<Arch>(split, c.M, c.N, c.K, A.data(), c.lda, packed.data(), got.data(), c.ldy, c.rq);
    ref::gemm_s8(c.M, c.N, c.K, A.data(), c.lda, c.x_zero, W.data(), bias, multiplier, want.data(), c.ldy, c.rq);
    CAPTURE(c.M);
    CAPTURE(c.N);
    CAPTURE(c.K);
    CAPTURE(int(c.x_zero));
    CAPTURE(c.rq.zero_point);
    CAPTURE(c.rq.lo);
    CAPTURE(c.rq.hi);
    check_bytes(got.data(), want.data(), got.size(), seed);
    // The raw int32 sums of the same rows (gemm_s8_sums) against their reference.
    std::vector<int32_t> sums(c.M * c.ldy, 0x5a5a5a5a), want_sums(c.M * c.ldy, 0x5a5a5a5a);
    ref::gemm_s8_sums(c.M, c.N, c.K, A.data(), c.lda, c.x_zero, W.data(), bias, want_sums.data(), c.ldy);
    s8::gemm_s8_sums<Arch>(0, split, c.N, c.K, A.data(), c.lda, packed.data(), sums.data(), c.ldy);
    s8::gemm_s8_sums<Arch>(split, c.M, c.N, c.K, A.data(), c.lda, packed.data(), sums.data(), c.ldy);
    const size_t bad = size_t(std::mismatch(sums.begin(), sums.end(), want_sums.begin()).first - sums.begin());
    CAPTURE(bad);
    CHECK_MESSAGE(bad == sums.size(), "gemm_s8_sums differs from the int32 sums");
    return got;
}

// Every other seed pair draws 7-bit weights (-64 and 63 included), which take the uint8-quads layout.
bool seven_bit_seed(uint32_t seed) { return (seed / 2) % 2 == 0; }

template <class Arch>
void gemm_random_case(size_t M, size_t N, size_t K, uint32_t seed, Informative& informative) {
    std::mt19937 rng(seed);
    GemmCase c;
    c.M = M, c.N = N, c.K = K;
    c.lda = K + (seed % 3 == 0 ? 5 : 0);
    c.ldy = N + (seed % 2 ? 3 : 0);
    c.x_zero = random_zero_point(rng, seed);
    c.rq = random_requant(rng, seed);
    c.calibrated = seed % 4 != 0 && seed % 11 != 0;
    const bool seven_bit = seven_bit_seed(seed);
    const Bytes A = random_bytes(M * c.lda, rng);
    const Bytes W = seven_bit ? random_bytes(N * K, rng, -64, 63) : random_bytes(N * K, rng);
    const double rms = acc_rms(K, c.x_zero, seven_bit ? 37.0 : 74.0);
    const std::vector<int32_t> bias = random_bias(N, rng, int32_t(std::min(rms, 1e6)));
    const std::vector<float> mult = random_multipliers(N, rng, c.calibrated, rms, seed);
    const Bytes got = run_gemm_case<Arch>(c, A, W, seed % 7 == 0 ? nullptr : bias.data(), mult.data(), M / 2, seed);
    if (c.calibrated && K >= 2) {
        std::vector<int8_t> rows;
        for (size_t m = 0; m < M; ++m) rows.insert(rows.end(), got.data() + m * c.ldy, got.data() + m * c.ldy + N);
        informative.add(rows.data(), rows.size(), c.rq);
    }
}

}  // namespace

TEST_CASE_TEMPLATE("gemm_s8 matches the reference over M, N, K remainders, strides and row splits", Arch,
                   XINFER_S8_ARCHS) {
    INFO("arch: ", std::string(Arch::name()), ", mr ", s8::gemm_s8_mr<Arch>());
    uint32_t seed = 81000;
    Informative informative;
    for (size_t M : {1, 2, 3, 4, 5, 6, 7, 11, 12, 13, 19})
        for (size_t N : {1, 3, 7, 8, 9, 15, 16, 17, 24, 25, 31, 33, 40})
            for (size_t K : {1, 2, 3, 7, 8, 12, 15, 16, 17, 21, 27, 30, 33, 64, 98})  // every K % 8 past 8
                gemm_random_case<Arch>(M, N, K, ++seed, informative);
    informative.check();
}

TEST_CASE_TEMPLATE("gemm_s8 matches the reference on large layers and K spanning several chunks", Arch,
                   XINFER_S8_ARCHS) {
    INFO("arch: ", std::string(Arch::name()));
    Informative informative;
    uint32_t seed = 82000;
    // MobileNetV2-like shapes; K beyond the packed-A chunk (2048) with enough panels for several weight blocks.
    const size_t shapes[][3] = {{49, 960, 320}, {196, 64, 384}, {97, 24, 144}, {13, 2047, 40}, {7, 2048, 33},
                                {13, 2049, 40}, {5, 4100, 57},  {1, 1280, 1000}, {12, 3000, 16}};
    for (const auto& s : shapes) gemm_random_case<Arch>(s[0], s[2], s[1], ++seed, informative);
    informative.check(2);
}

TEST_CASE_TEMPLATE("gemm_s8 with 7-bit weights: the largest pair sums do not saturate", Arch, XINFER_S8_ARCHS) {
    INFO("arch: ", std::string(Arch::name()));
    // A at its ends (A + 128 = 0 or 255) against weights -64 and 63: every int16 pair sum of the uint8-quads kernel
    // is within 128 of the int16 limits, and the long K runs the int32 sums far beyond them.
    int far_from_zero = 0;
    for (uint32_t seed = 84000; seed < 84012; ++seed) {
        std::mt19937 rng(seed);
        GemmCase c;
        c.M = 7 + seed % 5, c.N = 17 + seed % 3 * 8, c.K = 60 + seed % 7 * 333;
        c.lda = c.K, c.ldy = c.N;
        c.x_zero = int8_t(seed % 3 == 0 ? -128 : seed % 3 == 1 ? 127 : 0);
        c.rq = {0, -128, 127};
        Bytes A(c.M * c.K), W(c.N * c.K);
        std::bernoulli_distribution mostly(seed % 2 ? 0.95 : 0.5);
        const int8_t far = c.x_zero == 127 ? -128 : 127;  // A - x_zero of magnitude 255 where x_zero is an end
        for (size_t i = 0; i < A.size(); ++i) A[i] = mostly(rng) ? far : int8_t(-1 - far);
        for (size_t i = 0; i < W.size(); ++i) W[i] = int8_t(mostly(rng) == (i / c.K) % 2 ? -64 : 63);
        const std::vector<int32_t> bias = random_bias(c.N, rng, 1000);
        const std::vector<float> mult(c.N, 127.0f / float(255 * 64 * c.K));  // the largest |sum| maps to 127
        const Bytes got = run_gemm_case<Arch>(c, A, W, bias.data(), mult.data(), c.M / 2, seed);
        far_from_zero += std::any_of(got.data(), got.data() + got.size(), [](int8_t v) { return std::abs(v) >= 100; });
    }
    CHECK(far_from_zero >= 3);  // sums near the largest magnitude were reached
}

TEST_CASE_TEMPLATE("gemm_s8 rounds half-way cases to even", Arch, XINFER_S8_ARCHS) {
    INFO("arch: ", std::string(Arch::name()));
    // Small integer accumulators and multipliers 0.5, 0.25, 1.5 make many exact ties (x.5).
    const float tie_multipliers[] = {0.5f, 0.25f, 1.5f, 0.125f};
    size_t ties = 0;
    for (uint32_t seed = 83000; seed < 83040; ++seed) {
        std::mt19937 rng(seed);
        GemmCase c;
        c.M = 1 + seed % 13, c.N = 1 + (seed * 7) % 37, c.K = 1 + seed % 9;
        c.lda = c.K, c.ldy = c.N;
        c.x_zero = int8_t(std::uniform_int_distribution<int>(-125, 124)(rng));
        c.rq = {int32_t(std::uniform_int_distribution<int>(-20, 20)(rng)), -128, 127};
        const Bytes A = random_bytes(c.M * c.K, rng, c.x_zero - 3, c.x_zero + 3);
        const Bytes W = random_bytes(c.N * c.K, rng, -2, 2);
        const std::vector<int32_t> bias = random_bias(c.N, rng, 9);
        std::vector<float> mult(c.N);
        for (size_t n = 0; n < c.N; ++n) mult[n] = tie_multipliers[(n + seed) % 4];
        run_gemm_case<Arch>(c, A, W, bias.data(), mult.data(), c.M / 3, seed);
        for (size_t m = 0; m < c.M; ++m)
            for (size_t n = 0; n < c.N; ++n) {
                int32_t acc = bias[n];
                for (size_t k = 0; k < c.K; ++k) acc += (A[m * c.K + k] - c.x_zero) * W[n * c.K + k];
                const float v = float(acc) * mult[n];
                ties += v - std::floor(v) == 0.5f;
            }
    }
    CHECK(ties > 1000);
    // The reference itself: 0.5 -> 0, 1.5 -> 2, 2.5 -> 2, -0.5 -> 0, -1.5 -> -2.
    CHECK(ref::requantize(1, 0.5f, 0, -128, 127) == 0);
    CHECK(ref::requantize(3, 0.5f, 0, -128, 127) == 2);
    CHECK(ref::requantize(5, 0.5f, 0, -128, 127) == 2);
    CHECK(ref::requantize(-1, 0.5f, 0, -128, 127) == 0);
    CHECK(ref::requantize(-3, 0.5f, 0, -128, 127) == -2);
    // And the kernel on exactly these accumulators (K = 1, A - x_zero = 1, W = acc).
    for (int32_t acc : {1, 3, 5, 7, -1, -3, -5, -7}) {
        Bytes A(1), W(1);
        A[0] = 11, W[0] = int8_t(acc);
        const float half = 0.5f;
        AlignedArray<unsigned char> packed(s8::packed_gemm_s8_bytes(1, 1, W.data()));
        s8::pack_gemm_goi_s8(1, 1, W.data(), nullptr, 10, &half, packed.data());
        Bytes y(1);
        s8::gemm_s8<Arch>(0, 1, 1, 1, A.data(), 1, packed.data(), y.data(), 1, Requant{3, -128, 127});
        CAPTURE(acc);
        CHECK(int(y[0]) == int(std::nearbyint(acc * 0.5f)) + 3);
        CHECK(int(y[0]) == int(ref::requantize(acc, 0.5f, 3, -128, 127)));
    }
}

TEST_CASE_TEMPLATE("gemm_s8 with K = 0 returns the requantized bias, extreme values included", Arch, XINFER_S8_ARCHS) {
    INFO("arch: ", std::string(Arch::name()));
    const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
    const int32_t biases[] = {std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max(), 0, 1, -1, 3,
                              -3, 1 << 30, -(1 << 30), 255, -255, 16777217};
    const float multipliers[] = {1.0f, 3.0f, 1e-9f, inf, -inf, nan, 0.5f, -0.5f, 1e-4f, 0.0f, 2e9f};
    const size_t N = std::size(biases) * std::size(multipliers);
    std::vector<int32_t> bias(N);
    std::vector<float> mult(N);
    for (size_t i = 0; i < N; ++i) {
        bias[i] = biases[i % std::size(biases)];
        mult[i] = multipliers[i / std::size(biases)];
    }
    const Requant stages[] = {{0, -128, 127}, {-128, -128, 127}, {127, -128, 127}, {5, 5, 40}};
    for (const Requant& rq : stages) {
        for (const bool with_bias : {true, false}) {
            GemmCase c{3, N, 0, 0, N, 0, rq, false};
            run_gemm_case<Arch>(c, Bytes(0), Bytes(0), with_bias ? bias.data() : nullptr, mult.data(), 1, 84000);
        }
    }
}

TEST_CASE_TEMPLATE("dwconv3x3_s8 matches the reference: strides, asymmetric pads, channel remainders", Arch,
                   XINFER_S8_ARCHS) {
    INFO("arch: ", std::string(Arch::name()));
    uint32_t seed = 85000;
    Informative informative;
    const Pads pad_cases[] = {{0, 0, 0, 0}, {1, 1, 1, 1}, {0, 0, 1, 1}, {1, 0, 0, 1}, {2, 2, 2, 2}, {1, 2, 0, 1},
                              {2, 0, 1, 2}};
    struct Geometry {
        size_t H, W, C;
    };
    std::vector<Geometry> geometries;
    for (size_t H : {1, 2, 3, 4, 7})
        for (size_t W : {1, 2, 3, 4, 5, 9, 14, 17})
            for (size_t C : {1, 3, 7, 8, 15, 16, 17, 31, 33, 48, 70}) geometries.push_back({H, W, C});
    for (size_t C : {144, 960}) geometries.push_back({5, 6, C});
    geometries.push_back({12, 19, 40});
    for (const Geometry& g : geometries)
        for (int stride : {1, 2})
            for (const Pads& pads : pad_cases) {
                ++seed;
                Window2D win;
                win.kernel_h = win.kernel_w = 3;
                win.stride_h = win.stride_w = stride;
                win.pads = pads;
                const int OH = win.out_h(int(g.H)), OW = win.out_w(int(g.W));
                if (OH <= 0 || OW <= 0) continue;
                std::mt19937 rng(seed);
                const int8_t x_zero = random_zero_point(rng, seed);
                const Requant rq = random_requant(rng, seed);
                const bool calibrated = seed % 4 != 0 && seed % 11 != 0;
                const Bytes x = random_bytes(g.H * g.W * g.C, rng), w = random_bytes(g.C * 9, rng);
                const double rms = acc_rms(9, x_zero);
                const std::vector<int32_t> bias = random_bias(g.C, rng, int32_t(rms));
                const std::vector<float> mult = random_multipliers(g.C, rng, calibrated, rms, seed);
                const int32_t* bias_ptr = seed % 7 == 0 ? nullptr : bias.data();
                AlignedArray<unsigned char> packed(s8::packed_dwconv3x3_s8_bytes(g.C));
                s8::pack_dwconv3x3_ghw_s8(g.C, w.data(), bias_ptr, x_zero, mult.data(), packed.data());
                AlignedArray<unsigned char> workspace(s8::dwconv3x3_s8_workspace_bytes(g.C));
                s8::prepare_dwconv3x3_s8_workspace(g.C, x_zero, workspace.data());
                const size_t n_out = size_t(OH) * size_t(OW) * g.C, split = size_t(OH) / 2;
                Bytes got(n_out), want(n_out);
                for (const auto& [oy0, oy1] : {std::pair{size_t(0), split}, std::pair{split, size_t(OH)}})
                    s8::dwconv3x3_s8<Arch>(g.H, g.W, g.C, x.data(), packed.data(), workspace.data(), stride, pads,
                                           got.data(), size_t(OH), size_t(OW), rq, oy0, oy1);
                ref::conv2d_nhwc_s8(g.H, g.W, g.C, x.data(), x_zero, win, g.C, g.C, w.data(), bias_ptr, mult.data(),
                                    want.data(), rq);
                CAPTURE(g.H);
                CAPTURE(g.W);
                CAPTURE(g.C);
                CAPTURE(stride);
                CAPTURE(pads.top);
                CAPTURE(pads.left);
                CAPTURE(pads.bottom);
                CAPTURE(pads.right);
                CAPTURE(int(x_zero));
                CAPTURE(rq.zero_point);
                if (!check_bytes(got.data(), want.data(), n_out, seed)) return;
                if (calibrated) informative.add(got.data(), n_out, rq);
            }
    informative.check();
}

TEST_CASE_TEMPLATE("add_s8 matches the reference: zero points, ties, saturation, lengths", Arch, XINFER_S8_ARCHS) {
    INFO("arch: ", std::string(Arch::name()));
    uint32_t seed = 86000;
    Informative informative;
    for (size_t n : {0, 1, 7, 8, 9, 15, 16, 17, 31, 33, 100, 1000})
        for (int variant = 0; variant < 8; ++variant) {
            std::mt19937 rng(++seed);
            const Bytes a = random_bytes(n, rng), b = random_bytes(n, rng);
            int32_t a_zero = random_zero_point(rng, seed), b_zero = random_zero_point(rng, seed + 2);
            Requant rq = random_requant(rng, seed);
            float ma = log_uniform(rng, 0.05f, 1.5f), mb = log_uniform(rng, 0.05f, 1.5f);
            if (variant == 0) {  // typical: zero points near the middle, outputs spread over the range
                std::uniform_int_distribution<int> central(-30, 30);
                a_zero = central(rng), b_zero = central(rng), rq = {central(rng), -128, 127};
                ma = log_uniform(rng, 0.1f, 0.6f), mb = log_uniform(rng, 0.1f, 0.6f);
            }
            if (variant == 1) ma = 0.5f, mb = 0.5f;        // ties
            if (variant == 2) ma = 0.25f, mb = 1.5f;       // ties
            if (variant == 3) ma = 40.0f, mb = 1e30f;      // saturation
            if (variant == 4) ma = std::numeric_limits<float>::infinity();  // inf * 0 = NaN at a == a_zero
            if (variant == 5) ma = 1e-4f, mb = 1e-4f;      // everything rounds to the zero point
            Bytes got(n), want(n);
            s8::add_s8<Arch>(n, a.data(), a_zero, ma, b.data(), b_zero, mb, got.data(), rq);
            ref::add_s8(n, a.data(), a_zero, ma, b.data(), b_zero, mb, want.data(), rq);
            CAPTURE(n);
            CAPTURE(variant);
            check_bytes(got.data(), want.data(), n, seed);
            if (variant == 0) informative.add(got.data(), n, rq);
        }
    informative.check(6);
}

TEST_CASE_TEMPLATE("quantize_f32_s8 and dequantize_s8_f32 match the reference", Arch, XINFER_S8_ARCHS) {
    INFO("arch: ", std::string(Arch::name()));
    const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
    uint32_t seed = 87000;
    Informative informative;
    for (size_t n : {0, 1, 7, 8, 9, 15, 16, 17, 33, 100, 1000})
        for (int variant = 0; variant < 4; ++variant) {
            std::mt19937 rng(++seed);
            const int32_t zero_point =
                variant == 0 ? std::uniform_int_distribution<int>(-30, 30)(rng) : random_zero_point(rng, seed);
            const float scale = variant == 1   ? 0.5f
                                : variant == 0 ? log_uniform(rng, 0.1f, 0.3f)
                                               : log_uniform(rng, 1e-3f, 0.2f);
            testing::Floats x = testing::random_floats(n, rng, variant == 2 ? 1e3f : 8.0f);
            const float specials[] = {nan, inf, -inf, 0.0f, -0.0f, 1e38f, -1e38f, 0.25f, 0.75f, -0.25f, 1.25f, -2.75f};
            for (size_t i = 0; i < n; ++i) {
                if (variant == 1) x[i] = float(int(i % 41) - 20) * 0.25f;  // x / 0.5 = k + 0.5: ties
                if (variant == 3 && i % 3 == 0) x[i] = specials[(i / 3) % std::size(specials)];
            }
            Bytes got(n), want(n);
            s8::quantize_f32_s8<Arch>(n, x.data(), scale, zero_point, got.data());
            ref::quantize_f32_s8(n, x.data(), scale, zero_point, want.data());
            CAPTURE(n);
            CAPTURE(variant);
            check_bytes(got.data(), want.data(), n, seed);
            if (variant == 0) informative.add(got.data(), n, Requant{zero_point, -128, 127});

            const Bytes q = random_bytes(n, rng);
            testing::Floats got_f(n), want_f(n);
            s8::dequantize_s8_f32<Arch>(n, q.data(), scale, zero_point, got_f.data());
            ref::dequantize_s8_f32(n, q.data(), scale, zero_point, want_f.data());
            CHECK(std::memcmp(got_f.data(), want_f.data(), n * sizeof(float)) == 0);
        }
    informative.check(6);
}

TEST_CASE_TEMPLATE("global_avg_pool_s8 matches the reference", Arch, XINFER_S8_ARCHS) {
    INFO("arch: ", std::string(Arch::name()));
    uint32_t seed = 88000;
    Informative informative;
    std::vector<size_t> channels;
    for (size_t C = 1; C <= 70; C += 3) channels.push_back(C);
    channels.push_back(1280);
    for (size_t HW : {1, 2, 7, 49, 300})
        for (size_t C : channels) {
            std::mt19937 rng(++seed);
            // Even seeds: the typical case, data spread around a zero point near the middle, unsaturated outputs.
            std::uniform_int_distribution<int> central(-60, 60);
            const int32_t x_zero = seed % 2 ? random_zero_point(rng, seed) : central(rng);
            const Bytes x = random_bytes(HW * C, rng, std::max(-128, x_zero - 64), std::min(127, x_zero + 64));
            const Requant rq =
                seed % 2 ? random_requant(rng, seed) : Requant{central(rng) * 2 / 3, -128, 127};
            const bool ties = seed % 6 == 5;
            // About 20 output steps per standard deviation of the sum.
            const float spread = float(20.0 / (37.0 * std::sqrt(double(HW))));
            const float multiplier = ties ? 0.5f : log_uniform(rng, 0.5f, 2.0f) * spread;
            Bytes got(C), want(C);
            s8::global_avg_pool_s8<Arch>(HW, C, x.data(), x_zero, multiplier, got.data(), rq);
            ref::global_avg_pool_s8(HW, C, x.data(), x_zero, multiplier, want.data(), rq);
            CAPTURE(HW);
            CAPTURE(C);
            check_bytes(got.data(), want.data(), C, seed);
            if (!ties) informative.add(got.data(), C, rq);
        }
    informative.check();
}

TEST_CASE("im2col_nhwc (int8) lays out (ky, kx, ci) rows with the zero point in the padding and the row tails") {
    uint32_t seed = 89000;
    for (int k : {1, 2, 3, 5})
        for (int stride : {1, 2})
            for (int dilation : {1, 2})
                for (size_t groups : {1, 2, 3})
                    for (const Pads& pads : {Pads{0, 0, 0, 0}, Pads{1, 1, 1, 1}, Pads{0, 1, 2, 0}}) {
                        std::mt19937 rng(++seed);
                        const size_t H = 5 + seed % 3, W = 4 + seed % 5, cin_g = 1 + seed % 4, C = cin_g * groups;
                        Window2D win;
                        win.kernel_h = win.kernel_w = k;
                        win.stride_h = win.stride_w = stride;
                        win.dilation_h = win.dilation_w = dilation;
                        win.pads = pads;
                        const int OH = win.out_h(int(H)), OW = win.out_w(int(W));
                        if (OH <= 0 || OW <= 0) continue;
                        const Bytes x = random_bytes(H * W * C, rng);
                        const int8_t x_zero = random_zero_point(rng, seed);
                        const size_t row = size_t(k * k) * cin_g, ld = row + 3, P = size_t(OH) * size_t(OW);
                        for (size_t g = 0; g < groups; ++g) {
                            const size_t p0 = P / 3, p1 = P;
                            const size_t size = (p1 - p0) * ld, guard = 16;
                            Bytes got(size + guard), want(size + guard);
                            std::fill(got.data(), got.data() + size + guard, int8_t(0x5a));
                            std::fill(want.data() + size, want.data() + size + guard, int8_t(0x5a));
                            kernels::im2col_nhwc(H, W, C, x.data(), x_zero, win, size_t(OW), g, cin_g, p0, p1,
                                                 got.data(), ld);
                            for (size_t p = p0; p < p1; ++p)
                                for (int ky = 0; ky < k; ++ky)
                                    for (int kx = 0; kx < k; ++kx)
                                        for (size_t ci = 0; ci < cin_g; ++ci) {
                                            const long iy = long(p / size_t(OW)) * stride - pads.top + ky * dilation;
                                            const long ix = long(p % size_t(OW)) * stride - pads.left + kx * dilation;
                                            const bool inside = iy >= 0 && iy < long(H) && ix >= 0 && ix < long(W);
                                            want[(p - p0) * ld + size_t(ky * k + kx) * cin_g + ci] =
                                                inside ? x[(size_t(iy) * W + size_t(ix)) * C + g * cin_g + ci] : x_zero;
                                        }
                            CAPTURE(k);
                            CAPTURE(stride);
                            CAPTURE(dilation);
                            CAPTURE(g);
                            for (size_t p = p0; p < p1; ++p)
                                for (size_t c = row; c < ld; ++c) want[(p - p0) * ld + c] = x_zero;
                            check_bytes(got.data(), want.data(), size + guard, seed);  // nothing written past
                        }
                    }
}
