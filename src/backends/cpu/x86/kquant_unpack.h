// K-quant weight super-blocks (Q4_K, Q5_K, Q6_K) unpacked with 256-bit
// integer ops, shared by the AVX2 and AVX-512 kernels. Only those two files
// include it, both compiled with at least AVX2; everything here has internal
// linkage (an anonymous namespace), so no copy compiled with AVX-512 can be
// picked by the linker for the AVX2 file (see kernels.h).
//
// Every type is brought to one form: 256 unsigned weights q (0..63) in element
// order, a signed scale s_g and an offset m_g per 16 elements (g = 0..15), and
// two floats, so that a super-block's dot with an activation block a is
//     d * sum_g s_g * dot(q_g, a_g)  -  dmin * sum_g m_g * sum(a_g)
// (Q4_K/Q5_K: s, m = the sub-block's 6-bit scale and min; Q6_K: s = its int8
// scale, m = 32 s, dmin = d, for q - 32).
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "backends/cpu/kquant_scale_words.h"

namespace suanli::cpu {
namespace {

struct KUnpacked {
    __m256i q[8];    // elements 32k .. 32k + 31 in q[k], unsigned bytes
    __m128i scales;  // s_g as 16 int8
    __m256i mins;    // m_g as 16 int16
    float d, dmin;
};

inline float f16_at(const unsigned char* p) {
    uint16_t h;
    std::memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

// The 8 six-bit scales and mins of a Q4_K/Q5_K super-block (12 bytes, ggml's
// get_scale_min_k4 for all j at once), each repeated for both 16-element halves.
inline void unpack_scales_k4(const unsigned char* s12, KUnpacked& u) {
    uint32_t v[4];
    kquant_scale_words(s12, v);
    const __m128i both = _mm_loadu_si128(reinterpret_cast<const __m128i*>(v));  // 8 scales, 8 mins
    const __m128i twice = _mm_setr_epi8(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
    u.scales = _mm_shuffle_epi8(both, twice);
    u.mins = _mm256_cvtepu8_epi16(_mm_shuffle_epi8(_mm_srli_si128(both, 8), twice));
}

// Q4_K (144 bytes): d, dmin, scales[12], qs[128]; byte l of 32-byte group g
// holds element 64g + l (low nibble) and 64g + 32 + l (high).
inline void unpack_q4_k(const unsigned char* p, KUnpacked& u) {
    u.d = f16_at(p);
    u.dmin = f16_at(p + 2);
    unpack_scales_k4(p + 4, u);
    const __m256i low4 = _mm256_set1_epi8(0x0f);
    #pragma GCC unroll 4
    for (int g = 0; g < 4; ++g) {
        const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 16 + 32 * g));
        u.q[2 * g] = _mm256_and_si256(x, low4);
        u.q[2 * g + 1] = _mm256_and_si256(_mm256_srli_epi16(x, 4), low4);
    }
}

// Q5_K (176 bytes): as Q4_K with qh[32] before qs; the fifth bit of element
// 64g + l is bit 2g of qh[l], of element 64g + 32 + l bit 2g + 1.
inline void unpack_q5_k(const unsigned char* p, KUnpacked& u) {
    u.d = f16_at(p);
    u.dmin = f16_at(p + 2);
    unpack_scales_k4(p + 4, u);
    const __m256i low4 = _mm256_set1_epi8(0x0f), bit4 = _mm256_set1_epi8(0x10);
    const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 16));
    // Bit b of every qh byte moved to bit 4. A 16-bit shift lets bits cross into
    // the next byte, but only into bits 0-3 (left by <= 4) or 5-7 (right by <= 3).
    auto fifth = [&](int b) {
        const __m256i x = b <= 4 ? _mm256_slli_epi16(qh, 4 - b) : _mm256_srli_epi16(qh, b - 4);
        return _mm256_and_si256(x, bit4);
    };
    #pragma GCC unroll 4
    for (int g = 0; g < 4; ++g) {
        const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 48 + 32 * g));
        u.q[2 * g] = _mm256_or_si256(_mm256_and_si256(x, low4), fifth(2 * g));
        u.q[2 * g + 1] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(x, 4), low4), fifth(2 * g + 1));
    }
}

// Q6_K (210 bytes): ql[128], qh[64], scales[16] (int8), d. Per half h of 128
// elements: ql[64h + l] holds q(128h + l) low and q(128h + 64 + l) high nibble,
// ql[64h + 32 + l] q(128h + 32 + l) and q(128h + 96 + l); qh[32h + l] the top
// two bits of those four in bits 0-1, 2-3, 4-5, 6-7 (order +0, +32, +64, +96).
inline void unpack_q6_k(const unsigned char* p, KUnpacked& u) {
    u.d = u.dmin = f16_at(p + 208);
    u.scales = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 192));
    u.mins = _mm256_slli_epi16(_mm256_cvtepi8_epi16(u.scales), 5);  // 32 s_g
    const __m256i low4 = _mm256_set1_epi8(0x0f), top2 = _mm256_set1_epi8(0x30);
    #pragma GCC unroll 2
    for (int h = 0; h < 2; ++h) {
        const __m256i l0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 64 * h));
        const __m256i l1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 64 * h + 32));
        const __m256i hb = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 128 + 32 * h));
        u.q[4 * h + 0] = _mm256_or_si256(_mm256_and_si256(l0, low4), _mm256_and_si256(_mm256_slli_epi16(hb, 4), top2));
        u.q[4 * h + 1] = _mm256_or_si256(_mm256_and_si256(l1, low4), _mm256_and_si256(_mm256_slli_epi16(hb, 2), top2));
        u.q[4 * h + 2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), low4), _mm256_and_si256(hb, top2));
        u.q[4 * h + 3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), low4),
                                         _mm256_and_si256(_mm256_srli_epi16(hb, 2), top2));
    }
}

}  // namespace
}  // namespace suanli::cpu
