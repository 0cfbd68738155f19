#pragma once
// Depthwise 3x3 int8 convolution over NHWC, stride 1 or 2, explicit pads, requantized output.
// Channels are the vector axis, 16 per block. Exact int32 accumulation, in one of two packed layouts chosen by the
// compiler's target (quads_exact_for_any_weights, arch.hpp):
// - tap pairs (AVX2): each pair of int16 (sign-extended int8) inputs is multiplied into a pair of int16 weights
//   (vpmaddwd, or vpdpwssd with VNNI);
// - column quads (VNNI): the three taps of a kernel column and a zero tap form a quad; the input column's three
//   values + 128 as uint8 meet it in one vpdpbusd, the 128 * sum of the weights being folded into the bias.
//
// Tap pairs: rows 0 and 1 of each kernel column, (w[0][kx], w[1][kx]) for kx = 0..2, and in row 2 the horizontal
// pairs (w[2][0], w[2][1]) and (0, w[2][2]) (stride 1) or (w[2][2], 0) (stride 2). Along a row of outputs the
// interleaved input columns are then shared between neighbouring outputs: with stride 1 each output loads one new
// input column per row. Rows and columns outside the image read a workspace row of x_zero values (the real value
// 0), so one loop covers a whole output row, borders included.
//
// Packed layout (source "ghw": w[C][3][3], bias[C], multiplier[C]), per block of 16 channels (zero-padded past C):
//   int32 bias[16] (with x_zero * sum of the 9 weights subtracted, and 128 * that sum for column quads),
//   float multiplier[16], then either 6 tap pairs (kTapPairs order), each 16 x {int16, int16}, or 3 column quads
//   (kx = 0..2), each 16 x {w[0][kx], w[1][kx], w[2][kx], 0} as int8,
// with channels in lane_of16 order.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "xinfer/config.hpp"
#include "xinfer/core/shape.hpp"
#include "xinfer/kernels/params.hpp"
#include "xinfer/kernels/s8/arch.hpp"

namespace xinfer::kernels::s8 {

namespace dwconv_detail {

constexpr size_t kBlock = 16;
enum TapPair { kRows01Col0, kRows01Col1, kRows01Col2, kRow2Cols01, kRow2Col2Second, kRow2Col2First, kTapPairs };
constexpr size_t kPairInts = 2 * kBlock;  // int16 per tap pair
constexpr bool kColumnQuads = quads_exact_for_any_weights();
constexpr size_t kQuadBytes = 4 * kBlock;  // int8 per column quad
constexpr size_t kBlockBytes = kBlock * 4 * 2 + (kColumnQuads ? 3 * kQuadBytes : kTapPairs * kPairInts * 2);
constexpr int32_t kInputShift = kColumnQuads ? 128 : 0;  // added to the inputs (as uint8) by the column quads

inline size_t round_up_block(size_t C) { return (C + kBlock - 1) / kBlock * kBlock; }

// Weight of tap (ky, kx) at lane `lane` of a block's packed weights.
inline int32_t tap_weight(const unsigned char* weights, size_t lane, int ky, int kx) {
    if constexpr (kColumnQuads) return int8_t(weights[size_t(kx) * kQuadBytes + 4 * lane + size_t(ky)]);
    const auto* pairs = reinterpret_cast<const int16_t*>(weights);
    if (ky < 2) return pairs[size_t(kx) * kPairInts + 2 * lane + size_t(ky)];
    if (kx < 2) return pairs[kRow2Cols01 * kPairInts + 2 * lane + size_t(kx)];
    return pairs[kRow2Col2First * kPairInts + 2 * lane];
}

// One output row: its three input rows (a padding row is the x_zero row with a pixel step of 0).
struct RowJob {
    size_t W, C, OW;
    int stride;
    long pad_left;
    const int8_t* rows[3];
    size_t steps[3];
    const int8_t* zero_row;
    const unsigned char* packed;
    int8_t* y;  // the output row
    Requant rq;

