// The inner kernels of the cpu backend, one table per ISA path. The x86/ files
// are compiled with their own target flags, so this header declares only plain
// structs and functions: an inline function here, compiled with AVX-512 in one
// file, could be the copy the linker keeps for every caller.
#pragma once

#include <cstddef>
#include <cstdint>

#include "backends/cpu/cpu_features.h"
#include "suanli/backend.h"

namespace suanli::cpu {

// An activation column quantized for the integer dot products: blocks of 32,
// x ~= d * qs with qs in [-127, 127] (Q8_0's scheme with a float scale).
struct BlockQ8A {
    float d;
    int8_t qs[32];
};
static_assert(sizeof(BlockQ8A) == 36);

// An activation column quantized for the K-quant weights (Q4_K, Q5_K, Q6_K):
// super-blocks of 256 with one float scale, x ~= d * qs with qs in [-127, 127],
// and the sum of every 16 consecutive qs, so that a weight's per-sub-block
// offset (Q4_K/Q5_K mins, Q6_K's -32) costs one small dot per super-block.
struct BlockQ8K {
    float d;
    int8_t qs[256];
    int16_t bsums[16];
};
static_assert(sizeof(BlockQ8K) == 292);

// Up to this many B columns share one pass over a weight row: kMaxCols for
// float weights (two to four accumulators per column), kMaxQuantCols for Q8_0/Q4_0
// and the K-quants (one accumulator per column, and each weight block is
// unpacked once for all of them, so more columns per pass means fewer unpacks
// and weight reads).
inline constexpr int kMaxCols = 4;
inline constexpr int kMaxQuantCols = 8;
// Weight rows per call of a Q8_0/Q4_0 gemm kernel.
inline constexpr int kMaxQuantRows = 16;
// Weight rows and columns per call of a float gemm kernel.
inline constexpr int kMaxFloatRows = 4;
inline constexpr int kMaxFloatCols = 4;

// A Q8_0/Q4_0 matrix repacked at load time (packed_weights.h) for the
// gemm_packed kernels: rows in groups of kMaxQuantRows (the last group padded
// with zero rows); per group and block, the quants of its 16 rows transposed
// by 4-byte groups, so that byte 4r + t of 64-byte vector k belongs to row r:
// - Q8_0: 8 vectors, vector k holding quants 4k..4k+3 plus 128 (unsigned);
// - Q4_0: 4 vectors, vector k holding bytes 4k..4k+3 of the block as stored,
//   so its low nibbles are quants 4k..4k+3 and its high nibbles 4k+16..4k+19;
// and the group's 16 f16 scales per block. The blocks go in pairs: the quants
// of blocks 2i and 2i + 1, then their 2 x 16 scales (64 bytes), so that a group
// is one stream of aligned vectors (an odd last block is followed by zeros).
// Long rows are cut into slices of K, each one such layout of its blocks (see
// PackedMatrix): a kernel call multiplies one slice, and a slice after the
// first adds its sums to what the slices before it stored.
struct PackedQ0 {
    const unsigned char* data;  // group g at data + g * pairs * pair_bytes
    int64_t nblocks;            // blocks per row (of the slice)
    int64_t pairs;              // (nblocks + 1) / 2
    int64_t quant_bytes;        // per block: 512 (Q8_0) or 256 (Q4_0)
    int64_t pair_bytes;         // 2 * quant_bytes + 64
    bool adds_to_out = false;   // the sums start from out's values, not from 0
};

// A Q4_K, Q5_K or Q6_K matrix repacked at load time, rows in groups of
// kMaxQuantRows as for PackedQ0, per group and super-block one run of
// kPackedQ4KBytes, kPackedQ5KBytes or kPackedQ6KBytes (a multiple of 64). Vectors are 64
// bytes, byte 4r + t of vector k holding byte 4k + t of row r's array.
// Q4_K:
// - 2048 bytes: the quants (qs) in 32 vectors; vector 8i + k's low nibbles
//   are sub-block 2i's quants 4k..4k+3, its high nibbles sub-block 2i + 1's;
// - 128 bytes of scales, byte 16j + r: sub-block j's 6-bit scale in row r;
// - 128 bytes of mins, byte 32i + 2r + h: sub-block 2i + h's 6-bit min in row r;
// - the 16 rows' f16 d, then their 16 f16 dmin.
// Q5_K: Q4_K's layout with, after the quants, 512 bytes: the fifth bits (qh)
//   in 8 vectors, bit 2i of byte 4k + t of row r's qh (vector k) being the
//   fifth bit of sub-block 2i's quant 4k + t, bit 2i + 1 sub-block 2i + 1's;
//   then the scales, mins, d and dmin at 2560 instead of 2048.
// Q6_K:
// - 2048 bytes: the low four bits (ql) in 32 vectors, 1024 bytes: the high
//   two bits (qh) in 16 vectors;
// - 256 bytes of scales, byte 32i + 2r + h: sub-block 2i + h's int8 scale in row r;
// - the 16 rows' f16 d, and 32 bytes of padding.
struct PackedKQuant {
    const unsigned char* data;  // group g, super-block b at data + (g * nblocks + b) * (its bytes)
    int64_t nblocks;            // super-blocks per row
};
inline constexpr int64_t kPackedQ4KBytes = 2048 + 128 + 128 + 64;
inline constexpr int64_t kPackedQ5KBytes = kPackedQ4KBytes + 512;
inline constexpr int64_t kPackedQ6KBytes = 2048 + 1024 + 256 + 64;

// Query rows of ATTENTION that share a KV head and a mask row, for an optional
// vector kernel (see run_attention in ops.cpp): for attention_rows the keys
// transposed, kt[d * kt_stride + j] = k[d] of key j for j < S rounded up to 16
// (padding keys are never used); for attention_direct the key rows as they
// are, key j at k + j * k_stride. Value rows at v + j * v_stride, the mask row
// (S floats) or null.
inline constexpr int kMaxAttentionHeads = 8;
// Keys per step of the kernels' online softmax; attention_direct asks for the block after
// the one it computes, so its caller asks for the first block only.
inline constexpr int kAttentionKeyBlock = 64;
struct AttentionRows {
    const float* q[kMaxAttentionHeads];
    float* out[kMaxAttentionHeads];
    int n;  // rows, 1..kMaxAttentionHeads
    const float* mask;
    const float* kt;
    int64_t kt_stride;
    const float* k;
    int64_t k_stride;
    const float* v;
    int64_t v_stride;
    int64_t D, S;
    float scale;
    // attention_direct only: k and v are F16 rows (an F16 KV cache; strides in elements),
    // which the kernel converts to F32 a block of keys at a time.
    bool kv_f16 = false;
};

struct Kernels {
    Isa isa;
    // out[c] = dot(weight row w of K elements, cols[c][0..K)) for c < nc (1..kMaxCols).
    // Indexed by FloatWeight below; K is any count >= 1.
    void (*dot_float[3])(const void* w, const float* const* cols, int nc, int64_t K, float* out);
    // out[c] = dot(weight row w of nblocks blocks, cols[c][0..nblocks)) for c < nc (1..kMaxQuantCols).
    void (*dot_q8_0)(const void* w, const BlockQ8A* const* cols, int nc, int64_t nblocks, float* out);
    void (*dot_q4_0)(const void* w, const BlockQ8A* const* cols, int nc, int64_t nblocks, float* out);
    // The same for K-quant weights, nblocks super-blocks of 256; indexed by KQuantWeight below.
    void (*dot_kquant[3])(const void* w, const BlockQ8K* const* cols, int nc, int64_t nblocks, float* out);
    // Optional float-weight kernel for nr (1..kMaxFloatRows) rows and nc (1..kMaxFloatCols) columns:
    // out[c * kMaxFloatRows + r] = dot(rows[r], cols[c]); indexed by FloatWeight. A path that has
    // it uses it for every float matmul, and each output's bits depend on its own row and column.
    void (*gemm_float[3])(const void* const* rows, int nr, const float* const* cols, int nc, int64_t K,
                          float* out) = {};
    // Optional Q8_0/Q4_0 kernels for several rows and any number of columns (null: dot_q8_0 /
    // dot_q4_0 row by row): out[c * ldo + r] = dot(weight row r, column c) for r < nr
    // (1..kMaxQuantRows) and c < ncols, row r at w + r * row_bytes, column c at cols + c *
    // col_stride. A path that has them uses them for every Q8_0/Q4_0 matmul, and each output's
    // bits depend on its own row and column only.
    void (*gemm_q8_0)(const void* w, size_t row_bytes, int nr, const BlockQ8A* cols, int64_t col_stride, int64_t ncols,
                      int64_t nblocks, float* out, int64_t ldo) = nullptr;
    void (*gemm_q4_0)(const void* w, size_t row_bytes, int nr, const BlockQ8A* cols, int64_t col_stride, int64_t ncols,
                      int64_t nblocks, float* out, int64_t ldo) = nullptr;
    // Optional, only with gemm_q8_0/gemm_q4_0: the same products from a PackedQ0 matrix, group
    // `group` (its first nr rows stored), with the same bits as those kernels. col_sums[c *
    // col_stride + b] is the sum of the quants of column c's block b. For a slice of K, cols and
    // col_sums point at its first block, and slice by slice in order the sums are the same
    // float steps as in one call (each row's sum is one chain of block products).
    void (*gemm_packed_q8_0)(const PackedQ0& w, int64_t group, int nr, const BlockQ8A* cols, const int32_t* col_sums,
                             int64_t col_stride, int64_t ncols, float* out, int64_t ldo) = nullptr;
    void (*gemm_packed_q4_0)(const PackedQ0& w, int64_t group, int nr, const BlockQ8A* cols, const int32_t* col_sums,
                             int64_t col_stride, int64_t ncols, float* out, int64_t ldo) = nullptr;
    // Optional: each out row = the softmax(scale * q . k_j + mask_j)-weighted sum of the v_j,
    // keys in blocks of 64 with a running max and sum as in run_attention; keys masked with
    // -inf count for nothing (their k and v may be NaN). D <= 512. A row's result depends on
    // its own query only, not on the rows computed with it.
    void (*attention_rows)(const AttentionRows& a) = nullptr;
    // Optional vector versions of quantize_act / quantize_act_k below, with the same bytes.
    // sums (may be null): the sum of each block's quants, as the packed kernels take them.
    void (*quantize_act)(const float* x, BlockQ8A* y, int64_t nblocks, int32_t* sums) = nullptr;
    void (*quantize_act_k)(const float* x, BlockQ8K* y, int64_t nblocks) = nullptr;
    // Optional: Q4_K and Q6_K from a PackedKQuant matrix, group `group`, with the scalar path's
    // bits. pair_sums[(c * col_stride + b) * 8 + i] holds the quant sums of sub-blocks 2i and
    // 2i + 1 of column c's super-block b as two int16 (2i in the low half); Q4_K's and Q5_K's
    // sub-blocks are 32 elements (i < 4), Q6_K's 16 (i < 8). Indexed by KQuantWeight.
    void (*gemm_packed_kquant[3])(const PackedKQuant& w, int64_t group, int nr, const BlockQ8K* cols,
                                  const int32_t* pair_sums, int64_t col_stride, int64_t ncols, float* out,
                                  int64_t ldo) = {};
    // Optional: y[i] = x[i] / (1 + e^-x[i]) for i < n (SILU; the op's tolerance, not the scalar bits).
    void (*silu)(const float* x, float* y, int64_t n) = nullptr;
    // Optional, for attention_rows' transposed keys: dst[d * dst_stride + i] = rows[i * row_stride + d]
    // for i < n (1..16) and d < D, and 0 for n <= i < 16 (a copy, so exact on every path).
    void (*transpose16)(const float* rows, int64_t row_stride, int n, int64_t D, float* dst, int64_t dst_stride) = nullptr;
    // Optional row kernels of ADD, MUL and SCALE: o[i] = a[i] + b[i], a[i] * b[i] or x[i] * s for
    // i < n, one float operation per element as in ops.cpp's loops, so every path gives the same
    // bits. o may be a, b or x, but not overlap them otherwise.
    void (*add)(const float* a, const float* b, float* o, int64_t n) = nullptr;
    void (*mul)(const float* a, const float* b, float* o, int64_t n) = nullptr;
    void (*scale)(const float* x, float s, float* o, int64_t n) = nullptr;
    // Optional, for RMS_NORM: the sum of the squares x[i] * x[i] (each rounded to float) in
    // double, in any order (a reordered reduction: the op's tolerance, not the scalar bits).
    double (*sum_squares)(const float* x, int64_t n) = nullptr;
    // Optional: attention_rows from the key rows (a.k) instead of transposed keys, for a decode
    // step, which reads each key once: transposing them first cost more than the scores. F32
    // rows, or F16 ones (a.kv_f16) with the same results as their F32 values.
    void (*attention_direct)(const AttentionRows& a) = nullptr;
};

enum FloatWeight { kWF32 = 0, kWF16 = 1, kWBF16 = 2 };
enum KQuantWeight { kWQ4_K = 0, kWQ5_K = 1, kWQ6_K = 2 };
// Bytes per group and super-block of a PackedKQuant, by KQuantWeight.
inline constexpr int64_t kPackedKQuantBytes[] = {kPackedQ4KBytes, kPackedQ5KBytes, kPackedQ6KBytes};
// The KQuantWeight of an sl_dtype, or -1 when it is not a K-quant.
inline int kquant_weight(int32_t dtype) {
    return dtype == SL_DTYPE_Q4_K ? kWQ4_K : dtype == SL_DTYPE_Q5_K ? kWQ5_K : dtype == SL_DTYPE_Q6_K ? kWQ6_K : -1;
}

// Quantizes K = 32 * nblocks floats: d = max|x| / 127, q = lrint(x / d) (portable
// code; a path's vector version must give the same bytes, so that all paths
// multiply the same integers). With `sums`, also each block's sum of q.
void quantize_act(const float* x, BlockQ8A* y, int64_t nblocks, int32_t* sums = nullptr);
// The same for K = 256 * nblocks floats into BlockQ8K.
void quantize_act_k(const float* x, BlockQ8K* y, int64_t nblocks);
// The path's version of each.
inline void quantize_act(const Kernels& k, const float* x, BlockQ8A* y, int64_t nblocks, int32_t* sums = nullptr) {
    (k.quantize_act ? k.quantize_act : static_cast<void (*)(const float*, BlockQ8A*, int64_t, int32_t*)>(quantize_act))(
        x, y, nblocks, sums);
}
inline void quantize_act_k(const Kernels& k, const float* x, BlockQ8K* y, int64_t nblocks) {
    (k.quantize_act_k ? k.quantize_act_k : static_cast<void (*)(const float*, BlockQ8K*, int64_t)>(quantize_act_k))(
        x, y, nblocks);
}

const Kernels& kernels_scalar();
#ifdef SUANLI_CPU_HAVE_X86_KERNELS
const Kernels& kernels_avx2();
const Kernels& kernels_avx512();
#endif
#ifdef SUANLI_CPU_HAVE_ARM_KERNELS
const Kernels& kernels_neon();
const Kernels& kernels_neon_dot();
#endif

// The table for `isa` (which must be supported).
const Kernels& kernels_for(Isa isa);

}  // namespace suanli::cpu
