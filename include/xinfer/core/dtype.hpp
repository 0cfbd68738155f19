#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "xinfer/core/error.hpp"

namespace xinfer {

enum class DataType : uint8_t { f32, s8, u8, s32, s64 };

inline size_t size_of(DataType t) {
    switch (t) {
        case DataType::f32: return 4;
        case DataType::s8: return 1;
        case DataType::u8: return 1;
        case DataType::s32: return 4;
        case DataType::s64: return 8;
    }
    return 0;
}

// Names as written in safetensors headers.
inline const char* to_string(DataType t) {
    switch (t) {
        case DataType::f32: return "F32";
        case DataType::s8: return "I8";
        case DataType::u8: return "U8";
        case DataType::s32: return "I32";
        case DataType::s64: return "I64";
    }
    return "?";
}

inline DataType dtype_from_string(const std::string& name) {
    if (name == "F32") return DataType::f32;
    if (name == "I8") return DataType::s8;
    if (name == "U8") return DataType::u8;
    if (name == "I32") return DataType::s32;
    if (name == "I64") return DataType::s64;
    XINFER_THROW(ErrorCode::invalid_model, "unsupported dtype '", name, "' (supported: F32, I8, U8, I32, I64)");
}

template <class T> struct dtype_of;
template <> struct dtype_of<float> { static constexpr DataType value = DataType::f32; };
template <> struct dtype_of<int8_t> { static constexpr DataType value = DataType::s8; };
template <> struct dtype_of<uint8_t> { static constexpr DataType value = DataType::u8; };
template <> struct dtype_of<int32_t> { static constexpr DataType value = DataType::s32; };
template <> struct dtype_of<int64_t> { static constexpr DataType value = DataType::s64; };

}  // namespace xinfer
