// Every fp32 SIMD kernel against its scalar reference on random data over odd shapes and every tile remainder.
#include <doctest/doctest.h>

#include <xsimd/xsimd.hpp>

#include "testing.hpp"
#include "xinfer/config.hpp"
#include "xinfer/kernels/f32/conv_direct.hpp"
#include "xinfer/kernels/f32/dwconv3x3.hpp"
#include "xinfer/kernels/f32/eltwise.hpp"
#include "xinfer/kernels/f32/gemm.hpp"
#include "xinfer/kernels/f32/pool.hpp"
#include "xinfer/kernels/f32/softmax.hpp"
#include "xinfer/kernels/ref/conv2d.hpp"
#include "xinfer/kernels/ref/eltwise.hpp"
#include "xinfer/kernels/ref/gemm.hpp"
#include "xinfer/kernels/ref/pool.hpp"
#include "xinfer/kernels/ref/softmax.hpp"

using namespace xinfer;
using namespace xinfer::testing;
using Arch = XINFER_ARCH;
using kernels::MinMax;

namespace {

const MinMax kClamps[] = {{}, {0.0f, 6.0f}, {-0.25f, 0.5f}};

}  // namespace

TEST_CASE("gemm_f32 matches the reference over M, N, K remainders and strides") {
    INFO("arch: ", std::string(Arch::name()));
    constexpr size_t NR = kernels::f32::GemmConfig<Arch>::nr;
    uint32_t seed = 1000;
    for (size_t M : {1, 2, 3, 4, 5, 6, 7, 11, 12, 13, 19})
        for (size_t N : {size_t(1), size_t(3), NR / 2 - 1, NR / 2, NR / 2 + 1, NR - 1, NR, NR + 1, 2 * NR + 3})
            for (size_t K : {1, 2, 3, 7, 16, 37, 96, 301}) {
                ++seed;
                std::mt19937 rng(seed);
                const size_t lda = K + (seed % 3 == 0 ? 5 : 0), ldc = N + (seed % 2 ? 3 : 0);
                Floats A = random_floats(M * lda, rng), W = random_floats(N * K, rng), bias = random_floats(N, rng);
                const MinMax mm = kClamps[seed % 3];
                Floats packed(kernels::f32::packed_gemm_floats(N, K, NR));
                kernels::f32::pack_gemm_goi(N, K, NR, W.data(), bias.data(), packed.data());
                Floats got(M * ldc), want(M * ldc), mag(M * ldc);
                const size_t panels = (N + NR - 1) / NR;
                // Split the work the way ops do (row ranges, panel ranges) to cover the sub-range paths too.
                const size_t mh = M / 2, ph = panels / 2;
                kernels::f32::gemm_f32<Arch>(0, mh, 0, panels, N, K, A.data(), lda, packed.data(), got.data(), ldc, mm);
                kernels::f32::gemm_f32<Arch>(mh, M, 0, ph, N, K, A.data(), lda, packed.data(), got.data(), ldc, mm);
                kernels::f32::gemm_f32<Arch>(mh, M, ph, panels, N, K, A.data(), lda, packed.data(), got.data(), ldc, mm);
                kernels::ref::gemm_f32(M, N, K, A.data(), lda, W.data(), bias.data(), want.data(), ldc, mm);
                Floats aA = abs_of(A), aW = abs_of(W), ab = abs_of(bias);
                kernels::ref::gemm_f32(M, N, K, aA.data(), lda, aW.data(), ab.data(), mag.data(), ldc, {});
                CAPTURE(M);
                CAPTURE(N);
                CAPTURE(K);
                for (size_t m = 0; m < M; ++m)
                    check_close(got.data() + m * ldc, want.data() + m * ldc, mag.data() + m * ldc, N, K, seed);
                if (M * N > 4 && std::isinf(mm.max)) check_not_constant(got.data(), M * ldc);
            }
}

TEST_CASE("gemm_f32 without bias and with K = 0 returns the clamped bias") {
    constexpr size_t NR = kernels::f32::GemmConfig<Arch>::nr;
    const size_t N = NR + 3;
    Floats packed(kernels::f32::packed_gemm_floats(N, 0, NR)), C(N);
    std::vector<float> bias(N);
    for (size_t i = 0; i < N; ++i) bias[i] = float(i) - 3.5f;
    kernels::f32::pack_gemm_goi(N, 0, NR, nullptr, bias.data(), packed.data());
    kernels::f32::gemm_f32<Arch>(0, 1, 0, 2, N, 0, nullptr, 0, packed.data(), C.data(), N, {0.0f, 6.0f});
    for (size_t i = 0; i < N; ++i) CHECK(C[i] == kernels::clamp(bias[i], {0.0f, 6.0f}));
}