    // Pointer to channel c of input column ix of kernel row ky, or to the x_zero row outside the image.
    const int8_t* column(int ky, long ix, size_t c) const {
        return ix >= 0 && ix < long(W) ? rows[ky] + size_t(ix) * steps[ky] + c : zero_row + c;
    }
};

// The three input rows of an output row at one channel block; columns outside the image read the x_zero row.
struct BlockColumns {
    const int8_t* rows[3];
    size_t steps[3];
    const int8_t* zero;
    size_t W;
    BlockColumns(const RowJob& job, size_t c0) : zero(job.zero_row + c0), W(job.W) {
        for (int ky = 0; ky < 3; ++ky) rows[ky] = job.rows[ky] + c0, steps[ky] = job.steps[ky];
    }
    // The block's channels at column col (any value; negative ones wrap to large) of kernel row ky.
    const int8_t* at(int ky, long col) const { return size_t(col) < W ? rows[ky] + size_t(col) * steps[ky] : zero; }
};

// Portable C++.
inline void row_generic(const RowJob& job) {
    for (size_t ox = 0; ox < job.OW; ++ox) {
        const long ix0 = long(ox) * job.stride - job.pad_left;
        for (size_t c = 0; c < job.C; ++c) {
            const unsigned char* block = job.packed + c / kBlock * kBlockBytes;
            const size_t lane = lane_of16(c % kBlock);
            int32_t acc = reinterpret_cast<const int32_t*>(block)[lane];
            for (int ky = 0; ky < 3; ++ky)
                for (int kx = 0; kx < 3; ++kx)
                    acc += (int32_t(*job.column(ky, ix0 + kx, c)) + kInputShift) *
                           tap_weight(block + kBlock * 8, lane, ky, kx);
            job.y[ox * job.C + c] = requantize(acc, reinterpret_cast<const float*>(block + kBlock * 4)[lane], job.rq);
        }
    }
}

#if defined(__AVX2__)
namespace avx2_dw {

using namespace avx2;

// 16 channels as int32 pairs: lanes {0-3, 8-11} and {4-7, 12-15}.
struct Pairs {
    __m256i lo, hi;
};

inline Pairs interleave(__m256i first, __m256i second) {
    return {_mm256_unpacklo_epi16(first, second), _mm256_unpackhi_epi16(first, second)};
}

// acc + the products of x with one tap pair's weights.
inline Pairs dot(const Pairs& acc, const Pairs& x, const int16_t* pair) {
    return {dot_pairs_add(acc.lo, x.lo, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(pair))),
            dot_pairs_add(acc.hi, x.hi, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(pair + 16)))};
}

inline Pairs product(const Pairs& x, const int16_t* pair) {
    return {_mm256_madd_epi16(x.lo, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(pair))),
            _mm256_madd_epi16(x.hi, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(pair + 16)))};
}

// The packed constants of one block of 16 channels.
struct Block {
    Pairs bias;
    __m256 multiplier_lo, multiplier_hi;
    const int16_t* w;
    explicit Block(const unsigned char* packed)
        : bias{_mm256_loadu_si256(reinterpret_cast<const __m256i*>(packed)),
               _mm256_loadu_si256(reinterpret_cast<const __m256i*>(packed + 32))},
          multiplier_lo(_mm256_loadu_ps(reinterpret_cast<const float*>(packed + kBlock * 4))),
          multiplier_hi(_mm256_loadu_ps(reinterpret_cast<const float*>(packed + kBlock * 4 + 32))),
          w(reinterpret_cast<const int16_t*>(packed + kBlock * 8)) {}
    const int16_t* pair(TapPair p) const { return w + p * kPairInts; }

