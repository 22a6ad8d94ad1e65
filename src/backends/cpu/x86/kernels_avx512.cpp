// AVX-512 (F, BW, VL, VNNI) kernels. Compiled with those target flags plus
// AVX2/FMA/F16C; chosen at run time only when CPUID reports them all.
// Everything here has internal linkage (see kernels.h).
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <cstring>
#include <type_traits>
#include <vector>

#include "backends/cpu/kernels.h"
#include "backends/cpu/x86/attention_direct.h"
#include "backends/cpu/x86/kquant_unpack.h"
#include "backends/cpu/x86/prefetch.h"
#include "backends/cpu/x86/with_count.h"

namespace suanli::cpu {
namespace {

inline __m512 load16_f32(const unsigned char* p) { return _mm512_loadu_ps(p); }
inline __m512 load16_f16(const unsigned char* p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}
inline __m512 load16_bf16(const unsigned char* p) {
    const __m512i x = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    return _mm512_castsi512_ps(_mm512_slli_epi32(x, 16));
}
// The first n < 16 elements, zeros after them; nothing past them is read.
inline __m512 mload_f32(const unsigned char* p, __mmask16 m) { return _mm512_maskz_loadu_ps(m, p); }
inline __m512 mload_f16(const unsigned char* p, __mmask16 m) {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p));
}
inline __m512 mload_bf16(const unsigned char* p, __mmask16 m) {
    const __m512i x = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, p));
    return _mm512_castsi512_ps(_mm512_slli_epi32(x, 16));
}

// Float dots sum in four chains: 16-element chunk i into chain i % 4, in order, then the masked
// tail into chain 1, and the lane sum of (chain 0 + chain 2) + (chain 1 + chain 3). A decode
// row is a run of dependent FMAs per chain, and with two chains their latency rather than the
// memory set the pace while the memory was free: with four, TinyLlama F16 tg32 ran 5.5% faster
// (median of 4 alternating pairs, all faster; steps 2-14% shorter alternated within a decode),
// pp128 3% slower (a tile runs the chains one after another: twice the passes of two).
constexpr int kFloatChains = 4;

inline __m512 sum_chains(const __m512 (&a)[kFloatChains]) {
    return _mm512_add_ps(_mm512_add_ps(a[0], a[2]), _mm512_add_ps(a[1], a[3]));
}

template <int NC, int Size, __m512 (*Load)(const unsigned char*), __m512 (*MLoad)(const unsigned char*, __mmask16)>
void dot_float_nc(const unsigned char* w, const float* const* cols, int64_t K, float* out) {
    __m512 a[NC][kFloatChains];
    #pragma GCC unroll 4
    for (int c = 0; c < NC; ++c)
        #pragma GCC unroll 4
        for (int j = 0; j < kFloatChains; ++j) a[c][j] = _mm512_setzero_ps();
    const int64_t chunks = K / 16;
    const auto add = [&](int64_t i, int j) __attribute__((always_inline)) {
        const __m512 wv = Load(w + Size * 16 * i);
        #pragma GCC unroll 4
        for (int c = 0; c < NC; ++c) a[c][j] = _mm512_fmadd_ps(wv, _mm512_loadu_ps(cols[c] + 16 * i), a[c][j]);
    };
    int64_t i = 0;
    for (; i + kFloatChains <= chunks; i += kFloatChains)
        #pragma GCC unroll 4
        for (int j = 0; j < kFloatChains; ++j) add(i + j, j);
    #pragma GCC unroll 4
    for (int j = 0; j < kFloatChains - 1; ++j)
        if (i + j < chunks) add(i + j, j);
    if (const int64_t k = 16 * chunks; k < K) {
        const __mmask16 m = static_cast<__mmask16>((1u << (K - k)) - 1);
        const __m512 w0 = MLoad(w + Size * k, m);
        #pragma GCC unroll 4
        for (int c = 0; c < NC; ++c) a[c][1] = _mm512_fmadd_ps(w0, _mm512_maskz_loadu_ps(m, cols[c] + k), a[c][1]);
    }
    #pragma GCC unroll 4
    for (int c = 0; c < NC; ++c) out[c] = _mm512_reduce_add_ps(sum_chains(a[c]));
}

template <int Size, __m512 (*Load)(const unsigned char*), __m512 (*MLoad)(const unsigned char*, __mmask16)>
void dot_float(const void* wv, const float* const* cols, int nc, int64_t K, float* out) {
    const auto* w = static_cast<const unsigned char*>(wv);
    switch (nc) {
        case 1: return dot_float_nc<1, Size, Load, MLoad>(w, cols, K, out);
        case 2: return dot_float_nc<2, Size, Load, MLoad>(w, cols, K, out);
        case 3: return dot_float_nc<3, Size, Load, MLoad>(w, cols, K, out);
        default: return dot_float_nc<4, Size, Load, MLoad>(w, cols, K, out);
    }
}

constexpr int kColTile = 8;  // columns per pass over the packed rows (8 weight + kColTile accumulator zmm)

static_assert(kMaxQuantRows == 16);

// Float weights, a tile of up to kMaxFloatRows rows by kMaxFloatCols columns:
// each weight and column vector is loaded once for the whole tile, so the loop
// issues FMAs rather than loads. Every output sums as dot_float_nc does, in its
// four chains. A single row and column runs the chains side by side through the
// row; a larger tile runs them one after the other (its many outputs are enough
// chains), keeping the finished chains' accumulators on the stack meanwhile.
// Either way an output has dot_float_nc's bits, whatever the tile.
template <int R, int C, int Size, __m512 (*Load)(const unsigned char*)>
struct FloatChunks {
    const unsigned char* w[R];
    const float* x[C];
    // acc[r][c] += chunk i of row r times chunk i of column c.
    inline __attribute__((always_inline)) void add(int64_t i, __m512 (&acc)[R][C]) const {
        __m512 wv[R];
        #pragma GCC unroll 4
        for (int r = 0; r < R; ++r) wv[r] = Load(w[r] + Size * 16 * i);
        #pragma GCC unroll 4
        for (int c = 0; c < C; ++c) {
            const __m512 xv = _mm512_loadu_ps(x[c] + 16 * i);
            #pragma GCC unroll 4
            for (int r = 0; r < R; ++r) acc[r][c] = _mm512_fmadd_ps(wv[r], xv, acc[r][c]);
        }
    }
};

