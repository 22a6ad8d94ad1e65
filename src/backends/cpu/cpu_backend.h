// The optimized CPU backend, behind the same C ABI as every backend.
#pragma once

#include "backends/cpu/cpu_features.h"
#include "suanli/backend.h"

namespace suanli {

const sl_backend& cpu_backend();

namespace cpu {

// The kernel path devices opened from now on use: `isa` if the host supports
// it (returns false and changes nothing otherwise). Without a call, the
// environment variable SUANLI_CPU_ISA (scalar, avx2, avx512, neon, dotprod) decides, else the
// best path the CPU has. For tests and benchmarks.
bool force_isa(Isa isa);
void clear_forced_isa();
// The path a device opened now would use.
Isa selected_isa();

}  // namespace cpu
}  // namespace suanli
