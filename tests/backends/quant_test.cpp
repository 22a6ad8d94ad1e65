// Q8_0 / Q4_0 block layouts and the reference quantizers (src/core/quant.h).
#include "core/quant.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "core/fp16.h"

namespace suanli {
namespace {

std::vector<float> wave(int64_t n, float amplitude, int seed) {
    std::vector<float> v(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i)
        v[i] = amplitude * std::sin(0.37f * static_cast<float>(i) + static_cast<float>(seed)) *
               (1.0f + 0.5f * std::cos(0.11f * static_cast<float>(i * seed)));
    return v;
}

TEST(Quant, BlockSizesMatchGguf) {
    EXPECT_EQ(sizeof(BlockQ8_0), traits(DType::Q8_0).block_bytes);
    EXPECT_EQ(sizeof(BlockQ4_0), traits(DType::Q4_0).block_bytes);
}

TEST(Quant, Q8_0KnownBlockDequantizes) {
    // Bytes as in a file: d = 0.5 (f16 0x3800, little endian), then q[j] = j - 16.
    unsigned char bytes[34];
    bytes[0] = 0x00;
    bytes[1] = 0x38;
    for (int j = 0; j < 32; ++j) bytes[2 + j] = static_cast<unsigned char>(static_cast<int8_t>(j - 16));
    float out[32];
    dequantize_row(DType::Q8_0, bytes, out, 32);
    for (int j = 0; j < 32; ++j) EXPECT_EQ(out[j], 0.5f * static_cast<float>(j - 16)) << j;
}

TEST(Quant, Q4_0KnownBlockDequantizes) {
    // d = -2 (f16 0xC000); byte j holds element j in its low nibble, element j + 16 in its high one.
    unsigned char bytes[18];
    bytes[0] = 0x00;
    bytes[1] = 0xC0;
    for (int j = 0; j < 16; ++j) bytes[2 + j] = static_cast<unsigned char>(j | ((15 - j) << 4));
    float out[32];
    dequantize_row(DType::Q4_0, bytes, out, 32);
    for (int j = 0; j < 16; ++j) {
        EXPECT_EQ(out[j], -2.0f * static_cast<float>(j - 8)) << j;
        EXPECT_EQ(out[j + 16], -2.0f * static_cast<float>(15 - j - 8)) << j;
    }
}

TEST(Quant, Q8_0QuantizerMatchesGgmlByHand) {
    // x = j - 16: amax = 16, d = 16/127, q = round(x * 127/16).
    float x[32];
    for (int j = 0; j < 32; ++j) x[j] = static_cast<float>(j - 16);
    BlockQ8_0 b;
    quantize_row_q8_0(x, &b, 32);
    EXPECT_EQ(b.d, f32_to_f16(16.0f / 127.0f));
    EXPECT_EQ(b.qs[0], -127);   // -16 * 7.9375
    EXPECT_EQ(b.qs[17], 8);     // 1 * 7.9375 = 7.9375
    EXPECT_EQ(b.qs[18], 16);    // 15.875
    EXPECT_EQ(b.qs[31], 119);   // 119.0625
    EXPECT_EQ(b.qs[16], 0);
    EXPECT_EQ(b.qs[14], -16);   // -2 * 7.9375 = -15.875
}

TEST(Quant, Q4_0QuantizerMatchesGgmlByHand) {
    // x = j - 16: the largest magnitude is x[0] = -16, so d = -16 / -8 = 2, 1/d = 0.5.
    // Element j < 16: q = (int8)((j - 16) * 0.5 + 8.5) = trunc(j/2 + 0.5);
    // element j + 16 (x = j): q = min(15, trunc(j/2 + 8.5)).
    float x[32];
    for (int j = 0; j < 32; ++j) x[j] = static_cast<float>(j - 16);
    BlockQ4_0 b;
    quantize_row_q4_0(x, &b, 32);
    EXPECT_EQ(b.d, f32_to_f16(2.0f));
    const int lo[16] = {0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8};
    const int hi[16] = {8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15, 15};
    for (int j = 0; j < 16; ++j) {
        EXPECT_EQ(b.qs[j] & 0x0f, lo[j]) << j;
        EXPECT_EQ(b.qs[j] >> 4, hi[j]) << j;
    }
    float y[32];
    dequantize_row_q4_0(&b, y, 32);
    EXPECT_EQ(y[0], -16.0f);  // the extreme value is exact
    EXPECT_EQ(y[31], 14.0f);  // x = 15 clamps to q = 15
}

TEST(Quant, ZeroBlocksStayZero) {
    float x[32] = {};
    BlockQ8_0 b8;
    BlockQ4_0 b4;
    quantize_row_q8_0(x, &b8, 32);
    quantize_row_q4_0(x, &b4, 32);
    float y[32];
    dequantize_row_q8_0(&b8, y, 32);
    for (float v : y) EXPECT_EQ(v, 0.0f);
    dequantize_row_q4_0(&b4, y, 32);
    for (float v : y) EXPECT_EQ(v, 0.0f);
    for (int j = 0; j < 16; ++j) EXPECT_EQ(b4.qs[j], 0x88);
}

TEST(Quant, Q8_0RoundTripWithinHalfAStep) {
    const int64_t n = 32 * 16;
    const std::vector<float> x = wave(n, 3.0f, 1);
    std::vector<BlockQ8_0> q(n / 32);
    quantize_row_q8_0(x.data(), q.data(), n);
    std::vector<float> y(n);
    dequantize_row_q8_0(q.data(), y.data(), n);
    for (int64_t blk = 0; blk < n / 32; ++blk) {
        float amax = 0.0f;
        for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[blk * 32 + j]));
        const float d = amax / 127.0f;
        // Half a step, plus |q| <= 127 times the f16 rounding of d.
        const float bound = 0.5f * d + 127.0f * d * 0x1p-11f;
        for (int j = 0; j < 32; ++j) EXPECT_LE(std::fabs(x[blk * 32 + j] - y[blk * 32 + j]), bound);
    }
}