template <int R, int C, int Size, __m512 (*Load)(const unsigned char*), __m512 (*MLoad)(const unsigned char*, __mmask16)>
void gemm_float_tile(const void* const* rows, const float* const* cols, int64_t K, float* out) {
    FloatChunks<R, C, Size, Load> f;
    #pragma GCC unroll 4
    for (int r = 0; r < R; ++r) f.w[r] = static_cast<const unsigned char*>(rows[r]);
    #pragma GCC unroll 4
    for (int c = 0; c < C; ++c) f.x[c] = cols[c];
    __m512 a[kFloatChains][R][C];
    const auto zero = [](__m512 (&acc)[R][C]) __attribute__((always_inline)) {
        #pragma GCC unroll 4
        for (int r = 0; r < R; ++r)
            #pragma GCC unroll 4
            for (int c = 0; c < C; ++c) acc[r][c] = _mm512_setzero_ps();
    };
    const int64_t chunks = K / 16;
    if constexpr (R * C == 1) {
        // Decode: a row of one weight stream (x86/prefetch.h).
        #pragma GCC unroll 4
        for (int j = 0; j < kFloatChains; ++j) zero(a[j]);
        int64_t i = 0;
        for (; i + kFloatChains <= chunks; i += kFloatChains) {
            prefetch_stream_ahead<Size * 16 * kFloatChains>(f.w[0] + Size * 16 * i);
            #pragma GCC unroll 4
            for (int j = 0; j < kFloatChains; ++j) f.add(i + j, a[j]);
        }
        #pragma GCC unroll 4
        for (int j = 0; j < kFloatChains - 1; ++j)
            if (i + j < chunks) f.add(i + j, a[j]);
    } else {
        #pragma GCC unroll 4
        for (int j = 0; j < kFloatChains; ++j) {
            __m512 chain[R][C];  // in registers while it runs; then through memory
            zero(chain);
            for (int64_t i = j; i < chunks; i += kFloatChains) f.add(i, chain);
            std::memcpy(a[j], chain, sizeof chain);
        }
    }
    if (const int64_t k = 16 * chunks; k < K) {
        const __mmask16 m = static_cast<__mmask16>((1u << (K - k)) - 1);
        #pragma GCC unroll 4
        for (int r = 0; r < R; ++r) {
            const __m512 wv = MLoad(f.w[r] + Size * k, m);
            #pragma GCC unroll 4
            for (int c = 0; c < C; ++c) a[1][r][c] = _mm512_fmadd_ps(wv, _mm512_maskz_loadu_ps(m, cols[c] + k), a[1][r][c]);
        }
    }
    #pragma GCC unroll 4
    for (int r = 0; r < R; ++r)
        #pragma GCC unroll 4
        for (int c = 0; c < C; ++c) {
            const __m512 chains[kFloatChains] = {a[0][r][c], a[1][r][c], a[2][r][c], a[3][r][c]};
            out[c * kMaxFloatRows + r] = _mm512_reduce_add_ps(sum_chains(chains));
        }
}

template <int Size, __m512 (*Load)(const unsigned char*), __m512 (*MLoad)(const unsigned char*, __mmask16)>
void gemm_float(const void* const* rows, int nr, const float* const* cols, int nc, int64_t K, float* out) {
    static_assert(kMaxFloatRows == 4 && kMaxFloatCols == 4);
    with_count<4>(nr, [&](auto r) {
        with_count<4>(nc, [&](auto c) {
            gemm_float_tile<decltype(r)::value, decltype(c)::value, Size, Load, MLoad>(rows, cols, K, out);
        });
    });
}

// Q8_0/Q4_0 weights times BlockQ8A columns, 16 weight rows per call, rows in
// the 16 lanes of a zmm. The rows' blocks are first repacked (once per call,
// whatever the number of columns) into signed bytes, transposed so that vector
// k holds bytes 4k..4k+3 of every row's block; then for each column and block
// eight vpdpbusd with the column's 4-byte groups broadcast give all 16 rows'
// block dots at once. vpdpbusd multiplies unsigned by signed bytes: the
// activations go in as a + 128 and the row's -128 * sum(q), computed at repack
// time, seeds the sum, so each lane ends as the exact int32 dot of the block.
// Then acc += dot * (dw * da), one FMA per block in block order: an output's
// bits depend only on its own row and column (not on the rows or columns next
// to it), so mat-vec and mat-mat agree.

inline __m512i join(__m256i lo, __m256i hi) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}
inline __m256i load32(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// One block of 16 rows, repacked.
struct PackedBlock {
    __m512i q[8];   // lane r of q[k]: bytes 4k..4k+3 of row r's block (signed)
    __m512i seed;   // lane r: -128 * sum of row r's block
    __m512 d;       // lane r: row r's block scale
};

// Two rows' blocks (rows r, r') as 64 signed bytes: row r in the low half.
template <bool Q4>
inline __m512i row_pair(const unsigned char* p0, const unsigned char* p1) {
    if constexpr (Q4) {
        const __m256i x = _mm256_inserti128_si256(
            _mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p0 + 2))),
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(p1 + 2)), 1);
        const __m256i m = _mm256_set1_epi8(0x0f);
        // [low nibbles of both | high nibbles of both], then the 128-bit lanes in row order.
        const __m512i v = join(_mm256_and_si256(x, m), _mm256_and_si256(_mm256_srli_epi16(x, 4), m));
        return _mm512_sub_epi8(_mm512_shuffle_i64x2(v, v, _MM_SHUFFLE(3, 1, 2, 0)), _mm512_set1_epi8(8));
    } else {
        return join(load32(p0 + 2), load32(p1 + 2));
    }
}

// Block b of rows[0..16) into `out`. rows[] may repeat a row (past the last).
template <bool Q4>
inline __attribute__((always_inline)) void pack_block(const unsigned char* const* rows, int64_t off, PackedBlock& out) {
    __m512i z[8];  // z[i]: rows 2i (lanes 0-7) and 2i + 1 (lanes 8-15), one dword per lane
    #pragma GCC unroll 8
    for (int i = 0; i < 8; ++i) z[i] = row_pair<Q4>(rows[2 * i] + off, rows[2 * i + 1] + off);
    // A 16 x 8 dword transpose in three vpermt2d stages, each swapping one bit
    // of the vector index with one of the lane index.
    const __m512i s1a = _mm512_setr_epi32(0, 8, 16, 24, 1, 9, 17, 25, 2, 10, 18, 26, 3, 11, 19, 27);
    const __m512i s1b = _mm512_setr_epi32(4, 12, 20, 28, 5, 13, 21, 29, 6, 14, 22, 30, 7, 15, 23, 31);
    const __m512i s2a = _mm512_setr_epi32(0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23);
    const __m512i s2b = _mm512_setr_epi32(8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31);
    __m512i t[4][2], u[2][2][2];
    #pragma GCC unroll 4
    for (int p = 0; p < 4; ++p) {
        t[p][0] = _mm512_permutex2var_epi32(z[p], s1a, z[p + 4]);
        t[p][1] = _mm512_permutex2var_epi32(z[p], s1b, z[p + 4]);
    }
    #pragma GCC unroll 2
    for (int q = 0; q < 2; ++q)
        #pragma GCC unroll 2
        for (int h = 0; h < 2; ++h) {
            u[q][h][0] = _mm512_permutex2var_epi32(t[q][h], s2a, t[q + 2][h]);
            u[q][h][1] = _mm512_permutex2var_epi32(t[q][h], s2b, t[q + 2][h]);
        }
    __m512i sum = _mm512_setzero_si512();
    #pragma GCC unroll 2
    for (int h = 0; h < 2; ++h)
        #pragma GCC unroll 2
        for (int g = 0; g < 2; ++g) {
            const __m512i w0 = _mm512_permutex2var_epi32(u[0][h][g], s2a, u[1][h][g]);
            const __m512i w1 = _mm512_permutex2var_epi32(u[0][h][g], s2b, u[1][h][g]);
            out.q[4 * h + 2 * g] = w0;
            out.q[4 * h + 2 * g + 1] = w1;
            sum = _mm512_dpbusd_epi32(sum, _mm512_set1_epi8(static_cast<char>(0x80)), w0);
            sum = _mm512_dpbusd_epi32(sum, _mm512_set1_epi8(static_cast<char>(0x80)), w1);
        }
    out.seed = _mm512_sub_epi32(_mm512_setzero_si512(), sum);
    // The f16 scales (scalar loads: cheaper than a gather here).
    alignas(32) uint16_t h[16];
    #pragma GCC unroll 16
    for (int r = 0; r < 16; ++r) std::memcpy(&h[r], rows[r] + off, 2);
    out.d = _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(h)));
}

// Lanes 0..nr-1 (the group's real rows) of acc[c] to out + c * ldo, for each column c.
template <int NC>
inline void store_rows(const __m512 (&acc)[NC], int nr, float* out, int64_t ldo) {
    const __mmask16 m = static_cast<__mmask16>((1u << nr) - 1);
    #pragma GCC unroll 16
    for (int c = 0; c < NC; ++c) _mm512_mask_storeu_ps(out + c * ldo, m, acc[c]);
}

