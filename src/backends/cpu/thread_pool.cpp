#include "backends/cpu/thread_pool.h"

#include <fstream>
#include <set>
#include <string>
#include <utility>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define SUANLI_PAUSE() _mm_pause()
#else
#define SUANLI_PAUSE() std::this_thread::yield()
#endif

namespace suanli::cpu {
namespace {

// Spins before sleeping (~1.2-1.6 ms of pauses here): long enough to bridge the gap between
// two ops of a graph and the host's work between two decode steps (~0.3 ms: with a quarter
// of this, the worker slept in about every other gap, and a futex wake opened the next
// step's first product; alternating, steps took ~1% less time), short enough not to burn a
// shared machine's cores while idle.
constexpr int kSpins = 1 << 16;

// Cache lines of a prefetch hint an idle worker asks for between two looks at the job word.
constexpr int kHintLinesPerSpin = 16;

inline void prefetch_l2(const char* p) {
#if defined(__x86_64__) || defined(__i386__)
    _mm_prefetch(p, _MM_HINT_T1);
#else
    __builtin_prefetch(p, 0, 2);
#endif
}

}  // namespace

ThreadPool::ThreadPool(int n_threads)
    : n_threads_(std::clamp(n_threads, 1, 1024)),
      ranges_(std::make_unique<Range[]>(static_cast<size_t>(n_threads_))),
      hints_(std::make_unique<Hint[]>(static_cast<size_t>(n_threads_))) {
    workers_.reserve(static_cast<size_t>(n_threads_ - 1));
    for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this, i] { worker(i); });
}

void ThreadPool::prefetch_hint(int worker, const void* p, size_t bytes) {
    if (worker < 1 || worker >= n_threads_) return;
    Hint& h = hints_[static_cast<size_t>(worker)];
    h.bytes.store(bytes, std::memory_order_relaxed);
    h.begin.store(static_cast<const char*>(p), std::memory_order_release);
}

ThreadPool::~ThreadPool() {
    stop_.store(true, std::memory_order_release);
    wake_workers();
    for (std::thread& t : workers_) t.join();
}

void ThreadPool::work() {
    for (;;) {
        const int64_t c = next_chunk_.fetch_add(1, std::memory_order_relaxed);
        if (c >= n_chunks_) return;
        try {
            thunk_(ctx_, c);
        } catch (...) {
            std::lock_guard lock(error_mutex_);
            if (!error_) error_ = std::current_exception();
        }
    }
}

void ThreadPool::dispatch(int64_t n_chunks, Thunk thunk, void* ctx) {
    thunk_ = thunk;
    ctx_ = ctx;
    n_chunks_ = n_chunks;
    next_chunk_.store(0, std::memory_order_relaxed);
    const uint64_t gen = (state_.load(std::memory_order_relaxed) >> 32) + 1;
    state_.store(gen << 32, std::memory_order_release);  // open, nobody joined: publishes the job
    wake_workers();
    work();
    // Close the job; only workers that joined before this may still be running chunks.
    uint64_t s = state_.fetch_or(kClosed, std::memory_order_acq_rel) | kClosed;
    for (int spin = 0; (s & kJoinedMask) != 0; ++spin) {
        if (spin < kSpins) SUANLI_PAUSE();
        else std::this_thread::yield();
        s = state_.load(std::memory_order_acquire);
    }
    if (error_) {
        std::exception_ptr e = std::exchange(error_, nullptr);
        std::rethrow_exception(e);
    }
}

bool ThreadPool::claim(int r, int64_t grain, int64_t& begin, int64_t& end) {
    uint64_t s = ranges_[r].load(std::memory_order_relaxed);
    for (;;) {
        const int64_t next = static_cast<int64_t>(s >> 32), last = static_cast<int64_t>(s & 0xffffffffu);
        if (next >= last) return false;
        // An eighth of what is left, in whole grains: few claims while the range is long (each
        // is a locked instruction, which waits for the loads the thread has in flight), and
        // single grains at its end, so that the threads still finish within a grain or so.
        const int64_t left = last - next;
        const int64_t take = std::min(left, std::max(grain, left / kGuidedShare / grain * grain));
        if (ranges_[r].compare_exchange_weak(s, pack(next + take, last), std::memory_order_relaxed)) {
            begin = next, end = next + take;
            return true;
        }
    }
}