TEST(Quant, Q4_0RoundTripWithinOneStep) {
    const int64_t n = 32 * 16;
    const std::vector<float> x = wave(n, 5.0f, 2);
    std::vector<BlockQ4_0> q(n / 32);
    quantize_row_q4_0(x.data(), q.data(), n);
    std::vector<float> y(n);
    dequantize_row_q4_0(q.data(), y.data(), n);
    for (int64_t blk = 0; blk < n / 32; ++blk) {
        float amax = 0.0f;
        for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[blk * 32 + j]));
        const float d = amax / 8.0f;
        // Half a step in general; a full step where the opposite extreme clamps at q = 15.
        const float bound = d + 8.0f * d * 0x1p-11f;
        for (int j = 0; j < 32; ++j) EXPECT_LE(std::fabs(x[blk * 32 + j] - y[blk * 32 + j]), bound);
    }
}

TEST(Quant, GenericRowsAgreeWithTypedOnesAndNeedNoAlignment) {
    const int64_t n = 64;
    const std::vector<float> x = wave(n, 2.0f, 3);
    std::vector<BlockQ8_0> q8(2);
    std::vector<BlockQ4_0> q4(2);
    quantize_row_q8_0(x.data(), q8.data(), n);
    quantize_row_q4_0(x.data(), q4.data(), n);

    // Odd addresses: rows of blocks may start anywhere.
    std::vector<unsigned char> raw(1 + 2 * 34);
    quantize_row(DType::Q8_0, x.data(), raw.data() + 1, n);
    EXPECT_EQ(std::memcmp(raw.data() + 1, q8.data(), 68), 0);
    std::vector<float> a(n), b(n);
    dequantize_row(DType::Q8_0, raw.data() + 1, a.data(), n);
    dequantize_row_q8_0(q8.data(), b.data(), n);
    EXPECT_EQ(a, b);

    quantize_row(DType::Q4_0, x.data(), raw.data() + 1, n);
    EXPECT_EQ(std::memcmp(raw.data() + 1, q4.data(), 36), 0);
    dequantize_row(DType::Q4_0, raw.data() + 1, a.data(), n);
    dequantize_row_q4_0(q4.data(), b.data(), n);
    EXPECT_EQ(a, b);
}

TEST(Quant, PlainFloatRows) {
    const float x[4] = {1.0f, -2.5f, 65504.0f, 1.0f / 3.0f};
    uint16_t h[4];
    float y[4];
    quantize_row(DType::F16, x, h, 4);
    EXPECT_EQ(h[0], 0x3C00);
    EXPECT_EQ(h[2], 0x7BFF);
    dequantize_row(DType::F16, h, y, 4);
    for (int i = 0; i < 4; ++i) EXPECT_EQ(y[i], f16_to_f32(f32_to_f16(x[i])));
    quantize_row(DType::BF16, x, h, 4);
    EXPECT_EQ(h[0], 0x3F80);
    dequantize_row(DType::BF16, h, y, 4);
    for (int i = 0; i < 4; ++i) EXPECT_EQ(y[i], bf16_to_f32(f32_to_bf16(x[i])));
    float z[4];
    quantize_row(DType::F32, x, z, 4);
    dequantize_row(DType::F32, z, y, 4);
    for (int i = 0; i < 4; ++i) EXPECT_EQ(y[i], x[i]);
}

TEST(Quant, EveryHalfDequantizesLikeTheScalarConversion) {
    std::vector<uint16_t> all(65536);
    for (uint32_t h = 0; h < 65536; ++h) all[h] = static_cast<uint16_t>(h);
    std::vector<float> out(65536);
    dequantize_row(DType::F16, all.data(), out.data(), 65536);
    for (uint32_t h = 0; h < 65536; ++h) {
        const float want = f16_to_f32(static_cast<uint16_t>(h));
        if (std::isnan(want)) {
            EXPECT_TRUE(std::isnan(out[h])) << h;
        } else {
            EXPECT_EQ(std::bit_cast<uint32_t>(out[h]), std::bit_cast<uint32_t>(want)) << h;
        }
    }
}

TEST(Quant, RejectsPartialBlocksAndUnknownTypes) {
    float x[48] = {};
    unsigned char buf[64] = {};
    EXPECT_THROW(dequantize_row(DType::Q8_0, buf, x, 48), Error);
    EXPECT_THROW(quantize_row(DType::Q4_0, x, buf, 40), Error);
    EXPECT_THROW(dequantize_row(DType::Q2_K, buf, x, 256), Error);  // a K-quant this build lacks
    EXPECT_THROW(quantize_row(DType::I32, x, buf, 4), Error);
}

}  // namespace
}  // namespace suanli
