#pragma once
// A bounds-checked reader of the protobuf wire format, enough to decode messages by hand without libprotobuf.
//
// A message is a sequence of fields; each starts with a varint key (field_number << 3 | wire_type). Wire types:
// 0 varint (at most 10 bytes), 1 fixed64, 2 length-delimited (varint length, then the bytes: strings, nested
// messages, packed runs of scalars), 5 fixed32. Groups (3, 4) are rejected. Every defect of the input throws
// Error(invalid_model, "<source>: <what> at byte <offset>"), offsets counted from the start of the outermost
// message; nothing is read before its length has been checked against the bytes that remain.
// pb::wire holds the matching encoder (used by the ONNX exporter and by tests that build messages by hand).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "xinfer/core/error.hpp"

namespace xinfer::io::pb {

enum class WireType : uint8_t { varint = 0, fixed64 = 1, length_delimited = 2, fixed32 = 5 };

inline const char* to_string(WireType t) {
    switch (t) {
        case WireType::varint: return "varint";
        case WireType::fixed64: return "fixed64";
        case WireType::length_delimited: return "length-delimited";
        case WireType::fixed32: return "fixed32";
    }
    return "?";
}

struct Limits {
    uint64_t max_bytes = (uint64_t(1) << 31) - 1;  // what libprotobuf accepts for one message
    int max_depth = 64;                            // nested messages, the outermost counting as 1
};

// One decoded field. `value` holds the varint, fixed32 or fixed64 bits; `data`/`size` the payload of a
// length-delimited field (pointing into the reader's bytes).
struct Field {
    uint32_t number = 0;
    WireType type = WireType::varint;
    uint64_t value = 0;
    const std::byte* data = nullptr;
    size_t size = 0;
    size_t offset = 0;  // of the key, from the start of the outermost message
};

// ZigZag decoding of sint32/sint64 (ONNX does not use them).
inline int64_t zigzag_decode(uint64_t v) {
    return (v & 1) ? -int64_t(v >> 1) - 1 : int64_t(v >> 1);
}

class Reader {
public:
    Reader(const std::byte* data, size_t size, std::string source, Limits limits = {})
        : begin_(data), pos_(data), end_(data + size), source_(std::move(source)), limits_(limits), depth_(1) {
        if (uint64_t(size) > limits_.max_bytes)
            XINFER_THROW(ErrorCode::invalid_model, source_, ": message of ", size, " bytes exceeds the limit of ",
                         limits_.max_bytes, " bytes at byte 0");
        if (!data && size) fail("null data", 0);
    }

    const std::string& source() const { return source_; }
    int depth() const { return depth_; }
    size_t offset() const { return base_ + size_t(pos_ - begin_); }  // of the next unread byte

    // Reads the next field into `f`; false at the end of the message.
    bool next(Field& f) {
        if (pos_ == end_) return false;
        f = Field{};
        f.offset = offset();
        const uint64_t key = read_varint();
        if (key > UINT32_MAX) fail("field key " + std::to_string(key) + " out of range", f.offset);
        f.number = uint32_t(key >> 3);
        if (f.number == 0) fail("field number 0", f.offset);
        switch (key & 7) {
            case 0:
                f.type = WireType::varint;
                f.value = read_varint();
                break;
            case 1:
                f.type = WireType::fixed64;
                f.value = read_fixed(8);
                break;
            case 2: {
                f.type = WireType::length_delimited;
                const size_t at = offset();
                const uint64_t length = read_varint();
                if (length > uint64_t(end_ - pos_))
                    fail("length " + std::to_string(length) + " of field " + std::to_string(f.number) +
                             " runs past the end (" + std::to_string(end_ - pos_) + " bytes left)",
                         at);
                f.data = pos_;
                f.size = size_t(length);
                pos_ += f.size;
                break;
            }
            case 5:
                f.type = WireType::fixed32;
                f.value = read_fixed(4);
                break;
            case 3:
            case 4: fail("field " + std::to_string(f.number) + " is a group (unsupported)", f.offset);
            default: fail("invalid wire type " + std::to_string(key & 7), f.offset);
        }
        return true;
    }

    // Typed access to the current field; a wrong wire type or an out-of-range value throws.
    uint64_t uint64(const Field& f) const { return expect(f, WireType::varint).value; }
    int64_t int64(const Field& f) const { return to_signed(uint64(f)); }
    int64_t sint64(const Field& f) const { return zigzag_decode(uint64(f)); }
    int32_t int32(const Field& f) const {
        const int64_t v = int64(f);
        if (v < INT32_MIN || v > INT32_MAX) fail("value " + std::to_string(v) + " out of int32 range", f.offset);
        return int32_t(v);
    }
    bool boolean(const Field& f) const { return uint64(f) != 0; }
    float float32(const Field& f) const { return bits_to<float>(uint32_t(expect(f, WireType::fixed32).value)); }
    double float64(const Field& f) const { return bits_to<double>(expect(f, WireType::fixed64).value); }
    std::string string(const Field& f) const {
        expect(f, WireType::length_delimited);
        return std::string(reinterpret_cast<const char*>(f.data), f.size);
    }

    // A reader of an embedded message, one level deeper; throws past the depth limit.
    Reader message(const Field& f) const {
        expect(f, WireType::length_delimited);
        if (depth_ >= limits_.max_depth)
            fail("messages nested more than " + std::to_string(limits_.max_depth) + " levels deep", f.offset);
        Reader sub(*this);
        sub.begin_ = sub.pos_ = f.data;
        sub.end_ = f.data + f.size;
        sub.base_ = payload_offset(f);
        sub.depth_ = depth_ + 1;
        return sub;
    }

