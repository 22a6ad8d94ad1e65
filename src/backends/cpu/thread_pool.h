// A pool of persistent worker threads for one device. A job is a number of
// chunks; the calling thread and the workers claim chunks from a shared
// counter until none is left. Idle workers spin briefly, then sleep on a
// condition variable, so the gap between two ops costs no thread start.
//
// A worker joins a job only while it is open: once the caller has run out of
// chunks it closes the job and waits just for the workers that joined. On a
// loaded machine a descheduled worker therefore never holds up an op; the
// caller does its share. Which thread runs a chunk never changes what the
// chunk computes, so results do not depend on the thread count.
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace suanli::cpu {

class ThreadPool {
public:
    explicit ThreadPool(int n_threads);
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    int size() const { return n_threads_; }

    // Calls fn(chunk) for every chunk in [0, n_chunks), spread over the threads,
    // and returns when all are done. The first exception thrown is rethrown here.
    // Not reentrant: one job at a time (the device serializes graph_compute).
    template <class Fn>
    void run_chunks(int64_t n_chunks, Fn&& fn) {
        if (n_chunks <= 0) return;
        if (n_chunks == 1 || n_threads_ == 1) {
            for (int64_t c = 0; c < n_chunks; ++c) fn(c);
            return;
        }
        auto thunk = [](void* ctx, int64_t chunk) { (*static_cast<Fn*>(ctx))(chunk); };
        dispatch(n_chunks, thunk, &fn);
    }

    // Splits [0, count) into contiguous ranges of at least `min_chunk` items (a
    // few per thread, for balance) and calls fn(begin, end) for each, in parallel.
    template <class Fn>
    void parallel_for(int64_t count, int64_t min_chunk, Fn&& fn) {
        if (count <= 0) return;
        const int64_t parts =
            std::clamp<int64_t>(count / std::max<int64_t>(min_chunk, 1), 1, int64_t{n_threads_} * kChunksPerThread);
        run_chunks(parts, [&](int64_t p) { fn(count * p / parts, count * (p + 1) / parts); });
    }

private:
    static constexpr int64_t kChunksPerThread = 2;
    using Thunk = void (*)(void*, int64_t);
    void dispatch(int64_t n_chunks, Thunk thunk, void* ctx);
    void worker();
    void wake_workers();
    void work();  // claims and runs chunks of the current job until none is left

    // state_: generation in bits 32-63, the "closed" flag in bit 16, joined workers in bits 0-15.
    static constexpr uint64_t kClosed = uint64_t{1} << 16;
    static constexpr uint64_t kJoinedMask = kClosed - 1;

    int n_threads_;
    std::vector<std::thread> workers_;
    std::atomic<uint32_t> wake_{0};  // bumped for every job
    std::atomic<int> sleepers_{0};   // workers that may be waiting on sleep_cv_
    std::mutex sleep_mutex_;
    std::condition_variable sleep_cv_;
    std::atomic<uint64_t> state_{kClosed};
    std::atomic<int64_t> next_chunk_{0};
    std::atomic<bool> stop_{false};
    Thunk thunk_ = nullptr;
    void* ctx_ = nullptr;
    int64_t n_chunks_ = 0;
    std::mutex error_mutex_;
    std::exception_ptr error_;
};

// Physical cores of the host (distinct core ids), at least 1.
int physical_cores();

}  // namespace suanli::cpu