// All 16 rows against NC columns (column c at cols + c * col_stride). Block b
// comes from Src(b): the packed buffer, or packed on the fly when there is
// only one column tile (mat-vec: nothing to share, and no buffer round trip).
template <int NC, class Src>
inline __attribute__((always_inline)) void packed_times_cols(const Src& src, int64_t nblocks, const BlockQ8A* cols,
                                                             int64_t col_stride, int nr, float* out, int64_t ldo) {
    __m512 acc[NC];
    #pragma GCC unroll 16
    for (int c = 0; c < NC; ++c) acc[c] = _mm512_setzero_ps();
    const __m512i bias = _mm512_set1_epi8(static_cast<char>(0x80));
    for (int64_t b = 0; b < nblocks; ++b) {
        const PackedBlock& p = src(b);
        __m512i q[8];
        #pragma GCC unroll 8
        for (int k = 0; k < 8; ++k) q[k] = p.q[k];
        #pragma GCC unroll 16
        for (int c = 0; c < NC; ++c) {
            const BlockQ8A& a = cols[c * col_stride + b];
            __m512i dot = p.seed;
            #pragma GCC unroll 8
            for (int k = 0; k < 8; ++k) {
                int32_t g;
                std::memcpy(&g, a.qs + 4 * k, 4);
                dot = _mm512_dpbusd_epi32(dot, _mm512_xor_si512(_mm512_set1_epi32(g), bias), q[k]);
            }
            acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(p.d, _mm512_set1_ps(a.d)), acc[c]);
        }
    }
    store_rows(acc, nr, out, ldo);
}


template <bool Q4>
void gemm_q0(const void* wv, size_t row_bytes, int nr, const BlockQ8A* cols, int64_t col_stride, int64_t ncols,
             int64_t nblocks, float* out, int64_t ldo) {
    constexpr int Bytes = Q4 ? 18 : 34;
    const auto* w = static_cast<const unsigned char*>(wv);
    const unsigned char* rows[16];
    for (int r = 0; r < 16; ++r) {
        const int rr = std::min(r, nr - 1);  // rows past the last repeat it (their lanes are not stored)
        rows[r] = w + rr * row_bytes;
    }
    if (ncols <= kColTile) {
        PackedBlock p;
        // Mat-vec reads the weights once, from memory, in sixteen interleaved
        // row streams, which the hardware prefetcher follows poorly. The next
        // sixteen rows (most likely the next call's) are one contiguous range:
        // fetch it into L2 in order, a few lines per block.
        const char* next = reinterpret_cast<const char*>(w + 16 * row_bytes);
        const int64_t lines = (16 * static_cast<int64_t>(row_bytes) + 63) / 64;
        const int64_t per_block = (lines + nblocks - 1) / nblocks;
        const auto pack = [&](int64_t b) __attribute__((always_inline)) -> const PackedBlock& {
            for (int64_t l = b * per_block; l < std::min(lines, (b + 1) * per_block); ++l)
                _mm_prefetch(next + 64 * l, _MM_HINT_T1);
            pack_block<Q4>(rows, b * Bytes, p);
            return p;
        };
        return with_count<kColTile>(static_cast<int>(ncols), [&](auto nc) {
            packed_times_cols<decltype(nc)::value>(pack, nblocks, cols, col_stride, nr, out, ldo);
        });
    }
    thread_local std::vector<PackedBlock> packed;
    if (packed.size() < static_cast<size_t>(nblocks)) packed.resize(static_cast<size_t>(nblocks));
    for (int64_t b = 0; b < nblocks; ++b) pack_block<Q4>(rows, b * Bytes, packed[static_cast<size_t>(b)]);
    const auto buffer = [&](int64_t b) -> const PackedBlock& { return packed[static_cast<size_t>(b)]; };
    for (int64_t c0 = 0; c0 < ncols; c0 += kColTile) {
        const BlockQ8A* cc = cols + c0 * col_stride;
        float* o = out + c0 * ldo;
        with_count<kColTile>(static_cast<int>(std::min<int64_t>(kColTile, ncols - c0)), [&](auto nc) {
            packed_times_cols<decltype(nc)::value>(buffer, nblocks, cc, col_stride, nr, o, ldo);
        });
    }
}

// The same products from weights repacked at load time (PackedQ0): no
// transpose per call, so a block costs four or eight loads, for Q4_0 a nibble
// split, and per column eight vpdpbusd. Here the weights are the unsigned
// operand (Q4_0's q, Q8_0's q + 128) and the column's quants, broadcast from
// memory, the signed one; the seed -bias * (the column block's quant sum)
// makes each lane the same exact int32 as in gemm_q0, and the float steps are
// the same too, so both give the same bits.
template <bool Q4, int NC>
inline void packed_q0_times_cols(const PackedQ0& w, const unsigned char* p, const BlockQ8A* cols, const int32_t* sums,
                                 int64_t col_stride, int nr, float* out, int64_t ldo) {
    constexpr int kBytes = Q4 ? 256 : 512, kPair = 2 * kBytes + 64;
    constexpr int kBias = Q4 ? 8 : 128;
    __m512 acc[NC];
    #pragma GCC unroll 16
    for (int c = 0; c < NC; ++c)
        acc[c] = w.adds_to_out ? _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << nr) - 1), out + c * ldo)
                               : _mm512_setzero_ps();
    const __m512i low = _mm512_set1_epi8(0x0f);
    // Block b: its quants at q, its 16 f16 scales at s.
    const auto block = [&](int64_t b, const unsigned char* q, const unsigned char* s) __attribute__((always_inline)) {
        __m512i v[8];
        if constexpr (Q4) {
            // High nibbles stay in place (16 q): their chain's sum is divided by 16 below.
            #pragma GCC unroll 4
            for (int k = 0; k < 4; ++k) {
                const __m512i x = _mm512_load_si512(q + 64 * k);
                v[k] = _mm512_and_si512(x, low);
                v[k + 4] = _mm512_andnot_si512(low, x);
            }
        } else {
            #pragma GCC unroll 8
            for (int k = 0; k < 8; ++k) v[k] = _mm512_load_si512(q + 64 * k);
        }
        const __m512 d = _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(s)));
        #pragma GCC unroll 16
        for (int c = 0; c < NC; ++c) {
            const BlockQ8A& a = cols[c * col_stride + b];
            // Two chains of four, quants 4k..4k+3 in dot[k / 4] (exact integer sums in any order;
            // for Q4_0, dot[1] is 16 times the high nibbles' sum, at most 16 * 15 * 127 * 16).
            __m512i dot[2] = {_mm512_set1_epi32(-kBias * sums[c * col_stride + b]), _mm512_setzero_si512()};
            #pragma GCC unroll 8
            for (int k = 0; k < 8; ++k) {
                int32_t g;
                std::memcpy(&g, a.qs + 4 * k, 4);
                dot[k / 4] = _mm512_dpbusd_epi32(dot[k / 4], v[k], _mm512_set1_epi32(g));
            }
            const __m512i sum = _mm512_add_epi32(dot[0], Q4 ? _mm512_srai_epi32(dot[1], 4) : dot[1]);
            acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum), _mm512_mul_ps(d, _mm512_set1_ps(a.d)), acc[c]);
        }
    };
    for (int64_t b = 0; b < w.nblocks; b += 2, p += kPair) {
        prefetch_stream_ahead<kPair>(p);
        block(b, p, p + 2 * kBytes);
        if (b + 1 < w.nblocks) block(b + 1, p + kBytes, p + 2 * kBytes + 32);
    }
    store_rows(acc, nr, out, ldo);
}

