#pragma once
// Conv2D: NHWC convolution with fused bias and clamp. Build picks the kernel:
//   1x1 stride 1 unpadded, groups 1    -> packed GEMM straight on the activation buffer (no im2col)
//   depthwise 3x3, stride 1 or 2       -> dwconv3x3
//   groups 1 with few input channels   -> direct convolution (the MobileNetV2 stem)
//   anything else                      -> im2col + packed GEMM, per group
// Conv2D<int8_t> (docs/int8.md) chooses the same way, except that the stem runs as im2col + GEMM. Build
// validates the quantization parameters, computes the per-channel multipliers s_x * s_w[c] / s_y once and packs the
// weights, the input zero point folded into the bias.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <xsimd/xsimd.hpp>

#include "xinfer/core/buffer.hpp"
#include "xinfer/core/dtype.hpp"
#include "xinfer/kernels/f32/conv_direct.hpp"
#include "xinfer/kernels/f32/dwconv3x3.hpp"
#include "xinfer/kernels/f32/gemm.hpp"
#include "xinfer/kernels/im2col.hpp"
#include "xinfer/kernels/ref/conv2d.hpp"
#include "xinfer/kernels/s8/dwconv3x3.hpp"
#include "xinfer/kernels/s8/gemm.hpp"
#include "xinfer/ops/op.hpp"
#include "xinfer/ops/quant_params.hpp"

namespace xinfer::ops {

struct Conv2DParams {
    Window2D window;
    size_t groups = 1;
    kernels::MinMax clamp;
};

template <class T> class Conv2D;

template <>
class Conv2D<float> : public Op {
public:
    enum class Variant { gemm_1x1, dwconv3x3, direct, im2col_gemm, reference };
    static constexpr size_t kIm2colRows = 64;     // output pixels per im2col chunk
    static constexpr size_t kDirectMaxCin = 8;    // direct kernel only for few input channels

    // weights: OHWI [Cout][KH][KW][Cin/groups]; bias: [Cout] or null.
    Conv2D(const Conv2DParams& p, const float* weights, const float* bias, size_t cout, size_t cin_per_group,
           KernelSet kernels, std::string name)
        : p_(p), cout_(cout), cin_g_(cin_per_group), name_(std::move(name)) {
        using Arch = XINFER_ARCH;
        p_.window.validate();
        XINFER_CHECK(p_.groups >= 1 && cout_ >= 1 && cin_g_ >= 1 && cout_ % p_.groups == 0,
                     ErrorCode::invalid_model, name_, ": invalid convolution: ", cout_, " output channels, ",
                     cin_g_, " input channels per group, ", p_.groups, " groups");
        const auto& w = p_.window;
        const size_t taps = size_t(w.kernel_h) * size_t(w.kernel_w);
        const size_t cin = cin_g_ * p_.groups;
        const bool unit = w.dilation_h == 1 && w.dilation_w == 1;
        if (kernels == KernelSet::reference) {
            variant_ = Variant::reference;
        } else if (taps == 1 && w.stride_h == 1 && w.stride_w == 1 && w.pads == Pads{} && p_.groups == 1) {
            variant_ = Variant::gemm_1x1;
        } else if (p_.groups == cin && cin_g_ == 1 && cout_ == cin && w.kernel_h == 3 && w.kernel_w == 3 && unit &&
                   w.stride_h == w.stride_w && (w.stride_h == 1 || w.stride_h == 2)) {
            variant_ = Variant::dwconv3x3;
        } else if (p_.groups == 1 && cin <= kDirectMaxCin) {
            variant_ = Variant::direct;
        } else {
            variant_ = Variant::im2col_gemm;
        }
        const size_t S = xsimd::batch<float, Arch>::size, NR = kernels::f32::GemmConfig<Arch>::nr;
        const size_t k_group = taps * cin_g_, cout_g = cout_ / p_.groups;
        switch (variant_) {
            case Variant::reference:
                packed_.resize(cout_ * k_group * sizeof(float));
                std::copy(weights, weights + cout_ * k_group, packed_.as<float>());
                if (bias) {
                    bias_.resize(cout_ * sizeof(float));
                    std::copy(bias, bias + cout_, bias_.as<float>());
                }
                break;
            case Variant::gemm_1x1:
                packed_.resize(kernels::f32::packed_gemm_floats(cout_, cin_g_, NR) * sizeof(float));
                kernels::f32::pack_gemm_goi(cout_, cin_g_, NR, weights, bias, packed_.as<float>());
                break;
            case Variant::dwconv3x3:
                packed_.resize(kernels::f32::packed_dwconv3x3_floats(cout_, S) * sizeof(float));
                kernels::f32::pack_dwconv3x3_ghw(cout_, S, weights, bias, packed_.as<float>());
                break;
            case Variant::direct: {
                const size_t nr = kernels::f32::conv_direct_nr(S);
                packed_.resize(kernels::f32::packed_conv_direct_floats(cout_, k_group, nr) * sizeof(float));
                kernels::f32::pack_conv_direct_ohwi(cout_, k_group, nr, weights, bias, packed_.as<float>());
                break;
            }
            case Variant::im2col_gemm: {
                group_floats_ = kernels::f32::packed_gemm_floats(cout_g, k_group, NR);
                packed_.resize(group_floats_ * p_.groups * sizeof(float));
                for (size_t g = 0; g < p_.groups; ++g)
                    kernels::f32::pack_gemm_goi(cout_g, k_group, NR, weights + g * cout_g * k_group,
                                                bias ? bias + g * cout_g : nullptr,
                                                packed_.as<float>() + g * group_floats_);
                break;
            }
        }
    }

