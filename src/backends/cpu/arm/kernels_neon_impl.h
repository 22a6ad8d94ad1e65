// The AArch64 NEON kernels, included by two files: kernels_neon.cpp (baseline
// ARMv8-A) and kernels_neon_dot.cpp (compiled with +dotprod). Only the int8
// dot products differ, chosen by __ARM_FEATURE_DOTPROD, which the compiler
// defines from those flags. Everything here has internal linkage (an
// anonymous namespace; see kernels.h), so no dotprod copy of a function can be
// the one the linker keeps for the baseline file.
//
// Numerics. Q8_0/Q4_0 and K-quant weights: every block's integer sums are
// exact in int32 and reduced to one int32 before any float, then scaled and
// accumulated with the scalar path's float expression (both files built with
// -ffp-contract=off, see CMakeLists.txt), so results have the scalar path's
// bits (cpu_backend_test checks it; scripts/arm64.sh runs it under qemu).
// Float weights: FMA into four accumulators per column, like the x86 paths
// (only the summation order differs from scalar).
#pragma once

#include <arm_neon.h>

#include <cstdint>
#include <cstring>

#include "backends/cpu/kernels.h"
#include "backends/cpu/kquant_scale_words.h"

namespace suanli::cpu {
namespace {

// ---- loads ----

// IEEE half to float in a register (not core/fp16.h's inline function: a copy
// compiled with +dotprod could be the one the linker keeps).
inline float half_to_float(uint16_t h) {
    return vgetq_lane_f32(vcvt_f32_f16(vreinterpret_f16_u16(vdup_n_u16(h))), 0);
}
inline float half_at(const unsigned char* p) {
    uint16_t h;
    std::memcpy(&h, p, 2);
    return half_to_float(h);
}

inline float32x4_t load4_f32(const unsigned char* p) { return vld1q_f32(reinterpret_cast<const float*>(p)); }
inline float32x4_t load4_f16(const unsigned char* p) {
    return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(reinterpret_cast<const uint16_t*>(p))));
}
inline float32x4_t load4_bf16(const unsigned char* p) {  // bf16 is the top half of a float
    return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(reinterpret_cast<const uint16_t*>(p)), 16));
}
inline float load1_f32(const unsigned char* p) {
    float v;
    std::memcpy(&v, p, 4);
    return v;
}
inline float load1_f16(const unsigned char* p) { return half_at(p); }
inline float load1_bf16(const unsigned char* p) {
    uint16_t h;
    std::memcpy(&h, p, 2);
    const uint32_t u = static_cast<uint32_t>(h) << 16;
    float v;
    std::memcpy(&v, &u, 4);
    return v;
}

// ---- float weights ----

// Four accumulators per column over 16 elements a step (FMA latency hidden
// even for one column), then 4, then a scalar tail.
template <int NC, int Size, float32x4_t (*Load4)(const unsigned char*), float (*Load1)(const unsigned char*)>
void dot_float_nc(const unsigned char* w, const float* const* cols, int64_t K, float* out) {
    float32x4_t a[NC][4];
    #pragma GCC unroll 4
    for (int c = 0; c < NC; ++c) a[c][0] = a[c][1] = a[c][2] = a[c][3] = vdupq_n_f32(0.0f);
    int64_t k = 0;
    for (; k + 16 <= K; k += 16) {
        const float32x4_t w0 = Load4(w + Size * k), w1 = Load4(w + Size * (k + 4));
        const float32x4_t w2 = Load4(w + Size * (k + 8)), w3 = Load4(w + Size * (k + 12));
        #pragma GCC unroll 4
        for (int c = 0; c < NC; ++c) {
            a[c][0] = vfmaq_f32(a[c][0], w0, vld1q_f32(cols[c] + k));
            a[c][1] = vfmaq_f32(a[c][1], w1, vld1q_f32(cols[c] + k + 4));
            a[c][2] = vfmaq_f32(a[c][2], w2, vld1q_f32(cols[c] + k + 8));
            a[c][3] = vfmaq_f32(a[c][3], w3, vld1q_f32(cols[c] + k + 12));
        }
    }
    for (; k + 4 <= K; k += 4) {
        const float32x4_t w0 = Load4(w + Size * k);
        #pragma GCC unroll 4
        for (int c = 0; c < NC; ++c) a[c][0] = vfmaq_f32(a[c][0], w0, vld1q_f32(cols[c] + k));
    }
    #pragma GCC unroll 4
    for (int c = 0; c < NC; ++c) {
        float tail = 0.0f;
        for (int64_t j = k; j < K; ++j) tail += Load1(w + Size * j) * cols[c][j];
        out[c] = vaddvq_f32(vaddq_f32(vaddq_f32(a[c][0], a[c][1]), vaddq_f32(a[c][2], a[c][3]))) + tail;
    }
}

