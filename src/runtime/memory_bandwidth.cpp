#include "runtime/memory_bandwidth.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "core/device.h"
#include "core/graph.h"
#include "core/huge_page_memory.h"

namespace suanli {
namespace {

// The loop a weight stream is measured against: eight independent accumulators
// keep loads in flight. 16-byte vectors are part of baseline x86-64 (SSE2) and
// of every 64-bit Arm; x86 with AVX2 reads 32 bytes a load, chosen at run time,
// which streams a few percent faster on the AVX-512 machine of
// docs/benchmarks.md (64-byte loads stream no faster there).
typedef uint64_t u64x2 __attribute__((vector_size(16)));

// With or without software prefetch 4 KB ahead, one per line: while other tenants load
// the memory, the hardware prefetchers alone left this loop 20-25% short; on a quiet
// machine the prefetches cost it ~10%. measure() takes the best of both.
constexpr size_t kPrefetchBytes = 4096;

template <bool Prefetch, class V>
__attribute__((always_inline)) inline uint64_t xor_stream(const V* p, size_t n) {
    V acc[8] = {};
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        if constexpr (Prefetch) {
            const char* line = reinterpret_cast<const char*>(p + i) + kPrefetchBytes;
            for (size_t l = 0; l < 8 * sizeof(V); l += 64) __builtin_prefetch(line + l, 0, 3);
        }
        for (int k = 0; k < 8; ++k) acc[k] ^= p[i + k];
    }
    for (; i < n; ++i) acc[0] ^= p[i];
    V s{};
    for (const V& a : acc) s ^= a;
    uint64_t r = 0;
    for (size_t k = 0; k < sizeof(V) / 8; ++k) r ^= s[k];
    return r;
}

#if defined(__x86_64__)
typedef uint64_t u64x4 __attribute__((vector_size(32)));
template <bool Prefetch>
__attribute__((target("avx2"))) uint64_t read_range_avx2(const u64x2* p, size_t n) {
    return xor_stream<Prefetch>(reinterpret_cast<const u64x4*>(p), n / 2) ^ (n % 2 ? p[n - 1][0] ^ p[n - 1][1] : 0);
}
#endif

// XOR of n 16-byte vectors at p (32-byte aligned: read_range_avx2 loads 32 at a time).
template <bool Prefetch>
uint64_t read_range(const u64x2* p, size_t n) {
#if defined(__x86_64__)
    static const bool avx2 = __builtin_cpu_supports("avx2");
    if (avx2) return read_range_avx2<Prefetch>(p, n);
#endif
    return xor_stream<Prefetch>(p, n);
}

}  // namespace

ReadBandwidthProbe::ReadBandwidthProbe(int32_t threads, uint64_t bytes)
    : threads_(std::max<int32_t>(1, threads)),
      bytes_(std::max<uint64_t>(bytes / sizeof(u64x2), 1) * sizeof(u64x2)),
      // The memory packed weights live in: with 4 KB pages the same loop reads up to ~10% slower.
      memory_(allocate_huge_page_memory(bytes_)) {
    std::memset(memory_.get(), 1, bytes_);  // fault the pages in first
}

double ReadBandwidthProbe::measure(int32_t repetitions) const {
    const size_t n = bytes_ / sizeof(u64x2);
    const auto* buffer = reinterpret_cast<const u64x2*>(memory_.get());
    std::vector<double> rates;
    volatile uint64_t sink = 0;
    // The first pass warms up; then the two loops take turns, `repetitions` passes each.
    for (int32_t r = 0; r < 2 * std::max(repetitions, 1) + 1; ++r) {
        const bool prefetch = r % 2 == 1;
        std::vector<uint64_t> results(static_cast<size_t>(threads_));
        const auto start = std::chrono::steady_clock::now();
        std::vector<std::thread> pool;
        for (int32_t t = 0; t < threads_; ++t) {
            // Whole 64-byte lines per thread, so that every range stays 32-byte aligned.
            const size_t lines = n / 4, begin = lines * t / threads_ * 4,
                         end = t + 1 == threads_ ? n : lines * (t + 1) / threads_ * 4;
            pool.emplace_back([&, t, begin, end] { results[t] = prefetch ? read_range<true>(buffer + begin, end - begin)
                                                                  : read_range<false>(buffer + begin, end - begin); });
        }
        for (std::thread& th : pool) th.join();
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        for (uint64_t v : results) sink = sink ^ v;
        if (r > 0) rates.push_back(static_cast<double>(bytes_) / s / 1e9);
    }
    // The best pass: interference (other threads, other tenants of the machine) only slows
    // a pass down, so the fastest is the closest to what the memory can deliver (as STREAM).
    return *std::max_element(rates.begin(), rates.end());
}

double measure_read_bandwidth(int32_t threads, uint64_t bytes, int32_t repetitions) {
    return ReadBandwidthProbe(threads, bytes).measure(repetitions);
}

double measure_device_copy_bandwidth(Device& device, uint64_t bytes, int32_t repetitions) {
    // Copied in chunks: some devices bind at most 128 MiB to one kernel argument.
    constexpr uint64_t kChunk = uint64_t{64} << 20;
    const uint64_t chunks = std::max<uint64_t>(1, bytes / kChunk);
    const int64_t n = static_cast<int64_t>(kChunk / sizeof(float));
    Buffer from = device.allocate(chunks * kChunk), to = device.allocate(chunks * kChunk);
    Graph graph;
    for (uint64_t c = 0; c < chunks; ++c) {
        const TensorId src = graph.external(DType::F32, {n}, from.base() + c * kChunk, "bandwidth.src");
        graph.copy(src, graph.external(DType::F32, {n}, to.base() + c * kChunk, "bandwidth.dst"));
    }

    std::vector<double> rates;
    for (int32_t r = 0; r < repetitions + 1; ++r) {  // the first pass warms up
        const auto start = std::chrono::steady_clock::now();
        device.compute(graph);  // returns when the copy has finished
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (r > 0) rates.push_back(2.0 * static_cast<double>(chunks * kChunk) / s / 1e9);
    }
    std::sort(rates.begin(), rates.end());
    return rates[rates.size() / 2];
}

}  // namespace suanli