    // Repeated scalars: each appends one value (unpacked encoding) or a packed run (length-delimited).
    void int64s(const Field& f, std::vector<int64_t>& out) const {
        varints(f, [&](uint64_t v, size_t) { out.push_back(to_signed(v)); });
    }
    void uint64s(const Field& f, std::vector<uint64_t>& out) const {
        varints(f, [&](uint64_t v, size_t) { out.push_back(v); });
    }
    void sint64s(const Field& f, std::vector<int64_t>& out) const {
        varints(f, [&](uint64_t v, size_t) { out.push_back(zigzag_decode(v)); });
    }
    void int32s(const Field& f, std::vector<int32_t>& out) const {
        varints(f, [&](uint64_t v, size_t at) {
            const int64_t s = to_signed(v);
            if (s < INT32_MIN || s > INT32_MAX) fail("value " + std::to_string(s) + " out of int32 range", at);
            out.push_back(int32_t(s));
        });
    }
    void floats(const Field& f, std::vector<float>& out) const {
        fixeds(f, WireType::fixed32, [&](uint64_t bits) { out.push_back(bits_to<float>(uint32_t(bits))); });
    }
    void doubles(const Field& f, std::vector<double>& out) const {
        fixeds(f, WireType::fixed64, [&](uint64_t bits) { out.push_back(bits_to<double>(bits)); });
    }

    [[noreturn]] void fail(const std::string& what, size_t at) const {
        XINFER_THROW(ErrorCode::invalid_model, source_, ": ", what, " at byte ", at);
    }

private:
    size_t payload_offset(const Field& f) const { return base_ + size_t(f.data - begin_); }

    const Field& expect(const Field& f, WireType type, const char* or_else = "") const {
        if (f.type != type)
            fail("field " + std::to_string(f.number) + " has wire type " + to_string(f.type) + ", expected " +
                     or_else + to_string(type),
                 f.offset);
        return f;
    }

    static int64_t to_signed(uint64_t v) {
        int64_t s;
        std::memcpy(&s, &v, sizeof s);  // two's complement, without implementation-defined conversion
        return s;
    }

    template <class T, class Bits> static T bits_to(Bits bits) {
        static_assert(sizeof(T) == sizeof(Bits));
        T v;
        std::memcpy(&v, &bits, sizeof v);
        return v;
    }

    // Decodes a varint in [p, end), advancing p; `at` is the offset of `p` for messages.
    uint64_t decode_varint(const std::byte*& p, const std::byte* end, size_t at) const {
        uint64_t v = 0;
        for (int i = 0; i < 10; ++i) {
            if (p == end) fail("truncated varint", at);
            const auto b = std::to_integer<uint64_t>(*p++);
            if (i == 9 && b > 1) fail("varint overflows 64 bits", at);
            v |= (b & 0x7F) << (7 * i);
            if (!(b & 0x80)) return v;
        }
        fail("varint longer than 10 bytes", at);
    }
    uint64_t read_varint() { return decode_varint(pos_, end_, offset()); }

    uint64_t read_fixed(int bytes) {
        if (end_ - pos_ < bytes)
            fail("truncated fixed" + std::to_string(8 * bytes) + " (" + std::to_string(end_ - pos_) + " bytes left)",
                 offset());
        uint64_t v = 0;
        for (int i = 0; i < bytes; ++i) v |= std::to_integer<uint64_t>(pos_[i]) << (8 * i);
        pos_ += bytes;
        return v;
    }

    template <class Sink> void varints(const Field& f, Sink&& sink) const {
        if (f.type == WireType::varint) return sink(f.value, f.offset);
        expect(f, WireType::length_delimited, "varint or packed ");
        const std::byte* p = f.data;
        const std::byte* end = f.data + f.size;
        while (p != end) {
            const size_t at = payload_offset(f) + size_t(p - f.data);
            sink(decode_varint(p, end, at), at);
        }
    }

    template <class Sink> void fixeds(const Field& f, WireType type, Sink&& sink) const {
        if (f.type == type) return sink(f.value);
        expect(f, WireType::length_delimited, type == WireType::fixed32 ? "fixed32 or packed " : "fixed64 or packed ");
        const size_t width = type == WireType::fixed32 ? 4 : 8;
        if (f.size % width)
            fail("packed run of " + std::to_string(f.size) + " bytes is not a multiple of " + std::to_string(width),
                 f.offset);
        for (size_t i = 0; i < f.size; i += width) {
            uint64_t v = 0;
            for (size_t k = 0; k < width; ++k) v |= std::to_integer<uint64_t>(f.data[i + k]) << (8 * k);
            sink(v);
        }
    }

    const std::byte* begin_;
    const std::byte* pos_;
    const std::byte* end_;
    size_t base_ = 0;  // offset of begin_ in the outermost message
    std::string source_;
    Limits limits_;
    int depth_;
};

// Encoding of the wire format: each function returns the bytes of one field (or value).
namespace wire {

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
inline Bytes key(uint32_t field, int wire_type) { return varint(uint64_t(field) << 3 | uint64_t(wire_type)); }
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

}  // namespace wire

}  // namespace xinfer::io::pb