    // bias + the five tap pairs (two dependency chains).
    Pairs sums(const Pairs& rows01_0, const Pairs& rows01_1, const Pairs& rows01_2, const Pairs& row2_01,
               const Pairs& row2_2, TapPair row2_2_pair) const {
        const Pairs chain_a = dot(dot(dot(bias, rows01_0, pair(kRows01Col0)), rows01_1, pair(kRows01Col1)), rows01_2,
                                  pair(kRows01Col2));
        const Pairs chain_b = dot(product(row2_01, pair(kRow2Cols01)), row2_2, pair(row2_2_pair));
        return {_mm256_add_epi32(chain_a.lo, chain_b.lo), _mm256_add_epi32(chain_a.hi, chain_b.hi)};
    }

    // Sums -> 16 int16 with the zero point added.
    template <bool FloatClamp>
    __m256i requantize(const Pairs& acc, const RequantVec& rq) const {
        return to_int16(round_scaled<FloatClamp>(acc.lo, multiplier_lo, rq),
                        round_scaled<FloatClamp>(acc.hi, multiplier_hi, rq), rq);
    }
};

// One output's 16 channels.
inline void store_one(int8_t* dst, __m256i v16, size_t cn, const RequantVec& rq) {
    const __m128i v = _mm256_castsi256_si128(to_int8(v16, v16, rq));
    if (cn == kBlock)
        _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), v);
    else
        store_bytes(dst, v, cn);
}

// The block's input columns, sign-extended to int16.
struct Columns : BlockColumns {
    using BlockColumns::BlockColumns;
    __m256i at(int ky, long col) const { return load16_s16(BlockColumns::at(ky, col)); }
    Pairs rows01(long col) const { return interleave(at(0, col), at(1, col)); }
};

// Outputs [0, OW), OW >= 1, of stride 1: each output loads one new input column per kernel row. Software-pipelined:
// the sums of output ox + 1 are computed next to the requantization of output ox, so the out-of-order core always
// has independent work at hand.
template <bool FloatClamp>
inline void block_row_s1(const Columns& in, long ix, size_t OW, int8_t* dst, size_t C, size_t cn, const Block& b,
                         const RequantVec& rq) {
    Pairs left = in.rows01(ix), middle = in.rows01(ix + 1);
    __m256i row2_mid = in.at(2, ix + 1);
    Pairs row2_left = interleave(in.at(2, ix), row2_mid);
    Pairs acc;
    for (size_t ox = 0; ox < OW; ++ox, ++ix) {
        const Pairs right = in.rows01(ix + 2);
        const __m256i row2_right = in.at(2, ix + 2);
        const Pairs row2_next = interleave(row2_mid, row2_right);
        const Pairs next = b.sums(left, middle, right, row2_left, row2_next, kRow2Col2Second);
        left = middle;
        middle = right;
        row2_left = row2_next;
        row2_mid = row2_right;
        if (ox > 0) {
            store_one(dst, b.requantize<FloatClamp>(acc, rq), cn, rq);
            dst += C;
        }
        acc = next;
    }
    store_one(dst, b.requantize<FloatClamp>(acc, rq), cn, rq);
}

// Stride 2: each output loads two new columns of rows 0-1 and one pair of row 2 (which reads column ix + 3, with a
// zero weight).
template <bool FloatClamp>
inline void block_row_s2(const Columns& in, long ix, size_t OW, int8_t* dst, size_t C, size_t cn, const Block& b,
                         const RequantVec& rq) {
    Pairs left = in.rows01(ix);
    Pairs row2_left = interleave(in.at(2, ix), in.at(2, ix + 1));
    Pairs acc;
    for (size_t ox = 0; ox < OW; ++ox, ix += 2) {
        const Pairs middle = in.rows01(ix + 1), right = in.rows01(ix + 2);
        const Pairs row2_right = interleave(in.at(2, ix + 2), in.at(2, ix + 3));
        const Pairs next = b.sums(left, middle, right, row2_left, row2_right, kRow2Col2First);
        left = right;
        row2_left = row2_right;
        if (ox > 0) {
            store_one(dst, b.requantize<FloatClamp>(acc, rq), cn, rq);
            dst += C;
        }
        acc = next;
    }
    store_one(dst, b.requantize<FloatClamp>(acc, rq), cn, rq);
}

