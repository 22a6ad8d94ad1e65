#include "runtime/memory_bandwidth.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "core/device.h"
#include "core/graph.h"

namespace suanli {
namespace {

// 16-byte vectors are part of baseline x86-64 (SSE2) and of every 64-bit Arm, so no
// per-ISA build is needed to issue wide loads; four accumulators keep loads in flight.
typedef uint64_t u64x2 __attribute__((vector_size(16)));

uint64_t read_range(const u64x2* p, size_t n) {
    u64x2 a{}, b{}, c{}, d{};
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        a ^= p[i];
        b ^= p[i + 1];
        c ^= p[i + 2];
        d ^= p[i + 3];
    }
    for (; i < n; ++i) a ^= p[i];
    const u64x2 s = a ^ b ^ c ^ d;
    return s[0] ^ s[1];
}

}  // namespace

double measure_read_bandwidth(int32_t threads, uint64_t bytes, int32_t repetitions) {
    threads = std::max<int32_t>(1, threads);
    const size_t n = bytes / sizeof(u64x2);
    std::unique_ptr<u64x2[]> buffer(new u64x2[n]);
    std::memset(static_cast<void*>(buffer.get()), 1, n * sizeof(u64x2));  // fault the pages in first

    std::vector<double> rates;
    volatile uint64_t sink = 0;
    for (int32_t r = 0; r < repetitions + 1; ++r) {  // the first pass warms up
        std::vector<uint64_t> results(static_cast<size_t>(threads));
        const auto start = std::chrono::steady_clock::now();
        std::vector<std::thread> pool;
        for (int32_t t = 0; t < threads; ++t) {
            const size_t begin = n * t / threads, end = n * (t + 1) / threads;
            pool.emplace_back([&, t, begin, end] { results[t] = read_range(buffer.get() + begin, end - begin); });
        }
        for (std::thread& th : pool) th.join();
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        for (uint64_t v : results) sink = sink ^ v;
        if (r > 0) rates.push_back(static_cast<double>(n * sizeof(u64x2)) / s / 1e9);
    }
    std::sort(rates.begin(), rates.end());
    return rates[rates.size() / 2];
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
