#pragma once
// Fast non-cryptographic 64-bit content hash, used to detect corrupted, truncated or accidentally edited files.
// It offers no protection against deliberate tampering: anyone can craft a different input with the same digest.
//
// Design: four independent 64-bit lanes consume 32-byte stripes of little-endian words; the lanes, the remaining
// tail words and the total length are then folded into one value and avalanched. Every step is a bijection of the
// running state for a fixed input word and of the word for a fixed state, so any single-byte change (at a fixed
// length) always changes the digest. The digest is the same on every platform and for any split into update() calls.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

namespace xinfer::io {

class Hasher {
public:
    void update(const void* data, size_t size) {
        if (size == 0) return;
        auto p = static_cast<const unsigned char*>(data);
        total_ += size;
        if (buffered_ > 0) {
            const size_t take = size < kStripe - buffered_ ? size : kStripe - buffered_;
            std::memcpy(buffer_ + buffered_, p, take);
            buffered_ += take;
            p += take;
            size -= take;
            if (buffered_ < kStripe) return;
            stripe(buffer_);
            buffered_ = 0;
        }
        for (; size >= kStripe; p += kStripe, size -= kStripe) stripe(p);
        if (size > 0) std::memcpy(buffer_, p, size);
        buffered_ = size;
    }

    uint64_t digest() const {
        uint64_t h = total_ * kMul2;
        for (uint64_t lane : lanes_) h = round(h, avalanche(lane));
        size_t i = 0;
        for (; i + 8 <= buffered_; i += 8) h = round(h, load(buffer_ + i));
        if (i < buffered_) {
            unsigned char last[8] = {};
            std::memcpy(last, buffer_ + i, buffered_ - i);
            h = round(h, load(last));
        }
        return avalanche(h);
    }

private:
    static constexpr size_t kStripe = 32;
    static constexpr uint64_t kMul0 = 0x9E3779B97F4A7C15ull;
    static constexpr uint64_t kMul1 = 0xBF58476D1CE4E5B9ull;
    static constexpr uint64_t kMul2 = 0x94D049BB133111EBull;

    static uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
    static uint64_t round(uint64_t acc, uint64_t word) { return rotl(acc ^ (word * kMul1), 29) * kMul0; }
    static uint64_t avalanche(uint64_t x) {
        x ^= x >> 31;
        x *= kMul1;
        x ^= x >> 27;
        x *= kMul2;
        return x ^ (x >> 33);
    }
    static uint64_t load(const unsigned char* p) {
        uint64_t w;
        std::memcpy(&w, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        w = __builtin_bswap64(w);
#endif
        return w;
    }
    void stripe(const unsigned char* p) {
        for (int i = 0; i < 4; ++i) lanes_[i] = round(lanes_[i], load(p + 8 * i));
    }

    uint64_t lanes_[4] = {kMul0, kMul1, kMul2, kMul0 ^ kMul1};
    unsigned char buffer_[kStripe] = {};
    size_t buffered_ = 0;
    uint64_t total_ = 0;
};

// One-shot digest of a byte range.
inline uint64_t hash64(const void* data, size_t size) {
    Hasher h;
    h.update(data, size);
    return h.digest();
}

// Sixteen lowercase hex digits.
inline std::string to_hex(uint64_t value) {
    static const char digits[] = "0123456789abcdef";
    std::string s(16, '0');
    for (int i = 15; i >= 0; --i, value >>= 4) s[static_cast<size_t>(i)] = digits[value & 15];
    return s;
}

}  // namespace xinfer::io
