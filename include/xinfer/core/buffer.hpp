#pragma once
// Owning, aligned, zero-initialised byte buffer with XINFER_EXTRA_BYTES of readable tail padding.
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

#include "xinfer/config.hpp"
#include "xinfer/core/error.hpp"

namespace xinfer {

class AlignedBuffer {
public:
    AlignedBuffer() = default;
    explicit AlignedBuffer(size_t bytes) { resize(bytes); }

    // Discards the contents. The new storage (and its tail padding) is zeroed.
    void resize(size_t bytes) {
        if (bytes == size_ && data_) return;
        XINFER_CHECK(bytes <= (size_t(1) << 48), ErrorCode::invalid_argument, "buffer of ", bytes,
                     " bytes is too large");
        const size_t padded = round_up(bytes + XINFER_EXTRA_BYTES, XINFER_ALIGNMENT);
        void* p = std::aligned_alloc(XINFER_ALIGNMENT, padded);
#if defined(XINFER_NO_EXCEPTIONS)
        XINFER_CHECK(p, ErrorCode::internal, "out of memory: ", padded, " bytes");
#else
        if (!p) throw std::bad_alloc();
#endif
        std::memset(p, 0, padded);
        data_.reset(static_cast<std::byte*>(p));
        size_ = bytes;
    }

    std::byte* data() { return data_.get(); }
    const std::byte* data() const { return data_.get(); }
    template <class T> T* as() { return reinterpret_cast<T*>(data_.get()); }
    template <class T> const T* as() const { return reinterpret_cast<const T*>(data_.get()); }
    size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }

    static size_t round_up(size_t n, size_t a) { return (n + a - 1) / a * a; }

private:
    struct Free {
        void operator()(std::byte* p) const { std::free(p); }
    };
    std::unique_ptr<std::byte[], Free> data_;
    size_t size_ = 0;
};

}  // namespace xinfer
