#pragma once
// Hand encoding of the protobuf wire format, for building test inputs byte by byte.
#include <cstdint>
#include <cstring>
#include <string>

namespace xinfer::testing::pbwire {

// Hand encoding of the wire format.
using Bytes = std::string;
inline Bytes varint(uint64_t v) {
    Bytes s;
    do {
        auto b = uint8_t(v & 0x7F);
        v >>= 7;
        if (v) b |= 0x80;
        s.push_back(char(b));
    } while (v);
    return s;
}
inline Bytes key(uint32_t field, int wire) { return varint(uint64_t(field) << 3 | uint64_t(wire)); }
inline Bytes le(uint64_t v, int bytes) {
    Bytes s;
    for (int i = 0; i < bytes; ++i) s.push_back(char((v >> (8 * i)) & 0xFF));
    return s;
}
inline Bytes vint(uint32_t field, uint64_t v) { return key(field, 0) + varint(v); }
inline Bytes sint(uint32_t field, int64_t v) { return vint(field, uint64_t(v)); }  // negative: 10 bytes
inline Bytes fixed32(uint32_t field, uint32_t v) { return key(field, 5) + le(v, 4); }
inline Bytes fixed64(uint32_t field, uint64_t v) { return key(field, 1) + le(v, 8); }
inline Bytes delimited(uint32_t field, const Bytes& payload) { return key(field, 2) + varint(payload.size()) + payload; }
inline uint32_t bits(float f) {
    uint32_t b;
    std::memcpy(&b, &f, 4);
    return b;
}
inline uint64_t bits(double d) {
    uint64_t b;
    std::memcpy(&b, &d, 8);
    return b;
}
inline Bytes float32(uint32_t field, float f) { return fixed32(field, bits(f)); }


}  // namespace xinfer::testing::pbwire
