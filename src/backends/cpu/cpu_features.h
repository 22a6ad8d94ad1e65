// What the host CPU can run, read once from CPUID (and XGETBV, so that a
// feature the OS does not save registers for counts as absent), and which
// kernel path (ISA level) the cpu backend uses.
#pragma once

namespace suanli::cpu {

struct CpuFeatures {
    bool avx2 = false, fma = false, f16c = false;
    bool avx512f = false, avx512bw = false, avx512vl = false, avx512vnni = false, avx512bf16 = false;
};

// The host's features (all false on non-x86 builds).
const CpuFeatures& cpu_features();

// Kernel paths, from the portable one up. Each level needs the features listed
// in isa_supported().
enum class Isa { Scalar = 0, Avx2 = 1, Avx512 = 2 };

const char* isa_name(Isa isa);
// True if this build has the path and the host can run it.
bool isa_supported(Isa isa);
// The best supported path.
Isa best_isa();

}  // namespace suanli::cpu
