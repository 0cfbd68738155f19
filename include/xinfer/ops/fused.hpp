#pragma once
// FusedBlock: an inverted-residual block (MobileNetV2) as one op,
//   [expand 1x1 (+clamp)] -> depthwise 3x3, stride 1 or 2 (+clamp) -> project 1x1 (+clamp) [-> + block input (+clamp)]
// built from the ops the executor made for those nodes (graph/executor.hpp hands them over).
//
// Large blocks run in bands of output rows: the expanded rows a band needs are computed into a few rows of scratch
// (the rows it shares with the previous band are kept), the depthwise kernel turns them into the band's rows, and
// the projection (and the residual add) follow while all of it is still in L2. The expanded and depthwise tensors
// never go to memory, and the activation arena loses them. Each thread takes one contiguous range of rows.
// Other blocks run op by op with the intermediates in the workspace: small ones (both intermediates within
// kWholeMaxBytes per image) stay in cache anyway, and large weights would be re-read once per band.
// Either way every output is computed by the same kernels from the same operands as the unfused ops: the results
// are bit-identical.
#include <algorithm>
#include <cstring>
#include <memory>

#include "xinfer/ops/conv2d.hpp"
#include "xinfer/ops/eltwise.hpp"

namespace xinfer::ops {

class FusedBlock : public Op {
public:
    static constexpr size_t kWholeMaxBytes = 512 * 1024;  // per image: both intermediates, fp32 (about L2)
    static constexpr size_t kBandBytes = 192 * 1024;       // per thread: expanded rows + depthwise rows of a band

    // expand and residual may be null. The ops must be optimized Conv2D<float> (gemm 1x1 / dwconv3x3 / gemm 1x1)
    // and Add<float>; can_fuse() tells.
    FusedBlock(std::unique_ptr<Op> expand, std::unique_ptr<Op> depthwise, std::unique_ptr<Op> project,
               std::unique_ptr<Op> residual, std::string name)
        : expand_op_(std::move(expand)), dw_op_(std::move(depthwise)), project_op_(std::move(project)),
          residual_op_(std::move(residual)), name_(std::move(name)) {
        XINFER_CHECK(can_fuse(expand_op_.get(), dw_op_.get(), project_op_.get(), residual_op_.get()),
                     ErrorCode::internal, name_, ": these ops do not form an inverted-residual block");
        expand_ = static_cast<const Conv2D<float>*>(expand_op_.get());
        dw_ = static_cast<const Conv2D<float>*>(dw_op_.get());
        project_ = static_cast<const Conv2D<float>*>(project_op_.get());
        residual_ = static_cast<const Add<float>*>(residual_op_.get());
    }

    static bool can_fuse(const Op* expand, const Op* depthwise, const Op* project, const Op* residual) {
        auto conv = [](const Op* op, Conv2D<float>::Variant v) {
            const auto* c = dynamic_cast<const Conv2D<float>*>(op);
            return c && c->variant() == v;
        };
        const auto* add = dynamic_cast<const Add<float>*>(residual);
        return (!expand || conv(expand, Conv2D<float>::Variant::gemm_1x1)) &&
               conv(depthwise, Conv2D<float>::Variant::dwconv3x3) &&
               conv(project, Conv2D<float>::Variant::gemm_1x1) && (!residual || (add && !add->reference()));
    }

    std::string kind() const override {
        return detail::concat("FusedBlock ", expand_ ? "1x1+" : "", "dw3x3/", dw_->window().stride_h, "+1x1",
                              residual_ ? "+add" : "");
    }

    Shape output_shape(const std::vector<Shape>& in) const override { return shapes(in[0]).out; }

    size_t workspace_bytes(const std::vector<Shape>& in, int threads) const override {
        const Geometry g = geometry(in[0]);
        const size_t floats = g.banded ? size_t(threads) * g.part_floats : g.N * (g.expand_floats + g.dw_floats);
        return floats * sizeof(float) + 2 * kPad;
    }

    size_t macs(const std::vector<Shape>& in, const Shape& out) const override {
        const Shapes s = shapes(in[0]);
        return (expand_ ? expand_->macs({in[0]}, s.expanded) : 0) + dw_->macs({s.expanded}, s.dw) +
               project_->macs({s.dw}, out);
    }
    size_t parameter_bytes() const override {
        return (expand_ ? expand_->parameter_bytes() : 0) + dw_->parameter_bytes() + project_->parameter_bytes();
    }

