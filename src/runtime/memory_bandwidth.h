// How fast this machine reads memory: the roofline that decode speed is measured against.
#pragma once

#include <cstdint>

namespace suanli {

// Reads a buffer much larger than the caches with `threads` threads, several
// times, and returns the median rate in GB/s (1e9 bytes per second).
double measure_read_bandwidth(int32_t threads, uint64_t bytes = uint64_t{512} << 20, int32_t repetitions = 5);

}  // namespace suanli
