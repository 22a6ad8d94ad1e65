// Conversions between float and the 16-bit float formats stored in model files.
#pragma once

#include <bit>
#include <cstdint>

namespace suanli {

inline float f16_to_f32(uint16_t h) {
    const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
    const uint32_t exp = (h >> 10) & 0x1fu;
    const uint32_t mant = h & 0x3ffu;
    if (exp == 0) {  // zero or subnormal: mant * 2^-24
        const float v = static_cast<float>(mant) * 0x1p-24f;
        return sign ? -v : v;
    }
    if (exp == 31) return std::bit_cast<float>(sign | 0x7f800000u | (mant << 13));
    return std::bit_cast<float>(sign | ((exp + 112) << 23) | (mant << 13));
}

// Round to nearest even, as IEEE conversion does.
inline uint16_t f32_to_f16(float f) {
    const uint32_t x = std::bit_cast<uint32_t>(f);
    const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
    const uint32_t abs = x & 0x7fffffffu;
    if (abs >= 0x7f800000u) return sign | (abs > 0x7f800000u ? 0x7e00u : 0x7c00u);
    if (abs >= 0x477ff000u) return sign | 0x7c00u;  // rounds to infinity
    if (abs < 0x38800000u) {                        // subnormal half or zero
        const float v = std::bit_cast<float>(abs) * 0x1p24f;  // exact scale to units of 2^-24
        const uint32_t r = static_cast<uint32_t>(v);
        const float frac = v - static_cast<float>(r);
        uint32_t m = r + ((frac > 0.5f || (frac == 0.5f && (r & 1u))) ? 1u : 0u);
        return sign | static_cast<uint16_t>(m);
    }
    const uint32_t rounded = abs + 0xfffu + ((abs >> 13) & 1u) - (112u << 23);
    return sign | static_cast<uint16_t>(rounded >> 13);
}

inline float bf16_to_f32(uint16_t h) { return std::bit_cast<float>(static_cast<uint32_t>(h) << 16); }

inline uint16_t f32_to_bf16(float f) {
    const uint32_t x = std::bit_cast<uint32_t>(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);  // quiet NaN
    return static_cast<uint16_t>((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

}  // namespace suanli