    std::string kind() const override {
        static const char* names[] = {"gemm 1x1", "dwconv3x3", "direct", "im2col+gemm", "reference"};
        const auto& w = p_.window;
        return detail::concat("Conv2D ", names[int(variant_)], " ", w.kernel_h, "x", w.kernel_w, "/", w.stride_h,
                              p_.groups > 1 ? " groups " + std::to_string(p_.groups) : std::string());
    }
    Variant variant() const { return variant_; }
    const Window2D& window() const { return p_.window; }

    // Parts of a tensor, for ops that run this convolution band by band (ops/fused.hpp); optimized kernels.
    // gemm 1x1: y[M][cout] from x[M][cin].
    void pointwise_rows(size_t M, const float* x, float* y) const {
        using Arch = XINFER_ARCH;
        constexpr size_t NR = kernels::f32::GemmConfig<Arch>::nr;
        XINFER_ASSERT(variant_ == Variant::gemm_1x1);
        kernels::f32::gemm_f32<Arch>(0, M, 0, (cout_ + NR - 1) / NR, cout_, cin_g_, x, cin_g_, packed_.as<float>(), y,
                                     cout_, p_.clamp);
    }
    // dwconv3x3: output rows [oy0, oy1) of one [H][W][C] image into y (row oy0 first), from x holding the image's
    // input rows from x_row0 on.
    void depthwise_band(size_t H, size_t W, const float* x, size_t x_row0, float* y, size_t OH, size_t OW, size_t oy0,
                        size_t oy1) const {
        XINFER_ASSERT(variant_ == Variant::dwconv3x3);
        kernels::f32::dwconv3x3_f32_band<XINFER_ARCH>(H, W, cout_, x, x_row0, packed_.as<float>(), p_.window.stride_h,
                                                      p_.window.pads, y, OH, OW, p_.clamp, oy0, oy1);
    }

    Shape output_shape(const std::vector<Shape>& in) const override {
        return conv_output_shape(in[0], p_.window, cin_g_ * p_.groups, cout_, name_);
    }