namespace {

// Every output-column tiling of the kernel (tiles of 8 or 7 pixels, remainders of 4, 2, 1, edge tiles), channel
// remainders and channel chunks (C = 117 spans two chunks with a partial last block).
struct DwCase {
    size_t H, W, C;
};
std::vector<DwCase> dwconv_cases(size_t S) {
    std::vector<DwCase> cases;
    for (size_t H : {1, 2, 3, 4, 7, 8})
        for (size_t W : {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 14, 15, 16, 17, 18, 23, 29, 30, 33})
            for (size_t C : {size_t(1), size_t(3), S - 1, S, S + 1, 2 * S + 5, size_t(33)}) cases.push_back({H, W, C});
    for (size_t H : {3, 5})
        for (size_t W : {9, 14, 17})
            for (size_t C : {117, 160}) cases.push_back({H, W, C});
    return cases;
}

}  // namespace

TEST_CASE("dwconv3x3_f32 matches the reference: strides, asymmetric pads, channel remainders") {
    INFO("arch: ", std::string(Arch::name()));
    constexpr size_t S = xsimd::batch<float, Arch>::size;
    uint32_t seed = 5000;
    const Pads pad_cases[] = {{0, 0, 0, 0}, {1, 1, 1, 1}, {0, 0, 1, 1}, {1, 0, 0, 1}, {2, 2, 2, 2}};
    for (const DwCase& cs : dwconv_cases(S))
        for (int stride : {1, 2})
            for (const Pads& pads : pad_cases) {
                const size_t H = cs.H, Wd = cs.W, C = cs.C;
                ++seed;
                Window2D win;
                win.kernel_h = win.kernel_w = 3;
                win.stride_h = win.stride_w = stride;
                win.pads = pads;
                const int OH = win.out_h(int(H)), OW = win.out_w(int(Wd));
                if (OH <= 0 || OW <= 0) continue;
                std::mt19937 rng(seed);
                Floats x = random_floats(H * Wd * C, rng), w = random_floats(C * 9, rng),
                       b = random_floats(C, rng);
                const MinMax mm = kClamps[seed % 3];
                Floats packed(kernels::f32::packed_dwconv3x3_floats(C, S));
                kernels::f32::pack_dwconv3x3_ghw(C, S, w.data(), b.data(), packed.data());
                const size_t n_out = size_t(OH) * size_t(OW) * C;
                Floats got(n_out), want(n_out), mag(n_out);
                const size_t split = size_t(OH) / 2;
                kernels::f32::dwconv3x3_f32<Arch>(H, Wd, C, x.data(), packed.data(), stride, pads, got.data(),
                                                  OH, OW, mm, 0, split);
                // The second half as a band: from the input rows it reaches on, into its own rows of the output.
                const size_t row0 = size_t(std::max(0L, long(split) * stride - pads.top));
                kernels::f32::dwconv3x3_f32_band<Arch>(H, Wd, C, x.data() + row0 * Wd * C, row0, packed.data(),
                                                       stride, pads, got.data() + split * size_t(OW) * C, OH, OW, mm,
                                                       split, OH);
                kernels::ref::conv2d_nhwc_f32(H, Wd, C, x.data(), win, C, C, w.data(), b.data(), want.data(), mm);
                Floats ax = abs_of(x), aw = abs_of(w), ab = abs_of(b);
                kernels::ref::conv2d_nhwc_f32(H, Wd, C, ax.data(), win, C, C, aw.data(), ab.data(), mag.data(), {});
                CAPTURE(H);
                CAPTURE(Wd);
                CAPTURE(C);
                CAPTURE(stride);
                CAPTURE(pads.top);
                CAPTURE(pads.left);
                CAPTURE(pads.bottom);
                CAPTURE(pads.right);
                check_close(got.data(), want.data(), mag.data(), n_out, 9, seed);
            }
}

