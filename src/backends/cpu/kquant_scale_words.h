// The 12 scale bytes of a Q4_K/Q5_K super-block as four words of bytes: the 8
// six-bit scales in words 0-1 and the 8 six-bit mins in words 2-3 (ggml's
// get_scale_min_k4 for every j at once). Plain integer code shared by the x86
// and Arm kernel files; internal linkage, so each file keeps the copy compiled
// with its own target flags (see kernels.h).
#pragma once

#include <cstdint>
#include <cstring>

namespace suanli::cpu {
namespace {

inline void kquant_scale_words(const unsigned char* s12, uint32_t v[4]) {
    std::memcpy(v, s12, 12);
    const uint32_t m6 = 0x3f3f3f3f, m4 = 0x0f0f0f0f, m2 = 0x03030303;
    v[3] = ((v[2] >> 4) & m4) | (((v[1] >> 6) & m2) << 4);  // mins 4..7
    const uint32_t mins_lo = v[1] & m6;                       // mins 0..3
    v[1] = (v[2] & m4) | (((v[0] >> 6) & m2) << 4);           // scales 4..7
    v[2] = mins_lo;
    v[0] &= m6;                                               // scales 0..3
}

}  // namespace
}  // namespace suanli::cpu
