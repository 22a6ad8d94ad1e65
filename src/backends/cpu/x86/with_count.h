// Turns a run-time count into a template argument, for kernels unrolled per
// tile size; shared by the AVX2 and AVX-512 files. Internal linkage only (see
// kquant_unpack.h and kernels.h).
#pragma once

#include <type_traits>

namespace suanli::cpu {
namespace {

// f(std::integral_constant<int, n>) for n = 1..Max (n < 1 counts as 1, n > Max as Max).
template <int Max, class F>
inline void with_count(int n, F&& f) {
    if constexpr (Max > 1)
        if (n < Max) return with_count<Max - 1>(n, f);
    f(std::integral_constant<int, Max>{});
}

}  // namespace
}  // namespace suanli::cpu