TEST_CASE("conv_direct_f32 (stem) matches the reference: kernels, strides, dilations, pads, Cout remainders") {
    INFO("arch: ", std::string(Arch::name()));
    const size_t NR = kernels::f32::conv_direct_nr(xsimd::batch<float, Arch>::size);
    uint32_t seed = 9000;
    struct Case { int kh, kw, sh, sw, dh, dw; Pads pads; };
    const Case cases[] = {{3, 3, 2, 2, 1, 1, {0, 0, 1, 1}}, {3, 3, 2, 2, 1, 1, {1, 1, 1, 1}},
                          {3, 3, 1, 1, 1, 1, {1, 1, 1, 1}}, {1, 1, 1, 1, 1, 1, {0, 0, 0, 0}},
                          {2, 3, 1, 2, 1, 1, {0, 1, 1, 0}}, {3, 3, 1, 1, 2, 2, {2, 2, 2, 2}},
                          {5, 5, 2, 2, 1, 1, {2, 2, 2, 2}}};
    for (const Case& cs : cases)
        for (size_t Cin : {1, 2, 3, 4})
            // Last panels of 1, 2, 3 and 4 vectors (tiles of 6, 6, 4 and 3 pixels), partial vectors.
            for (size_t Cout : {size_t(1), size_t(5), NR / 2, NR / 2 + 1, NR - 1, NR, NR + 1, NR + NR / 4 + 1,
                                2 * NR + 3})
                for (size_t H : {1, 4, 7})
                    for (size_t Wd : {1, 5, 8, 11, 16}) {
                        ++seed;
                        Window2D win;
                        win.kernel_h = cs.kh, win.kernel_w = cs.kw, win.stride_h = cs.sh, win.stride_w = cs.sw;
                        win.dilation_h = cs.dh, win.dilation_w = cs.dw, win.pads = cs.pads;
                        const int OH = win.out_h(int(H)), OW = win.out_w(int(Wd));
                        if (OH <= 0 || OW <= 0) continue;
                        std::mt19937 rng(seed);
                        const size_t taps = size_t(cs.kh * cs.kw) * Cin;
                        Floats x = random_floats(H * Wd * Cin, rng), w = random_floats(Cout * taps, rng),
                               b = random_floats(Cout, rng);
                        const MinMax mm = kClamps[seed % 3];
                        Floats packed(kernels::f32::packed_conv_direct_floats(Cout, taps, NR));
                        kernels::f32::pack_conv_direct_ohwi(Cout, taps, NR, w.data(), b.data(), packed.data());
                        const size_t n_out = size_t(OH) * size_t(OW) * Cout;
                        Floats got(n_out), want(n_out), mag(n_out);
                        kernels::f32::conv_direct_f32<Arch>(H, Wd, Cin, x.data(), win, Cout, packed.data(), got.data(),
                                                            OW, mm, 0, OH);
                        kernels::ref::conv2d_nhwc_f32(H, Wd, Cin, x.data(), win, 1, Cout, w.data(), b.data(), want.data(), mm);
                        Floats ax = abs_of(x), aw = abs_of(w), ab = abs_of(b);
                        kernels::ref::conv2d_nhwc_f32(H, Wd, Cin, ax.data(), win, 1, Cout, aw.data(), ab.data(), mag.data(), {});
                        CAPTURE(cs.kh);
                        CAPTURE(cs.sh);
                        CAPTURE(Cin);
                        CAPTURE(Cout);
                        CAPTURE(H);
                        CAPTURE(Wd);
                        check_close(got.data(), want.data(), mag.data(), n_out, taps, seed);
                    }
}

TEST_CASE("global_avg_pool_f32 matches the reference") {
    uint32_t seed = 12000;
    for (size_t HW : {1, 2, 5, 49, 196})
        for (size_t C : {1, 3, 7, 8, 9, 16, 17, 33, 1280}) {
            ++seed;
            std::mt19937 rng(seed);
            Floats x = random_floats(HW * C, rng), got(C), want(C), mag(C);
            const size_t half = C / 2;
            kernels::f32::global_avg_pool_f32<Arch>(HW, C, x.data(), got.data(), 0, half);
            kernels::f32::global_avg_pool_f32<Arch>(HW, C, x.data(), got.data(), half, C);
            kernels::ref::global_avg_pool_f32(HW, C, x.data(), want.data());
            Floats ax = abs_of(x);
            kernels::ref::global_avg_pool_f32(HW, C, ax.data(), mag.data());
            check_close(got.data(), want.data(), mag.data(), C, HW, seed);
            check_not_constant(got.data(), C);
        }
}