bool ThreadPool::steal(int r, int parts) {
    for (;;) {
        int victim = -1;
        int64_t most = 0;
        uint64_t seen = 0;
        for (int v = 0; v < parts; ++v) {
            if (v == r) continue;
            const uint64_t s = ranges_[v].load(std::memory_order_relaxed);
            const int64_t left = static_cast<int64_t>(s & 0xffffffffu) - static_cast<int64_t>(s >> 32);
            if (left > most) most = left, victim = v, seen = s;
        }
        if (victim < 0) return false;
        // The victim keeps the front half, rounded down: its last unclaimed item too goes to the
        // thief, which would otherwise wait for it after the piece the victim is working on.
        // (Alternating within one decode, tokens took ~1.3% less time than with the victim
        // keeping at least one item: a down projection's threads ended ~5 us apart.)
        const int64_t next = static_cast<int64_t>(seen >> 32), last = static_cast<int64_t>(seen & 0xffffffffu);
        const int64_t split = next + most / 2;
        if (split >= last) return false;
        if (ranges_[victim].compare_exchange_strong(seen, pack(next, split), std::memory_order_relaxed)) {
            ranges_[r].store(pack(split, last), std::memory_order_relaxed);
            return true;
        }
    }
}

// Bumps wake_, then wakes sleeping workers. A worker announces itself in
// sleepers_ before it checks wake_ (both sequentially consistent), so either
// it sees the new value or we see it and take the lock it waits under.
void ThreadPool::wake_workers() {
    wake_.fetch_add(1, std::memory_order_seq_cst);
    if (sleepers_.load(std::memory_order_seq_cst) > 0) {
        { std::lock_guard lock(sleep_mutex_); }
        sleep_cv_.notify_all();
    }
}

void ThreadPool::worker(int index) {
    uint32_t seen = 0;  // wake_'s value when the pool was built, before any job or stop
    uint64_t done_gen = 0;
    Hint& hint = hints_[static_cast<size_t>(index)];
    // The hint not read yet: a few lines per spin, so a job is seen at once. What is left of it
    // survives the jobs in between (the attention between the QKV and O products, say) until
    // the next hint replaces it: alternating within one decode, keeping it made tokens ~1%
    // shorter than dropping it at the next job.
    const char* next = nullptr;
    const char* end = nullptr;
    for (;;) {
        uint32_t w = wake_.load(std::memory_order_acquire);
        for (int spin = 0; w == seen && spin < kSpins; ++spin) {
            if (const char* begin = hint.begin.exchange(nullptr, std::memory_order_acquire))
                next = begin, end = begin + hint.bytes.load(std::memory_order_relaxed);
            if (next < end) {
                for (int line = 0; line < kHintLinesPerSpin && next < end; ++line, next += 64) prefetch_l2(next);
            } else {
                SUANLI_PAUSE();
            }
            w = wake_.load(std::memory_order_acquire);
        }
        if (w == seen) {
            std::unique_lock lock(sleep_mutex_);
            sleepers_.fetch_add(1, std::memory_order_seq_cst);
            sleep_cv_.wait(lock, [&] { return wake_.load(std::memory_order_seq_cst) != seen; });
            sleepers_.fetch_sub(1, std::memory_order_relaxed);
            w = wake_.load(std::memory_order_acquire);
        }
        seen = w;
        if (stop_.load(std::memory_order_acquire)) return;
        // Join the current job if it is still open and this worker has not done it yet.
        uint64_t s = state_.load(std::memory_order_acquire);
        bool joined = false;
        while (!(s & kClosed) && (s >> 32) != done_gen) {
            if (state_.compare_exchange_weak(s, s + 1, std::memory_order_acq_rel, std::memory_order_acquire)) {
                joined = true;
                break;
            }
        }
        if (!joined) continue;
        done_gen = s >> 32;
        work();
        state_.fetch_sub(1, std::memory_order_acq_rel);
    }
}

int physical_cores() {
    std::set<std::string> cores;
    for (unsigned cpu = 0; cpu < 4096; ++cpu) {
        const std::string dir = "/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/topology/";
        std::ifstream core(dir + "core_id"), package(dir + "physical_package_id");
        std::string c, p;
        if (!(core >> c)) {
            if (!cores.empty()) break;
            if (cpu >= 64) break;
            continue;
        }
        package >> p;
        cores.insert(p + ":" + c);
    }
    if (!cores.empty()) return static_cast<int>(cores.size());
    return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

}  // namespace suanli::cpu