template <int Size, float32x4_t (*Load4)(const unsigned char*), float (*Load1)(const unsigned char*)>
void dot_float(const void* wv, const float* const* cols, int nc, int64_t K, float* out) {
    const auto* w = static_cast<const unsigned char*>(wv);
    switch (nc) {
        case 1: return dot_float_nc<1, Size, Load4, Load1>(w, cols, K, out);
        case 2: return dot_float_nc<2, Size, Load4, Load1>(w, cols, K, out);
        case 3: return dot_float_nc<3, Size, Load4, Load1>(w, cols, K, out);
        default: return dot_float_nc<4, Size, Load4, Load1>(w, cols, K, out);
    }
}

// ---- int8 dot products: the only code that differs with dotprod ----

// Partial sums (4 lanes) of the 16 products x[i] * y[i]. Baseline: 8 pairs
// summed in int16 (|x y| <= 128 * 127, so a pair fits), then widened pairwise.
inline int32x4_t dot16(int8x16_t x, int8x16_t y) {
#ifdef __ARM_FEATURE_DOTPROD
    return vdotq_s32(vdupq_n_s32(0), x, y);
#else
    return vpaddlq_s16(vmlal_high_s8(vmull_s8(vget_low_s8(x), vget_low_s8(y)), x, y));
#endif
}

// sum of x[i] * y[i] over 32 elements, exact.
inline int32_t dot32(int8x16_t x0, int8x16_t x1, const int8_t* y) {
    const int32x4_t s = vaddq_s32(dot16(x0, vld1q_s8(y)), dot16(x1, vld1q_s8(y + 16)));
    return vaddvq_s32(s);
}

// ---- Q8_0 / Q4_0 ----

struct Block32 {
    int8x16_t lo, hi;  // elements 0..15, 16..31
    float d;
};

inline Block32 block_q8_0(const unsigned char* p) {
    const auto* q = reinterpret_cast<const int8_t*>(p + 2);
    return {vld1q_s8(q), vld1q_s8(q + 16), half_at(p)};
}
// Byte j holds element j (low nibble) and j + 16 (high), both offset by 8.
inline Block32 block_q4_0(const unsigned char* p) {
    const uint8x16_t x = vld1q_u8(p + 2);
    const int8x16_t eight = vdupq_n_s8(8);
    const int8x16_t lo = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(x, vdupq_n_u8(0x0f))), eight);
    const int8x16_t hi = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(x, 4)), eight);
    return {lo, hi, half_at(p)};
}

// Per block: the exact int32 dot, then the scalar path's float expression.
template <int NC, int Bytes, Block32 (*Decode)(const unsigned char*)>
void dot_quant_nc(const unsigned char* w, const BlockQ8A* const* cols, int64_t nblocks, float* out) {
    float acc[NC] = {};
    for (int64_t i = 0; i < nblocks; ++i, w += Bytes) {
        const Block32 q = Decode(w);
        #pragma GCC unroll 8
        for (int c = 0; c < NC; ++c) {
            const BlockQ8A& b = cols[c][i];
            acc[c] += q.d * b.d * static_cast<float>(dot32(q.lo, q.hi, b.qs));
        }
    }
    #pragma GCC unroll 8
    for (int c = 0; c < NC; ++c) out[c] = acc[c];
}

template <int Bytes, Block32 (*Decode)(const unsigned char*)>
void dot_quant(const void* wv, const BlockQ8A* const* cols, int nc, int64_t nblocks, float* out) {
    const auto* w = static_cast<const unsigned char*>(wv);
    switch (nc) {
        case 1: return dot_quant_nc<1, Bytes, Decode>(w, cols, nblocks, out);
        case 2: return dot_quant_nc<2, Bytes, Decode>(w, cols, nblocks, out);
        case 3: return dot_quant_nc<3, Bytes, Decode>(w, cols, nblocks, out);
        case 4: return dot_quant_nc<4, Bytes, Decode>(w, cols, nblocks, out);
        case 5: return dot_quant_nc<5, Bytes, Decode>(w, cols, nblocks, out);
        case 6: return dot_quant_nc<6, Bytes, Decode>(w, cols, nblocks, out);
        case 7: return dot_quant_nc<7, Bytes, Decode>(w, cols, nblocks, out);
        default: return dot_quant_nc<8, Bytes, Decode>(w, cols, nblocks, out);
    }
}

// ---- K-quants ----

// A super-block in the one form of kernels_scalar.cpp and x86/kquant_unpack.h:
// 256 unsigned weights q (0..63) in element order, per 16 elements a scale s_g
// and an offset m_g; the dot with activations a is
//     d * sum_g s_g dot(q_g, a_g) - dmin * sum_g m_g sum(a_g).
struct KNeon {
    uint8x16_t q[16];  // q[g]: elements 16g .. 16g + 15
    int32_t s[16];
    int16x8_t m[2];    // m_0..7, m_8..15
    float d, dmin;
};

