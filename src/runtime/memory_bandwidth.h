// How fast a device reads memory: the roofline that decode speed is measured against.
#pragma once

#include <cstdint>

#include "core/huge_page_memory.h"

namespace suanli {

class Device;

// Host memory read by `threads` threads: a buffer much larger than the caches,
// in huge pages (as packed weights are), allocated and faulted in once so that
// it can be measured again between the samples of a benchmark.
class ReadBandwidthProbe {
public:
    explicit ReadBandwidthProbe(int32_t threads, uint64_t bytes = uint64_t{512} << 20);
    // Reads the buffer `repetitions` times with software prefetch and as many
    // without (after one warm-up pass) and returns the best rate in GB/s (1e9
    // bytes per second).
    double measure(int32_t repetitions = 5) const;

private:
    int32_t threads_;
    uint64_t bytes_;
    HugePageMemory memory_;
};

// ReadBandwidthProbe(threads, bytes).measure(repetitions).
double measure_read_bandwidth(int32_t threads, uint64_t bytes = uint64_t{512} << 20, int32_t repetitions = 5);

// For a device with its own memory (a GPU): copies `bytes` between two of its
// buffers with the standard COPY op, several times, and returns the median rate
// in GB/s counting the bytes read and written, as GPU copy benchmarks do.
double measure_device_copy_bandwidth(Device& device, uint64_t bytes = uint64_t{1} << 30, int32_t repetitions = 5);

}  // namespace suanli
