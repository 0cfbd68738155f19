#pragma once
// Liveness-based memory planner: every activation gets an offset in one arena; two values share bytes only when
// their lifetimes do not overlap. Greedy by size (largest first, lowest fitting offset), as in TFLite's
// greedy_memory_planner; the peak is known before the first run.
#include <algorithm>
#include <cstddef>
#include <numeric>
#include <vector>

#include "xinfer/core/buffer.hpp"

namespace xinfer {

struct BufferLifetime {
    size_t bytes = 0;
    int first = 0;  // step that writes it (-1: before the first step)
    int last = 0;   // last step that reads it
};

struct MemoryPlan {
    std::vector<size_t> offsets;
    size_t total_bytes = 0;
};

inline MemoryPlan plan_memory(const std::vector<BufferLifetime>& buffers, size_t alignment = XINFER_ALIGNMENT) {
    MemoryPlan plan;
    plan.offsets.assign(buffers.size(), 0);
    std::vector<size_t> order(buffers.size());
    std::iota(order.begin(), order.end(), size_t(0));
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return buffers[a].bytes > buffers[b].bytes; });
    auto padded = [&](size_t i) { return AlignedBuffer::round_up(buffers[i].bytes + XINFER_EXTRA_BYTES, alignment); };
    std::vector<size_t> placed;
    for (size_t i : order) {
        // Offsets taken by placed buffers that are alive at the same time, in address order.
        std::vector<std::pair<size_t, size_t>> busy;
        for (size_t j : placed)
            if (buffers[j].first <= buffers[i].last && buffers[i].first <= buffers[j].last)
                busy.emplace_back(plan.offsets[j], plan.offsets[j] + padded(j));
        std::sort(busy.begin(), busy.end());
        size_t offset = 0;
        for (auto& [begin, end] : busy) {
            if (begin >= offset + padded(i)) break;
            offset = std::max(offset, end);
        }
        plan.offsets[i] = offset;
        plan.total_bytes = std::max(plan.total_bytes, offset + padded(i));
        placed.push_back(i);
    }
    return plan;
}

}  // namespace xinfer
