#version 450
// COPY: src (F32, F16, BF16; any strides) into the node's own tensor (F32,
// F16, BF16; any strides), rounding to nearest even. 16-bit outputs are
// written with atomics on their 32-bit word, so two invocations writing the
// two halves of one word never lose each other's half, and bytes no element
// covers are never touched. A contiguous copy within one dtype copies words.
#extension GL_GOOGLE_include_directive : require
layout(local_size_x = 256) in;

#include "common.glsl"

uint f32_to_f16(float f) {
    const uint x = floatBitsToUint(f);
    const uint sign = (x >> 16) & 0x8000u;
    const uint ax = x & 0x7fffffffu;
    if (ax >= 0x7f800000u) return sign | (ax > 0x7f800000u ? 0x7e00u : 0x7c00u);  // NaN, Inf
    if (ax >= 0x477ff000u) return sign | 0x7c00u;                                  // rounds past 65504
    if (ax >= 0x38800000u) {                                                       // normal half
        uint h = (ax >> 13) - (112u << 10);
        const uint rest = ax & 0x1fffu;
        if (rest > 0x1000u || (rest == 0x1000u && (h & 1u) != 0u)) ++h;
        return sign | h;
    }
    if (ax < 0x33000000u) return sign;  // below half the smallest subnormal: zero
    // Subnormal half: the mantissa (with its implicit bit) shifted into place.
    const uint e = ax >> 23;
    const uint m = (ax & 0x7fffffu) | 0x800000u;
    const uint shift = 126u - e;
    uint h = m >> shift;
    const uint rest = m & ((1u << shift) - 1u), halfway = 1u << (shift - 1u);
    if (rest > halfway || (rest == halfway && (h & 1u) != 0u)) ++h;
    return sign | h;
}

uint f32_to_bf16(float f) {
    const uint x = floatBitsToUint(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (x >> 16) | 0x40u;  // NaN stays NaN (quiet)
    return (x + 0x7fffu + ((x >> 16) & 1u)) >> 16;
}

void store_half(uint b, uint h) {
    const uint shift = (b & 2u) << 3;
    atomicAnd(dst[b >> 2], ~(0xffffu << shift));
    atomicOr(dst[b >> 2], h << shift);
}

// A contiguous copy within one dtype (host: extra word 0 set, word 1 the
// number of 32-bit words): 16-byte words where both ends are 16-byte aligned,
// else 32-bit words. False where an end is not 4-byte aligned (F16 at 2 mod 4):
// the element path then does it.
bool copy_words() {
    const uint words = x_u(1u), from = t_off(0u), to = t_off(SLOT_DST);
    if (((from | to) & 3u) != 0u) return false;
    const uint stride = gl_NumWorkGroups.x * 256u;
    uint done = 0u;
    if (((from | to) & 15u) == 0u) {
        const uint n4 = words >> 2;
        for (uint i = gl_GlobalInvocationID.x; i < n4; i += stride) dstv[(to >> 4) + i] = s0v[(from >> 4) + i];
        done = n4 << 2;
    }
    for (uint i = done + gl_GlobalInvocationID.x; i < words; i += stride) dst[(to >> 2) + i] = s0[(from >> 2) + i];
    return true;
}

void main() {
    if (x_u(0u) == 1u && copy_words()) return;
    const uint total = t_ne(0u, 0u) * t_ne(0u, 1u) * t_ne(0u, 2u) * t_ne(0u, 3u);
    const uint sdt = t_dtype(0u), ddt = t_dtype(SLOT_DST);
    for (uint idx = gl_GlobalInvocationID.x; idx < total; idx += gl_NumWorkGroups.x * 256u) {
        const uvec4 i = unravel(0u, idx);
        const float v = s0_plain(sdt, elem_off(0u, i.x, i.y, i.z, i.w));
        const uint b = elem_off(SLOT_DST, i.x, i.y, i.z, i.w);
        if (ddt == DT_F32) dst[b >> 2] = floatBitsToUint(v);
        else if (ddt == DT_F16) store_half(b, f32_to_f16(v));
        else store_half(b, f32_to_bf16(v));
    }
}