template <bool FloatClamp>
inline void block_row(const RowJob& job, const Block& b, size_t c0, const RequantVec& rq) {
    const Columns in(job, c0);
    const size_t cn = std::min(kBlock, job.C - c0);
    if (job.OW == 0) return;
    if (job.stride == 1)
        block_row_s1<FloatClamp>(in, -job.pad_left, job.OW, job.y + c0, job.C, cn, b, rq);
    else
        block_row_s2<FloatClamp>(in, -job.pad_left, job.OW, job.y + c0, job.C, cn, b, rq);
}

// Calls block_row(float_clamp, block, c0, rq) for each block of 16 channels of the output row; float_clamp is
// std::false_type where every multiplier of the block is below one (the int8 clamp suffices).
template <class BlockT, class BlockRow>
inline void each_block(const RowJob& job, BlockRow&& block_row) {
    const RequantVec rq(job.rq);
    for (size_t c0 = 0; c0 < job.C; c0 += kBlock) {
        const BlockT b(job.packed + c0 / kBlock * kBlockBytes);
        if (below_one(b.multiplier_lo) && below_one(b.multiplier_hi))
            block_row(std::false_type{}, b, c0, rq);
        else
            block_row(std::true_type{}, b, c0, rq);
    }
}

inline void row(const RowJob& job) {
    each_block<Block>(job, [&](auto float_clamp, const Block& b, size_t c0, const RequantVec& rq) {
        block_row<decltype(float_clamp)::value>(job, b, c0, rq);
    });
}

}  // namespace avx2_dw

#if defined(XINFER_S8_VNNI)
namespace vnni_dw {

using namespace avx2;

// 16 channels of one input column (kernel rows 0-2 and a zero tap) as uint8 quads: {0-3, 8-11} and {4-7, 12-15}.
struct Quads {
    __m256i lo, hi;
};

// The packed constants of one block of 16 channels.
struct Block {
    __m256i bias_lo, bias_hi, w_lo[3], w_hi[3];
    __m256 multiplier_lo, multiplier_hi;
    explicit Block(const unsigned char* packed)
        : bias_lo(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(packed))),
          bias_hi(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(packed + 32))),
          multiplier_lo(_mm256_loadu_ps(reinterpret_cast<const float*>(packed + kBlock * 4))),
          multiplier_hi(_mm256_loadu_ps(reinterpret_cast<const float*>(packed + kBlock * 4 + 32))) {
        const auto* w = reinterpret_cast<const __m256i*>(packed + kBlock * 8);
        for (int kx = 0; kx < 3; ++kx) {
            w_lo[kx] = _mm256_loadu_si256(w + 2 * kx);
            w_hi[kx] = _mm256_loadu_si256(w + 2 * kx + 1);
        }
    }
    // bias + the three columns' quads against their weights.
    Quads sums(const Quads& left, const Quads& middle, const Quads& right) const {
        return {dot_quads_add(dot_quads_add(dot_quads_add(bias_lo, left.lo, w_lo[0]), middle.lo, w_lo[1]), right.lo,
                              w_lo[2]),
                dot_quads_add(dot_quads_add(dot_quads_add(bias_hi, left.hi, w_hi[0]), middle.hi, w_hi[1]), right.hi,
                              w_hi[2])};
    }
    template <bool FloatClamp>
    void store(int8_t* dst, const Quads& acc, size_t cn, const RequantVec& rq) const {
        avx2_dw::store_one(dst,
                           to_int16(round_scaled<FloatClamp>(acc.lo, multiplier_lo, rq),
                                    round_scaled<FloatClamp>(acc.hi, multiplier_hi, rq), rq),
                           cn, rq);
    }
};