    size_t workspace_bytes(const std::vector<Shape>&, int threads) const override {
        if (variant_ == Variant::im2col_gemm) {
            const size_t k_group = size_t(p_.window.kernel_h) * size_t(p_.window.kernel_w) * cin_g_;
            return size_t(threads) * chunk_stride(k_group) * sizeof(float);
        }
        return 0;
    }

    size_t macs(const std::vector<Shape>&, const Shape& out) const override {
        return size_t(out[0] * out[1] * out[2] * out[3]) * size_t(p_.window.kernel_h * p_.window.kernel_w) * cin_g_;
    }
    size_t parameter_bytes() const override { return packed_.size() + bias_.size(); }

    void run(const RunArgs& a) const override {
        using Arch = XINFER_ARCH;
        const Shape& xs = a.input_shapes[0];
        const Shape& ys = *a.output_shape;
        const size_t N = size_t(xs[0]), H = size_t(xs[1]), W = size_t(xs[2]), C = size_t(xs[3]);
        const size_t OH = size_t(ys[1]), OW = size_t(ys[2]);
        const float* x = static_cast<const float*>(a.inputs[0]);
        float* y = static_cast<float*>(a.output);
        const float* packed = packed_.as<float>();
        const auto mm = p_.clamp;
        switch (variant_) {
            case Variant::reference:
                for (size_t n = 0; n < N; ++n)
                    kernels::ref::conv2d_nhwc_f32(H, W, C, x + n * H * W * C, p_.window, p_.groups, cout_, packed,
                                                  bias_.empty() ? nullptr : bias_.as<float>(),
                                                  y + n * OH * OW * cout_, mm);
                return;
            case Variant::gemm_1x1: {
                constexpr size_t MR = kernels::f32::GemmConfig<Arch>::mr, NR = kernels::f32::GemmConfig<Arch>::nr;
                const size_t M = N * H * W, panels = (cout_ + NR - 1) / NR;
                parallel_gemm(a.pool, M, MR, panels, [&](size_t m0, size_t m1, size_t p0, size_t p1) {
                    kernels::f32::gemm_f32<Arch>(m0, m1, p0, p1, cout_, C, x, C, packed, y, cout_, mm);
                });
                return;
            }
            case Variant::dwconv3x3: {
                parallel_chunks(a.pool, N * OH, [&](size_t r0, size_t r1) {
                    for (size_t r = r0; r < r1;) {
                        const size_t n = r / OH, oy0 = r % OH, oy1 = std::min(OH, oy0 + (r1 - r));
                        kernels::f32::dwconv3x3_f32<Arch>(H, W, C, x + n * H * W * C, packed, p_.window.stride_h,
                                                          p_.window.pads, y + n * OH * OW * C, OH, OW, mm, oy0, oy1);
                        r += oy1 - oy0;
                    }
                });
                return;
            }
            case Variant::direct:
                parallel_chunks(a.pool, N * OH, [&](size_t r0, size_t r1) {
                    for (size_t r = r0; r < r1;) {
                        const size_t n = r / OH, oy0 = r % OH, oy1 = std::min(OH, oy0 + (r1 - r));
                        kernels::f32::conv_direct_f32<Arch>(H, W, C, x + n * H * W * C, p_.window, cout_, packed,
                                                            y + n * OH * OW * cout_, OW, mm, oy0, oy1);
                        r += oy1 - oy0;
                    }
                });
                return;
            case Variant::im2col_gemm: {
                constexpr size_t NR = kernels::f32::GemmConfig<Arch>::nr;
                const size_t k_group = size_t(p_.window.kernel_h) * size_t(p_.window.kernel_w) * cin_g_;
                const size_t cout_g = cout_ / p_.groups, panels = (cout_g + NR - 1) / NR;
                const size_t pixels = OH * OW, chunks_per_image = (pixels + kIm2colRows - 1) / kIm2colRows;
                const size_t stride = chunk_stride(k_group);
                const int threads = a.pool ? a.pool->threads() : 1;
                const size_t per_part = (N * chunks_per_image + size_t(threads) - 1) / size_t(threads);
                // One contiguous range of chunks per thread, each thread with its own im2col buffer.
                parallel_chunks(a.pool, size_t(threads), [&](size_t t0, size_t t1) {
                    for (size_t t = t0; t < t1; ++t) {
                        float* cols = static_cast<float*>(a.workspace) + t * stride;
                        const size_t c_end = std::min(N * chunks_per_image, (t + 1) * per_part);
                        for (size_t chunk = t * per_part; chunk < c_end; ++chunk) {
                            const size_t n = chunk / chunks_per_image;
                            const size_t p0 = (chunk % chunks_per_image) * kIm2colRows;
                            const size_t p1 = std::min(pixels, p0 + kIm2colRows);
                            const float* xi = x + n * H * W * C;
                            float* yi = y + (n * pixels + p0) * cout_;
                            for (size_t g = 0; g < p_.groups; ++g) {
                                kernels::im2col_nhwc(H, W, C, xi, 0.0f, p_.window, OW, g, cin_g_, p0, p1, cols,
                                                     k_group);
                                kernels::f32::gemm_f32<Arch>(0, p1 - p0, 0, panels, cout_g, k_group, cols, k_group,
                                                             packed + g * group_floats_, yi + g * cout_g, cout_, mm);
                            }
                        }
                    }
                });
                return;
            }
        }
    }

private:
    static size_t chunk_stride(size_t k_group) {
        return AlignedBuffer::round_up(kIm2colRows * k_group + XINFER_EXTRA_BYTES / sizeof(float), 16);
    }