template <bool Q4>
void gemm_packed_q0(const PackedQ0& w, int64_t group, int nr, const BlockQ8A* cols, const int32_t* col_sums,
                    int64_t col_stride, int64_t ncols, float* out, int64_t ldo) {
    const unsigned char* p = w.data + group * w.pairs * w.pair_bytes;
    for (int64_t c0 = 0; c0 < ncols; c0 += kColTile) {
        with_count<kColTile>(static_cast<int>(std::min<int64_t>(kColTile, ncols - c0)), [&](auto nc) {
            packed_q0_times_cols<Q4, decltype(nc)::value>(w, p, cols + c0 * col_stride, col_sums + c0 * col_stride,
                                                         col_stride, nr, out + c0 * ldo, ldo);
        });
    }
}

// Q4_K weights repacked at load time (PackedKQuant), 16 rows in the lanes. Per
// pair of sub-blocks the 16 quant vectors are split once (high nibbles kept in
// place, their sum divided by 16 as for Q4_0) and shared by up to
// kColTileK4 columns; per column, two vpdpbusd chains give each row's exact
// sub-block dots, which the rows' 6-bit scales weight (vpmulld) into one int32
// per super-block, and four vpdpwssd of the mins with the column's sub-block
// sums give the offset. The float steps are the scalar path's, lane by lane:
// acc + ((d * da) * sum - (dmin * da) * off), so the bits are the scalar path's.
// Q5_K (Q5) is the same with each quant's fifth bit added (16 where the qh
// plane has it): both nibbles are shifted into place, and nothing is divided.
constexpr int kColTileK4 = 4;  // 16 weight + 4 int + 4 float accumulator zmm

template <int NC, bool Q5>
inline void packed_q4_k_times_cols(const unsigned char* p, int64_t nblocks, const BlockQ8K* cols,
                                   const int32_t* pair_sums, int64_t col_stride, int nr, float* out, int64_t ldo) {
    constexpr int64_t kBytes = Q5 ? kPackedQ5KBytes : kPackedQ4KBytes;
    constexpr int kTail = Q5 ? 2048 + 512 : 2048;  // where the scales start
    __m512 acc[NC];
    #pragma GCC unroll 4
    for (int c = 0; c < NC; ++c) acc[c] = _mm512_setzero_ps();
    const __m512i low = _mm512_set1_epi8(0x0f), sixteen = _mm512_set1_epi8(16);
    for (int64_t b = 0; b < nblocks; ++b, p += kBytes) {
        prefetch_ahead<kBytes>(p);
        __m512i sum[NC];
        #pragma GCC unroll 4
        for (int c = 0; c < NC; ++c) sum[c] = _mm512_setzero_si512();
        #pragma GCC unroll 1
        for (int i = 0; i < 4; ++i) {
            __m512i w[16];
            #pragma GCC unroll 8
            for (int k = 0; k < 8; ++k) {
                const __m512i v = _mm512_load_si512(p + 64 * (8 * i + k));
                w[k] = _mm512_and_si512(v, low);
                if constexpr (Q5) {
                    const __m512i h = _mm512_load_si512(p + 2048 + 64 * k);
                    w[k + 8] = _mm512_and_si512(_mm512_srli_epi16(v, 4), low);
                    w[k] = _mm512_mask_add_epi8(w[k], _mm512_test_epi8_mask(h, _mm512_set1_epi8(char(1 << (2 * i)))),
                                                w[k], sixteen);
                    w[k + 8] = _mm512_mask_add_epi8(
                        w[k + 8], _mm512_test_epi8_mask(h, _mm512_set1_epi8(char(2 << (2 * i)))), w[k + 8], sixteen);
                } else {
                    w[k + 8] = _mm512_andnot_si512(low, v);
                }
            }
            const __m512i s0 = _mm512_cvtepu8_epi32(_mm_load_si128(reinterpret_cast<const __m128i*>(p + kTail + 32 * i)));
            const __m512i s1 =
                _mm512_cvtepu8_epi32(_mm_load_si128(reinterpret_cast<const __m128i*>(p + kTail + 32 * i + 16)));
            #pragma GCC unroll 4
            for (int c = 0; c < NC; ++c) {
                const int8_t* a = cols[c * col_stride + b].qs + 64 * i;
                // Four chains of four, so the latency of vpdpbusd does not bound a single column.
                __m512i lo[2] = {_mm512_setzero_si512(), _mm512_setzero_si512()}, hi[2] = {lo[0], lo[0]};
                #pragma GCC unroll 8
                for (int k = 0; k < 8; ++k) {
                    int32_t g0, g1;
                    std::memcpy(&g0, a + 4 * k, 4);
                    std::memcpy(&g1, a + 32 + 4 * k, 4);
                    lo[k / 4] = _mm512_dpbusd_epi32(lo[k / 4], w[k], _mm512_set1_epi32(g0));
                    hi[k / 4] = _mm512_dpbusd_epi32(hi[k / 4], w[k + 8], _mm512_set1_epi32(g1));
                }
                const __m512i dlo = _mm512_add_epi32(lo[0], lo[1]), dhi = _mm512_add_epi32(hi[0], hi[1]);
                sum[c] = _mm512_add_epi32(sum[c], _mm512_add_epi32(_mm512_mullo_epi32(s0, dlo),
                                                                   _mm512_mullo_epi32(s1, Q5 ? dhi : _mm512_srai_epi32(dhi, 4))));
            }
        }
        __m512i mins[4];
        #pragma GCC unroll 4
        for (int i = 0; i < 4; ++i)
            mins[i] = _mm512_cvtepu8_epi16(_mm256_load_si256(reinterpret_cast<const __m256i*>(p + kTail + 128 + 32 * i)));
        const __m512 d = _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(p + kTail + 256)));
        const __m512 dmin = _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(p + kTail + 256 + 32)));
        #pragma GCC unroll 4
        for (int c = 0; c < NC; ++c) {
            const int32_t* ps = pair_sums + (c * col_stride + b) * 8;
            __m512i off = _mm512_setzero_si512();
            #pragma GCC unroll 4
            for (int i = 0; i < 4; ++i) off = _mm512_dpwssd_epi32(off, mins[i], _mm512_set1_epi32(ps[i]));
            const __m512 da = _mm512_set1_ps(cols[c * col_stride + b].d);
            const __m512 scaled = _mm512_mul_ps(_mm512_mul_ps(d, da), _mm512_cvtepi32_ps(sum[c]));
            const __m512 offset = _mm512_mul_ps(_mm512_mul_ps(dmin, da), _mm512_cvtepi32_ps(off));
            acc[c] = _mm512_add_ps(acc[c], _mm512_sub_ps(scaled, offset));
        }
    }
    store_rows(acc, nr, out, ldo);
}

