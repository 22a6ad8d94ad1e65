#include "core/quant.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "core/fp16.h"
#include "core/quant_k.h"

namespace suanli {
namespace {

// Blocks are read and written through memcpy so that rows need no alignment
// (a row of 34-byte Q8_0 blocks may start anywhere in a file).
template <class Block>
Block load_block(const unsigned char* p) {
    Block b;
    std::memcpy(&b, p, sizeof b);
    return b;
}

void decode_q8_0(const BlockQ8_0& b, float* dst) {
    const float d = f16_to_f32(b.d);
    for (int64_t j = 0; j < kBlockQ8_0; ++j) dst[j] = static_cast<float>(b.qs[j]) * d;
}

void decode_q4_0(const BlockQ4_0& b, float* dst) {
    const float d = f16_to_f32(b.d);
    for (int64_t j = 0; j < kBlockQ4_0 / 2; ++j) {
        dst[j] = static_cast<float>((b.qs[j] & 0x0f) - 8) * d;
        dst[j + kBlockQ4_0 / 2] = static_cast<float>((b.qs[j] >> 4) - 8) * d;
    }
}

BlockQ8_0 encode_q8_0(const float* x) {
    float amax = 0.0f;
    for (int64_t j = 0; j < kBlockQ8_0; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    BlockQ8_0 b;
    b.d = f32_to_f16(d);
    for (int64_t j = 0; j < kBlockQ8_0; ++j) b.qs[j] = static_cast<int8_t>(std::round(x[j] * id));
    return b;
}

BlockQ4_0 encode_q4_0(const float* x) {
    float amax = 0.0f;  // largest magnitude
    float max = 0.0f;   // the element with that magnitude, sign kept
    for (int64_t j = 0; j < kBlockQ4_0; ++j) {
        if (amax < std::fabs(x[j])) {
            amax = std::fabs(x[j]);
            max = x[j];
        }
    }
    const float d = max / -8.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    BlockQ4_0 b;
    b.d = f32_to_f16(d);
    for (int64_t j = 0; j < kBlockQ4_0 / 2; ++j) {
        const int lo = std::min(15, static_cast<int>(static_cast<int8_t>(x[j] * id + 8.5f)));
        const int hi =
            std::min(15, static_cast<int>(static_cast<int8_t>(x[j + kBlockQ4_0 / 2] * id + 8.5f)));
        b.qs[j] = static_cast<uint8_t>(lo | (hi << 4));
    }
    return b;
}

// All 65536 halves as floats, built once from f16_to_f32: a lookup is several
// times faster than converting, and F16 weight rows are dequantized a lot.
const float* f16_table() {
    static const std::vector<float> table = [] {
        std::vector<float> t(65536);
        for (uint32_t h = 0; h < 65536; ++h) t[h] = f16_to_f32(static_cast<uint16_t>(h));
        return t;
    }();
    return table.data();
}

void require_whole_blocks(DType type, int64_t n, int64_t block) {
    if (n < 0 || n % block != 0)
        fail("a ", dtype_name(type), " row of ", n, " elements is not whole blocks of ", block);
}

// K-quant super-blocks (quant_k.h), through an aligned copy of each block.
template <class Block>
void dequantize_blocks(DType type, const unsigned char* p, float* dst, int64_t n,
                       void (*decode)(const Block&, float*)) {
    require_whole_blocks(type, n, kBlockK);
    for (int64_t i = 0; i < n / kBlockK; ++i) decode(load_block<Block>(p + i * sizeof(Block)), dst + i * kBlockK);
}

template <class Block>
void quantize_blocks(DType type, const float* src, unsigned char* p, int64_t n, void (*encode)(const float*, Block&)) {
    require_whole_blocks(type, n, kBlockK);
    for (int64_t i = 0; i < n / kBlockK; ++i) {
        Block b;
        encode(src + i * kBlockK, b);
        std::memcpy(p + i * sizeof b, &b, sizeof b);
    }
}

}  // namespace

void dequantize_row_q8_0(const BlockQ8_0* src, float* dst, int64_t n) {
    require_whole_blocks(DType::Q8_0, n, kBlockQ8_0);
    for (int64_t i = 0; i < n / kBlockQ8_0; ++i) decode_q8_0(src[i], dst + i * kBlockQ8_0);
}

void dequantize_row_q4_0(const BlockQ4_0* src, float* dst, int64_t n) {
    require_whole_blocks(DType::Q4_0, n, kBlockQ4_0);
    for (int64_t i = 0; i < n / kBlockQ4_0; ++i) decode_q4_0(src[i], dst + i * kBlockQ4_0);
}

void quantize_row_q8_0(const float* src, BlockQ8_0* dst, int64_t n) {
    require_whole_blocks(DType::Q8_0, n, kBlockQ8_0);
    for (int64_t i = 0; i < n / kBlockQ8_0; ++i) dst[i] = encode_q8_0(src + i * kBlockQ8_0);
}

void quantize_row_q4_0(const float* src, BlockQ4_0* dst, int64_t n) {
    require_whole_blocks(DType::Q4_0, n, kBlockQ4_0);
    for (int64_t i = 0; i < n / kBlockQ4_0; ++i) dst[i] = encode_q4_0(src + i * kBlockQ4_0);
}

void dequantize_row(DType type, const void* src, float* dst, int64_t n) {
    const auto* p = static_cast<const unsigned char*>(src);
    switch (type) {
    case DType::F32:
        std::memcpy(dst, p, static_cast<size_t>(n) * sizeof(float));
        return;
    case DType::F16: {
        const float* table = f16_table();
        for (int64_t i = 0; i < n; ++i) {
            uint16_t h;
            std::memcpy(&h, p + 2 * i, 2);
            dst[i] = table[h];
        }
        return;
    }
    case DType::BF16:
        for (int64_t i = 0; i < n; ++i) {
            uint16_t h;
            std::memcpy(&h, p + 2 * i, 2);
            dst[i] = bf16_to_f32(h);
        }
        return;
    case DType::Q8_0:
        require_whole_blocks(type, n, kBlockQ8_0);
        for (int64_t i = 0; i < n / kBlockQ8_0; ++i)
            decode_q8_0(load_block<BlockQ8_0>(p + i * sizeof(BlockQ8_0)), dst + i * kBlockQ8_0);
        return;
    case DType::Q4_0:
        require_whole_blocks(type, n, kBlockQ4_0);
        for (int64_t i = 0; i < n / kBlockQ4_0; ++i)
            decode_q4_0(load_block<BlockQ4_0>(p + i * sizeof(BlockQ4_0)), dst + i * kBlockQ4_0);
        return;
    case DType::Q4_K:
        dequantize_blocks<BlockQ4_K>(type, p, dst, n, decode_q4_K);
        return;
    case DType::Q5_K:
        dequantize_blocks<BlockQ5_K>(type, p, dst, n, decode_q5_K);
        return;
    case DType::Q6_K:
        dequantize_blocks<BlockQ6_K>(type, p, dst, n, decode_q6_K);
        return;
    default:
        fail("dequantize_row: ", dtype_name(type), " is not supported");
    }
}

void quantize_row(DType type, const float* src, void* dst, int64_t n) {
    auto* p = static_cast<unsigned char*>(dst);
    switch (type) {
    case DType::F32:
        std::memcpy(p, src, static_cast<size_t>(n) * sizeof(float));
        return;
    case DType::F16:
        for (int64_t i = 0; i < n; ++i) {
            const uint16_t h = f32_to_f16(src[i]);
            std::memcpy(p + 2 * i, &h, 2);
        }
        return;
    case DType::BF16:
        for (int64_t i = 0; i < n; ++i) {
            const uint16_t h = f32_to_bf16(src[i]);
            std::memcpy(p + 2 * i, &h, 2);
        }
        return;
    case DType::Q8_0:
        require_whole_blocks(type, n, kBlockQ8_0);
        for (int64_t i = 0; i < n / kBlockQ8_0; ++i) {
            const BlockQ8_0 b = encode_q8_0(src + i * kBlockQ8_0);
            std::memcpy(p + i * sizeof b, &b, sizeof b);
        }
        return;
    case DType::Q4_0:
        require_whole_blocks(type, n, kBlockQ4_0);
        for (int64_t i = 0; i < n / kBlockQ4_0; ++i) {
            const BlockQ4_0 b = encode_q4_0(src + i * kBlockQ4_0);
            std::memcpy(p + i * sizeof b, &b, sizeof b);
        }
        return;
    case DType::Q4_K:
        quantize_blocks<BlockQ4_K>(type, src, p, n, encode_q4_K);
        return;
    case DType::Q5_K:
        quantize_blocks<BlockQ5_K>(type, src, p, n, encode_q5_K);
        return;
    case DType::Q6_K:
        quantize_blocks<BlockQ6_K>(type, src, p, n, encode_q6_K);
        return;
    default:
        fail("quantize_row: ", dtype_name(type), " is not supported");
    }
}

}  // namespace suanli
