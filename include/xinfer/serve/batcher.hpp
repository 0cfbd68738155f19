#pragma once
// Dynamic batching, as Triton's dynamic batcher does it (its model_config.proto and batcher.md): requests for one
// model wait in a bounded queue; each of K instances takes the largest batch available up to max_batch (requests
// whose inputs agree beyond the batch dimension), waiting at most max_queue_delay for more only when a full batch
// cannot be formed, and runs it as one Model::run on its share of the threads. A request's queue timeout is
// enforced while it waits, not when an instance next looks at the queue (triton#7512): the waiting request
// withdraws itself.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "xinfer/model.hpp"
#include "xinfer/serve/metrics.hpp"
#include "xinfer/serve/protocol.hpp"

namespace xinfer::serve {

using Clock = std::chrono::steady_clock;

inline uint64_t ns_between(Clock::time_point a, Clock::time_point b) {
    return uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count());
}

struct BatchOptions {
    int max_batch = 8;                   // inferences per execution (1: no batching)
    int64_t max_queue_delay_us = 0;      // 0: batch only what is already waiting
    int64_t max_queue = 1024;            // requests waiting; more -> 503
    int instances = 1;                   // executions at once
    int threads_per_instance = 1;
};

// One request's tensors on their way through the queue. Inputs are in the model's order, each [batch, ...].
struct Job {
    enum State { queued, running, done, withdrawn };

    std::vector<std::vector<float>> inputs;
    std::vector<Shape> shapes;
    int64_t batch = 1;
    Clock::time_point enqueued;

    // Filled when done: outputs [batch, ...] (F32), or an error.
    std::vector<std::vector<float>> outputs;
    std::vector<Shape> output_shapes;
    std::string error;
    uint64_t queue_ns = 0, infer_ns = 0;

    std::atomic<int> state{queued};
    std::mutex mutex;
    std::condition_variable cv;
};

class Batcher {
public:
    // `batchable`: every input's first dimension is free, so requests can be stacked along it.
    Batcher(Model model, BatchOptions options, bool batchable, std::shared_ptr<ModelStats> stats)
        : model_(std::move(model)), options_(options), batchable_(batchable), stats_(std::move(stats)) {
        for (int i = 0; i < std::max(1, options_.instances); ++i) workers_.emplace_back([this] { work(); });
    }
    Batcher(const Batcher&) = delete;
    Batcher& operator=(const Batcher&) = delete;
    // Finishes what is queued, then stops.
    ~Batcher() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            stopping_ = true;
        }
        cv_.notify_all();
        for (auto& w : workers_) w.join();
    }

    // Queues a job; throws HttpError 503 when the queue is full.
    void submit(const std::shared_ptr<Job>& job) {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            drop_withdrawn();
            if (int64_t(queue_.size()) >= options_.max_queue)
                throw HttpError(503, "the queue is full (" + std::to_string(options_.max_queue) +
                                         " requests waiting; --max-queue)");
            job->enqueued = Clock::now();
            queue_.push_back(job);
            ++stats_->queue_depth;
        }
        cv_.notify_one();
    }

    // Waits for the job. With a deadline, a job still queued then is withdrawn: returns false (time out).
    bool wait(Job& job, std::optional<Clock::time_point> deadline) {
        std::unique_lock<std::mutex> lock(job.mutex);
        auto finished = [&] { return job.state.load() == Job::done; };
        if (deadline && !job.cv.wait_until(lock, *deadline, finished)) {
            int expected = Job::queued;
            if (job.state.compare_exchange_strong(expected, Job::withdrawn)) {
                --stats_->queue_depth;
                cv_.notify_all();  // lets an instance drop it from the queue
                return false;
            }
        }
        job.cv.wait(lock, finished);
        return true;
    }

    size_t queued() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return queue_.size();
    }

