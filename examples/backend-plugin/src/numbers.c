/*
 * Number formats: F16 and BF16 written out bit by bit, the Q8_0 and Q4_0
 * blocks, and reading and writing tensor rows through their byte strides.
 */
#include <math.h>
#include <string.h>

#include "example.h"

static uint32_t bits_of(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float float_of(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* IEEE half: 1 sign bit, 5 exponent bits (bias 15), 10 mantissa bits. */
float f16_to_f32(uint16_t h) {
    const uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    const uint32_t exponent = (h >> 10) & 0x1fu;
    const uint32_t mantissa = h & 0x3ffu;
    if (exponent == 0x1fu) return float_of(sign | 0x7f800000u | (mantissa << 13)); /* inf, NaN */
    if (exponent == 0) {
        /* zero or subnormal: mantissa * 2^-24, exact in float */
        const float magnitude = (float)mantissa * (1.0f / 16777216.0f);
        return sign ? -magnitude : magnitude;
    }
    /* rebias the exponent from 15 to 127 */
    return float_of(sign | ((exponent + 112u) << 23) | (mantissa << 13));
}

uint16_t f32_to_f16(float f) {
    const uint32_t x = bits_of(f);
    const uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    const uint32_t magnitude = x & 0x7fffffffu;
    if (magnitude > 0x7f800000u) return sign | 0x7e00u; /* NaN stays a (quiet) NaN */
    if (magnitude >= 0x47800000u) return sign | 0x7c00u; /* >= 65536 (or inf): infinity */

    const int32_t exponent = (int32_t)(magnitude >> 23) - 127;
    uint32_t mantissa = (magnitude & 0x7fffffu) | 0x800000u; /* 24 bits with the implicit one */
    int shift;                                                /* bits to drop from the 24 */
    uint32_t half_exponent;
    if (exponent < -14) {
        /* a subnormal half: units of 2^-24, so drop 13 + (-14 - exponent) bits */
        if (exponent < -25) return sign; /* below half of the smallest subnormal: zero */
        shift = 13 + (-14 - exponent);
        half_exponent = 0;
    } else {
        shift = 13;
        half_exponent = (uint32_t)(exponent + 15);
        mantissa &= 0x7fffffu; /* the implicit one is carried by the exponent field */
    }
    const uint32_t dropped = mantissa & ((1u << shift) - 1u);
    const uint32_t halfway = 1u << (shift - 1);
    uint32_t kept = mantissa >> shift;
    uint32_t result = (half_exponent << 10) + kept;
    /* round to nearest, ties to even; a carry out of the mantissa bumps the exponent, as it should */
    if (dropped > halfway || (dropped == halfway && (kept & 1u))) result += 1;
    return (uint16_t)(sign | result);
}

/* BF16 is the top half of a float. */
float bf16_to_f32(uint16_t h) { return float_of((uint32_t)h << 16); }

uint16_t f32_to_bf16(float f) {
    const uint32_t x = bits_of(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40u); /* quiet NaN */
    const uint32_t lower = x & 0xffffu;
    uint32_t upper = x >> 16;
    if (lower > 0x8000u || (lower == 0x8000u && (upper & 1u))) upper += 1;
    return (uint16_t)upper;
}

/* ---- dtypes ---- */

int64_t block_elements(int32_t dtype) {
    switch (dtype) {
        case SL_DTYPE_F32: case SL_DTYPE_F16: case SL_DTYPE_BF16: case SL_DTYPE_I32: return 1;
        case SL_DTYPE_Q8_0: case SL_DTYPE_Q4_0: return 32;
        case SL_DTYPE_Q4_K: case SL_DTYPE_Q5_K: case SL_DTYPE_Q6_K: return 256;
        default: return 0;
    }
}

int64_t block_bytes(int32_t dtype) {
    switch (dtype) {
        case SL_DTYPE_F32: case SL_DTYPE_I32: return 4;
        case SL_DTYPE_F16: case SL_DTYPE_BF16: return 2;
        case SL_DTYPE_Q8_0: return 2 + 32;  /* f16 d, 32 x int8 */
        case SL_DTYPE_Q4_0: return 2 + 16;  /* f16 d, 32 x 4 bits */
        case SL_DTYPE_Q4_K: return 144;
        case SL_DTYPE_Q5_K: return 176;
        case SL_DTYPE_Q6_K: return 210;
        default: return 0;
    }
}

const char* dtype_name(int32_t dtype) {
    switch (dtype) {
        case SL_DTYPE_F32: return "F32";
        case SL_DTYPE_F16: return "F16";
        case SL_DTYPE_BF16: return "BF16";
        case SL_DTYPE_I32: return "I32";
        case SL_DTYPE_Q8_0: return "Q8_0";
        case SL_DTYPE_Q4_0: return "Q4_0";
        case SL_DTYPE_Q4_K: return "Q4_K";
        case SL_DTYPE_Q5_K: return "Q5_K";
        case SL_DTYPE_Q6_K: return "Q6_K";
        default: return "unknown";
    }
}

int is_readable_weight(int32_t dtype) {
    return dtype == SL_DTYPE_F32 || dtype == SL_DTYPE_F16 || dtype == SL_DTYPE_BF16 || dtype == SL_DTYPE_Q8_0 ||
           dtype == SL_DTYPE_Q4_0;
}

int is_standard_weight(int32_t dtype) {
    return is_readable_weight(dtype) || dtype == SL_DTYPE_Q4_K || dtype == SL_DTYPE_Q5_K || dtype == SL_DTYPE_Q6_K;
}

/* ---- tensor access ---- */

static const unsigned char* byte_at(const sl_tensor* t, int64_t i0, int64_t i1, int64_t i2, int64_t i3) {
    return (const unsigned char*)(uintptr_t)t->addr + i0 * t->nb[0] + i1 * t->nb[1] + i2 * t->nb[2] + i3 * t->nb[3];
}

static uint16_t load_u16(const unsigned char* p) {
    uint16_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

float load_f(const sl_tensor* t, int64_t i0, int64_t i1, int64_t i2, int64_t i3) {
    const unsigned char* p = byte_at(t, i0, i1, i2, i3);
    switch (t->dtype) {
        case SL_DTYPE_F16: return f16_to_f32(load_u16(p));
        case SL_DTYPE_BF16: return bf16_to_f32(load_u16(p));
        default: {
            float f;
            memcpy(&f, p, sizeof f);
            return f;
        }
    }
}

int32_t load_i32(const sl_tensor* t, int64_t i0, int64_t i1, int64_t i2, int64_t i3) {
    int32_t v;
    memcpy(&v, byte_at(t, i0, i1, i2, i3), sizeof v);
    return v;
}

/* Q8_0: x = d * q for 32 signed bytes q. */
static void dequantize_q8_0(const unsigned char* block, float* dst) {
    const float d = f16_to_f32(load_u16(block));
    const signed char* q = (const signed char*)(block + 2);
    for (int j = 0; j < 32; ++j) dst[j] = d * (float)q[j];
}

/* Q4_0: byte j holds element j in its low nibble and element j + 16 in its high one; x = d * (q - 8). */
static void dequantize_q4_0(const unsigned char* block, float* dst) {
    const float d = f16_to_f32(load_u16(block));
    const unsigned char* q = block + 2;
    for (int j = 0; j < 16; ++j) {
        dst[j] = d * (float)((int)(q[j] & 0x0f) - 8);
        dst[j + 16] = d * (float)((int)(q[j] >> 4) - 8);
    }
}

void load_row(const sl_tensor* t, int64_t i1, int64_t i2, int64_t i3, float* dst) {
    const int64_t n = t->ne[0];
    if (t->dtype == SL_DTYPE_Q8_0 || t->dtype == SL_DTYPE_Q4_0) {
        const unsigned char* row = byte_at(t, 0, i1, i2, i3); /* nb[0] is unused: i0 = 0 */
        const int64_t bytes = block_bytes(t->dtype);
        for (int64_t b = 0; b < n / 32; ++b) {
            if (t->dtype == SL_DTYPE_Q8_0) dequantize_q8_0(row + b * bytes, dst + b * 32);
            else dequantize_q4_0(row + b * bytes, dst + b * 32);
        }
        return;
    }
    for (int64_t i0 = 0; i0 < n; ++i0) dst[i0] = load_f(t, i0, i1, i2, i3);
}

void store_row(const sl_tensor* t, int64_t i1, int64_t i2, int64_t i3, const float* src) {
    unsigned char* row = (unsigned char*)(uintptr_t)t->addr + i1 * t->nb[1] + i2 * t->nb[2] + i3 * t->nb[3];
    for (int64_t i0 = 0; i0 < t->ne[0]; ++i0) {
        unsigned char* p = row + i0 * t->nb[0];
        if (t->dtype == SL_DTYPE_F32) {
            memcpy(p, &src[i0], sizeof(float));
        } else {
            const uint16_t h = t->dtype == SL_DTYPE_F16 ? f32_to_f16(src[i0]) : f32_to_bf16(src[i0]);
            memcpy(p, &h, sizeof h);
        }
    }
}
