// Baseline AArch64 NEON kernels (ARMv8-A: every 64-bit Arm CPU has them):
// vmull_s8 / vpadal integer dots, vcvt for F16. The code is shared with the
// dotprod table in kernels_neon_impl.h; everything here has internal linkage
// but the table getter (see kernels.h).
#include "backends/cpu/arm/kernels_neon_impl.h"

#ifdef __ARM_FEATURE_DOTPROD
#error "kernels_neon.cpp is the baseline path: build it without +dotprod"
#endif

namespace suanli::cpu {
namespace {
constexpr Kernels kNeon = neon_table(Isa::Neon);
}  // namespace

const Kernels& kernels_neon() { return kNeon; }

}  // namespace suanli::cpu