    Conv2DParams p_;
    size_t cout_, cin_g_;
    std::string name_;
    Variant variant_ = Variant::reference;
    AlignedBuffer packed_, bias_;
    size_t group_floats_ = 0;
};

template <>
class Conv2D<int8_t> : public Op {
public:
    enum class Variant { gemm_1x1, dwconv3x3, im2col_gemm, reference };
    static constexpr size_t kIm2colRows = 96;  // output pixels per im2col chunk: whole register tiles of 6 rows

    // weights: OHWI int8 [Cout][KH][KW][Cin/groups]; bias: int32 [Cout] or null.
    Conv2D(const Window2D& window, size_t groups, const QLinearParams& q, const int8_t* weights, const int32_t* bias,
           size_t cout, size_t cin_per_group, KernelSet kernels, std::string name)
        : win_(window), groups_(groups), x_(q.x), cout_(cout), cin_g_(cin_per_group), name_(std::move(name)) {
        win_.validate();
        XINFER_CHECK(groups_ >= 1 && cout_ >= 1 && cin_g_ >= 1 && cout_ % groups_ == 0, ErrorCode::invalid_model,
                     name_, ": invalid convolution: ", cout_, " output channels, ", cin_g_,
                     " input channels per group, ", groups_, " groups");
        multiplier_ = channel_multipliers(q.x, q.w_scale, q.w_scale_count, cout_, q.y, name_);
        rq_ = make_requant(q.y, q.clamp);
        const size_t taps = size_t(win_.kernel_h) * size_t(win_.kernel_w), cin = cin_g_ * groups_;
        const size_t k_group = taps * cin_g_, cout_g = cout_ / groups_;
        const bool unit = win_.dilation_h == 1 && win_.dilation_w == 1;
        if (kernels == KernelSet::reference) {
            variant_ = Variant::reference;
        } else if (taps == 1 && win_.stride_h == 1 && win_.stride_w == 1 && win_.pads == Pads{} && groups_ == 1) {
            variant_ = Variant::gemm_1x1;
        } else if (groups_ == cin && cin_g_ == 1 && cout_ == cin && win_.kernel_h == 3 && win_.kernel_w == 3 &&
                   unit && win_.stride_h == win_.stride_w && (win_.stride_h == 1 || win_.stride_h == 2)) {
            variant_ = Variant::dwconv3x3;
        } else {
            variant_ = Variant::im2col_gemm;
        }
        switch (variant_) {
            case Variant::reference:
                buffer_copy(weights_, weights, cout_ * k_group);
                if (bias) buffer_copy(bias_, bias, cout_);
                break;
            case Variant::gemm_1x1:
            case Variant::im2col_gemm:
                for (size_t g = 0; g < groups_; ++g)  // each group's layout follows its weights
                    group_bytes_ = std::max(group_bytes_, kernels::s8::packed_gemm_s8_bytes(
                                                              cout_g, k_group, weights + g * cout_g * k_group));
                group_bytes_ = AlignedBuffer::round_up(group_bytes_, 64);
                weights_.resize(group_bytes_ * groups_);
                for (size_t g = 0; g < groups_; ++g)
                    kernels::s8::pack_gemm_goi_s8(cout_g, k_group, weights + g * cout_g * k_group,
                                              bias ? bias + g * cout_g : nullptr, x_.zero_point,
                                              multiplier_.data() + g * cout_g, weights_.data() + g * group_bytes_);
                break;
            case Variant::dwconv3x3:
                weights_.resize(kernels::s8::packed_dwconv3x3_s8_bytes(cout_));
                kernels::s8::pack_dwconv3x3_ghw_s8(cout_, weights, bias, x_.zero_point, multiplier_.data(),
                                               weights_.data());
                break;
        }
    }
    std::string kind() const override {
        static const char* names[] = {"gemm 1x1", "dwconv3x3", "im2col+gemm", "reference"};
        return detail::concat("QConv2D ", names[int(variant_)], gemm_layout_suffix(), " ", win_.kernel_h, "x",
                              win_.kernel_w, "/", win_.stride_h,
                              groups_ > 1 ? " groups " + std::to_string(groups_) : std::string());
    }
    Variant variant() const { return variant_; }
    DataType input_dtype(size_t) const override { return DataType::s8; }
    DataType output_dtype() const override { return DataType::s8; }
    Shape output_shape(const std::vector<Shape>& in) const override {
        return conv_output_shape(in[0], win_, cin_g_ * groups_, cout_, name_);
    }
    size_t workspace_bytes(const std::vector<Shape>& in, int threads) const override {
        if (variant_ == Variant::dwconv3x3) return kernels::s8::dwconv3x3_s8_workspace_bytes(size_t(in[0][3]));
        if (variant_ == Variant::im2col_gemm) return size_t(threads) * chunk_stride();
        return 0;
    }
    size_t macs(const std::vector<Shape>&, const Shape& out) const override {
        return size_t(out[0] * out[1] * out[2] * out[3]) * size_t(win_.kernel_h * win_.kernel_w) * cin_g_;
    }
    size_t parameter_bytes() const override { return weights_.size() + bias_.size() + multiplier_.size() * 4; }