    void run(const RunArgs& a) const override {
        const Geometry g = geometry(a.input_shapes[0]);
        if (g.banded)
            run_banded(a, g);
        else
            run_whole(a, g);
    }

private:
    static constexpr size_t kPad = (XINFER_EXTRA_BYTES + XINFER_ALIGNMENT - 1) / XINFER_ALIGNMENT * XINFER_ALIGNMENT;

    struct Shapes {
        Shape expanded, dw, out;
    };
    Shapes shapes(const Shape& x) const {
        Shapes s;
        s.expanded = expand_ ? expand_->output_shape({x}) : x;
        s.dw = dw_->output_shape({s.expanded});
        s.out = project_->output_shape({s.dw});
        if (residual_) s.out = residual_->output_shape({s.out, x});
        return s;
    }

    struct Geometry {
        Shapes s;
        size_t N, H, W, Cin, Ce, OH, OW, Cout, stride;
        long pad_top;
        size_t expand_floats, dw_floats;  // per image
        bool banded;
        size_t band_rows = 0, slab_floats = 0, band_floats = 0, part_floats = 0;
    };
    static size_t round16(size_t floats) { return (floats + 15) / 16 * 16; }

    Geometry geometry(const Shape& x) const {
        Geometry g;
        g.s = shapes(x);
        g.N = size_t(x[0]), g.H = size_t(x[1]), g.W = size_t(x[2]), g.Cin = size_t(x[3]);
        g.Ce = size_t(g.s.expanded[3]);
        g.OH = size_t(g.s.dw[1]), g.OW = size_t(g.s.dw[2]), g.Cout = size_t(g.s.out[3]);
        g.stride = size_t(dw_->window().stride_h);
        g.pad_top = dw_->window().pads.top;
        g.expand_floats = expand_ ? round16(g.H * g.W * g.Ce) : 0;
        g.dw_floats = round16(g.OH * g.OW * g.Ce);
        // The most output rows per band whose expanded rows and depthwise rows fit in kBandBytes (at least one).
        auto slab_rows = [&](size_t rows) { return expand_ ? std::min(g.H, (rows - 1) * g.stride + 3) : 0; };
        auto band_floats = [&](size_t rows) { return slab_rows(rows) * g.W * g.Ce + rows * g.OW * g.Ce; };
        g.band_rows = 1;
        while (g.band_rows < g.OH && band_floats(g.band_rows + 1) * sizeof(float) <= kBandBytes) ++g.band_rows;
        // Bands pay when the intermediates would leave L2 and re-reading the weights once per band costs less
        // than the traffic they save (MobileNetV2 at 224: the blocks at 112, 56 and 28 pixels).
        const size_t intermediate_bytes = (g.expand_floats + g.dw_floats) * sizeof(float);
        const size_t weight_bytes = (expand_ ? expand_->parameter_bytes() : 0) + project_->parameter_bytes();
        const size_t bands = (g.OH + g.band_rows - 1) / g.band_rows;
        g.banded = intermediate_bytes > kWholeMaxBytes && weight_bytes * bands <= intermediate_bytes;
        if (!g.banded) return g;
        g.slab_floats = round16(slab_rows(g.band_rows) * g.W * g.Ce) + kPad / sizeof(float);
        g.band_floats = round16(g.band_rows * g.OW * g.Ce) + kPad / sizeof(float);
        g.part_floats = g.slab_floats + g.band_floats;
        return g;
    }

