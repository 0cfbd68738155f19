#pragma once
// A small fork-join thread pool. parallel_for splits [0, count) into contiguous chunks that the calling thread and
// the workers claim one at a time, so a worker that is late (asleep, or its core taken by another process) never
// makes the caller wait: the caller takes the chunks nobody has claimed and waits only for chunks being run.
// Workers spin briefly after a job (consecutive ops follow within microseconds) and then sleep on a condition
// variable: an idle pool uses no CPU. With threads == 1 everything runs inline.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "xinfer/core/error.hpp"

namespace xinfer {

class ThreadPool {
public:
    explicit ThreadPool(int threads = 1) {
        XINFER_CHECK(threads >= 1 && threads <= 256, ErrorCode::invalid_argument, "thread count must be in [1, 256], got ",
                     threads);
        threads_ = threads;
        for (int i = 1; i < threads; ++i) workers_.emplace_back([this] { worker_loop(); });
    }
    ~ThreadPool() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            stop_.store(true, std::memory_order_release);
            generation_.fetch_add(1, std::memory_order_seq_cst);
        }
        wake_.notify_all();
        for (auto& t : workers_) t.join();
    }
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    int threads() const { return threads_; }

    // Calls fn(begin, end) on disjoint ranges covering [0, count): at most chunks_per_thread * threads() chunks of
    // near-equal size. Not re-entrant: one caller at a time.
    template <class F>
    void parallel_for(size_t count, F&& fn, size_t chunks_per_thread = 1) {
        if (count == 0) return;
        const size_t chunks =
            std::min<size_t>({count, size_t(threads_) * std::max<size_t>(1, chunks_per_thread), size_t(0xffff)});
        if (chunks == 1) {
            fn(size_t(0), count);
            return;
        }
        using Fn = std::remove_reference_t<F>;
        job_ctx_ = const_cast<void*>(static_cast<const void*>(&fn));
        job_fn_ = [](void* ctx, size_t b, size_t e) { (*static_cast<Fn*>(ctx))(b, e); };
        job_count_ = count;
        done_chunks_.store(0, std::memory_order_relaxed);
        // The claim word holds the job's generation, its chunk count and the next chunk: a worker that wakes after
        // this job has finished cannot claim a chunk of a later one by mistake.
        const uint64_t gen = generation_.load(std::memory_order_relaxed) + 1;
        claim_.store(gen << 32 | uint64_t(chunks) << 16, std::memory_order_release);
        generation_.store(gen, std::memory_order_seq_cst);
        if (sleepers_.load(std::memory_order_seq_cst) > 0) {
            std::lock_guard<std::mutex> lock(mutex_);
            wake_.notify_all();
        }
        run_chunks(gen);
        // Only chunks already running on a worker remain: wait for them, spinning (they are short).
        for (unsigned i = 0; done_chunks_.load(std::memory_order_acquire) != chunks; ++i) relax(i);
    }

private:
    static void relax(unsigned i) {
#if defined(__x86_64__) || defined(__i386__)
        _mm_pause();
#endif
        if ((i & 1023) == 1023) std::this_thread::yield();  // lets a descheduled worker in on an oversubscribed CPU
    }

    // Claims and runs chunks of job `gen` until none is left.
    void run_chunks(uint64_t gen) {
        for (;;) {
            uint64_t c = claim_.load(std::memory_order_acquire);
            size_t chunk, chunks;
            do {
                if ((c >> 32) != (gen & 0xffffffffu)) return;
                chunks = size_t(c >> 16 & 0xffffu);
                chunk = size_t(c & 0xffffu);
                if (chunk >= chunks) return;
            } while (!claim_.compare_exchange_weak(c, c + 1, std::memory_order_acq_rel, std::memory_order_acquire));
            // The job cannot finish before this chunk does, so its parameters are stable here.
            const size_t begin = job_count_ * chunk / chunks, end = job_count_ * (chunk + 1) / chunks;
            job_fn_(job_ctx_, begin, end);
            done_chunks_.fetch_add(1, std::memory_order_acq_rel);
        }
    }

    void worker_loop() {
        uint64_t seen = 0;
        for (;;) {
            // Spin for a new generation, then sleep.
            const auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(300);
            uint64_t gen = generation_.load(std::memory_order_acquire);
            for (unsigned i = 1; gen == seen; ++i) {
                relax(i);
                if ((i & 63) == 0 && std::chrono::steady_clock::now() > deadline) {
                    std::unique_lock<std::mutex> lock(mutex_);
                    sleepers_.fetch_add(1, std::memory_order_seq_cst);
                    wake_.wait(lock, [&] { return generation_.load(std::memory_order_seq_cst) != seen; });
                    sleepers_.fetch_sub(1, std::memory_order_relaxed);
                }
                gen = generation_.load(std::memory_order_acquire);
            }
            seen = gen;
            if (stop_.load(std::memory_order_acquire)) return;
            run_chunks(gen);
        }
    }

    int threads_ = 1;
    std::vector<std::thread> workers_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::atomic<uint64_t> generation_{0};
    std::atomic<uint64_t> claim_{0};
    std::atomic<size_t> done_chunks_{0};
    std::atomic<int> sleepers_{0};
    std::atomic<bool> stop_{false};
    void* job_ctx_ = nullptr;
    void (*job_fn_)(void*, size_t, size_t) = nullptr;
    size_t job_count_ = 0;
};

}  // namespace xinfer
