// The K-quant block layouts and quantizers (src/core/quant_k.h): blocks built by
// hand from the layout and decoded, the bytes ggml's reference quantizers produce,
// error bounds on Gaussian data, and stability under re-quantization.
#include "core/quant_k.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/error.h"
#include "core/fp16.h"
#include "core/quant.h"

namespace suanli {
namespace {

// Six-bit scales and mins of the 8 sub-blocks, with high bits set in the upper four
// so the packing of bits 4-5 is exercised.
constexpr uint8_t kSc[8] = {1, 2, 3, 4, 17, 33, 50, 63};
constexpr uint8_t kMin[8] = {0, 1, 2, 3, 20, 36, 5, 63};
// The 12 bytes ggml packs them into, worked out by hand:
//  bytes 0-3:  sc[j]  | (sc[j+4] >> 4) << 6  -> 1|1<<6, 2|2<<6, 3|3<<6, 4|3<<6
//  bytes 4-7:  m[j]   | (m[j+4]  >> 4) << 6  -> 0|1<<6, 1|2<<6, 2|0<<6, 3|3<<6
//  bytes 8-11: (sc[j+4] & 15) | (m[j+4] & 15) << 4 -> 1|4<<4, 1|4<<4, 2|5<<4, 15|15<<4
constexpr uint8_t kPacked[12] = {0x41, 0x82, 0xC3, 0xC4, 0x40, 0x81, 0x02, 0xC3, 0x41, 0x41, 0x52, 0xFF};

TEST(QuantK, BlockSizesMatchGguf) {
    EXPECT_EQ(sizeof(BlockQ4_K), traits(DType::Q4_K).block_bytes);
    EXPECT_EQ(sizeof(BlockQ5_K), traits(DType::Q5_K).block_bytes);
    EXPECT_EQ(sizeof(BlockQ6_K), traits(DType::Q6_K).block_bytes);
    EXPECT_EQ(traits(DType::Q4_K).block_elements, kBlockK);
}

TEST(QuantK, ScaleMinPackingIsGgmls) {
    for (int j = 0; j < 8; ++j) {
        uint8_t sc = 0, m = 0;
        scale_min_k4(j, kPacked, &sc, &m);
        EXPECT_EQ(sc, kSc[j]) << j;
        EXPECT_EQ(m, kMin[j]) << j;
    }
}

// Q4_K bytes as in a file: d = 1 (f16 0x3C00), dmin = 0.5 (0x3800), the scales above,
// then qs. qs byte 32g + l holds element 64g + l (low nibble) and 64g + 32 + l (high).
std::vector<unsigned char> q4_k_bytes() {
    std::vector<unsigned char> b(144);
    b[0] = 0x00, b[1] = 0x3C, b[2] = 0x00, b[3] = 0x38;
    std::memcpy(&b[4], kPacked, 12);
    for (int i = 0; i < 128; ++i) b[16 + i] = static_cast<unsigned char>((i % 16) | ((15 - i % 16) << 4));
    return b;
}

TEST(QuantK, Q4_KKnownBlockDequantizes) {
    const auto bytes = q4_k_bytes();
    std::vector<float> out(256);
    dequantize_row(DType::Q4_K, bytes.data(), out.data(), 256);
    for (int e = 0; e < 256; ++e) {
        const int g = e / 64, w = e % 64, j = e / 32;
        const int l = w % 32;
        const int byte = 32 * g + l;
        const int q = w < 32 ? byte % 16 : 15 - byte % 16;
        EXPECT_EQ(out[e], 1.0f * kSc[j] * q - 0.5f * kMin[j]) << e;
    }
    // Spot checks by hand: element 0 is sub-block 0 (sc 1, m 0), q 0 -> 0;
    // element 37 is sub-block 1 (sc 2, m 1), high nibble of byte 5: 15 - 5 = 10 -> 2*10 - 0.5 = 19.5;
    // element 255 is sub-block 7 (sc 63, m 63), high nibble of byte 127: 15 - 15 = 0 -> -31.5.
    EXPECT_EQ(out[0], 0.0f);
    EXPECT_EQ(out[37], 19.5f);
    EXPECT_EQ(out[255], -31.5f);
}

TEST(QuantK, Q5_KKnownBlockDequantizes) {
    // As Q4_K, with qh between scales and qs: bit 2g of qh[l] is the fifth bit of
    // element 64g + l, bit 2g + 1 that of element 64g + 32 + l.
    const auto q4 = q4_k_bytes();
    std::vector<unsigned char> b(176);
    std::memcpy(b.data(), q4.data(), 16);
    for (int l = 0; l < 32; ++l) b[16 + l] = static_cast<unsigned char>(0x5A ^ (l * 37));
    std::memcpy(&b[48], &q4[16], 128);
    std::vector<float> out(256);
    dequantize_row(DType::Q5_K, b.data(), out.data(), 256);
    for (int e = 0; e < 256; ++e) {
        const int g = e / 64, w = e % 64, j = e / 32, l = w % 32;
        const int byte = 32 * g + l;
        const int low = w < 32 ? byte % 16 : 15 - byte % 16;
        const int bit = 2 * g + (w < 32 ? 0 : 1);
        const int q = low + (((b[16 + l] >> bit) & 1) ? 16 : 0);
        EXPECT_EQ(out[e], 1.0f * kSc[j] * q - 0.5f * kMin[j]) << e;
    }
    // qh[0] = 0x5A = 0b01011010: element 32 (g 0, high half) has bit 1 set: q = 15 + 16 = 31,
    // sub-block 1: 2 * 31 - 0.5 = 61.5; element 0 has bit 0 clear: q = 0 -> 0.
    EXPECT_EQ(out[32], 61.5f);
    EXPECT_EQ(out[0], 0.0f);
}

TEST(QuantK, Q6_KKnownBlockDequantizes) {
    // ql[128], qh[64], int8 scales[16], d = 0.25 (f16 0x3400) last.
    std::vector<unsigned char> b(210);
    for (int i = 0; i < 128; ++i) b[i] = static_cast<unsigned char>(i * 29 + 7);
    for (int i = 0; i < 64; ++i) b[128 + i] = static_cast<unsigned char>(i * 53 + 11);
    for (int s = 0; s < 16; ++s) b[192 + s] = static_cast<unsigned char>(static_cast<int8_t>(s - 8));
    b[208] = 0x00, b[209] = 0x34;
    std::vector<float> out(256);
    dequantize_row(DType::Q6_K, b.data(), out.data(), 256);
    for (int e = 0; e < 256; ++e) {
        // Half h of 128; quarter k of 32 within it; position l.
        const int h = e / 128, k = (e % 128) / 32, l = e % 32;
        const unsigned char ql = b[64 * h + l + (k & 1) * 32];
        const int nibble = k >= 2 ? ql >> 4 : ql & 15;
        const int top = (b[128 + 32 * h + l] >> (2 * k)) & 3;
        const int q = (nibble | (top << 4)) - 32;
        const int scale = static_cast<int8_t>(b[192 + e / 16]);
        EXPECT_EQ(out[e], 0.25f * static_cast<float>(scale) * static_cast<float>(q)) << e;
    }
    // By hand: element 0: ql[0] = 7 (low nibble 7), qh[0] = 11 = 0b1011 (bits 0-1: 3),
    // q = 7 | 3 << 4 = 55, minus 32 = 23; scale[0] = -8: 0.25 * -8 * 23 = -46.
    EXPECT_EQ(out[0], -46.0f);
}

// The bytes ggml's quantize_row_q*_K_ref write for this input (an LCG with exact float
// steps, so the input is the same everywhere), as FNV-1a hashes. Taken from
// libggml-base of llama.cpp as shipped by node-llama-cpp 3 (llama.cpp release v0.5.0).
std::vector<float> lcg_input(int64_t n, uint32_t seed) {
    std::vector<float> v(static_cast<size_t>(n));
    uint32_t s = seed;
    for (int64_t i = 0; i < n; ++i) {
        s = s * 1664525u + 1013904223u;
        const float u = static_cast<float>(s >> 8) / 16777216.0f;
        v[i] = (u - 0.5f) * (static_cast<float>(1 + (i / 32) % 7) * 0.25f);
    }
    return v;
}

uint64_t fnv1a(const std::vector<unsigned char>& bytes) {
    uint64_t h = 1469598103934665603ull;
    for (unsigned char c : bytes) h = (h ^ c) * 1099511628211ull;
    return h;
}

TEST(QuantK, QuantizersWriteGgmlsBytes) {
    const auto x = lcg_input(1024, 12345);
    const std::pair<DType, uint64_t> cases[] = {
        {DType::Q4_K, 0x45fe546bc4d5f676ull}, {DType::Q5_K, 0x6bccc203d6b2ed42ull}, {DType::Q6_K, 0x70b00ac8ea15dd7full}};
    for (const auto& [type, hash] : cases) {
        std::vector<unsigned char> q(row_bytes(type, 1024));
        quantize_row(type, x.data(), q.data(), 1024);
        EXPECT_EQ(fnv1a(q), hash) << dtype_name(type);
    }
}

TEST(QuantK, TypedAndByteEntryPointsAgree) {
    const auto x = lcg_input(512, 7);
    BlockQ4_K a4[2];
    BlockQ5_K a5[2];
    BlockQ6_K a6[2];
    quantize_row_q4_K(x.data(), a4, 512);
    quantize_row_q5_K(x.data(), a5, 512);
    quantize_row_q6_K(x.data(), a6, 512);
    std::vector<unsigned char> b(2 * 210 + 1);  // odd offset: unaligned
    quantize_row(DType::Q4_K, x.data(), b.data() + 1, 512);
    EXPECT_EQ(std::memcmp(a4, b.data() + 1, sizeof a4), 0);
    quantize_row(DType::Q5_K, x.data(), b.data() + 1, 512);
    EXPECT_EQ(std::memcmp(a5, b.data() + 1, sizeof a5), 0);
    quantize_row(DType::Q6_K, x.data(), b.data() + 1, 512);
    EXPECT_EQ(std::memcmp(a6, b.data() + 1, sizeof a6), 0);
    std::vector<float> y1(512), y2(512);
    dequantize_row_q6_K(a6, y1.data(), 512);
    dequantize_row(DType::Q6_K, b.data() + 1, y2.data(), 512);
    EXPECT_EQ(y1, y2);
}

struct ErrorCase {
    DType type;
    double max_relative_rmse;  // what ggml's reference quantizers reach on N(0, 1), with a margin
};

double relative_rmse(const std::vector<float>& x, const std::vector<float>& y) {
    double e = 0, s = 0;
    for (size_t i = 0; i < x.size(); ++i) {
        e += (static_cast<double>(x[i]) - y[i]) * (static_cast<double>(x[i]) - y[i]);
        s += static_cast<double>(x[i]) * x[i];
    }
    return std::sqrt(e / s);
}

std::vector<float> gaussian(int64_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> g(0.0f, 1.0f);
    std::vector<float> v(static_cast<size_t>(n));
    for (float& f : v) f = g(rng);
    return v;
}

// Measured: Q4_0 0.087, Q8_0 0.0054, Q4_K 0.072, Q5_K 0.036, Q6_K 0.018.
TEST(QuantK, RoundTripErrorOnGaussianData) {
    const ErrorCase cases[] = {{DType::Q4_K, 0.08}, {DType::Q5_K, 0.04}, {DType::Q6_K, 0.02},
                               {DType::Q8_0, 0.006}, {DType::Q4_0, 0.095}};
    const int64_t n = 256 * 128;
    const auto x = gaussian(n, 7);
    for (const ErrorCase& c : cases) {
        std::vector<unsigned char> q(row_bytes(c.type, n));
        std::vector<float> y(static_cast<size_t>(n));
        quantize_row(c.type, x.data(), q.data(), n);
        dequantize_row(c.type, q.data(), y.data(), n);
        const double err = relative_rmse(x, y);
        EXPECT_LT(err, c.max_relative_rmse) << dtype_name(c.type);
        EXPECT_GT(err, 0.0) << dtype_name(c.type);
    }
}

TEST(QuantK, RequantizingIsStable) {
    // Quantize -> dequantize -> quantize -> dequantize: the values a model stores must
    // survive a second pass nearly unchanged (exactly, for these types on this data, and
    // in general far below the first pass's error).
    const int64_t n = 256 * 64;
    const auto x = gaussian(n, 11);
    for (DType type : {DType::Q4_K, DType::Q5_K, DType::Q6_K}) {
        std::vector<unsigned char> q1(row_bytes(type, n)), q2(row_bytes(type, n));
        std::vector<float> y1(static_cast<size_t>(n)), y2(static_cast<size_t>(n));
        quantize_row(type, x.data(), q1.data(), n);
        dequantize_row(type, q1.data(), y1.data(), n);
        quantize_row(type, y1.data(), q2.data(), n);
        dequantize_row(type, q2.data(), y2.data(), n);
        const double first = relative_rmse(x, y1);
        EXPECT_LT(relative_rmse(y1, y2), 0.1 * first) << dtype_name(type);
        if (type != DType::Q5_K) EXPECT_EQ(y1, y2) << dtype_name(type);  // Q5_K's search moves ~2% of values
    }
}

TEST(QuantK, ZerosConstantsAndTinyValues) {
    for (DType type : {DType::Q4_K, DType::Q5_K, DType::Q6_K}) {
        std::vector<unsigned char> q(row_bytes(type, 256));
        std::vector<float> y(256);
        const std::vector<float> zeros(256, 0.0f);
        quantize_row(type, zeros.data(), q.data(), 256);
        dequantize_row(type, q.data(), y.data(), 256);
        EXPECT_EQ(y, zeros) << dtype_name(type);

        const std::vector<float> twos(256, 2.0f);
        quantize_row(type, twos.data(), q.data(), 256);
        dequantize_row(type, q.data(), y.data(), 256);
        for (float v : y) EXPECT_NEAR(v, 2.0f, 0.02f) << dtype_name(type);

        std::vector<float> tiny(256);
        for (int i = 0; i < 256; ++i) tiny[i] = (i % 2 ? 1e-30f : -1e-30f) * static_cast<float>(i % 7);
        quantize_row(type, tiny.data(), q.data(), 256);
        dequantize_row(type, q.data(), y.data(), 256);
        for (float v : y) {
            EXPECT_TRUE(std::isfinite(v)) << dtype_name(type);
            EXPECT_LT(std::fabs(v), 1e-20f) << dtype_name(type);
        }
    }
}

TEST(QuantK, RejectsPartialSuperBlocks) {
    std::vector<float> x(384);
    std::vector<unsigned char> buf(512);
    for (DType type : {DType::Q4_K, DType::Q5_K, DType::Q6_K}) {
        EXPECT_THROW(quantize_row(type, x.data(), buf.data(), 128), Error) << dtype_name(type);
        EXPECT_THROW(dequantize_row(type, buf.data(), x.data(), 384), Error) << dtype_name(type);
    }
    BlockQ4_K b;
    EXPECT_THROW(quantize_row_q4_K(x.data(), &b, 100), Error);
}

}  // namespace
}  // namespace suanli
