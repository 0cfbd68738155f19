#pragma once
// Arena: one aligned block, carved at offsets decided ahead of time (by the memory planner or by reserve()).
#include "xinfer/core/buffer.hpp"

namespace xinfer {

class Arena {
public:
    // Reserve -> commit -> pointer, in the manner of a bump allocator planned before use.
    size_t reserve(size_t bytes) {
        const size_t offset = planned_;
        planned_ += AlignedBuffer::round_up(bytes + XINFER_EXTRA_BYTES, XINFER_ALIGNMENT);
        return offset;
    }
    void reserve_total(size_t bytes) { planned_ = std::max(planned_, bytes); }
    // Grows the block to the planned size (contents are lost only when it grows).
    void commit() {
        if (block_.size() < planned_) block_.resize(planned_);
    }
    void reset_plan() { planned_ = 0; }
    std::byte* pointer(size_t offset) { return block_.data() + offset; }
    size_t capacity() const { return block_.size(); }
    size_t planned() const { return planned_; }

private:
    AlignedBuffer block_;
    size_t planned_ = 0;
};

}  // namespace xinfer
