// How fast a device reads memory: the roofline that decode speed is measured against.
#pragma once

#include <cstdint>

namespace suanli {

class Device;

// Reads a buffer much larger than the caches with `threads` threads, several
// times, and returns the median rate in GB/s (1e9 bytes per second).
double measure_read_bandwidth(int32_t threads, uint64_t bytes = uint64_t{512} << 20, int32_t repetitions = 5);

// For a device with its own memory (a GPU): copies `bytes` between two of its
// buffers with the standard COPY op, several times, and returns the median rate
// in GB/s counting the bytes read and written, as GPU copy benchmarks do.
double measure_device_copy_bandwidth(Device& device, uint64_t bytes = uint64_t{1} << 30, int32_t repetitions = 5);

}  // namespace suanli