// Q6_K weights repacked at load time (PackedKQuant), 16 rows in the lanes.
// Each unit (h, l) of one ql vector pair and one qh vector gives four quant
// vectors, one per quarter of the 128-element half h: low nibble, and two
// high bits moved to bits 4-5 (one vpternlog joins them). Sub-blocks are 16
// elements, so a (h, half) step feeds four independent vpdpbusd chains, one
// per quarter; the int8 scales weight them (vpmulld), the offset is 32 times
// the scales' dot with the column's sub-block sums (vpdpwssd), and the float
// steps are the scalar path's: the bits are the scalar path's.
template <int NC>
inline void packed_q6_k_times_cols(const unsigned char* p, int64_t nblocks, const BlockQ8K* cols,
                                   const int32_t* pair_sums, int64_t col_stride, int nr, float* out, int64_t ldo) {
    __m512 acc[NC];
    #pragma GCC unroll 4
    for (int c = 0; c < NC; ++c) acc[c] = _mm512_setzero_ps();
    const __m512i low = _mm512_set1_epi8(0x0f), bits45 = _mm512_set1_epi8(0x30);
    constexpr int kOr = 0xF8;  // vpternlog: a | (b & c)
    for (int64_t b = 0; b < nblocks; ++b, p += kPackedQ6KBytes) {
        prefetch_ahead<kPackedQ6KBytes>(p);
        // Scale pairs: int16, sub-blocks 2i and 2i + 1 in each dword (for the offset below).
        const auto scale_pair = [p](int i) {
            return _mm512_cvtepi8_epi16(_mm256_load_si256(reinterpret_cast<const __m256i*>(p + 3072 + 32 * i)));
        };
        // Each sub-block's scale as int32 lanes for vpmulld, kept in L1 for the column loop.
        alignas(64) __m512i scale[16];
        #pragma GCC unroll 8
        for (int i = 0; i < 8; ++i) {
            const __m512i pair = scale_pair(i);
            scale[2 * i] = _mm512_srai_epi32(_mm512_slli_epi32(pair, 16), 16);
            scale[2 * i + 1] = _mm512_srai_epi32(pair, 16);
        }
        __m512i sum[NC];
        #pragma GCC unroll 4
        for (int c = 0; c < NC; ++c) sum[c] = _mm512_setzero_si512();
        #pragma GCC unroll 4
        for (int step = 0; step < 4; ++step) {
            const int h = step / 2, half = step % 2;
            __m512i w[16];  // w[4q + u]: quarter q, unit l = 4 half + u
            #pragma GCC unroll 4
            for (int u = 0; u < 4; ++u) {
                const int l = 4 * half + u;
                const __m512i v0 = _mm512_load_si512(p + 64 * (16 * h + l));
                const __m512i v1 = _mm512_load_si512(p + 64 * (16 * h + 8 + l));
                const __m512i hb = _mm512_load_si512(p + 2048 + 64 * (8 * h + l));
                w[u] = _mm512_ternarylogic_epi32(_mm512_and_si512(v0, low), _mm512_slli_epi16(hb, 4), bits45, kOr);
                w[4 + u] = _mm512_ternarylogic_epi32(_mm512_and_si512(v1, low), _mm512_slli_epi16(hb, 2), bits45, kOr);
                w[8 + u] = _mm512_ternarylogic_epi32(_mm512_and_si512(_mm512_srli_epi16(v0, 4), low), hb, bits45, kOr);
                w[12 + u] = _mm512_ternarylogic_epi32(_mm512_and_si512(_mm512_srli_epi16(v1, 4), low),
                                                      _mm512_srli_epi16(hb, 2), bits45, kOr);
            }
            #pragma GCC unroll 4
            for (int c = 0; c < NC; ++c) {
                const int8_t* a = cols[c * col_stride + b].qs + 128 * h + 16 * half;
                __m512i dot[4];
                #pragma GCC unroll 4
                for (int q = 0; q < 4; ++q) {
                    dot[q] = _mm512_setzero_si512();
                    #pragma GCC unroll 4
                    for (int u = 0; u < 4; ++u) {
                        int32_t g;
                        std::memcpy(&g, a + 32 * q + 4 * u, 4);
                        dot[q] = _mm512_dpbusd_epi32(dot[q], w[4 * q + u], _mm512_set1_epi32(g));
                    }
                }
                // Quarter q of half h, its first or second 16 elements: sub-block 8h + 2q + half.
                #pragma GCC unroll 4
                for (int q = 0; q < 4; ++q)
                    sum[c] = _mm512_add_epi32(sum[c], _mm512_mullo_epi32(scale[8 * h + 2 * q + half], dot[q]));
            }
        }
        const __m512 d = _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(p + 3072 + 256)));
        __m512i pairs[8];
        #pragma GCC unroll 8
        for (int i = 0; i < 8; ++i) pairs[i] = scale_pair(i);
        #pragma GCC unroll 4
        for (int c = 0; c < NC; ++c) {
            const int32_t* ps = pair_sums + (c * col_stride + b) * 8;
            __m512i off = _mm512_setzero_si512();
            #pragma GCC unroll 8
            for (int i = 0; i < 8; ++i) off = _mm512_dpwssd_epi32(off, pairs[i], _mm512_set1_epi32(ps[i]));
            const __m512 dd = _mm512_mul_ps(d, _mm512_set1_ps(cols[c * col_stride + b].d));
            const __m512 scaled = _mm512_mul_ps(dd, _mm512_cvtepi32_ps(sum[c]));
            const __m512 offset = _mm512_mul_ps(dd, _mm512_cvtepi32_ps(_mm512_slli_epi32(off, 5)));
            acc[c] = _mm512_add_ps(acc[c], _mm512_sub_ps(scaled, offset));
        }
    }
    store_rows(acc, nr, out, ldo);
}

template <int Type>  // KQuantWeight
void gemm_packed_kquant(const PackedKQuant& w, int64_t group, int nr, const BlockQ8K* cols, const int32_t* pair_sums,
                        int64_t col_stride, int64_t ncols, float* out, int64_t ldo) {
    constexpr bool Q6 = Type == kWQ6_K;
    [[maybe_unused]] constexpr bool Q5 = Type == kWQ5_K;  // read only by the Q4_K/Q5_K branch
    const unsigned char* p = w.data + group * w.nblocks * kPackedKQuantBytes[Type];
    for (int64_t c0 = 0; c0 < ncols; c0 += kColTileK4) {
        const BlockQ8K* cc = cols + c0 * col_stride;
        const int32_t* ps = pair_sums + c0 * col_stride * 8;
        with_count<kColTileK4>(static_cast<int>(std::min<int64_t>(kColTileK4, ncols - c0)), [&](auto nc) {
            constexpr int n = decltype(nc)::value;
            if constexpr (Q6) packed_q6_k_times_cols<n>(p, w.nblocks, cc, ps, col_stride, nr, out + c0 * ldo, ldo);
            else packed_q4_k_times_cols<n, Q5>(p, w.nblocks, cc, ps, col_stride, nr, out + c0 * ldo, ldo);
        });
    }
}

// One weight row, columns anywhere: the same kernel one column at a time, so the same bits.
template <bool Q4>
void dot_q0(const void* w, const BlockQ8A* const* cols, int nc, int64_t nblocks, float* out) {
    for (int c = 0; c < nc; ++c) gemm_q0<Q4>(w, 0, 1, cols[c], nblocks, 1, nblocks, out + c, 1);
}

// K-quants, per super-block: the weights unpacked once (kquant_unpack.h) and
// joined into 64-byte vectors, the per-16 scales widened to int16 lanes; then
// per column maddubs (q unsigned, activations signed; pairs <= 2 * 63 * 127, no
// saturation) and vpdpwssd with the scales accumulate exact int32 sums. (A
// vpdpbusd would need a 32-bit multiply per sub-block afterwards: not cheaper.)
template <int NC, int Bytes, void (*Unpack)(const unsigned char*, KUnpacked&)>
void dot_kquant_nc(const unsigned char* w, const BlockQ8K* const* cols, int64_t nblocks, float* out) {
    __m512 acc[NC];
    #pragma GCC unroll 8
    for (int c = 0; c < NC; ++c) acc[c] = _mm512_setzero_ps();
    KUnpacked u;
    __m512i q[4], sc[4];
    for (int64_t i = 0; i < nblocks; ++i, w += Bytes) {
        Unpack(w, u);
        const __m256i scales = _mm256_broadcastsi128_si256(u.scales);
        #pragma GCC unroll 4
        for (int k = 0; k < 4; ++k) {  // elements 64k..+63: s_{4k} .. s_{4k+3}, 16 lanes each
            q[k] = join(u.q[2 * k], u.q[2 * k + 1]);
            const __m256i pick = _mm256_add_epi8(
                _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3),
                _mm256_set1_epi8(static_cast<char>(4 * k)));
            sc[k] = _mm512_cvtepi8_epi16(_mm256_shuffle_epi8(scales, pick));
        }
        #pragma GCC unroll 8
        for (int c = 0; c < NC; ++c) {
            const BlockQ8K& a = cols[c][i];
            __m512i sum = _mm512_setzero_si512();
            #pragma GCC unroll 4
            for (int k = 0; k < 4; ++k)
                sum = _mm512_dpwssd_epi32(sum, _mm512_maddubs_epi16(q[k], _mm512_loadu_si512(a.qs + 64 * k)), sc[k]);
            const __m256i off =
                _mm256_madd_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.bsums)), u.mins);
            acc[c] = _mm512_fmadd_ps(_mm512_set1_ps(u.d * a.d), _mm512_cvtepi32_ps(sum), acc[c]);
            acc[c] = _mm512_fnmadd_ps(_mm512_set1_ps(u.dmin * a.d), _mm512_cvtepi32_ps(_mm512_zextsi256_si512(off)), acc[c]);
        }
    }
    #pragma GCC unroll 8
    for (int c = 0; c < NC; ++c) out[c] = _mm512_reduce_add_ps(acc[c]);
}