    void run(const RunArgs& a) const override {
        using Arch = XINFER_ARCH;
        const Shape& xs = a.input_shapes[0];
        const Shape& ys = *a.output_shape;
        const size_t N = size_t(xs[0]), H = size_t(xs[1]), W = size_t(xs[2]), C = size_t(xs[3]);
        const size_t OH = size_t(ys[1]), OW = size_t(ys[2]), out_image = OH * OW * cout_;
        const int8_t* x = static_cast<const int8_t*>(a.inputs[0]);
        int8_t* y = static_cast<int8_t*>(a.output);
        switch (variant_) {
            case Variant::reference:
                for (size_t n = 0; n < N; ++n)
                    kernels::ref::conv2d_nhwc_s8(H, W, C, x + n * H * W * C, x_.zero_point, win_, groups_, cout_,
                                                 weights_.as<int8_t>(), bias_.empty() ? nullptr : bias_.as<int32_t>(),
                                                 multiplier_.data(), y + n * out_image, rq_);
                return;
            case Variant::gemm_1x1: {
                constexpr size_t MR = kernels::s8::gemm_s8_mr<Arch>();
                const size_t M = N * H * W;
                parallel_gemm(a.pool, M, MR, 0, [&](size_t m0, size_t m1, size_t, size_t) {
                    kernels::s8::gemm_s8<Arch>(m0, m1, cout_, C, x, C, weights_.data(), y, cout_, rq_);
                });
                return;
            }
            case Variant::dwconv3x3:
                kernels::s8::prepare_dwconv3x3_s8_workspace(C, x_.zero_point, a.workspace);
                parallel_chunks(a.pool, N * OH, [&](size_t r0, size_t r1) {
                    for (size_t r = r0; r < r1;) {
                        const size_t n = r / OH, oy0 = r % OH, oy1 = std::min(OH, oy0 + (r1 - r));
                        kernels::s8::dwconv3x3_s8<Arch>(H, W, C, x + n * H * W * C, weights_.data(), a.workspace,
                                                        win_.stride_h, win_.pads, y + n * out_image, OH, OW, rq_, oy0,
                                                        oy1);
                        r += oy1 - oy0;
                    }
                });
                return;
            case Variant::im2col_gemm: {
                const size_t k_group = size_t(win_.kernel_h) * size_t(win_.kernel_w) * cin_g_;
                const size_t cout_g = cout_ / groups_, pixels = OH * OW;
                const size_t chunks_per_image = (pixels + kIm2colRows - 1) / kIm2colRows;
                const int threads = a.pool ? a.pool->threads() : 1;
                const size_t per_part = (N * chunks_per_image + size_t(threads) - 1) / size_t(threads);
                // One contiguous range of chunks per thread, each with its own im2col buffer.
                parallel_chunks(a.pool, size_t(threads), [&](size_t t0, size_t t1) {
                    for (size_t t = t0; t < t1; ++t) {
                        int8_t* cols = static_cast<int8_t*>(a.workspace) + t * chunk_stride();
                        const size_t c_end = std::min(N * chunks_per_image, (t + 1) * per_part);
                        for (size_t chunk = t * per_part; chunk < c_end; ++chunk) {
                            const size_t n = chunk / chunks_per_image;
                            const size_t p0 = (chunk % chunks_per_image) * kIm2colRows;
                            const size_t p1 = std::min(pixels, p0 + kIm2colRows);
                            for (size_t g = 0; g < groups_; ++g) {
                                kernels::im2col_nhwc(H, W, C, x + n * H * W * C, int8_t(x_.zero_point), win_, OW,
                                                     g, cin_g_, p0, p1, cols, im2col_ld());
                                kernels::s8::gemm_s8<Arch>(0, p1 - p0, cout_g, k_group, cols, im2col_ld(),
                                                           weights_.data() + g * group_bytes_,
                                                           y + (n * pixels + p0) * cout_ + g * cout_g, cout_, rq_);
                            }
                        }
                    }
                });
                return;
            }
        }
    }

private:
    std::string gemm_layout_suffix() const {
        const bool gemm = variant_ == Variant::gemm_1x1 || variant_ == Variant::im2col_gemm;
        return gemm ? quads_suffix(weights_.data()) : "";
    }
    // im2col rows unpadded: the GEMM reads a row only within its k, and padding would cost a fill per row (for
    // the stem, K 27, two thirds of im2col's time).
    size_t im2col_ld() const { return size_t(win_.kernel_h) * size_t(win_.kernel_w) * cin_g_; }
    size_t chunk_stride() const { return AlignedBuffer::round_up(kIm2colRows * im2col_ld() + XINFER_EXTRA_BYTES, 64); }

    Window2D win_;
    size_t groups_;
    QuantParams x_;
    size_t cout_, cin_g_;
    std::string name_;
    Variant variant_ = Variant::reference;
    std::vector<float> multiplier_;
    kernels::Requant rq_;
    AlignedBuffer weights_, bias_;
    size_t group_bytes_ = 0;
};

}  // namespace xinfer::ops