// The 8 six-bit scales and mins of Q4_K/Q5_K (ggml's get_scale_min_k4 for all
// j at once, as in x86/kquant_unpack.h), each for both 16-element halves.
inline void unpack_scales_k4(const unsigned char* s12, KNeon& u) {
    uint32_t v[4];
    kquant_scale_words(s12, v);
    uint8_t b[16];
    std::memcpy(b, v, 16);
    for (int j = 0; j < 8; ++j) u.s[2 * j] = u.s[2 * j + 1] = b[j];
    const uint8x8_t mins = vld1_u8(b + 8);
    u.m[0] = vreinterpretq_s16_u16(vmovl_u8(vzip1_u8(mins, mins)));
    u.m[1] = vreinterpretq_s16_u16(vmovl_u8(vzip2_u8(mins, mins)));
}

// Q4_K (144 bytes): d, dmin, scales[12], qs[128]; byte l of 32-byte group g
// holds element 64g + l (low nibble) and 64g + 32 + l (high).
inline void unpack_q4_k(const unsigned char* p, KNeon& u) {
    u.d = half_at(p);
    u.dmin = half_at(p + 2);
    unpack_scales_k4(p + 4, u);
    const uint8x16_t low4 = vdupq_n_u8(0x0f);
    #pragma GCC unroll 4
    for (int g = 0; g < 4; ++g) {
        const uint8x16_t x0 = vld1q_u8(p + 16 + 32 * g), x1 = vld1q_u8(p + 32 + 32 * g);
        u.q[4 * g + 0] = vandq_u8(x0, low4);
        u.q[4 * g + 1] = vandq_u8(x1, low4);
        u.q[4 * g + 2] = vshrq_n_u8(x0, 4);
        u.q[4 * g + 3] = vshrq_n_u8(x1, 4);
    }
}

// Q5_K (176 bytes): as Q4_K with qh[32] before qs; the fifth bit of element
// 64g + l is bit 2g of qh[l], of element 64g + 32 + l bit 2g + 1.
inline void unpack_q5_k(const unsigned char* p, KNeon& u) {
    u.d = half_at(p);
    u.dmin = half_at(p + 2);
    unpack_scales_k4(p + 4, u);
    const uint8x16_t low4 = vdupq_n_u8(0x0f), bit4 = vdupq_n_u8(0x10);
    const uint8x16_t h0 = vld1q_u8(p + 16), h1 = vld1q_u8(p + 32);
    // vtst gives all ones where the bit is set (no shift by a loop-variable immediate).
    auto fifth = [&](uint8x16_t h, int b) { return vandq_u8(vtstq_u8(h, vdupq_n_u8(1u << b)), bit4); };
    #pragma GCC unroll 4
    for (int g = 0; g < 4; ++g) {
        const uint8x16_t x0 = vld1q_u8(p + 48 + 32 * g), x1 = vld1q_u8(p + 64 + 32 * g);
        u.q[4 * g + 0] = vorrq_u8(vandq_u8(x0, low4), fifth(h0, 2 * g));
        u.q[4 * g + 1] = vorrq_u8(vandq_u8(x1, low4), fifth(h1, 2 * g));
        u.q[4 * g + 2] = vorrq_u8(vshrq_n_u8(x0, 4), fifth(h0, 2 * g + 1));
        u.q[4 * g + 3] = vorrq_u8(vshrq_n_u8(x1, 4), fifth(h1, 2 * g + 1));
    }
}

// Q6_K (210 bytes): ql[128], qh[64], scales[16] (int8), d. Per half h of 128
// elements: ql[64h + l] holds q(128h + l) low and q(128h + 64 + l) high nibble,
// ql[64h + 32 + l] q(128h + 32 + l) and q(128h + 96 + l); qh[32h + l] the top
// two bits of those four in bits 0-1, 2-3, 4-5, 6-7 (order +0, +32, +64, +96).
// q - 32 is taken as the offset m = 32 s, dmin = d.
inline void unpack_q6_k(const unsigned char* p, KNeon& u) {
    u.d = u.dmin = half_at(p + 208);
    const int8x16_t s = vld1q_s8(reinterpret_cast<const int8_t*>(p + 192));
    int8_t sb[16];
    vst1q_s8(sb, s);
    for (int g = 0; g < 16; ++g) u.s[g] = sb[g];
    u.m[0] = vshlq_n_s16(vmovl_s8(vget_low_s8(s)), 5);
    u.m[1] = vshlq_n_s16(vmovl_high_s8(s), 5);
    const uint8x16_t low4 = vdupq_n_u8(0x0f), top2 = vdupq_n_u8(0x30);
    #pragma GCC unroll 2
    for (int h = 0; h < 2; ++h) {
        #pragma GCC unroll 2
        for (int l = 0; l < 32; l += 16) {
            const uint8x16_t l0 = vld1q_u8(p + 64 * h + l), l1 = vld1q_u8(p + 64 * h + 32 + l);
            const uint8x16_t hb = vld1q_u8(p + 128 + 32 * h + l);
            uint8x16_t* q = u.q + 8 * h + l / 16;  // element 128h + l, then +32, +64, +96
            q[0] = vorrq_u8(vandq_u8(l0, low4), vandq_u8(vshlq_n_u8(hb, 4), top2));
            q[2] = vorrq_u8(vandq_u8(l1, low4), vandq_u8(vshlq_n_u8(hb, 2), top2));
            q[4] = vorrq_u8(vshrq_n_u8(l0, 4), vandq_u8(hb, top2));
            q[6] = vorrq_u8(vshrq_n_u8(l1, 4), vandq_u8(vshrq_n_u8(hb, 2), top2));
        }
    }
}

