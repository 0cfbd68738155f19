#pragma once
// A small fork-join thread pool. parallel_for splits [0, count) into one contiguous range per thread; the calling
// thread works too. Workers spin briefly after a job (consecutive ops follow within microseconds) and then sleep on
// a condition variable: an idle pool uses no CPU. With threads == 1 everything runs inline.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>
#include <vector>

#include "xinfer/core/error.hpp"

namespace xinfer {

class ThreadPool {
public:
    explicit ThreadPool(int threads = 1) {
        XINFER_CHECK(threads >= 1 && threads <= 256, ErrorCode::invalid_argument, "thread count must be in [1, 256], got ",
                     threads);
        threads_ = threads;
        for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
    }
    ~ThreadPool() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            stop_ = true;
            generation_.fetch_add(1, std::memory_order_release);
        }
        wake_.notify_all();
        for (auto& t : workers_) t.join();
    }
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    int threads() const { return threads_; }

    // Calls fn(begin, end) on disjoint ranges covering [0, count). Not re-entrant: one caller at a time.
    template <class F>
    void parallel_for(size_t count, F&& fn) {
        if (count == 0) return;
        const size_t parts = std::min<size_t>(count, size_t(threads_));
        if (parts == 1) {
            fn(size_t(0), count);
            return;
        }
        using Fn = std::remove_reference_t<F>;
        job_ctx_ = const_cast<void*>(static_cast<const void*>(&fn));
        job_fn_ = [](void* ctx, size_t b, size_t e) { (*static_cast<Fn*>(ctx))(b, e); };
        job_count_ = count;
        job_parts_ = parts;
        pending_.store(threads_ - 1, std::memory_order_relaxed);  // every worker checks in, even without a part
        {
            std::lock_guard<std::mutex> lock(mutex_);
            generation_.fetch_add(1, std::memory_order_release);
        }
        wake_.notify_all();
        run_part(0);
        // Wait for the workers: spin shortly, then sleep.
        if (!spin_until([&] { return pending_.load(std::memory_order_acquire) == 0; })) {
            std::unique_lock<std::mutex> lock(mutex_);
            done_.wait(lock, [&] { return pending_.load(std::memory_order_acquire) == 0; });
        }
    }

private:
    template <class Pred>
    static bool spin_until(Pred pred) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(200);
        for (int i = 0;; ++i) {
            if (pred()) return true;
            if ((i & 63) == 0 && std::chrono::steady_clock::now() > deadline) return false;
            std::this_thread::yield();
        }
    }

    void run_part(size_t part) {
        if (part >= job_parts_) return;
        const size_t begin = job_count_ * part / job_parts_;
        const size_t end = job_count_ * (part + 1) / job_parts_;
        if (begin < end) job_fn_(job_ctx_, begin, end);
    }

    void worker_loop(int index) {
        size_t seen = 0;  // the generation at construction: a job posted before this thread starts is not missed
        for (;;) {
            if (!spin_until([&] { return generation_.load(std::memory_order_acquire) != seen; })) {
                std::unique_lock<std::mutex> lock(mutex_);
                wake_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
            }
            seen = generation_.load(std::memory_order_acquire);
            if (stop_) return;
            run_part(size_t(index));
            if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
                std::lock_guard<std::mutex> lock(mutex_);
                done_.notify_one();
            }
        }
    }

    int threads_ = 1;
    std::vector<std::thread> workers_;
    std::mutex mutex_;
    std::condition_variable wake_, done_;
    std::atomic<size_t> generation_{0};
    std::atomic<int> pending_{0};
    bool stop_ = false;
    void* job_ctx_ = nullptr;
    void (*job_fn_)(void*, size_t, size_t) = nullptr;
    size_t job_count_ = 0, job_parts_ = 0;
};

}  // namespace xinfer
