#include "backends/cpu/cpu_features.h"

#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define SUANLI_CPU_X86 1
#endif
#if defined(__aarch64__) && defined(__linux__)
#include <asm/hwcap.h>
#include <sys/auxv.h>
#define SUANLI_CPU_ARM64_LINUX 1
#endif

namespace suanli::cpu {
namespace {

CpuFeatures detect() {
    CpuFeatures f;
#ifdef SUANLI_CPU_X86
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
    const bool osxsave = (c >> 27) & 1;
    const bool fma = (c >> 12) & 1, f16c = (c >> 29) & 1, avx = (c >> 28) & 1;
    if (!osxsave || !avx) return f;
    // XCR0: bits 1-2 (SSE, AVX state) for AVX; bits 5-7 (opmask, ZMM) too for AVX-512.
    unsigned xlo, xhi;
    __asm__ volatile("xgetbv" : "=a"(xlo), "=d"(xhi) : "c"(0));
    const bool os_avx = (xlo & 0x6) == 0x6, os_avx512 = (xlo & 0xe6) == 0xe6;
    if (!os_avx) return f;
    f.fma = fma;
    f.f16c = f16c;
    if (__get_cpuid_max(0, nullptr) < 7) return f;
    __cpuid_count(7, 0, a, b, c, d);
    f.avx2 = (b >> 5) & 1;
    if (os_avx512) {
        f.avx512f = (b >> 16) & 1;
        f.avx512bw = (b >> 30) & 1;
        f.avx512vl = (b >> 31) & 1;
        f.avx512vnni = (c >> 11) & 1;
        __cpuid_count(7, 1, a, b, c, d);
        f.avx512bf16 = (a >> 5) & 1;
    }
#endif
#ifdef SUANLI_CPU_ARM64_LINUX
    // The kernel reports what user space may run (a feature the hypervisor or
    // kernel hides counts as absent), as XGETBV does on x86.
    const unsigned long hw = getauxval(AT_HWCAP);
    f.neon = (hw & HWCAP_ASIMD) != 0;
    f.dotprod = (hw & HWCAP_ASIMDDP) != 0;
#endif
    return f;
}

}  // namespace

const CpuFeatures& cpu_features() {
    static const CpuFeatures f = detect();
    return f;
}

size_t data_cache_bytes(int level) {
    long bytes = 0;  // 0 or -1 where the C library does not know
#if defined(_SC_LEVEL1_DCACHE_SIZE) && defined(_SC_LEVEL2_CACHE_SIZE)
    bytes = sysconf(level == 1 ? _SC_LEVEL1_DCACHE_SIZE : _SC_LEVEL2_CACHE_SIZE);
#else
    (void)level;
#endif
    return bytes > 0 ? static_cast<size_t>(bytes) : 0;
}

const char* isa_name(Isa isa) {
    switch (isa) {
        case Isa::Scalar: return "scalar";
        case Isa::Avx2: return "avx2";
        case Isa::Avx512: return "avx512";
        case Isa::Neon: return "neon";
        case Isa::NeonDot: return "dotprod";
    }
    return "?";
}

bool isa_supported(Isa isa) {
#ifdef SUANLI_CPU_HAVE_X86_KERNELS
    constexpr bool x86 = true;
#else
    constexpr bool x86 = false;
#endif
#ifdef SUANLI_CPU_HAVE_ARM_KERNELS
    constexpr bool arm = true;
#else
    constexpr bool arm = false;
#endif
    const CpuFeatures& f = cpu_features();
    switch (isa) {
        case Isa::Scalar: return true;
        case Isa::Avx2: return x86 && f.avx2 && f.fma && f.f16c;
        case Isa::Avx512: return x86 && f.avx2 && f.fma && f.f16c && f.avx512f && f.avx512bw && f.avx512vl && f.avx512vnni;
        case Isa::Neon: return arm && f.neon;
        case Isa::NeonDot: return arm && f.neon && f.dotprod;
    }
    return false;
}

Isa best_isa() {
    if (isa_supported(Isa::Avx512)) return Isa::Avx512;
    if (isa_supported(Isa::Avx2)) return Isa::Avx2;
    if (isa_supported(Isa::NeonDot)) return Isa::NeonDot;
    if (isa_supported(Isa::Neon)) return Isa::Neon;
    return Isa::Scalar;
}

}  // namespace suanli::cpu
