#pragma once
// Read-only access to a whole file: memory-mapped where possible, otherwise read into an AlignedBuffer.
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>
#include <utility>

#include "xinfer/core/buffer.hpp"
#include "xinfer/core/error.hpp"

#if defined(__unix__) || defined(__APPLE__)
#define XINFER_HAS_MMAP 1
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#else
#define XINFER_HAS_MMAP 0
#include <filesystem>
#include <system_error>
#endif

namespace xinfer::io {

namespace detail {
[[noreturn]] inline void throw_io(const std::string& what, const std::string& path, int err) {
    XINFER_THROW(ErrorCode::io, what, " '", path, "': ", std::strerror(err));
}
}  // namespace detail

// The data starts on a page boundary when mapped and on an XINFER_ALIGNMENT boundary when read. Only a read copy
// carries XINFER_EXTRA_BYTES of readable tail padding; a mapping ends with the file. The file must not be
// truncated by anyone while it is mapped (reading the lost pages would raise SIGBUS).
class MappedFile {
public:
    explicit MappedFile(std::string path) : path_(std::move(path)) {
#if XINFER_HAS_MMAP
        const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) detail::throw_io("cannot open", path_, errno);
        struct stat st {};
        if (::fstat(fd, &st) != 0) close_and_throw(fd, "cannot stat", errno);
        if (!S_ISREG(st.st_mode)) {
            ::close(fd);
            XINFER_THROW(ErrorCode::io, "'", path_, "' is not a regular file");
        }
        if (static_cast<unsigned long long>(st.st_size) > std::numeric_limits<size_t>::max())
            close_and_throw(fd, "cannot load", EFBIG);
        size_ = static_cast<size_t>(st.st_size);
        if (size_ > 0) {
            void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
            if (p != MAP_FAILED) {
                ::close(fd);
                map_ = p;
                data_ = static_cast<const std::byte*>(p);
                return;
            }
        }
        buffer_.resize(size_);
        for (size_t done = 0; done < size_;) {
            const ssize_t n = ::read(fd, buffer_.data() + done, size_ - done);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) close_and_throw(fd, "cannot read", errno);
            if (n == 0) close_and_throw(fd, "file shrank while reading", EIO);
            done += static_cast<size_t>(n);
        }
        ::close(fd);
#else
        std::error_code ec;
        if (!std::filesystem::is_regular_file(path_, ec)) {
            if (ec) XINFER_THROW(ErrorCode::io, "cannot open '", path_, "': ", ec.message());
            XINFER_THROW(ErrorCode::io, "'", path_, "' is not a regular file");
        }
        const auto bytes = std::filesystem::file_size(path_, ec);
        if (ec) XINFER_THROW(ErrorCode::io, "cannot determine the size of '", path_, "': ", ec.message());
        std::FILE* f = std::fopen(path_.c_str(), "rb");
        if (!f) detail::throw_io("cannot open", path_, errno);
        size_ = static_cast<size_t>(bytes);
        buffer_.resize(size_);
        const size_t got = size_ ? std::fread(buffer_.data(), 1, size_, f) : 0;
        const int err = errno;
        std::fclose(f);
        if (got != size_) detail::throw_io("cannot read", path_, err ? err : EIO);
#endif
        data_ = buffer_.data();
    }

    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;
    MappedFile(MappedFile&& other) noexcept { swap(other); }
    MappedFile& operator=(MappedFile&& other) noexcept {
        MappedFile moved(std::move(other));
        swap(moved);
        return *this;
    }
    ~MappedFile() {
#if XINFER_HAS_MMAP
        if (map_) ::munmap(map_, size_);
#endif
    }

    const std::byte* data() const { return data_; }
    size_t size() const { return size_; }
    // Drops the whole pages inside [p, p + n) from this process's memory (they stay in the page cache and come back
    // on the next read): for bytes already copied out, so that a model's weights are not resident twice while
    // loading. Does nothing for a read copy.
    void release(const std::byte* p, size_t n) const {
#if XINFER_HAS_MMAP
        if (!map_ || p < data_ || n == 0 || size_t(p - data_) > size_ || n > size_ - size_t(p - data_)) return;
        const uintptr_t page = uintptr_t(::sysconf(_SC_PAGESIZE));
        const uintptr_t begin = (uintptr_t(p) + page - 1) / page * page, end = (uintptr_t(p) + n) / page * page;
        if (begin < end) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
#else
        (void)p, (void)n;
#endif
    }
    const std::string& path() const { return path_; }
    bool is_mapped() const { return map_ != nullptr; }

private:
    void swap(MappedFile& o) noexcept {
        std::swap(path_, o.path_);
        std::swap(buffer_, o.buffer_);
        std::swap(map_, o.map_);
        std::swap(data_, o.data_);
        std::swap(size_, o.size_);
    }
#if XINFER_HAS_MMAP
    [[noreturn]] void close_and_throw(int fd, const char* what, int err) {
        ::close(fd);
        detail::throw_io(what, path_, err);
    }
#endif

    std::string path_;
    AlignedBuffer buffer_;
    void* map_ = nullptr;
    const std::byte* data_ = nullptr;
    size_t size_ = 0;
};

// Writes `path` + ".tmp", then renames it over `path`, so readers never see a half-written file. No fsync: the
// file may be lost on power failure, but never left truncated. Where rename cannot replace (Windows), the old
// file is removed first.
inline void write_file_atomically(const std::string& path, const void* data, size_t size) {
    const std::string tmp = path + ".tmp";
    std::FILE* f = std::fopen(tmp.c_str(), "wb");
    if (!f) detail::throw_io("cannot create", tmp, errno);
    const bool written = size == 0 || std::fwrite(data, 1, size, f) == size;
    int err = errno;
    const bool closed = std::fclose(f) == 0;
    if (written && !closed) err = errno;
    if (!written || !closed) {
        std::remove(tmp.c_str());
        detail::throw_io("cannot write", tmp, err ? err : EIO);
    }
#if !XINFER_HAS_MMAP
    std::remove(path.c_str());
#endif
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        err = errno;
        std::remove(tmp.c_str());
        detail::throw_io(("cannot rename '" + tmp + "' to").c_str(), path, err);
    }
}

}  // namespace xinfer::io