template <int Bytes, void (*Unpack)(const unsigned char*, KUnpacked&)>
void dot_kquant(const void* wv, const BlockQ8K* const* cols, int nc, int64_t nblocks, float* out) {
    const auto* w = static_cast<const unsigned char*>(wv);
    switch (nc) {
        case 1: return dot_kquant_nc<1, Bytes, Unpack>(w, cols, nblocks, out);
        case 2: return dot_kquant_nc<2, Bytes, Unpack>(w, cols, nblocks, out);
        case 3: return dot_kquant_nc<3, Bytes, Unpack>(w, cols, nblocks, out);
        case 4: return dot_kquant_nc<4, Bytes, Unpack>(w, cols, nblocks, out);
        case 5: return dot_kquant_nc<5, Bytes, Unpack>(w, cols, nblocks, out);
        case 6: return dot_kquant_nc<6, Bytes, Unpack>(w, cols, nblocks, out);
        case 7: return dot_kquant_nc<7, Bytes, Unpack>(w, cols, nblocks, out);
        default: return dot_kquant_nc<8, Bytes, Unpack>(w, cols, nblocks, out);
    }
}

// The activation quantizers with the portable code's bytes: the maximum of
// |x| is exact in any order (and vmaxps, like fmax, skips a NaN |x| when it is
// the first operand), d and 1/d are the same scalar steps, vcvtps2dq rounds
// to nearest even like lrint, and vpmovdb truncates like the cast to int8
// (NaN: 0x80000000 and LONG_MIN both narrow to 0).
inline float abs_max(const float* x, int n16) {
    __m512 m = _mm512_setzero_ps();
    for (int k = 0; k < n16; ++k) m = _mm512_max_ps(_mm512_abs_ps(_mm512_loadu_ps(x + 16 * k)), m);
    return _mm512_reduce_max_ps(m);
}

inline float inverse_scale(float d) { return d != 0.0f ? 1.0f / d : 0.0f; }

// 16 quants of x[0..16) scaled by id, stored at q; returns them as int32 lanes (narrowed values).
inline __m512i quantize16(const float* x, float id, int8_t* q) {
    const __m128i b = _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x), _mm512_set1_ps(id))));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(q), b);
    return _mm512_cvtepi8_epi32(b);
}

void quantize_act_avx512(const float* x, BlockQ8A* y, int64_t nblocks, int32_t* sums) {
    for (int64_t i = 0; i < nblocks; ++i, x += 32) {
        const float d = abs_max(x, 2) / 127.0f, id = inverse_scale(d);
        y[i].d = d;
        const __m512i s = _mm512_add_epi32(quantize16(x, id, y[i].qs), quantize16(x + 16, id, y[i].qs + 16));
        if (sums) sums[i] = _mm512_reduce_add_epi32(s);
    }
}

void quantize_act_k_avx512(const float* x, BlockQ8K* y, int64_t nblocks) {
    for (int64_t i = 0; i < nblocks; ++i, x += 256) {
        const float d = abs_max(x, 16) / 127.0f, id = inverse_scale(d);
        y[i].d = d;
        for (int g = 0; g < 16; ++g)
            y[i].bsums[g] = static_cast<int16_t>(_mm512_reduce_add_epi32(quantize16(x + 16 * g, id, y[i].qs + 16 * g)));
    }
}

// exp(x) for x <= 0: x = n ln2 + r with |r| <= ln2 / 2, e^r by its Taylor
// polynomial to degree 7 (relative error below 2e-8 + rounding), times 2^n by
// vscalefps. x below -87 (and -inf) gives about e^-87 > 0: callers zero what
// must be zero.
inline __m512 exp_nonpositive(__m512 x) {
    x = _mm512_max_ps(x, _mm512_set1_ps(-87.0f));  // keeps 2^n a normal float
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145751953125f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.42860682030941723212e-6f), r);
    __m512 p = _mm512_set1_ps(1.0f / 5040);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}

// acc[h] += w[h][j] * value row j (at v + j * v_stride) for h < H and the keys j < nj
// that kept(j) (a key with a -inf score has w = 0 in every row and is skipped: its values
// may be NaN), 16 dimensions a vector, each value vector loaded once for all H rows.
template <int H, class Kept>
inline __attribute__((always_inline)) void add_value_rows(const AttentionRows& a, const float* v, int64_t v_stride,
                                                          int nj, Kept kept, const float (*w)[64], float (*acc)[512]) {
    const int64_t D = a.D, chunks = (D + 15) / 16;
    for (int64_t c = 0; c < chunks; ++c) {
        const __mmask16 dm = static_cast<__mmask16>(c + 1 < chunks || D % 16 == 0 ? 0xffff : (1u << (D % 16)) - 1);
        __m512 o[H];
        #pragma GCC unroll 8
        for (int h = 0; h < H; ++h) o[h] = _mm512_load_ps(acc[h] + 16 * c);
        for (int j = 0; j < nj; ++j) {
            if (!kept(j)) continue;
            const __m512 vv = _mm512_maskz_loadu_ps(dm, v + j * v_stride + 16 * c);
            #pragma GCC unroll 8
            for (int h = 0; h < H; ++h) o[h] = _mm512_fmadd_ps(_mm512_set1_ps(w[h][j]), vv, o[h]);
        }
        #pragma GCC unroll 8
        for (int h = 0; h < H; ++h) _mm512_store_ps(acc[h] + 16 * c, o[h]);
    }
}

// Row h's output: its accumulator over its sum (0 where nothing was added).
template <int H>
inline void write_rows(const AttentionRows& a, const float (*acc)[512], const float* l) {
    for (int h = 0; h < H; ++h) {
        const float inv = l[h] > 0.0f ? 1.0f / l[h] : 0.0f;
        for (int64_t d = 0; d < a.D; ++d) a.out[h][d] = acc[h][d] * inv;
    }
}

