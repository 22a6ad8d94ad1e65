// What the AVX2 and AVX-512 attention_direct kernels (kernels.h) share: the
// queries transposed, the keys the mask keeps, the scores of a block of keys
// and the per-row maximum and rescaling, as attention_rows_h computes them.
// AVX2 and FMA code for 8-float vectors, compiled into both files with their
// own target flags; internal linkage only (see kquant_unpack.h and kernels.h).
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "backends/cpu/kernels.h"

namespace suanli::cpu {
namespace {

// Keys per step of the online softmax, as attention_rows_h's.
constexpr int kDirectBlock = kAttentionKeyBlock;
constexpr float kDirectNegInf = -std::numeric_limits<float>::infinity();

// qt[d][h] = element d of query row h; lanes past the H rows are 0.
template <int H>
inline void transpose_queries(const AttentionRows& a, float (*qt)[8]) {
    for (int64_t d = 0; d < a.D; ++d)
        for (int h = 0; h < 8; ++h) qt[d][h] = h < H ? a.q[h][d] : 0.0f;
}

// Bit j: key j0 + j (j < nj) is one the mask keeps. A hidden one (-inf, or NaN, as
// attention_rows_h's ordered compare reads it) counts for nothing and is not read.
inline uint64_t keys_kept(const AttentionRows& a, int64_t j0, int nj) {
    uint64_t keep = 0;
    for (int j = 0; j < nj; ++j) {
        const float mk = a.mask ? a.mask[j0 + j] : 0.0f;
        if (mk == mk && mk != kDirectNegInf) keep |= uint64_t{1} << j;
    }
    return keep;
}

// Bytes of one element of a.k and a.v, and the address of row j of `rows` (a.k or a.v).
inline int64_t kv_bytes(const AttentionRows& a) { return a.kv_f16 ? 2 : 4; }
inline const char* kv_row(const AttentionRows& a, const float* rows, int64_t stride, int64_t j) {
    return reinterpret_cast<const char*>(rows) + j * stride * kv_bytes(a);
}

// The nj rows of F16 `rows` (a.k or a.v) from j0 as F32 rows of D floats at dst, exactly.
inline void f16_rows_to_f32(const AttentionRows& a, const float* rows, int64_t stride, int64_t j0, int nj, float* dst) {
    for (int j = 0; j < nj; ++j) {
        const auto* x = reinterpret_cast<const uint16_t*>(kv_row(a, rows, stride, j0 + j));
        float* y = dst + j * a.D;
        int64_t d = 0;
        for (; d + 8 <= a.D; d += 8)
            _mm256_storeu_ps(y + d, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + d))));
        for (; d < a.D; ++d) y[d] = _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(x[d])));
    }
}

// The key and value rows of one block of keys, as F32: in place, or converted into `buf`
// (2 * kDirectBlock * D floats) from an F16 cache. k + j * k_stride is key j0 + j.
struct DirectBlock {
    const float* k;
    int64_t k_stride;
    const float* v;
    int64_t v_stride;
};
inline DirectBlock direct_block(const AttentionRows& a, int64_t j0, int nj, float* buf) {
    if (!a.kv_f16) return {a.k + j0 * a.k_stride, a.k_stride, a.v + j0 * a.v_stride, a.v_stride};
    float* kf = buf;
    float* vf = buf + kDirectBlock * a.D;
    f16_rows_to_f32(a, a.k, a.k_stride, j0, nj, kf);
    f16_rows_to_f32(a, a.v, a.v_stride, j0, nj, vf);
    return {kf, a.D, vf, a.D};
}

// s[j][h] for the nj keys from j0 (rows in `blk`): scale * (query h . key) + mask, one FMA
// chain over d per score as in attention_rows_h, -inf for a key not kept. Eight keys at a
// time, eight chains, each key element broadcast once for all rows; meanwhile the block
// after this one is asked for (the cache rows are cold: run_attention_rows asks for the
// first only).
inline void direct_scores(const AttentionRows& a, const DirectBlock& blk, const float (*qt)[8], int64_t j0, int nj,
                          uint64_t keep, float (*s)[8]) {
    constexpr int kChains = 8;
    const __m256 scale = _mm256_set1_ps(a.scale);
    const int64_t row_bytes = kv_bytes(a) * a.D;
    for (int j1 = 0; j1 < nj; j1 += kChains) {
        for (int64_t j = j0 + kDirectBlock + j1; j < std::min<int64_t>(a.S, j0 + kDirectBlock + j1 + kChains); ++j)
            for (int64_t b = 0; b < row_bytes; b += 64) {
                _mm_prefetch(kv_row(a, a.k, a.k_stride, j) + b, _MM_HINT_T0);
                _mm_prefetch(kv_row(a, a.v, a.v_stride, j) + b, _MM_HINT_T0);
            }
        const float* kr[kChains];
        #pragma GCC unroll 8
        for (int i = 0; i < kChains; ++i) kr[i] = blk.k + std::min(j1 + i, nj - 1) * blk.k_stride;
        __m256 c[kChains];
        #pragma GCC unroll 8
        for (int i = 0; i < kChains; ++i) c[i] = _mm256_setzero_ps();
        for (int64_t d = 0; d < a.D; ++d) {
            const __m256 qd = _mm256_load_ps(qt[d]);
            #pragma GCC unroll 8
            for (int i = 0; i < kChains; ++i) c[i] = _mm256_fmadd_ps(qd, _mm256_set1_ps(kr[i][d]), c[i]);
        }
        #pragma GCC unroll 8
        for (int i = 0; i < kChains; ++i) {
            const int j = j1 + i;
            if (j >= nj) break;
            const __m256 score = _mm256_add_ps(_mm256_mul_ps(c[i], scale), _mm256_set1_ps(a.mask ? a.mask[j0 + j] : 0.0f));
            _mm256_store_ps(s[j], (keep >> j) & 1 ? score : _mm256_set1_ps(kDirectNegInf));
        }
    }
}

// Per row h, with the block's scores s: whether any is above -inf (else the row adds
// nothing for this block), and where the maximum grew, m[h] raised to it and l[h] and
// acc[h] (D floats) scaled by e^(old m - new m) (0 while m is -inf), as attention_rows_h.
template <int H>
inline void raise_maxima(const float (*s)[8], int nj, int64_t D, float* m, float* l, float (*acc)[512],
                         bool* rows_live) {
    __m256 block_max = _mm256_set1_ps(kDirectNegInf);
    for (int j = 0; j < nj; ++j) block_max = _mm256_max_ps(_mm256_load_ps(s[j]), block_max);
    alignas(32) float bmax[8];
    _mm256_store_ps(bmax, block_max);
    for (int h = 0; h < H; ++h) {
        rows_live[h] = bmax[h] != kDirectNegInf;  // else NaN scores only
        if (!rows_live[h] || !(bmax[h] > m[h])) continue;
        const float r = std::exp(m[h] - bmax[h]);
        l[h] *= r;
        for (int64_t d = 0; d < D; ++d) acc[h][d] *= r;
        m[h] = bmax[h];
    }
}

}  // namespace
}  // namespace suanli::cpu