// The block's input columns as quads.
struct Columns : BlockColumns {
    using BlockColumns::BlockColumns;
    // Column col: bytes of rows 0 and 1 interleaved as int16 (per 128-bit half: channels 0-7, then 8-15),
    // interleaved again with row 2's, and shifted to uint8 by flipping sign bits.
    Quads at(long col) const {
        auto widen = [&](int ky) {
            return _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(BlockColumns::at(ky, col))));
        };
        const __m256i rows01 = _mm256_or_si256(widen(0), _mm256_slli_epi16(widen(1), 8)), row2 = widen(2);
        const __m256i flip = _mm256_set1_epi8(-128);
        return {_mm256_xor_si256(_mm256_unpacklo_epi16(rows01, row2), flip),
                _mm256_xor_si256(_mm256_unpackhi_epi16(rows01, row2), flip)};
    }
};

// One output row at one channel block. Stride 1 loads one new column per output, stride 2 two. Software-pipelined
// as in avx2_dw: the sums of output ox + 1 are computed next to the requantization of output ox.
template <int Stride, bool FloatClamp>
inline void block_row_strided(const Columns& in, long ix, size_t OW, int8_t* dst, size_t C, size_t cn, const Block& b,
                              const RequantVec& rq) {
    Quads left = in.at(ix), middle = Stride == 1 ? in.at(ix + 1) : left, acc;
    for (size_t ox = 0; ox < OW; ++ox, ix += Stride) {
        if constexpr (Stride == 2) middle = in.at(ix + 1);
        const Quads right = in.at(ix + 2);
        const Quads next = b.sums(left, middle, right);
        left = Stride == 1 ? middle : right;
        middle = right;
        if (ox > 0) {
            b.store<FloatClamp>(dst, acc, cn, rq);
            dst += C;
        }
        acc = next;
    }
    b.store<FloatClamp>(dst, acc, cn, rq);
}

template <bool FloatClamp>
inline void block_row(const RowJob& job, const Block& b, size_t c0, const RequantVec& rq) {
    if (job.OW == 0) return;
    const Columns in(job, c0);
    const size_t cn = std::min(kBlock, job.C - c0);
    if (job.stride == 1)
        block_row_strided<1, FloatClamp>(in, -job.pad_left, job.OW, job.y + c0, job.C, cn, b, rq);
    else
        block_row_strided<2, FloatClamp>(in, -job.pad_left, job.OW, job.y + c0, job.C, cn, b, rq);
}

inline void row(const RowJob& job) {
    avx2_dw::each_block<Block>(job, [&](auto float_clamp, const Block& b, size_t c0, const RequantVec& rq) {
        block_row<decltype(float_clamp)::value>(job, b, c0, rq);
    });
}

}  // namespace vnni_dw
#endif
#endif

}  // namespace dwconv_detail

inline size_t packed_dwconv3x3_s8_bytes(size_t C) {
    return dwconv_detail::round_up_block(C) / dwconv_detail::kBlock * dwconv_detail::kBlockBytes;
}