// Attention for up to 8 query rows that share a KV head and a mask: per block
// of 64 keys (skipped when the mask hides all of it), 16 keys' scores at a
// time from the transposed keys, each key vector loaded once for all rows
// (one FMA chain per row, the query element broadcast); then per row the
// online softmax of run_attention, and the value rows added 16 dimensions at a
// time, each value vector loaded once for all rows.
template <int H>
void attention_rows_h(const AttentionRows& a) {
    constexpr int kBlock = 64;
    constexpr float kNegInf = -std::numeric_limits<float>::infinity();
    const int64_t D = a.D, S = a.S, chunks = (D + 15) / 16;
    alignas(64) float acc[H][512];
    alignas(64) float s[H][kBlock];
    float m[H], l[H];
    for (int h = 0; h < H; ++h) {
        std::fill(acc[h], acc[h] + 16 * chunks, 0.0f);
        m[h] = kNegInf;
        l[h] = 0.0f;
    }
    const __m512 neg_inf = _mm512_set1_ps(kNegInf);
    for (int64_t j0 = 0; j0 < S; j0 += kBlock) {
        const int nj = static_cast<int>(std::min<int64_t>(kBlock, S - j0));
        __mmask16 keep[kBlock / 16];
        bool any = false;
        for (int v = 0; v < kBlock; v += 16) {
            const __mmask16 live = v < nj ? static_cast<__mmask16>((1u << std::min(16, nj - v)) - 1) : 0;
            keep[v / 16] = a.mask ? _mm512_mask_cmp_ps_mask(live, _mm512_maskz_loadu_ps(live, a.mask + j0 + v), neg_inf,
                                                            _CMP_NEQ_OQ)
                                  : live;
            any = any || keep[v / 16];
        }
        if (!any) continue;
        __m512 bmax[H];
        #pragma GCC unroll 8
        for (int h = 0; h < H; ++h) bmax[h] = neg_inf;
        for (int v = 0; v < nj; v += 16) {
            const __mmask16 k16 = keep[v / 16];
            if (!k16) {
                #pragma GCC unroll 8
                for (int h = 0; h < H; ++h) _mm512_store_ps(s[h] + v, neg_inf);
                continue;
            }
            const float* kt = a.kt + j0 + v;
            __m512 c[H];
            #pragma GCC unroll 8
            for (int h = 0; h < H; ++h) c[h] = _mm512_setzero_ps();
            for (int64_t d = 0; d < D; ++d) {
                const __m512 kv = _mm512_load_ps(kt + d * a.kt_stride);
                #pragma GCC unroll 8
                for (int h = 0; h < H; ++h) c[h] = _mm512_fmadd_ps(_mm512_set1_ps(a.q[h][d]), kv, c[h]);
            }
            const __m512 mk = a.mask ? _mm512_maskz_loadu_ps(k16, a.mask + j0 + v) : _mm512_setzero_ps();
            #pragma GCC unroll 8
            for (int h = 0; h < H; ++h) {
                const __m512 score = _mm512_mask_blend_ps(k16, neg_inf,
                                                          _mm512_add_ps(_mm512_mul_ps(c[h], _mm512_set1_ps(a.scale)), mk));
                _mm512_store_ps(s[h] + v, score);
                bmax[h] = _mm512_max_ps(bmax[h], score);
            }
        }
        for (int h = 0; h < H; ++h) {
            const float block_max = _mm512_reduce_max_ps(bmax[h]);
            if (block_max == kNegInf) {  // NaN scores only: nothing to add
                std::fill(s[h], s[h] + kBlock, 0.0f);
                continue;
            }
            if (block_max > m[h]) {
                const __m512 r = _mm512_set1_ps(std::exp(m[h] - block_max));  // 0 when m is -inf
                l[h] *= _mm512_cvtss_f32(r);
                for (int64_t c = 0; c < chunks; ++c)
                    _mm512_store_ps(acc[h] + 16 * c, _mm512_mul_ps(_mm512_load_ps(acc[h] + 16 * c), r));
                m[h] = block_max;
            }
            __m512 psum = _mm512_setzero_ps();
            for (int v = 0; v < nj; v += 16) {
                const __m512 score = _mm512_load_ps(s[h] + v);
                const __mmask16 live = _mm512_cmp_ps_mask(score, neg_inf, _CMP_NEQ_OQ);
                const __m512 p = _mm512_maskz_mov_ps(live, exp_nonpositive(_mm512_sub_ps(score, _mm512_set1_ps(m[h]))));
                _mm512_store_ps(s[h] + v, p);
                psum = _mm512_add_ps(psum, p);
            }
            l[h] += _mm512_reduce_add_ps(psum);
        }
        const auto kept = [&](int j) { return (keep[j / 16] >> (j % 16)) & 1; };
        add_value_rows<H>(a, a.v + j0 * a.v_stride, a.v_stride, nj, kept, s, acc);
    }
    write_rows<H>(a, acc, l);
}

// silu(x) = x / (1 + e^-x) from e = e^-|x| in (0, 1], which cannot overflow:
// x / (1 + e) for x >= 0, x e / (1 + e) below. NaN stays NaN (x is a factor).
// e is 0 for |x| > 87, where exp_nonpositive would give e^-87 and x e would
// grow with |x| (-4.9 at x = -3e38, -inf at -inf): x e is then below 2e-36
// in magnitude, so -0, and NaN at -inf as x / (1 + e^-x) gives.
void silu_avx512(const float* x, float* y, int64_t n) {
    const __m512 one = _mm512_set1_ps(1.0f);
    const auto silu16 = [&](__m512 v) {
        const __m512 nx = _mm512_sub_ps(_mm512_setzero_ps(), _mm512_abs_ps(v));
        const __m512 e = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(nx, _mm512_set1_ps(-87.0f), _CMP_GE_OQ),
                                             exp_nonpositive(nx));
        const __mmask16 negative = _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_LT_OQ);
        return _mm512_div_ps(_mm512_mask_mul_ps(v, negative, v, e), _mm512_add_ps(one, e));
    };
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, silu16(_mm512_loadu_ps(x + i)));
    if (i < n) {
        const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
        _mm512_mask_storeu_ps(y + i, m, silu16(_mm512_maskz_loadu_ps(m, x + i)));
    }
}

// ADD, MUL and SCALE rows, 16 floats a vector, a masked vector for the tail.
template <class Op>
inline __attribute__((always_inline)) void map_rows(const float* a, const float* b, float* o, int64_t n, Op op) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(o + i, op(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i)));
    if (i < n) {
        const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
        _mm512_mask_storeu_ps(o + i, m, op(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i)));
    }
}
void add_avx512(const float* a, const float* b, float* o, int64_t n) {
    map_rows(a, b, o, n, [](__m512 x, __m512 y) { return _mm512_add_ps(x, y); });
}
void mul_avx512(const float* a, const float* b, float* o, int64_t n) {
    map_rows(a, b, o, n, [](__m512 x, __m512 y) { return _mm512_mul_ps(x, y); });
}
void scale_avx512(const float* x, float s, float* o, int64_t n) {
    const __m512 v = _mm512_set1_ps(s);
    map_rows(x, x, o, n, [v](__m512 a, __m512) { return _mm512_mul_ps(a, v); });
}

// Squares in float, 8 at a time widened to double, in four sums (so that the adds overlap).
double sum_squares_avx512(const float* x, int64_t n) {
    __m512d acc[4] = {_mm512_setzero_pd(), _mm512_setzero_pd(), _mm512_setzero_pd(), _mm512_setzero_pd()};
    const auto square8 = [](__m256 v) { return _mm512_cvtps_pd(_mm256_mul_ps(v, v)); };
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        #pragma GCC unroll 4
        for (int k = 0; k < 4; ++k) acc[k] = _mm512_add_pd(acc[k], square8(_mm256_loadu_ps(x + i + 8 * k)));
    }
    for (; i + 8 <= n; i += 8) acc[0] = _mm512_add_pd(acc[0], square8(_mm256_loadu_ps(x + i)));
    if (i < n) {
        const __mmask8 m = static_cast<__mmask8>((1u << (n - i)) - 1);
        acc[1] = _mm512_add_pd(acc[1], square8(_mm256_maskz_loadu_ps(m, x + i)));
    }
    return _mm512_reduce_add_pd(_mm512_add_pd(_mm512_add_pd(acc[0], acc[1]), _mm512_add_pd(acc[2], acc[3])));
}

