// Block layouts of the quantized types GGUF files use, and row-wise conversion
// between them and float. The layouts are byte-exact with ggml-common.h; the
// quantizers reproduce ggml's reference ("_ref") quantizers bit for bit.
#pragma once

#include <cstdint>

#include "core/dtype.h"

namespace suanli {

inline constexpr int64_t kBlockQ4_0 = 32;  // elements per Q4_0 block
inline constexpr int64_t kBlockQ8_0 = 32;  // elements per Q8_0 block

// Element j < 16 is (qs[j] & 0x0f) - 8, element j + 16 is (qs[j] >> 4) - 8; both times d.
struct BlockQ4_0 {
    uint16_t d;  // scale, as IEEE half bits
    uint8_t qs[kBlockQ4_0 / 2];
};
static_assert(sizeof(BlockQ4_0) == 18, "Q4_0 block must be 18 bytes as in GGUF");

// Element j is qs[j] * d.
struct BlockQ8_0 {
    uint16_t d;  // scale, as IEEE half bits
    int8_t qs[kBlockQ8_0];
};
static_assert(sizeof(BlockQ8_0) == 34, "Q8_0 block must be 34 bytes as in GGUF");

// Converts `n` consecutive elements of type `type` at `src` to float.
// Supports F32, F16, BF16, Q8_0, Q4_0 and the K-quants Q4_K, Q5_K, Q6_K (quant_k.h);
// `src` needs no alignment. For the block types `n` must be a multiple of the block size. Throws Error otherwise.
void dequantize_row(DType type, const void* src, float* dst, int64_t n);

// Converts `n` floats to `n` elements of `type` at `dst` (no alignment needed):
// F32, F16 and BF16 round to nearest even; Q8_0 and Q4_0 use the quantizers below,
// Q4_K, Q5_K and Q6_K those in quant_k.h.
void quantize_row(DType type, const float* src, void* dst, int64_t n);

// ggml's quantize_row_q8_0_ref: d = max|x| / 127 stored as f16, q = round(x / d)
// (computed as x * (1/d) with the unrounded d, ties away from zero).
void quantize_row_q8_0(const float* src, BlockQ8_0* dst, int64_t n);

// ggml's quantize_row_q4_0_ref: m = the element of largest magnitude, sign kept;
// d = m / -8 stored as f16; q = min(15, (int8_t)(x * (1/d) + 8.5)) with the unrounded d.
void quantize_row_q4_0(const float* src, BlockQ4_0* dst, int64_t n);

void dequantize_row_q8_0(const BlockQ8_0* src, float* dst, int64_t n);
void dequantize_row_q4_0(const BlockQ4_0* src, float* dst, int64_t n);

}  // namespace suanli
