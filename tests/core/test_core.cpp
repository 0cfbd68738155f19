#include <doctest/doctest.h>

#include <atomic>
#include <numeric>
#include <thread>
#include <vector>

#include "xinfer/core/arena.hpp"
#include "xinfer/core/shape.hpp"
#include "xinfer/core/thread_pool.hpp"

using namespace xinfer;

TEST_CASE("ThreadPool covers every index exactly once, for every thread count and size") {
    for (int threads : {1, 2, 3, 4, 7}) {
        ThreadPool pool(threads);
        for (size_t count : {size_t(0), size_t(1), size_t(2), size_t(5), size_t(64), size_t(1001)})
            for (size_t chunks_per_thread : {1, 3, 8}) {
                std::vector<std::atomic<int>> hits(count);
                std::atomic<int> empty_ranges{0};
                for (int round = 0; round < 20; ++round)
                    pool.parallel_for(
                        count,
                        [&](size_t b, size_t e) {
                            if (b >= e) empty_ranges++;
                            for (size_t i = b; i < e; ++i) hits[i].fetch_add(1);
                        },
                        chunks_per_thread);
                for (size_t i = 0; i < count; ++i) REQUIRE(hits[i].load() == 20);
                CHECK(empty_ranges.load() == 0);
            }
    }
}

TEST_CASE("ThreadPool with threads = 1 runs inline on the caller") {
    ThreadPool pool(1);
    const auto caller = std::this_thread::get_id();
    bool inline_run = false;
    pool.parallel_for(10, [&](size_t, size_t) { inline_run = std::this_thread::get_id() == caller; });
    CHECK(inline_run);
    CHECK_THROWS_AS(ThreadPool(0), Error);
}

TEST_CASE("ThreadPool uses its workers and survives idle periods") {
    ThreadPool pool(2);
    std::atomic<int> others{0};
    const auto caller = std::this_thread::get_id();
    for (int i = 0; i < 3; ++i) {
        // Each chunk lasts long enough for a sleeping worker to wake and claim the other one.
        pool.parallel_for(2, [&](size_t, size_t) {
            if (std::this_thread::get_id() != caller) others++;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        });
        std::this_thread::sleep_for(std::chrono::milliseconds(5));  // workers go to sleep, then wake again
    }
    CHECK(others.load() == 3);
}

TEST_CASE("ThreadPool: the caller takes the chunks a busy worker has not claimed") {
    ThreadPool pool(2);
    const auto caller = std::this_thread::get_id();
    std::atomic<int> by_caller{0};
    std::vector<std::atomic<int>> hits(64);
    pool.parallel_for(64, [&](size_t b, size_t e) {
        if (std::this_thread::get_id() == caller) by_caller++;
        else std::this_thread::sleep_for(std::chrono::milliseconds(20));  // a slow worker
        for (size_t i = b; i < e; ++i) hits[i]++;
    }, 8);
    for (auto& h : hits) REQUIRE(h.load() == 1);
    CHECK(by_caller.load() >= 8);  // 16 chunks; the worker sleeps in each one it claims
}

TEST_CASE("checked_numel rejects negative dimensions and overflow") {
    CHECK(checked_numel({2, 3, 4}) == 24);
    CHECK(checked_numel({}) == 1);
    CHECK(checked_numel({5, 0}) == 0);
    CHECK_THROWS_AS(checked_numel({2, -1}), Error);
    CHECK_THROWS_AS(checked_numel({int64_t(1) << 40, int64_t(1) << 40}), Error);
}

TEST_CASE("Window2D output sizes and SAME padding") {
    Window2D w;
    w.kernel_h = w.kernel_w = 3;
    w.stride_h = w.stride_w = 2;
    w.pads = {0, 0, 1, 1};  // Keras: bottom/right
    CHECK(w.out_h(224) == 112);
    w.pads = {1, 1, 1, 1};  // PyTorch: all sides
    CHECK(w.out_h(224) == 112);
    CHECK(w.out_h(7) == 4);
    int b = 0, e = 0;
    same_pads(224, 3, 2, 1, true, b, e);
    CHECK(b == 0);
    CHECK(e == 1);
    same_pads(7, 3, 1, 1, true, b, e);
    CHECK(b == 1);
    CHECK(e == 1);
}

TEST_CASE("Arena and AlignedBuffer are aligned, zeroed and padded") {
    AlignedBuffer buf(13);
    CHECK(reinterpret_cast<uintptr_t>(buf.data()) % XINFER_ALIGNMENT == 0);
    for (size_t i = 0; i < 13 + XINFER_EXTRA_BYTES; ++i) REQUIRE(buf.data()[i] == std::byte{0});
    Arena arena;
    const size_t a = arena.reserve(100), b = arena.reserve(1);
    CHECK(a == 0);
    CHECK(b % XINFER_ALIGNMENT == 0);
    CHECK(b >= 100 + XINFER_EXTRA_BYTES);
    arena.commit();
    CHECK(arena.capacity() >= arena.planned());
    CHECK(reinterpret_cast<uintptr_t>(arena.pointer(b)) % XINFER_ALIGNMENT == 0);
}
