// What the host CPU can run, read once from CPUID (and XGETBV, so that a
// feature the OS does not save registers for counts as absent) on x86, from the
// kernel's HWCAP bits on AArch64, and which kernel path (ISA level) the cpu
// backend uses.
#pragma once

#include <cstddef>

namespace suanli::cpu {

struct CpuFeatures {
    bool avx2 = false, fma = false, f16c = false;
    bool avx512f = false, avx512bw = false, avx512vl = false, avx512vnni = false, avx512bf16 = false;
    bool neon = false, dotprod = false;  // AArch64: HWCAP_ASIMD, HWCAP_ASIMDDP
};

// The host's features (only those of the build's architecture can be true).
const CpuFeatures& cpu_features();

// Bytes of the host's level 1 (data) or level 2 cache per core, from the C library; 0 where it
// does not know.
size_t data_cache_bytes(int level);

// Kernel paths, from the portable one up per architecture. Each level needs
// the features listed in isa_supported().
enum class Isa { Scalar = 0, Avx2 = 1, Avx512 = 2, Neon = 3, NeonDot = 4 };

const char* isa_name(Isa isa);
// True if this build has the path and the host can run it.
bool isa_supported(Isa isa);
// The best supported path.
Isa best_isa();

}  // namespace suanli::cpu