private:
    // Same shape beyond the batch dimension: those jobs can be stacked.
    static bool stackable(const Job& a, const Job& b) {
        if (a.shapes.size() != b.shapes.size()) return false;
        for (size_t i = 0; i < a.shapes.size(); ++i)
            if (a.shapes[i].size() != b.shapes[i].size() ||
                !std::equal(a.shapes[i].begin() + 1, a.shapes[i].end(), b.shapes[i].begin() + 1))
                return false;
        return true;
    }

    void drop_withdrawn() {
        queue_.erase(std::remove_if(queue_.begin(), queue_.end(),
                                    [](const std::shared_ptr<Job>& j) { return j->state.load() == Job::withdrawn; }),
                     queue_.end());
    }

    // Under the lock: the jobs of the next batch (the oldest job and those stackable with it, up to max_batch),
    // or none when the batcher should wait longer for a fuller batch.
    std::vector<std::shared_ptr<Job>> take_batch(Clock::time_point& wake) {
        drop_withdrawn();
        std::vector<std::shared_ptr<Job>> batch;
        if (queue_.empty()) return batch;
        const int64_t max_batch = batchable_ ? std::max(1, options_.max_batch) : 1;
        int64_t images = 0;
        std::vector<size_t> picked;
        for (size_t i = 0; i < queue_.size(); ++i) {
            const Job& j = *queue_[i];
            if (i > 0 && (!stackable(*queue_[0], j) || images + j.batch > max_batch)) continue;
            picked.push_back(i);
            images += j.batch;
            if (images >= max_batch) break;
        }
        const auto oldest_deadline = queue_[0]->enqueued + std::chrono::microseconds(options_.max_queue_delay_us);
        if (images < max_batch && options_.max_queue_delay_us > 0 && !stopping_ && Clock::now() < oldest_deadline) {
            wake = oldest_deadline;
            return batch;
        }
        for (size_t k = picked.size(); k-- > 0;) {
            auto job = queue_[picked[k]];
            queue_.erase(queue_.begin() + long(picked[k]));
            int expected = Job::queued;
            if (job->state.compare_exchange_strong(expected, Job::running)) {
                --stats_->queue_depth;
                batch.insert(batch.begin(), std::move(job));
            }
        }
        return batch;
    }

    void work() {
        std::unique_lock<std::mutex> lock(mutex_);
        for (;;) {
            Clock::time_point wake = Clock::time_point::max();
            std::vector<std::shared_ptr<Job>> batch = take_batch(wake);
            if (batch.empty()) {
                if (stopping_ && queue_.empty()) return;
                if (wake == Clock::time_point::max()) cv_.wait(lock);
                else cv_.wait_until(lock, wake);
                continue;
            }
            lock.unlock();
            execute(batch);
            lock.lock();
        }
    }

    void execute(const std::vector<std::shared_ptr<Job>>& jobs) {
        const auto start = Clock::now();
        int64_t total = 0;
        for (auto& j : jobs) total += j->batch;
        std::vector<xt::xarray<float>> outputs;
        std::string error;
        try {
            run_stacked(jobs, total, outputs);
        } catch (const std::exception& e) {
            error = e.what();
        }
        const auto end = Clock::now();
        const uint64_t infer_ns = ns_between(start, end);
        if (error.empty()) stats_->execution_done(total, infer_ns);
        int64_t row = 0;
        for (auto& j : jobs) {
            j->queue_ns = ns_between(j->enqueued, start);
            j->infer_ns = infer_ns;
            if (!error.empty()) j->error = error;
            else if (jobs.size() == 1) take_outputs(outputs, *j);
            else split_outputs(outputs, row, *j);
            row += j->batch;
            {
                std::lock_guard<std::mutex> lock(j->mutex);
                j->state = Job::done;
            }
            j->cv.notify_all();
        }
    }

    // One job's inputs are used in place; several are stacked along the batch dimension.
    void run_stacked(const std::vector<std::shared_ptr<Job>>& jobs, int64_t total,
                     std::vector<xt::xarray<float>>& outputs) {
        RunOptions ro;
        ro.threads = options_.threads_per_instance;
        const Job& first = *jobs[0];
        std::vector<const float*> pointers;
        std::vector<Shape> shapes = first.shapes;
        std::vector<std::vector<float>> stacked;
        if (jobs.size() == 1) {
            for (auto& in : first.inputs) pointers.push_back(in.data());
        } else {
            stacked.resize(first.inputs.size());
            for (size_t i = 0; i < first.inputs.size(); ++i) {
                shapes[i][0] = total;
                stacked[i].reserve(first.inputs[i].size() / size_t(first.batch) * size_t(total));
                for (auto& j : jobs) stacked[i].insert(stacked[i].end(), j->inputs[i].begin(), j->inputs[i].end());
                pointers.push_back(stacked[i].data());
            }
        }
        model_.run(pointers, shapes, outputs, ro);
    }

    static void take_outputs(const std::vector<xt::xarray<float>>& outputs, Job& job) {
        for (auto& o : outputs) {
            job.outputs.emplace_back(o.data(), o.data() + o.size());
            job.output_shapes.emplace_back(o.shape().begin(), o.shape().end());
        }
    }

    static void split_outputs(const std::vector<xt::xarray<float>>& outputs, int64_t row, Job& job) {
        job.outputs.clear();
        job.output_shapes.clear();
        for (auto& o : outputs) {
            Shape s(o.shape().begin(), o.shape().end());
            const size_t per_row = s.empty() || s[0] == 0 ? 0 : o.size() / size_t(s[0]);
            if (!s.empty()) s[0] = job.batch;
            const float* from = o.data() + size_t(row) * per_row;
            job.outputs.emplace_back(from, from + size_t(job.batch) * per_row);
            job.output_shapes.push_back(std::move(s));
        }
    }

    Model model_;
    BatchOptions options_;
    bool batchable_;
    std::shared_ptr<ModelStats> stats_;
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<std::shared_ptr<Job>> queue_;
    bool stopping_ = false;
    std::vector<std::thread> workers_;
};

}  // namespace xinfer::serve