// Sixteen key rows into 16-float lines: 16x16 tiles transposed in registers
// (unpack pairs of rows, then pairs of pairs, then 128-bit lanes twice), a
// masked load per row of a tile; absent rows are zeros.
void transpose16_avx512(const float* rows, int64_t row_stride, int n, int64_t D, float* dst, int64_t dst_stride) {
    for (int64_t d0 = 0; d0 < D; d0 += 16) {
        const int nd = static_cast<int>(std::min<int64_t>(16, D - d0));
        const __mmask16 m = static_cast<__mmask16>((1u << nd) - 1);
        __m512 r[16], t[16];
        for (int i = 0; i < 16; ++i)
            r[i] = i < n ? _mm512_maskz_loadu_ps(m, rows + i * row_stride + d0) : _mm512_setzero_ps();
        // t[2k], t[2k + 1]: rows 2k and 2k + 1 interleaved by element.
        for (int k = 0; k < 8; ++k) {
            t[2 * k] = _mm512_unpacklo_ps(r[2 * k], r[2 * k + 1]);
            t[2 * k + 1] = _mm512_unpackhi_ps(r[2 * k], r[2 * k + 1]);
        }
        // r: rows 4k..4k+3 interleaved by element, in four registers per k.
        for (int k = 0; k < 4; ++k) {
            const __m512d a0 = _mm512_castps_pd(t[4 * k]), a1 = _mm512_castps_pd(t[4 * k + 1]);
            const __m512d b0 = _mm512_castps_pd(t[4 * k + 2]), b1 = _mm512_castps_pd(t[4 * k + 3]);
            r[4 * k] = _mm512_castpd_ps(_mm512_unpacklo_pd(a0, b0));
            r[4 * k + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a0, b0));
            r[4 * k + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(a1, b1));
            r[4 * k + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(a1, b1));
        }
        // Lane l of r[4k + j] holds element 4l + j of rows 4k..4k+3; gather the lanes.
        for (int j = 0; j < 4; ++j) {
            const __m512 lo01 = _mm512_shuffle_f32x4(r[j], r[4 + j], 0x44), hi01 = _mm512_shuffle_f32x4(r[j], r[4 + j], 0xEE);
            const __m512 lo23 = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0x44),
                         hi23 = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0xEE);
            t[j] = _mm512_shuffle_f32x4(lo01, lo23, 0x88);       // element j
            t[4 + j] = _mm512_shuffle_f32x4(lo01, lo23, 0xDD);   // element 4 + j
            t[8 + j] = _mm512_shuffle_f32x4(hi01, hi23, 0x88);   // element 8 + j
            t[12 + j] = _mm512_shuffle_f32x4(hi01, hi23, 0xDD);  // element 12 + j
        }
        for (int e = 0; e < nd; ++e) _mm512_storeu_ps(dst + (d0 + e) * dst_stride, t[e]);
    }
}

// attention_rows from the key rows, for up to 8 query rows, with the same bits:
// the scores and maxima of attention_direct.h, then attention_rows_h's weights,
// sums and value rows (16 dimensions a vector) in the same order.
template <int H>
void attention_direct_h(const AttentionRows& a) {
    // An F16 cache's rows, a block at a time as F32 (direct_block).
    thread_local std::vector<float> converted;
    if (a.kv_f16) converted.resize(static_cast<size_t>(2 * kDirectBlock * a.D));
    const int64_t D = a.D, S = a.S, chunks = (D + 15) / 16;
    alignas(32) float qt[512][8];
    transpose_queries<H>(a, qt);
    alignas(64) float acc[H][512];
    alignas(64) float p[H][kDirectBlock];  // the block's softmax weights, row-major as attention_rows_h's
    alignas(32) float m[8], l[H];
    for (int h = 0; h < 8; ++h) m[h] = h < H ? kDirectNegInf : 0.0f;  // lanes past H: finite, unused
    for (int h = 0; h < H; ++h) {
        std::fill(acc[h], acc[h] + 16 * chunks, 0.0f);
        l[h] = 0.0f;
    }
    for (int64_t j0 = 0; j0 < S; j0 += kDirectBlock) {
        const int nj = static_cast<int>(std::min<int64_t>(kDirectBlock, S - j0));
        const uint64_t keep = keys_kept(a, j0, nj);
        if (!keep) continue;
        alignas(32) float s[kDirectBlock][8];  // s[j][h]
        const DirectBlock blk = direct_block(a, j0, nj, converted.data());
        direct_scores(a, blk, qt, j0, nj, keep, s);
        bool rows_live[H];
        raise_maxima<H>(s, nj, D, m, l, acc, rows_live);
        // The weights, then each row's sum as attention_rows_h adds it: 16 keys a lane, then the lanes.
        const __m512 mv = _mm512_castps256_ps512(_mm256_load_ps(m));
        for (int j = 0; j < (nj + 15) / 16 * 16; ++j) {
            alignas(32) float pj[8];
            const __m256 score = _mm256_load_ps(s[j < nj ? j : 0]);
            const __mmask8 live = j < nj ? _mm256_cmp_ps_mask(score, _mm256_set1_ps(kDirectNegInf), _CMP_NEQ_OQ) : 0;
            _mm256_store_ps(pj, _mm256_maskz_mov_ps(
                                    live, _mm512_castps512_ps256(exp_nonpositive(_mm512_sub_ps(_mm512_castps256_ps512(score), mv)))));
            for (int h = 0; h < H; ++h) p[h][j] = rows_live[h] ? pj[h] : 0.0f;
        }
        for (int h = 0; h < H; ++h) {
            if (!rows_live[h]) continue;
            __m512 psum = _mm512_setzero_ps();
            for (int v = 0; v < nj; v += 16) psum = _mm512_add_ps(psum, _mm512_load_ps(p[h] + v));
            l[h] += _mm512_reduce_add_ps(psum);
        }
        add_value_rows<H>(a, blk.v, blk.v_stride, nj, [keep](int j) { return (keep >> j) & 1; }, p, acc);
    }
    write_rows<H>(a, acc, l);
}

void attention_rows_avx512(const AttentionRows& a) {
    static_assert(kMaxAttentionHeads == 8);
    with_count<8>(a.n, [&](auto h) { attention_rows_h<decltype(h)::value>(a); });
}

void attention_direct_avx512(const AttentionRows& a) {
    static_assert(kMaxAttentionHeads == 8);
    with_count<8>(a.n, [&](auto h) { attention_direct_h<decltype(h)::value>(a); });
}

const Kernels kAvx512 = {
    Isa::Avx512,
    {dot_float<4, load16_f32, mload_f32>, dot_float<2, load16_f16, mload_f16>,
     dot_float<2, load16_bf16, mload_bf16>},
    dot_q0<false>,
    dot_q0<true>,
    {dot_kquant<144, unpack_q4_k>, dot_kquant<176, unpack_q5_k>, dot_kquant<210, unpack_q6_k>},
    {gemm_float<4, load16_f32, mload_f32>, gemm_float<2, load16_f16, mload_f16>, gemm_float<2, load16_bf16, mload_bf16>},
    gemm_q0<false>,
    gemm_q0<true>,
    gemm_packed_q0<false>,
    gemm_packed_q0<true>,
    attention_rows_avx512,
    quantize_act_avx512,
    quantize_act_k_avx512,
    {gemm_packed_kquant<kWQ4_K>, gemm_packed_kquant<kWQ5_K>, gemm_packed_kquant<kWQ6_K>},
    silu_avx512,
    transpose16_avx512,
    add_avx512,
    mul_avx512,
    scale_avx512,
    sum_squares_avx512,
    attention_direct_avx512,
};

}  // namespace

const Kernels& kernels_avx512() { return kAvx512; }

}  // namespace suanli::cpu
