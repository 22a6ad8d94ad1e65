// The "K-quant" block layouts (Q4_K, Q5_K, Q6_K): super-blocks of 256 elements
// split into sub-blocks with their own quantized scales. Layouts are byte-exact
// with ggml-common.h; the quantizers follow ggml's quantize_row_q*_K_ref and the
// dequantizers ggml's dequantize_row_q*_K, operation for operation.
#pragma once

#include <cstdint>

namespace suanli {

inline constexpr int64_t kBlockK = 256;   // QK_K: elements per super-block
inline constexpr int kScaleBytesK = 12;   // K_SCALE_SIZE

// 8 sub-blocks of 32. Sub-block j has a 6-bit scale sc_j and 6-bit min m_j packed in
// `scales` (see scale_min_k4); element = d * sc_j * q - dmin * m_j with q 4-bit.
// qs byte l of 32-byte group g holds element 64g + l (low nibble) and 64g + 32 + l (high).
struct BlockQ4_K {
    uint16_t d;     // super-block scale of the scales, IEEE half bits
    uint16_t dmin;  // super-block scale of the mins
    uint8_t scales[kScaleBytesK];
    uint8_t qs[kBlockK / 2];
};
static_assert(sizeof(BlockQ4_K) == 144, "Q4_K block must be 144 bytes as in GGUF");

// As Q4_K with 5-bit q: the fifth bit of element 64g + l is bit 2g of qh[l], of
// element 64g + 32 + l bit 2g + 1.
struct BlockQ5_K {
    uint16_t d;
    uint16_t dmin;
    uint8_t scales[kScaleBytesK];
    uint8_t qh[kBlockK / 8];
    uint8_t qs[kBlockK / 2];
};
static_assert(sizeof(BlockQ5_K) == 176, "Q5_K block must be 176 bytes as in GGUF");

// 16 sub-blocks of 16 with int8 scales; element = d * scales[s] * (q - 32), q 6-bit.
// Per half of 128 elements (h): ql[64h + l] holds q(128h + l) low and q(128h + 64 + l)
// high nibble, ql[64h + 32 + l] q(128h + 32 + l) and q(128h + 96 + l); qh[32h + l]
// holds the top 2 bits of those four in bits 0-1, 2-3, 4-5, 6-7 (order +0, +32, +64, +96).
struct BlockQ6_K {
    uint8_t ql[kBlockK / 2];
    uint8_t qh[kBlockK / 4];
    int8_t scales[kBlockK / 16];
    uint16_t d;
};
static_assert(sizeof(BlockQ6_K) == 210, "Q6_K block must be 210 bytes as in GGUF");

// ggml's get_scale_min_k4: the 6-bit scale and min of sub-block j (0..7).
// j < 4: scale = q[j] & 63, min = q[j + 4] & 63; j >= 4: the low 4 bits come from
// q[j + 4] (scale low nibble, min high nibble) and the top 2 from bits 6-7 of
// q[j - 4] (scale) and q[j] (min).
inline void scale_min_k4(int j, const uint8_t* q, uint8_t* scale, uint8_t* min) {
    if (j < 4) {
        *scale = q[j] & 63;
        *min = q[j + 4] & 63;
    } else {
        *scale = static_cast<uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *min = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

// Rows of `n` elements (a multiple of 256; Error otherwise). Blocks are aligned structs here;
// dequantize_row/quantize_row in quant.h handle unaligned bytes.
void quantize_row_q4_K(const float* src, BlockQ4_K* dst, int64_t n);
void quantize_row_q5_K(const float* src, BlockQ5_K* dst, int64_t n);
void quantize_row_q6_K(const float* src, BlockQ6_K* dst, int64_t n);
void dequantize_row_q4_K(const BlockQ4_K* src, float* dst, int64_t n);
void dequantize_row_q5_K(const BlockQ5_K* src, float* dst, int64_t n);
void dequantize_row_q6_K(const BlockQ6_K* src, float* dst, int64_t n);

// One block at a time, for the unaligned paths in quant.cpp.
void encode_q4_K(const float* x, BlockQ4_K& b);
void encode_q5_K(const float* x, BlockQ5_K& b);
void encode_q6_K(const float* x, BlockQ6_K& b);
void decode_q4_K(const BlockQ4_K& b, float* y);
void decode_q5_K(const BlockQ5_K& b, float* y);
void decode_q6_K(const BlockQ6_K& b, float* y);

}  // namespace suanli