// Packs w[C][3][3] ("ghw") into 16-channel blocks: folded int32 biases, multipliers, tap pairs or column quads.
// w is OHWI with I = 1; bias may be null. `packed` holds packed_dwconv3x3_s8_bytes(C) bytes, 4-byte aligned (at
// least).
inline void pack_dwconv3x3_ghw_s8(size_t C, const int8_t* w, const int32_t* bias, int32_t x_zero,
                                  const float* multiplier, void* packed) {
    using namespace dwconv_detail;
    XINFER_ASSERT(reinterpret_cast<uintptr_t>(packed) % alignof(int32_t) == 0);
    auto* block = static_cast<unsigned char*>(packed);
    for (size_t c0 = 0; c0 < C; c0 += kBlock, block += kBlockBytes) {
        auto* block_bias = reinterpret_cast<int32_t*>(block);
        auto* block_multiplier = reinterpret_cast<float*>(block + kBlock * 4);
        unsigned char* weights = block + kBlock * 8;
        for (size_t j = 0; j < kBlock; ++j) {
            const size_t c = c0 + j, lane = lane_of16(j);
            const bool valid = c < C;
            auto tap = [&](int ky, int kx) -> int16_t { return valid ? w[c * 9 + size_t(ky * 3 + kx)] : 0; };
            int64_t weight_sum = 0;
            for (int t = 0; t < 9; ++t) weight_sum += tap(t / 3, t % 3);
            const int64_t folded =
                (valid && bias ? int64_t(bias[c]) : 0) - (int64_t(x_zero) + kInputShift) * weight_sum;
            block_bias[lane] = valid ? int32_t(uint32_t(uint64_t(folded))) : 0;
            block_multiplier[lane] = valid ? multiplier[c] : 0.0f;
            if constexpr (kColumnQuads) {
                for (int kx = 0; kx < 3; ++kx)
                    for (int ky = 0; ky < 4; ++ky)
                        weights[size_t(kx) * kQuadBytes + 4 * lane + size_t(ky)] =
                            static_cast<unsigned char>(ky < 3 ? tap(ky, kx) : 0);
                continue;
            }
            auto set = [&](TapPair p, int16_t first, int16_t second) {
                std::memcpy(weights + 2 * (p * kPairInts + 2 * lane), &first, sizeof first);
                std::memcpy(weights + 2 * (p * kPairInts + 2 * lane + 1), &second, sizeof second);
            };
            set(kRows01Col0, tap(0, 0), tap(1, 0));
            set(kRows01Col1, tap(0, 1), tap(1, 1));
            set(kRows01Col2, tap(0, 2), tap(1, 2));
            set(kRow2Cols01, tap(2, 0), tap(2, 1));
            set(kRow2Col2Second, 0, tap(2, 2));
            set(kRow2Col2First, tap(2, 2), 0);
        }
    }
}

// Read-only scratch shared by all threads: one row of x_zero values (the padding).
inline size_t dwconv3x3_s8_workspace_bytes(size_t C) { return dwconv_detail::round_up_block(C); }

inline void prepare_dwconv3x3_s8_workspace(size_t C, int32_t x_zero, void* workspace) {
    std::memset(workspace, int(int8_t(x_zero)), dwconv3x3_s8_workspace_bytes(C));
}

// One image x: [H][W][C] -> y: [OH][OW][C], output rows [oy0, oy1). Input pixels may be over-read by up to 15
// bytes past their C channels (XINFER_EXTRA_BYTES).
template <class Arch>
void dwconv3x3_s8(size_t H, size_t W, size_t C, const int8_t* x, const void* packed, const void* workspace, int stride,
                  Pads pads, int8_t* y, size_t OH, size_t OW, Requant rq, size_t oy0, size_t oy1) {
    using namespace dwconv_detail;
    XINFER_ASSERT(stride == 1 || stride == 2);
    XINFER_ASSERT(oy0 <= oy1 && oy1 <= OH);
    XINFER_ASSERT(OH == size_t(Window2D::out_size(int(H), 3, stride, 1, pads.top + pads.bottom)));
    XINFER_ASSERT(OW == size_t(Window2D::out_size(int(W), 3, stride, 1, pads.left + pads.right)));
    XINFER_ASSERT(rq.lo <= rq.hi && rq.lo >= -128 && rq.hi <= 127);
    (void)OH;
    RowJob job{W, C, OW, stride, pads.left, {}, {}, static_cast<const int8_t*>(workspace),
               static_cast<const unsigned char*>(packed), nullptr, rq};
    for (size_t oy = oy0; oy < oy1; ++oy) {
        for (int ky = 0; ky < 3; ++ky) {
            const long iy = long(oy) * stride - pads.top + ky;
            const bool inside = iy >= 0 && iy < long(H);
            job.rows[ky] = inside ? x + size_t(iy) * W * C : job.zero_row;
            job.steps[ky] = inside ? C : 0;
        }
        job.y = y + oy * OW * C;
#if defined(XINFER_S8_VNNI)
        if constexpr (use_avx2<Arch>())
            vnni_dw::row(job);
        else
#elif defined(__AVX2__)
        if constexpr (use_avx2<Arch>())
            avx2_dw::row(job);
        else
#endif
            row_generic(job);
    }
}

}  // namespace xinfer::kernels::s8
