// AArch64 NEON kernels with the dot product extension (vdotq_s32: sixteen int8
// products summed into four int32 lanes in one instruction). Compiled with
// -march=armv8.2-a+dotprod; chosen at run time only when the kernel reports
// HWCAP_ASIMDDP. The code is shared with the baseline table in
// kernels_neon_impl.h; everything has internal linkage but the table getter.
#include "backends/cpu/arm/kernels_neon_impl.h"

#ifndef __ARM_FEATURE_DOTPROD
#error "kernels_neon_dot.cpp needs +dotprod (see src/backends/cpu/CMakeLists.txt)"
#endif

namespace suanli::cpu {
namespace {
constexpr Kernels kNeonDot = neon_table(Isa::NeonDot);
}  // namespace

const Kernels& kernels_neon_dot() { return kNeonDot; }

}  // namespace suanli::cpu
