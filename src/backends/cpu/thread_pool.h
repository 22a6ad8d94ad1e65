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
#include <memory>
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

    // How parallel_for_balanced splits [0, count): into this many ranges (the caller's and the
    // workers' first), range p starting at balanced_begin(count, p, parts).
    int balanced_parts(int64_t count, int64_t min_items) const {
        return static_cast<int>(std::clamp<int64_t>(count / std::max<int64_t>(min_items, 1), 1, n_threads_));
    }
    static int64_t balanced_begin(int64_t count, int p, int parts) { return count * p / parts; }

    // A hint for worker `worker` (1..size() - 1): while it waits for jobs, read [p, p + bytes)
    // into its L2, most likely the start of its part of a coming job, until a new hint replaces
    // it. An idle worker has nothing else to do, and a product that starts cached starts at
    // full speed.
    void prefetch_hint(int worker, const void* p, size_t bytes);

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

    // Calls fn(begin, end) over [0, count), spread over up to one range per thread of at
    // least `min_items`. Each thread walks its range in order, in pieces of whole `grain`s:
    // an eighth of what is left of the range, down to one grain at its end. One that runs
    // out takes the back half of what is left of the fullest other range. So a thread reads
    // one run of memory plus short stolen tails, and the threads finish within about a grain
    // of each other, where fixed chunks leave one waiting for the other's last chunk.
    template <class Fn>
    void parallel_for_balanced(int64_t count, int64_t min_items, int64_t grain, Fn&& fn) {
        if (count <= 0) return;
        grain = std::max<int64_t>(grain, 1);
        if (count >= (int64_t{1} << 32)) {  // beyond what a range holds: plain chunks
            return parallel_for(count, min_items, [&](int64_t first, int64_t last) {
                for (int64_t b = first; b < last; b += grain) fn(b, std::min(last, b + grain));
            });
        }
        const int parts = balanced_parts(count, min_items);
        if (parts == 1) {
            for (int64_t b = 0; b < count; b += grain) fn(b, std::min(count, b + grain));
            return;
        }
        for (int p = 0; p < parts; ++p) ranges_[p].store(pack(balanced_begin(count, p, parts), balanced_begin(count, p + 1, parts)));
        run_chunks(parts, [&](int64_t own) {
            const int r = static_cast<int>(own);
            for (int64_t begin, end;;) {
                if (claim(r, grain, begin, end)) fn(begin, end);
                else if (!steal(r, parts)) return;
            }
        });
    }

private:
    static constexpr int64_t kChunksPerThread = 2;
    // parallel_for_balanced's pieces: this fraction of what is left of a range.
    static constexpr int64_t kGuidedShare = 8;
    // A range [next, end) of parallel_for_balanced, both below 2^32, in one word.
    struct alignas(64) Range : std::atomic<uint64_t> {};
    static uint64_t pack(int64_t next, int64_t end) { return uint64_t(next) << 32 | uint64_t(end); }
    // Takes a piece (see parallel_for_balanced) from the front of range r.
    bool claim(int r, int64_t grain, int64_t& begin, int64_t& end);
    // Moves the back half of the fullest other range into range r (false: nothing left).
    bool steal(int r, int parts);
    using Thunk = void (*)(void*, int64_t);
    void dispatch(int64_t n_chunks, Thunk thunk, void* ctx);
    void worker(int index);
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
    std::unique_ptr<Range[]> ranges_;
    // prefetch_hint's regions, one per worker (index 0, the caller's, unused).
    struct alignas(64) Hint {
        std::atomic<const char*> begin{nullptr};
        std::atomic<size_t> bytes{0};
    };
    std::unique_ptr<Hint[]> hints_;
    Thunk thunk_ = nullptr;
    void* ctx_ = nullptr;
    int64_t n_chunks_ = 0;
    std::mutex error_mutex_;
    std::exception_ptr error_;
};

// Physical cores of the host (distinct core ids), at least 1.
int physical_cores();

}  // namespace suanli::cpu