TEST_CASE("add_f32 and channel_affine_f32 are exact against the reference") {
    uint32_t seed = 13000;
    for (size_t n : {1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 1001}) {
        ++seed;
        std::mt19937 rng(seed);
        const MinMax mm = kClamps[seed % 3];
        Floats a = random_floats(n, rng, 4.0f), b = random_floats(n, rng, 4.0f), got(n), want(n);
        kernels::f32::add_f32<Arch>(n, a.data(), b.data(), got.data(), mm);
        kernels::ref::add_f32(n, a.data(), b.data(), want.data(), mm);
        for (size_t i = 0; i < n; ++i) REQUIRE(got[i] == want[i]);
        // Affine: one fused multiply-add vs multiply then add may differ by one rounding.
        const size_t C = n, pixels = 3;
        Floats x = random_floats(pixels * C, rng, 4.0f), sc = random_floats(C, rng), sh = random_floats(C, rng);
        Floats gy(pixels * C), wy(pixels * C), mag(pixels * C);
        kernels::f32::channel_affine_f32<Arch>(pixels, C, x.data(), sc.data(), sh.data(), gy.data(), mm);
        kernels::ref::channel_affine_f32(pixels, C, x.data(), sc.data(), sh.data(), wy.data(), mm);
        Floats ax = abs_of(x), asc = abs_of(sc), ash = abs_of(sh);
        kernels::ref::channel_affine_f32(pixels, C, ax.data(), asc.data(), ash.data(), mag.data(), {});
        check_close(gy.data(), wy.data(), mag.data(), pixels * C, 1, seed);
    }
}

TEST_CASE("softmax_f32 matches the reference within 4 ulp-scale relative error") {
    uint32_t seed = 14000;
    for (size_t cols : {1, 2, 5, 8, 9, 17, 1000})
        for (size_t rows : {1, 3}) {
            ++seed;
            std::mt19937 rng(seed);
            Floats x = random_floats(rows * cols, rng, 10.0f), got(rows * cols), want(rows * cols);
            kernels::f32::softmax_f32<Arch>(cols, x.data(), got.data(), 0, rows);
            kernels::ref::softmax_f32(rows, cols, x.data(), want.data());
            for (size_t i = 0; i < rows * cols; ++i) {
                CAPTURE(seed);
                CAPTURE(i);
                // xsimd::exp is within a few ulp of std::exp; the normalising sum adds cols roundings.
                REQUIRE(std::fabs(got[i] - want[i]) <= 1e-6f * want[i] + 4e-6f * float(cols) * want[i] + 1e-37f);
            }
        }
}

TEST_CASE("pool2d_f32 (average and max) matches the reference: windows, strides, pads, channel remainders") {
    INFO("arch: ", std::string(Arch::name()));
    constexpr size_t S = xsimd::batch<float, Arch>::size;
    uint32_t seed = 15000;
    struct Case { int k, s; Pads pads; };
    const Case cases[] = {{2, 2, {0, 0, 0, 0}}, {3, 1, {1, 1, 1, 1}}, {3, 2, {0, 0, 1, 1}}, {7, 7, {0, 0, 0, 0}},
                          {3, 2, {1, 0, 0, 1}}};
    for (const Case& cs : cases)
        for (size_t C : {size_t(1), S - 1, S, S + 3, size_t(37)})
            for (size_t H : {3, 7, 9})
                for (bool include_pad : {false, true})
                    for (auto mode : {kernels::f32::PoolMode::average, kernels::f32::PoolMode::max}) {
                        ++seed;
                        Window2D win;
                        win.kernel_h = win.kernel_w = cs.k;
                        win.stride_h = win.stride_w = cs.s;
                        win.pads = cs.pads;
                        const size_t W = H + 1;
                        const int OH = win.out_h(int(H)), OW = win.out_w(int(W));
                        if (OH <= 0 || OW <= 0) continue;
                        std::mt19937 rng(seed);
                        Floats x = random_floats(H * W * C, rng);
                        const size_t n = size_t(OH) * size_t(OW) * C;
                        Floats got(n), want(n);
                        kernels::f32::pool2d_f32<Arch>(H, W, C, x.data(), win, mode, include_pad, got.data(), OW, 0, OH);
                        if (mode == kernels::f32::PoolMode::max)
                            kernels::ref::max_pool_f32(H, W, C, x.data(), win, want.data());
                        else
                            kernels::ref::avg_pool_f32(H, W, C, x.data(), win, include_pad, want.data());
                        CAPTURE(seed);
                        CAPTURE(cs.k);
                        CAPTURE(C);
                        for (size_t i = 0; i < n; ++i)
                            REQUIRE(std::fabs(got[i] - want[i]) <= 1e-6f * float(cs.k * cs.k));
                        // (a max over a small single-channel image can legitimately be the same everywhere)
                        if (mode == kernels::f32::PoolMode::average || C > 1) check_not_constant(got.data(), n);
                    }
}