    // The ops one after another, intermediates in the workspace.
    void run_whole(const RunArgs& a, const Geometry& g) const {
        float* expanded = static_cast<float*>(a.workspace);
        float* dw_out = expanded + g.N * g.expand_floats;
        const void* x = a.inputs[0];
        const Shape& xs = a.input_shapes[0];
        if (expand_) {
            const void* in[1] = {x};
            expand_->run(RunArgs{in, &xs, expanded, &g.s.expanded, nullptr, a.pool});
        }
        const void* dw_in[1] = {expand_ ? expanded : x};
        dw_->run(RunArgs{dw_in, &g.s.expanded, dw_out, &g.s.dw, nullptr, a.pool});
        const void* project_in[1] = {dw_out};
        project_->run(RunArgs{project_in, &g.s.dw, a.output, a.output_shape, nullptr, a.pool});
        if (residual_) {
            const void* add_in[2] = {a.output, x};
            const Shape add_shapes[2] = {g.s.out, xs};
            residual_->run(RunArgs{add_in, add_shapes, a.output, a.output_shape, nullptr, a.pool});
        }
    }

    // One contiguous range of output rows (over all images) per thread, each with its own scratch.
    void run_banded(const RunArgs& a, const Geometry& g) const {
        const size_t threads = a.pool ? size_t(a.pool->threads()) : 1;
        const size_t rows = g.N * g.OH, parts = std::min(threads, rows);
        parallel_chunks(a.pool, parts, [&](size_t q0, size_t q1) {
            for (size_t q = q0; q < q1; ++q) {
                float* scratch = static_cast<float*>(a.workspace) + q * g.part_floats;
                const size_t r_end = (q + 1) * rows / parts;
                for (size_t r = q * rows / parts; r < r_end;) {
                    const size_t n = r / g.OH, oy0 = r % g.OH, oy1 = std::min(g.OH, oy0 + (r_end - r));
                    run_rows(a, g, n, oy0, oy1, scratch);
                    r += oy1 - oy0;
                }
            }
        }, 1);
    }

    // Output rows [oy_begin, oy_end) of image n, band by band.
    void run_rows(const RunArgs& a, const Geometry& g, size_t n, size_t oy_begin, size_t oy_end, float* scratch) const {
        const float* x = static_cast<const float*>(a.inputs[0]) + n * g.H * g.W * g.Cin;
        float* y = static_cast<float*>(a.output) + n * g.OH * g.OW * g.Cout;
        float* slab = scratch;                 // expanded rows [have_begin, have_end)
        float* band = scratch + g.slab_floats;  // depthwise output rows of the band
        const size_t expanded_row = g.W * g.Ce;
        size_t have_begin = 0, have_end = 0;
        for (size_t oy0 = oy_begin; oy0 < oy_end; oy0 += g.band_rows) {
            const size_t oy1 = std::min(oy_end, oy0 + g.band_rows);
            const float* dw_in = x;
            size_t dw_row0 = 0;
            if (expand_) {
                // Input rows the band's windows reach.
                const long lo = long(oy0 * g.stride) - g.pad_top, hi = long((oy1 - 1) * g.stride) - g.pad_top + 3;
                const size_t r0 = size_t(std::clamp(lo, 0L, long(g.H))), r1 = std::max(r0, size_t(std::clamp(hi, 0L, long(g.H))));
                size_t kept = 0;
                if (have_begin <= r0 && r0 < have_end) {
                    kept = std::min(have_end, r1) - r0;
                    std::memmove(slab, slab + (r0 - have_begin) * expanded_row, kept * expanded_row * sizeof(float));
                }
                expand_->pointwise_rows((r1 - r0 - kept) * g.W, x + (r0 + kept) * g.W * g.Cin,
                                        slab + kept * expanded_row);
                have_begin = r0, have_end = r1;
                dw_in = slab, dw_row0 = r0;
            }
            dw_->depthwise_band(g.H, g.W, dw_in, dw_row0, band, g.OH, g.OW, oy0, oy1);
            const size_t M = (oy1 - oy0) * g.OW;
            float* yb = y + oy0 * g.OW * g.Cout;
            project_->pointwise_rows(M, band, yb);
            // The Add's operand order does not matter: fp32 addition is commutative, bit for bit.
            if (residual_) residual_->add_elements(M * g.Cout, yb, x + oy0 * g.W * g.Cin, yb);
        }
    }

    std::unique_ptr<Op> expand_op_, dw_op_, project_op_, residual_op_;
    const Conv2D<float>* expand_ = nullptr;
    const Conv2D<float>* dw_ = nullptr;
    const Conv2D<float>* project_ = nullptr;
    const Add<float>* residual_ = nullptr;
    std::string name_;
};

}  // namespace xinfer::ops