// Per super-block and column: the scaled sub-block dots and the offsets, both
// exact int32 (below 2^29; two accumulators to shorten the dependency chain),
// then the scalar path's float expression.
template <int NC, int Bytes, void (*Unpack)(const unsigned char*, KNeon&)>
void dot_kquant_nc(const unsigned char* w, const BlockQ8K* const* cols, int64_t nblocks, float* out) {
    float acc[NC] = {};
    KNeon u;
    for (int64_t i = 0; i < nblocks; ++i, w += Bytes) {
        Unpack(w, u);
        #pragma GCC unroll 8
        for (int c = 0; c < NC; ++c) {
            const BlockQ8K& a = cols[c][i];
            int32x4_t s0 = vdupq_n_s32(0), s1 = vdupq_n_s32(0);
            #pragma GCC unroll 8
            for (int g = 0; g < 16; g += 2) {
                s0 = vmlaq_n_s32(s0, dot16(vreinterpretq_s8_u8(u.q[g]), vld1q_s8(a.qs + 16 * g)), u.s[g]);
                s1 = vmlaq_n_s32(s1, dot16(vreinterpretq_s8_u8(u.q[g + 1]), vld1q_s8(a.qs + 16 * g + 16)), u.s[g + 1]);
            }
            const int16x8_t b0 = vld1q_s16(a.bsums), b1 = vld1q_s16(a.bsums + 8);
            int32x4_t off = vmull_s16(vget_low_s16(u.m[0]), vget_low_s16(b0));
            off = vmlal_high_s16(off, u.m[0], b0);
            off = vmlal_s16(off, vget_low_s16(u.m[1]), vget_low_s16(b1));
            off = vmlal_high_s16(off, u.m[1], b1);
            const int32_t sum = vaddvq_s32(vaddq_s32(s0, s1)), offset = vaddvq_s32(off);
            acc[c] += u.d * a.d * static_cast<float>(sum) - u.dmin * a.d * static_cast<float>(offset);
        }
    }
    #pragma GCC unroll 8
    for (int c = 0; c < NC; ++c) out[c] = acc[c];
}

template <int Bytes, void (*Unpack)(const unsigned char*, KNeon&)>
void dot_kquant(const void* wv, const BlockQ8K* const* cols, int nc, int64_t nblocks, float* out) {
    const auto* w = static_cast<const unsigned char*>(wv);
    switch (nc) {
        case 1: return dot_kquant_nc<1, Bytes, Unpack>(w, cols, nblocks, out);
        case 2: return dot_kquant_nc<2, Bytes, Unpack>(w, cols, nblocks, out);
        case 3: return dot_kquant_nc<3, Bytes, Unpack>(w, cols, nblocks, out);
        case 4: return dot_kquant_nc<4, Bytes, Unpack>(w, cols, nblocks, out);
        case 5: return dot_kquant_nc<5, Bytes, Unpack>(w, cols, nblocks, out);
        case 6: return dot_kquant_nc<6, Bytes, Unpack>(w, cols, nblocks, out);
        case 7: return dot_kquant_nc<7, Bytes, Unpack>(w, cols, nblocks, out);
        default: return dot_kquant_nc<8, Bytes, Unpack>(w, cols, nblocks, out);
    }
}

// The table, with `isa` naming which of the two files built it.
constexpr Kernels neon_table(Isa isa) {
    return {
        isa,
        {dot_float<4, load4_f32, load1_f32>, dot_float<2, load4_f16, load1_f16>, dot_float<2, load4_bf16, load1_bf16>},
        dot_quant<34, block_q8_0>,
        dot_quant<18, block_q4_0>,
        {dot_kquant<144, unpack_q4_k>, dot_kquant<176, unpack_q5_k>, dot_kquant<210, unpack_q6_k>},
    };
}

}  // namespace
}  // namespace suanli::cpu
