// AVX2 + FMA + F16C kernels. Compiled with -mavx2 -mfma -mf16c; chosen at run
// time only when CPUID reports all three. Everything here has internal linkage
// (see kernels.h).
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "backends/cpu/kernels.h"
#include "backends/cpu/x86/attention_direct.h"
#include "backends/cpu/x86/kquant_unpack.h"
#include "backends/cpu/x86/prefetch.h"
#include "backends/cpu/x86/with_count.h"

namespace suanli::cpu {
namespace {

inline float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
inline float hmax(__m256 v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// All ones in lanes 0..n-1 (n <= 0: none, n >= 8: all): AVX2 has no mask
// registers, so tails go through maskload/maskstore, which touch no memory
// in the other lanes.
inline __m256i first_lanes(int64_t n) {
    const int k = static_cast<int>(std::clamp<int64_t>(n, 0, 8));
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(k), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
// All ones in lane i where bit i of `bits` is set (movemask_ps undone).
inline __m256 lanes_of_bits(int bits) {
    const __m256i bit = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    return _mm256_castsi256_ps(_mm256_cmpeq_epi32(_mm256_and_si256(_mm256_set1_epi32(bits), bit), bit));
}

inline __m256 load8_f32(const unsigned char* p) { return _mm256_loadu_ps(reinterpret_cast<const float*>(p)); }
inline __m256 load8_f16(const unsigned char* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
inline __m256 load8_bf16(const unsigned char* p) {
    const __m256i x = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(x, 16));
}
inline float load1_f32(const unsigned char* p) {
    float v;
    std::memcpy(&v, p, 4);
    return v;
}
inline float load1_f16(const unsigned char* p) {
    uint16_t h;
    std::memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}
inline float load1_bf16(const unsigned char* p) {
    uint16_t h;
    std::memcpy(&h, p, 2);
    const uint32_t u = static_cast<uint32_t>(h) << 16;
    float v;
    std::memcpy(&v, &u, 4);
    return v;
}

// Two accumulators per column over 16 elements a step, then 8, then a scalar tail.
template <int NC, int Size, __m256 (*Load8)(const unsigned char*), float (*Load1)(const unsigned char*)>
void dot_float_nc(const unsigned char* w, const float* const* cols, int64_t K, float* out) {
    __m256 a0[NC], a1[NC];
    #pragma GCC unroll 4
    for (int c = 0; c < NC; ++c) a0[c] = a1[c] = _mm256_setzero_ps();
    int64_t k = 0;
    for (; k + 16 <= K; k += 16) {
        // One column is decode: its rows are one weight stream per thread (x86/prefetch.h), a
        // line every 64 bytes.
        if (NC == 1 && Size * k % 64 == 0) prefetch_stream_ahead<64>(w + Size * k);
        const __m256 w0 = Load8(w + Size * k), w1 = Load8(w + Size * (k + 8));
        #pragma GCC unroll 4
        for (int c = 0; c < NC; ++c) {
            a0[c] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(cols[c] + k), a0[c]);
            a1[c] = _mm256_fmadd_ps(w1, _mm256_loadu_ps(cols[c] + k + 8), a1[c]);
        }
    }
    if (k + 8 <= K) {
        const __m256 w0 = Load8(w + Size * k);
        #pragma GCC unroll 4
        for (int c = 0; c < NC; ++c) a0[c] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(cols[c] + k), a0[c]);
        k += 8;
    }
    #pragma GCC unroll 4
    for (int c = 0; c < NC; ++c) {
        float tail = 0.0f;
        for (int64_t j = k; j < K; ++j) tail += Load1(w + Size * j) * cols[c][j];
        out[c] = hsum(_mm256_add_ps(a0[c], a1[c])) + tail;
    }
}

template <int Size, __m256 (*Load8)(const unsigned char*), float (*Load1)(const unsigned char*)>
void dot_float(const void* wv, const float* const* cols, int nc, int64_t K, float* out) {
    const auto* w = static_cast<const unsigned char*>(wv);
    switch (nc) {
        case 1: return dot_float_nc<1, Size, Load8, Load1>(w, cols, K, out);
        case 2: return dot_float_nc<2, Size, Load8, Load1>(w, cols, K, out);
        case 3: return dot_float_nc<3, Size, Load8, Load1>(w, cols, K, out);
        default: return dot_float_nc<4, Size, Load8, Load1>(w, cols, K, out);
    }
}

// A weight block as 32 signed int8 values and its scale.
inline __m256i block_q8_0(const unsigned char* p, float* d) {
    uint16_t h;
    std::memcpy(&h, p, 2);
    *d = _cvtsh_ss(h);
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 2));
}
inline __m256i block_q4_0(const unsigned char* p, float* d) {
    uint16_t h;
    std::memcpy(&h, p, 2);
    *d = _cvtsh_ss(h);
    const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 2));
    const __m128i m = _mm_set1_epi8(0x0f);
    const __m256i x = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(q, 4), m), _mm_and_si128(q, m));
    return _mm256_sub_epi8(x, _mm256_set1_epi8(8));
}

// ---- Q8_0/Q4_0 gemm: a group of 16 rows as two 8-lane halves (rows 0-7, 8-15) ----

constexpr int kColTile = 4;  // columns per pass over a group's blocks

// Lane i: the sum of v[i]'s eight lanes (exact int32).
inline __m256i sum_lanes8(const __m256i (&v)[8]) {
    // t0 = rows 0-3's sums of elements 0-3 (low half) and 4-7 (high half); t1 the same for rows 4-7.
    const __m256i t0 = _mm256_hadd_epi32(_mm256_hadd_epi32(v[0], v[1]), _mm256_hadd_epi32(v[2], v[3]));
    const __m256i t1 = _mm256_hadd_epi32(_mm256_hadd_epi32(v[4], v[5]), _mm256_hadd_epi32(v[6], v[7]));
    return _mm256_add_epi32(_mm256_permute2x128_si256(t0, t1, 0x20), _mm256_permute2x128_si256(t0, t1, 0x31));
}

// acc + dot * (d * da) for 8 rows (their block dots and scales) and a column
// block's scale: the float steps of both gemm kernels below, per block in
// block order, so that the unpacked and packed ones give the same bits.
inline __m256 scale_add(__m256 acc, __m256i dot, __m256 d, float da) {
    return _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_mul_ps(d, _mm256_set1_ps(da)), acc);
}

// Rows 0..nr-1 of acc[c] (acc[c][0]: rows 0-7, acc[c][1]: rows 8-15) to out + c * ldo.
template <int NC, int H>
inline void store_rows(const __m256 (&acc)[NC][H], int nr, float* out, int64_t ldo) {
    const __m256i low = first_lanes(nr), high = first_lanes(nr - 8);
    #pragma GCC unroll 4
    for (int c = 0; c < NC; ++c) {
        _mm256_maskstore_ps(out + c * ldo, low, acc[c][0]);
        if constexpr (H == 2) _mm256_maskstore_ps(out + c * ldo + 8, high, acc[c][1]);
    }
}

// f(NC, H) for the column count of a tile (1..kColTile) and the halves of a
// group with nr rows (H = 1: at most 8 rows, the second half not computed).
template <class F>
inline void with_tile(int nc, int nr, F&& f) {
    with_count<kColTile>(nc, [&](auto c) {
        if (nr > 8) f(c, std::integral_constant<int, 2>{});
        else f(c, std::integral_constant<int, 1>{});
    });
}

// Unpacked rows against NC columns: per block the 16 rows' signed quants and
// |q|, once for all columns; per column and row maddubs(|q|, a with q's sign)
// (pairs <= 2 * 128 * 127: no saturation, even for a Q8_0 quant of -128) and
// madd, and sum_lanes8 folds each row's 8 partial sums into its lane.
template <int NC, int H, int Bytes, __m256i (*Block)(const unsigned char*, float*)>
void rows_times_cols(const unsigned char* const* rows, int nr, int64_t nblocks, const BlockQ8A* cols,
                     int64_t col_stride, float* out, int64_t ldo) {
    __m256 acc[NC][H];
    #pragma GCC unroll 4
    for (int c = 0; c < NC; ++c)
        #pragma GCC unroll 2
        for (int h = 0; h < H; ++h) acc[c][h] = _mm256_setzero_ps();
    const __m256i ones = _mm256_set1_epi16(1);
    for (int64_t b = 0; b < nblocks; ++b) {
        __m256i q[8 * H], aq[8 * H];
        alignas(32) float d[8 * H];
        #pragma GCC unroll 16
        for (int r = 0; r < 8 * H; ++r) {
            q[r] = Block(rows[r] + b * Bytes, &d[r]);
            aq[r] = _mm256_sign_epi8(q[r], q[r]);
        }
        #pragma GCC unroll 4
        for (int c = 0; c < NC; ++c) {
            const BlockQ8A& a = cols[c * col_stride + b];
            const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.qs));
            #pragma GCC unroll 2
            for (int h = 0; h < H; ++h) {
                __m256i p[8];
                #pragma GCC unroll 8
                for (int i = 0; i < 8; ++i)
                    p[i] = _mm256_madd_epi16(_mm256_maddubs_epi16(aq[8 * h + i], _mm256_sign_epi8(x, q[8 * h + i])), ones);
                acc[c][h] = scale_add(acc[c][h], sum_lanes8(p), _mm256_load_ps(d + 8 * h), a.d);
            }
        }
    }
    store_rows(acc, nr, out, ldo);
}

template <int Bytes, __m256i (*Block)(const unsigned char*, float*)>
void gemm_q0(const void* wv, size_t row_bytes, int nr, const BlockQ8A* cols, int64_t col_stride, int64_t ncols,
             int64_t nblocks, float* out, int64_t ldo) {
    const auto* w = static_cast<const unsigned char*>(wv);
    const unsigned char* rows[16];
    for (int r = 0; r < 16; ++r) rows[r] = w + std::min(r, nr - 1) * row_bytes;  // lanes past nr: not stored
    for (int64_t c0 = 0; c0 < ncols; c0 += kColTile)
        with_tile(static_cast<int>(std::min<int64_t>(kColTile, ncols - c0)), nr, [&](auto nc, auto h) {
            rows_times_cols<decltype(nc)::value, decltype(h)::value, Bytes, Block>(
                rows, nr, nblocks, cols + c0 * col_stride, col_stride, out + c0 * ldo, ldo);
        });
}

// One weight row, columns anywhere (dot_q8_0/dot_q4_0): the gemm kernel one
// column at a time, so the same bits.
template <int Bytes, __m256i (*Block)(const unsigned char*, float*)>
void dot_quant(const void* w, const BlockQ8A* const* cols, int nc, int64_t nblocks, float* out) {
    for (int c = 0; c < nc; ++c) gemm_q0<Bytes, Block>(w, 0, 1, cols[c], nblocks, 1, nblocks, out + c, 1);
}

// The same products from weights repacked at load time (PackedQ0), each
// 64-byte vector as two ymm (rows 0-7, rows 8-15); vector k (Q4_0: its low
// nibbles for k < 4, its high nibbles as k + 4) times the column's quants
// 4k..4k+3, broadcast. Without vpdpbusd:
// - Q8_0: the stored q + 128 back to signed q, then as in rows_times_cols,
//   maddubs(|q|, a with q's sign) and madd per vector: in each row's lane the
//   dot of its 4 quants;
// - Q4_0: the nibbles (unsigned 0..15) times the signed quants directly, pairs
//   <= 2 * 15 * 127, so the 8 maddubs sum in int16 (<= 30480) before one
//   madd; then -8 * the column block's quant sum gives q - 8.
// Each lane holds its row's exact block dot, scaled as in rows_times_cols:
// the same bits. One half (8 rows) at a time, so that its 8 weight vectors
// and the tile's accumulators fit AVX2's 16 registers.
template <bool Q4, int NC, int H>
void packed_q0_times_cols(const PackedQ0& w, const unsigned char* p, int nr, const BlockQ8A* cols,
                          [[maybe_unused]] const int32_t* sums, int64_t col_stride, float* out, int64_t ldo) {
    constexpr int kBytes = Q4 ? 256 : 512, kPair = 2 * kBytes + 64;
    __m256 acc[NC][H];
    #pragma GCC unroll 4
    for (int c = 0; c < NC; ++c)
        #pragma GCC unroll 2
        for (int h = 0; h < H; ++h)
            acc[c][h] = w.adds_to_out ? _mm256_maskload_ps(out + c * ldo + 8 * h, first_lanes(nr - 8 * h))
                                      : _mm256_setzero_ps();
    const __m256i ones = _mm256_set1_epi16(1), low = _mm256_set1_epi8(0x0f), bias = _mm256_set1_epi8(-128);
    // Block b: its quants at q, its 16 f16 scales at s.
    const auto block = [&](int64_t b, const unsigned char* q, const unsigned char* s) __attribute__((always_inline)) {
        #pragma GCC unroll 2
        for (int h = 0; h < H; ++h) {
            const auto half_vector = [&](int k) {
                return _mm256_load_si256(reinterpret_cast<const __m256i*>(q + 64 * k + 32 * h));
            };
            __m256i v[8], av[8];  // av: Q8_0's |q|
            if constexpr (Q4) {
                #pragma GCC unroll 4
                for (int k = 0; k < 4; ++k) {
                    v[k] = _mm256_and_si256(half_vector(k), low);
                    v[k + 4] = _mm256_and_si256(_mm256_srli_epi16(half_vector(k), 4), low);
                }
            } else {
                #pragma GCC unroll 8
                for (int k = 0; k < 8; ++k) {
                    v[k] = _mm256_xor_si256(half_vector(k), bias);
                    av[k] = _mm256_sign_epi8(v[k], v[k]);
                }
            }
            const __m256 d = _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(s + 16 * h)));
            #pragma GCC unroll 4
            for (int c = 0; c < NC; ++c) {
                const BlockQ8A& a = cols[c * col_stride + b];
                __m256i dot;
                if constexpr (Q4) {
                    __m256i pairs = _mm256_setzero_si256();
                    #pragma GCC unroll 8
                    for (int k = 0; k < 8; ++k) {
                        int32_t g;
                        std::memcpy(&g, a.qs + 4 * k, 4);
                        pairs = _mm256_add_epi16(pairs, _mm256_maddubs_epi16(v[k], _mm256_set1_epi32(g)));
                    }
                    dot = _mm256_add_epi32(_mm256_madd_epi16(pairs, ones), _mm256_set1_epi32(-8 * sums[c * col_stride + b]));
                } else {
                    dot = _mm256_setzero_si256();
                    #pragma GCC unroll 8
                    for (int k = 0; k < 8; ++k) {
                        int32_t g;
                        std::memcpy(&g, a.qs + 4 * k, 4);
                        const __m256i x = _mm256_set1_epi32(g);
                        dot = _mm256_add_epi32(dot, _mm256_madd_epi16(_mm256_maddubs_epi16(av[k], _mm256_sign_epi8(x, v[k])), ones));
                    }
                }
                acc[c][h] = scale_add(acc[c][h], dot, d, a.d);
            }
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
    for (int64_t c0 = 0; c0 < ncols; c0 += kColTile)
        with_tile(static_cast<int>(std::min<int64_t>(kColTile, ncols - c0)), nr, [&](auto nc, auto h) {
            packed_q0_times_cols<Q4, decltype(nc)::value, decltype(h)::value>(
                w, p, nr, cols + c0 * col_stride, col_sums + c0 * col_stride, col_stride, out + c0 * ldo, ldo);
        });
}

// ---- K-quants from PackedKQuant: a group of 16 rows as two 8-lane halves ----
//
// The AVX-512 kernels' arithmetic lane by lane, with maddubs for vpdpbusd:
// maddubs(unsigned quants, the column's 4 activation bytes broadcast) gives
// each row 2 int16 pair sums (<= 2 * q_max * 127, no saturation); a chain of
// them is summed in int16 only as far as it cannot overflow, then one madd
// with the sub-block's scale (in both int16 halves of the row's lane) turns
// it into s * dot in int32, so no vpmulld is needed. Every sum is exact and
// the float steps are the scalar path's, so the bits are the scalar path's.

// How many maddubs results of quants up to q_max fit one int16 sum.
constexpr int int16_chain(int q_max) { return 32767 / (2 * q_max * 127); }
static_assert(int16_chain(15) == 8 && int16_chain(31) == 4 && int16_chain(63) == 2);

// Lane r: s_r * dot(row r's 4N quants in w, a[0..4N)), s_r in both halves of sdup's lane r.
template <int N, int Chain>
inline __attribute__((always_inline)) __m256i scaled_dot(const __m256i (&w)[N], const int8_t* a, __m256i sdup) {
    static_assert(N % Chain == 0);
    __m256i sum = _mm256_setzero_si256();
    #pragma GCC unroll 8
    for (int k0 = 0; k0 < N; k0 += Chain) {
        __m256i pairs = _mm256_setzero_si256();
        #pragma GCC unroll 8
        for (int k = k0; k < k0 + Chain; ++k) {
            int32_t g;
            std::memcpy(&g, a + 4 * k, 4);
            pairs = _mm256_add_epi16(pairs, _mm256_maddubs_epi16(w[k], _mm256_set1_epi32(g)));
        }
        sum = _mm256_add_epi32(sum, _mm256_madd_epi16(pairs, sdup));
    }
    return sum;
}

// acc + ((d * da) * sum - (dmin * da) * off) in each lane: the scalar path's float steps.
inline __m256 kquant_step(__m256 acc, __m256 d, __m256 dmin, float da, __m256i sum, __m256i off) {
    const __m256 a = _mm256_set1_ps(da);
    const __m256 scaled = _mm256_mul_ps(_mm256_mul_ps(d, a), _mm256_cvtepi32_ps(sum));
    const __m256 offset = _mm256_mul_ps(_mm256_mul_ps(dmin, a), _mm256_cvtepi32_ps(off));
    return _mm256_add_ps(acc, _mm256_sub_ps(scaled, offset));
}

template <int NC, int H>
inline void zero(__m256 (&acc)[NC][H]) {
    #pragma GCC unroll 4
    for (int c = 0; c < NC; ++c)
        #pragma GCC unroll 2
        for (int h = 0; h < H; ++h) acc[c][h] = _mm256_setzero_ps();
}

// Q4_K (Q5 false) and Q5_K, half h of each super-block: per sub-block j the
// 8 quant vectors (low nibbles for even j, high for odd; Q5_K adds the fifth
// bit j of its qh plane as 16), then per column one scaled_dot. Offsets: the
// mins as int16 pairs (sub-blocks 2i, 2i + 1) madd the column's pair sums.
template <bool Q5, int NC, int H>
void packed_q4_k_times_cols(const unsigned char* p, int64_t nblocks, const BlockQ8K* cols, const int32_t* pair_sums,
                            int64_t col_stride, int nr, float* out, int64_t ldo) {
    constexpr int64_t kBytes = Q5 ? kPackedQ5KBytes : kPackedQ4KBytes;
    constexpr int kTail = Q5 ? 2048 + 512 : 2048;  // where the scales start
    constexpr int kChain = int16_chain(Q5 ? 31 : 15);
    // Bytes 0..7 (row r's scale, r < 8) to both halves of dword r.
    const __m256i dup_scale = _mm256_setr_epi8(0, -1, 0, -1, 1, -1, 1, -1, 2, -1, 2, -1, 3, -1, 3, -1,  //
                                               4, -1, 4, -1, 5, -1, 5, -1, 6, -1, 6, -1, 7, -1, 7, -1);
    const __m256i low = _mm256_set1_epi8(0x0f), sixteen = _mm256_set1_epi8(16);
    __m256 acc[NC][H];
    zero(acc);
    for (int64_t b = 0; b < nblocks; ++b, p += kBytes) {
        prefetch_ahead<kBytes>(p);
        #pragma GCC unroll 2
        for (int h = 0; h < H; ++h) {
            const auto half_vector = [&](int64_t at) {
                return _mm256_load_si256(reinterpret_cast<const __m256i*>(p + at + 32 * h));
            };
            alignas(32) __m256i sdup[8];  // read per column from L1
            #pragma GCC unroll 8
            for (int j = 0; j < 8; ++j) {
                int64_t s8;
                std::memcpy(&s8, p + kTail + 16 * j + 8 * h, 8);
                sdup[j] = _mm256_shuffle_epi8(_mm256_set1_epi64x(s8), dup_scale);
            }
            __m256i sum[NC];
            #pragma GCC unroll 4
            for (int c = 0; c < NC; ++c) sum[c] = _mm256_setzero_si256();
            #pragma GCC unroll 1
            for (int i = 0; i < 4; ++i) {
                const __m128i plane_shift = _mm_cvtsi32_si128(2 * i);  // Q5_K: bits 2i, 2i + 1 to bits 0, 1
                #pragma GCC unroll 2
                for (int n = 0; n < 2; ++n) {
                    __m256i w[8];
                    #pragma GCC unroll 8
                    for (int k = 0; k < 8; ++k) {
                        const __m256i v = half_vector(64 * (8 * i + k));
                        w[k] = _mm256_and_si256(n ? _mm256_srli_epi16(v, 4) : v, low);
                        if constexpr (Q5) {
                            const __m256i bits = _mm256_srl_epi16(half_vector(2048 + 64 * k), plane_shift);
                            w[k] = _mm256_or_si256(w[k], _mm256_and_si256(_mm256_slli_epi16(bits, 4 - n), sixteen));
                        }
                    }
                    const __m256i s = _mm256_load_si256(&sdup[2 * i + n]);
                    #pragma GCC unroll 4
                    for (int c = 0; c < NC; ++c)
                        sum[c] = _mm256_add_epi32(
                            sum[c], scaled_dot<8, kChain>(w, cols[c * col_stride + b].qs + 64 * i + 32 * n, s));
                }
            }
            const __m256 d = _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(p + kTail + 256 + 16 * h)));
            const __m256 dmin =
                _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(p + kTail + 256 + 32 + 16 * h)));
            #pragma GCC unroll 4
            for (int c = 0; c < NC; ++c) {
                const int32_t* ps = pair_sums + (c * col_stride + b) * 8;
                __m256i off = _mm256_setzero_si256();
                #pragma GCC unroll 4
                for (int i = 0; i < 4; ++i) {
                    const __m256i mins = _mm256_cvtepu8_epi16(
                        _mm_load_si128(reinterpret_cast<const __m128i*>(p + kTail + 128 + 32 * i + 16 * h)));
                    off = _mm256_add_epi32(off, _mm256_madd_epi16(mins, _mm256_set1_epi32(ps[i])));
                }
                acc[c][h] = kquant_step(acc[c][h], d, dmin, cols[c * col_stride + b].d, sum[c], off);
            }
        }
    }
    store_rows(acc, nr, out, ldo);
}

// Q6_K, half h of each super-block: per step (128-element half hb, 16-element
// half e) and quarter q, sub-block 8 hb + 2 q + e from units l = 4 e + u:
// ql vector 16 hb + 8 (q % 2) + l (low nibbles for q < 2, high ones after)
// and qh vector 8 hb + l's bits 2q, 2q + 1 moved to bits 4-5. The offset is
// 32 times the scales' dot with the column's sub-block sums (dmin = d).
template <int NC, int H>
void packed_q6_k_times_cols(const unsigned char* p, int64_t nblocks, const BlockQ8K* cols, const int32_t* pair_sums,
                            int64_t col_stride, int nr, float* out, int64_t ldo) {
    constexpr int kChain = int16_chain(63);
    // Word 0 (even) or word 1 (odd) of each dword to both halves of it.
    const __m256i dup_even = _mm256_setr_epi8(0, 1, 0, 1, 4, 5, 4, 5, 8, 9, 8, 9, 12, 13, 12, 13,  //
                                              0, 1, 0, 1, 4, 5, 4, 5, 8, 9, 8, 9, 12, 13, 12, 13);
    const __m256i dup_odd = _mm256_add_epi8(dup_even, _mm256_set1_epi8(2));
    const __m256i low = _mm256_set1_epi8(0x0f), bits45 = _mm256_set1_epi8(0x30);
    __m256 acc[NC][H];
    zero(acc);
    for (int64_t b = 0; b < nblocks; ++b, p += kPackedQ6KBytes) {
        prefetch_ahead<kPackedQ6KBytes>(p);
        #pragma GCC unroll 2
        for (int h = 0; h < H; ++h) {
            const auto half_vector = [&](int64_t at) {
                return _mm256_load_si256(reinterpret_cast<const __m256i*>(p + at + 32 * h));
            };
            // Scale pairs as int16 (sub-blocks 2i, 2i + 1 in row r's dword), for the offset.
            const auto scale_pair = [&](int i) {
                return _mm256_cvtepi8_epi16(_mm_load_si128(reinterpret_cast<const __m128i*>(p + 3072 + 32 * i + 16 * h)));
            };
            alignas(32) __m256i sdup[16];  // read per column from L1
            #pragma GCC unroll 8
            for (int i = 0; i < 8; ++i) {
                const __m256i pair = scale_pair(i);
                sdup[2 * i] = _mm256_shuffle_epi8(pair, dup_even);
                sdup[2 * i + 1] = _mm256_shuffle_epi8(pair, dup_odd);
            }
            __m256i sum[NC];
            #pragma GCC unroll 4
            for (int c = 0; c < NC; ++c) sum[c] = _mm256_setzero_si256();
            #pragma GCC unroll 1
            for (int step = 0; step < 4; ++step) {
                const int hb = step / 2, e = step % 2;
                #pragma GCC unroll 4
                for (int q = 0; q < 4; ++q) {
                    __m256i w[4];
                    #pragma GCC unroll 4
                    for (int u = 0; u < 4; ++u) {
                        const int l = 4 * e + u;
                        const __m256i v = half_vector(64 * (16 * hb + 8 * (q % 2) + l));
                        const __m256i qh = half_vector(2048 + 64 * (8 * hb + l));
                        const __m256i high = q == 0 ? _mm256_slli_epi16(qh, 4)
                                             : q == 1 ? _mm256_slli_epi16(qh, 2)
                                             : q == 2 ? qh
                                                      : _mm256_srli_epi16(qh, 2);
                        w[u] = _mm256_or_si256(_mm256_and_si256(q < 2 ? v : _mm256_srli_epi16(v, 4), low),
                                               _mm256_and_si256(high, bits45));
                    }
                    const __m256i s = _mm256_load_si256(&sdup[8 * hb + 2 * q + e]);
                    #pragma GCC unroll 4
                    for (int c = 0; c < NC; ++c)
                        sum[c] = _mm256_add_epi32(
                            sum[c], scaled_dot<4, kChain>(w, cols[c * col_stride + b].qs + 128 * hb + 16 * e + 32 * q, s));
                }
            }
            const __m256 d = _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(p + 3072 + 256 + 16 * h)));
            #pragma GCC unroll 4
            for (int c = 0; c < NC; ++c) {
                const int32_t* ps = pair_sums + (c * col_stride + b) * 8;
                __m256i off = _mm256_setzero_si256();
                #pragma GCC unroll 8
                for (int i = 0; i < 8; ++i) off = _mm256_add_epi32(off, _mm256_madd_epi16(scale_pair(i), _mm256_set1_epi32(ps[i])));
                acc[c][h] = kquant_step(acc[c][h], d, d, cols[c * col_stride + b].d, sum[c], _mm256_slli_epi32(off, 5));
            }
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
    for (int64_t c0 = 0; c0 < ncols; c0 += kColTile)
        with_tile(static_cast<int>(std::min<int64_t>(kColTile, ncols - c0)), nr, [&](auto nc, auto h) {
            constexpr int NC = decltype(nc)::value, H = decltype(h)::value;
            const BlockQ8K* cc = cols + c0 * col_stride;
            const int32_t* ps = pair_sums + c0 * col_stride * 8;
            if constexpr (Q6) packed_q6_k_times_cols<NC, H>(p, w.nblocks, cc, ps, col_stride, nr, out + c0 * ldo, ldo);
            else packed_q4_k_times_cols<Q5, NC, H>(p, w.nblocks, cc, ps, col_stride, nr, out + c0 * ldo, ldo);
        });
}

// K-quants, per super-block: the weights unpacked once (kquant_unpack.h), the
// per-16 scales widened to int16 lanes; then per column maddubs (q unsigned,
// activations signed; pairs <= 2 * 63 * 127, no saturation) and madd with the
// scales give int32 sums, exact; the offsets are one madd with the bsums.
template <int NC, int Bytes, void (*Unpack)(const unsigned char*, KUnpacked&)>
void dot_kquant_nc(const unsigned char* w, const BlockQ8K* const* cols, int64_t nblocks, float* out) {
    __m256 acc[NC];
    #pragma GCC unroll 8
    for (int c = 0; c < NC; ++c) acc[c] = _mm256_setzero_ps();
    KUnpacked u;
    __m256i sc[8];
    for (int64_t i = 0; i < nblocks; ++i, w += Bytes) {
        Unpack(w, u);
        #pragma GCC unroll 8
        for (int k = 0; k < 8; ++k) {  // s_{2k} for elements 32k..+15, s_{2k+1} for the next 16
            const __m128i pick = _mm_add_epi8(_mm_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1),
                                              _mm_set1_epi8(static_cast<char>(2 * k)));
            sc[k] = _mm256_cvtepi8_epi16(_mm_shuffle_epi8(u.scales, pick));
        }
        #pragma GCC unroll 8
        for (int c = 0; c < NC; ++c) {
            const BlockQ8K& a = cols[c][i];
            __m256i sum = _mm256_setzero_si256();
            #pragma GCC unroll 8
            for (int k = 0; k < 8; ++k) {
                const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.qs + 32 * k));
                sum = _mm256_add_epi32(sum, _mm256_madd_epi16(_mm256_maddubs_epi16(u.q[k], x), sc[k]));
            }
            const __m256i off =
                _mm256_madd_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.bsums)), u.mins);
            acc[c] = _mm256_fmadd_ps(_mm256_set1_ps(u.d * a.d), _mm256_cvtepi32_ps(sum), acc[c]);
            acc[c] = _mm256_fnmadd_ps(_mm256_set1_ps(u.dmin * a.d), _mm256_cvtepi32_ps(off), acc[c]);
        }
    }
    #pragma GCC unroll 8
    for (int c = 0; c < NC; ++c) out[c] = hsum(acc[c]);
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

// exp(x) for x <= 0, as exp_nonpositive in kernels_avx512.cpp: x = n ln2 + r
// with |r| <= ln2 / 2, e^r by its Taylor polynomial to degree 7, times 2^n;
// with no vscalefps, 2^n is built in the exponent field (n is -126..0 after
// the clamp, a normal float), one exact multiply. x below -87 (also -inf and
// NaN, which vmaxps turns into its second operand) gives about e^-87 > 0:
// callers zero what must be zero.
inline __m256 exp_nonpositive(__m256 x) {
    x = _mm256_max_ps(x, _mm256_set1_ps(-87.0f));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693145751953125f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(1.42860682030941723212e-6f), r);
    __m256 p = _mm256_set1_ps(1.0f / 5040);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 720));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    const __m256i biased = _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127));
    return _mm256_mul_ps(p, _mm256_castsi256_ps(_mm256_slli_epi32(biased, 23)));
}

// acc[h] += w[h][j] * value row j (at v + j * v_stride) for h < H and the keys j < nj
// that kept(j) (a key with a -inf score has w = 0 in every row and is skipped: its values
// may be NaN), 8 dimensions a vector, each value vector loaded once for all H rows.
template <int H, class Kept>
inline __attribute__((always_inline)) void add_value_rows(const AttentionRows& a, const float* v, int64_t v_stride,
                                                          int nj, Kept kept, const float (*w)[64], float (*acc)[512]) {
    const int64_t D = a.D, chunks = (D + 7) / 8;
    for (int64_t c = 0; c < chunks; ++c) {
        const __m256i dm = first_lanes(D - 8 * c);
        __m256 o[H];
        #pragma GCC unroll 8
        for (int h = 0; h < H; ++h) o[h] = _mm256_load_ps(acc[h] + 8 * c);
        for (int j = 0; j < nj; ++j) {
            if (!kept(j)) continue;
            const __m256 vv = _mm256_maskload_ps(v + j * v_stride + 8 * c, dm);
            #pragma GCC unroll 8
            for (int h = 0; h < H; ++h) o[h] = _mm256_fmadd_ps(_mm256_set1_ps(w[h][j]), vv, o[h]);
        }
        #pragma GCC unroll 8
        for (int h = 0; h < H; ++h) _mm256_store_ps(acc[h] + 8 * c, o[h]);
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

// Attention for up to 8 query rows that share a KV head and a mask, the
// AVX-512 kernel with 8 keys and 8 dimensions a vector: per block of 64 keys
// (skipped when the mask hides all of it), 8 keys' scores at a time from the
// transposed keys, each key vector loaded once for all rows (one FMA chain per
// row, the query element broadcast); then per row the online softmax of
// run_attention, and the value rows added 8 dimensions at a time, each value
// vector loaded once for all rows.
template <int H>
void attention_rows_h(const AttentionRows& a) {
    constexpr int kBlock = 64;
    constexpr float kNegInf = -std::numeric_limits<float>::infinity();
    const int64_t D = a.D, S = a.S, chunks = (D + 7) / 8;
    alignas(32) float acc[H][512];
    alignas(32) float s[H][kBlock];
    float m[H], l[H];
    for (int h = 0; h < H; ++h) {
        std::fill(acc[h], acc[h] + 8 * chunks, 0.0f);
        m[h] = kNegInf;
        l[h] = 0.0f;
    }
    const __m256 neg_inf = _mm256_set1_ps(kNegInf);
    for (int64_t j0 = 0; j0 < S; j0 += kBlock) {
        const int nj = static_cast<int>(std::min<int64_t>(kBlock, S - j0));
        // Bit i of keep[v / 8]: key j0 + v + i exists and its mask is not -inf.
        int keep[kBlock / 8] = {};
        bool any = false;
        for (int v = 0; v < nj; v += 8) {
            const __m256i live = first_lanes(nj - v);
            __m256 k8 = _mm256_castsi256_ps(live);
            if (a.mask) k8 = _mm256_and_ps(k8, _mm256_cmp_ps(_mm256_maskload_ps(a.mask + j0 + v, live), neg_inf, _CMP_NEQ_OQ));
            keep[v / 8] = _mm256_movemask_ps(k8);
            any = any || keep[v / 8];
        }
        if (!any) continue;
        __m256 bmax[H];
        #pragma GCC unroll 8
        for (int h = 0; h < H; ++h) bmax[h] = neg_inf;
        for (int v = 0; v < nj; v += 8) {
            if (!keep[v / 8]) {
                #pragma GCC unroll 8
                for (int h = 0; h < H; ++h) _mm256_store_ps(s[h] + v, neg_inf);
                continue;
            }
            const float* kt = a.kt + j0 + v;  // padding keys up to a multiple of 16: readable, blended out below
            __m256 c[H];
            #pragma GCC unroll 8
            for (int h = 0; h < H; ++h) c[h] = _mm256_setzero_ps();
            for (int64_t d = 0; d < D; ++d) {
                const __m256 kv = _mm256_loadu_ps(kt + d * a.kt_stride);
                #pragma GCC unroll 8
                for (int h = 0; h < H; ++h) c[h] = _mm256_fmadd_ps(_mm256_set1_ps(a.q[h][d]), kv, c[h]);
            }
            const __m256 kept = lanes_of_bits(keep[v / 8]);
            const __m256 mk =
                a.mask ? _mm256_maskload_ps(a.mask + j0 + v, _mm256_castps_si256(kept)) : _mm256_setzero_ps();
            #pragma GCC unroll 8
            for (int h = 0; h < H; ++h) {
                const __m256 score =
                    _mm256_blendv_ps(neg_inf, _mm256_add_ps(_mm256_mul_ps(c[h], _mm256_set1_ps(a.scale)), mk), kept);
                _mm256_store_ps(s[h] + v, score);
                bmax[h] = _mm256_max_ps(bmax[h], score);
            }
        }
        for (int h = 0; h < H; ++h) {
            const float block_max = hmax(bmax[h]);
            if (block_max == kNegInf) {  // NaN scores only: nothing to add
                std::fill(s[h], s[h] + kBlock, 0.0f);
                continue;
            }
            if (block_max > m[h]) {
                const __m256 r = _mm256_set1_ps(std::exp(m[h] - block_max));  // 0 when m is -inf
                l[h] *= _mm256_cvtss_f32(r);
                for (int64_t c = 0; c < chunks; ++c)
                    _mm256_store_ps(acc[h] + 8 * c, _mm256_mul_ps(_mm256_load_ps(acc[h] + 8 * c), r));
                m[h] = block_max;
            }
            __m256 psum = _mm256_setzero_ps();
            for (int v = 0; v < nj; v += 8) {
                const __m256 score = _mm256_load_ps(s[h] + v);
                const __m256 live = _mm256_cmp_ps(score, neg_inf, _CMP_NEQ_OQ);
                const __m256 p = _mm256_and_ps(live, exp_nonpositive(_mm256_sub_ps(score, _mm256_set1_ps(m[h]))));
                _mm256_store_ps(s[h] + v, p);
                psum = _mm256_add_ps(psum, p);
            }
            l[h] += hsum(psum);
        }
        const auto kept = [&](int j) { return (keep[j / 8] >> (j % 8)) & 1; };
        add_value_rows<H>(a, a.v + j0 * a.v_stride, a.v_stride, nj, kept, s, acc);
    }
    write_rows<H>(a, acc, l);
}

// attention_rows from the key rows, with the same bits: the scores and maxima of
// attention_direct.h, then attention_rows_h's weights, sums and value rows (8
// dimensions a vector) in the same order.
template <int H>
void attention_direct_h(const AttentionRows& a) {
    // An F16 cache's rows, a block at a time as F32 (direct_block).
    thread_local std::vector<float> converted;
    if (a.kv_f16) converted.resize(static_cast<size_t>(2 * kDirectBlock * a.D));
    const int64_t D = a.D, S = a.S, chunks = (D + 7) / 8;
    alignas(32) float qt[512][8];
    transpose_queries<H>(a, qt);
    alignas(32) float acc[H][512];
    alignas(32) float p[H][kDirectBlock];  // the block's softmax weights, row-major as attention_rows_h's
    alignas(32) float m[8], l[H];
    for (int h = 0; h < 8; ++h) m[h] = h < H ? kDirectNegInf : 0.0f;  // lanes past H: finite, unused
    for (int h = 0; h < H; ++h) {
        std::fill(acc[h], acc[h] + 8 * chunks, 0.0f);
        l[h] = 0.0f;
    }
    const __m256 neg_inf = _mm256_set1_ps(kDirectNegInf);
    for (int64_t j0 = 0; j0 < S; j0 += kDirectBlock) {
        const int nj = static_cast<int>(std::min<int64_t>(kDirectBlock, S - j0));
        const uint64_t keep = keys_kept(a, j0, nj);
        if (!keep) continue;
        alignas(32) float s[kDirectBlock][8];  // s[j][h]
        const DirectBlock blk = direct_block(a, j0, nj, converted.data());
        direct_scores(a, blk, qt, j0, nj, keep, s);
        bool rows_live[H];
        raise_maxima<H>(s, nj, D, m, l, acc, rows_live);
        // The weights, then each row's sum as attention_rows_h adds it: 8 keys a lane, then the lanes.
        const __m256 mv = _mm256_load_ps(m);
        for (int j = 0; j < (nj + 7) / 8 * 8; ++j) {
            alignas(32) float pj[8];
            const __m256 score = j < nj ? _mm256_load_ps(s[j]) : neg_inf;
            const __m256 live = _mm256_cmp_ps(score, neg_inf, _CMP_NEQ_OQ);
            _mm256_store_ps(pj, _mm256_and_ps(live, exp_nonpositive(_mm256_sub_ps(score, mv))));
            for (int h = 0; h < H; ++h) p[h][j] = rows_live[h] ? pj[h] : 0.0f;
        }
        for (int h = 0; h < H; ++h) {
            if (!rows_live[h]) continue;
            __m256 psum = _mm256_setzero_ps();
            for (int v = 0; v < nj; v += 8) psum = _mm256_add_ps(psum, _mm256_load_ps(p[h] + v));
            l[h] += hsum(psum);
        }
        add_value_rows<H>(a, blk.v, blk.v_stride, nj, [keep](int j) { return (keep >> j) & 1; }, p, acc);
    }
    write_rows<H>(a, acc, l);
}

void attention_rows_avx2(const AttentionRows& a) {
    static_assert(kMaxAttentionHeads == 8);
    with_count<8>(a.n, [&](auto h) { attention_rows_h<decltype(h)::value>(a); });
}

void attention_direct_avx2(const AttentionRows& a) {
    static_assert(kMaxAttentionHeads == 8);
    with_count<8>(a.n, [&](auto h) { attention_direct_h<decltype(h)::value>(a); });
}

// silu(x) = x / (1 + e^-x) from e = e^-|x| in (0, 1], which cannot overflow:
// x / (1 + e) for x >= 0, x e / (1 + e) below. NaN stays NaN (x is a factor).
// e is 0 for |x| > 87, as in the AVX-512 kernel: x e is then -0 rather than
// x e^-87 (which grows with |x|), and NaN at -inf as x / (1 + e^-x) gives.
void silu_avx2(const float* x, float* y, int64_t n) {
    const __m256 one = _mm256_set1_ps(1.0f), zero = _mm256_setzero_ps();
    const __m256 sign = _mm256_set1_ps(-0.0f), lowest = _mm256_set1_ps(-87.0f);
    const auto silu8 = [&](__m256 v) {
        const __m256 nx = _mm256_sub_ps(zero, _mm256_andnot_ps(sign, v));
        const __m256 e = _mm256_and_ps(_mm256_cmp_ps(nx, lowest, _CMP_GE_OQ), exp_nonpositive(nx));
        const __m256 negative = _mm256_cmp_ps(v, zero, _CMP_LT_OQ);
        return _mm256_div_ps(_mm256_blendv_ps(v, _mm256_mul_ps(v, e), negative), _mm256_add_ps(one, e));
    };
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, silu8(_mm256_loadu_ps(x + i)));
    if (i < n) {
        const __m256i m = first_lanes(n - i);
        _mm256_maskstore_ps(y + i, m, silu8(_mm256_maskload_ps(x + i, m)));
    }
}

// ADD, MUL and SCALE rows, 8 floats a vector, a masked vector for the tail.
template <class Op>
inline __attribute__((always_inline)) void map_rows(const float* a, const float* b, float* o, int64_t n, Op op) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(o + i, op(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
    if (i < n) {
        const __m256i m = first_lanes(n - i);
        _mm256_maskstore_ps(o + i, m, op(_mm256_maskload_ps(a + i, m), _mm256_maskload_ps(b + i, m)));
    }
}
void add_avx2(const float* a, const float* b, float* o, int64_t n) {
    map_rows(a, b, o, n, [](__m256 x, __m256 y) { return _mm256_add_ps(x, y); });
}
void mul_avx2(const float* a, const float* b, float* o, int64_t n) {
    map_rows(a, b, o, n, [](__m256 x, __m256 y) { return _mm256_mul_ps(x, y); });
}
void scale_avx2(const float* x, float s, float* o, int64_t n) {
    const __m256 v = _mm256_set1_ps(s);
    map_rows(x, x, o, n, [v](__m256 a, __m256) { return _mm256_mul_ps(a, v); });
}

// Squares in float, 4 at a time widened to double, in four sums (so that the adds overlap).
double sum_squares_avx2(const float* x, int64_t n) {
    __m256d acc[4] = {_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd()};
    const auto square4 = [](__m128 v) { return _mm256_cvtps_pd(_mm_mul_ps(v, v)); };
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        #pragma GCC unroll 4
        for (int k = 0; k < 4; ++k) acc[k] = _mm256_add_pd(acc[k], square4(_mm_loadu_ps(x + i + 4 * k)));
    }
    double tail = 0.0;
    for (; i < n; ++i) tail += static_cast<double>(x[i] * x[i]);
    const __m256d sum = _mm256_add_pd(_mm256_add_pd(acc[0], acc[1]), _mm256_add_pd(acc[2], acc[3]));
    const __m128d half = _mm_add_pd(_mm256_castpd256_pd128(sum), _mm256_extractf128_pd(sum, 1));
    return _mm_cvtsd_f64(_mm_add_sd(half, _mm_unpackhi_pd(half, half))) + tail;
}

// Eight rows of 8 floats transposed in registers: unpack pairs of rows, then
// pairs of pairs (as doubles), then swap 128-bit halves.
inline void transpose8x8(__m256 r[8]) {
    __m256 t[8];
    for (int k = 0; k < 4; ++k) {  // t[2k], t[2k + 1]: rows 2k and 2k + 1 interleaved by element
        t[2 * k] = _mm256_unpacklo_ps(r[2 * k], r[2 * k + 1]);
        t[2 * k + 1] = _mm256_unpackhi_ps(r[2 * k], r[2 * k + 1]);
    }
    // r[4k + j]: element j of rows 4k..4k+3 in the low half, element 4 + j in the high half.
    for (int k = 0; k < 2; ++k) {
        const __m256d a0 = _mm256_castps_pd(t[4 * k]), a1 = _mm256_castps_pd(t[4 * k + 1]);
        const __m256d b0 = _mm256_castps_pd(t[4 * k + 2]), b1 = _mm256_castps_pd(t[4 * k + 3]);
        r[4 * k] = _mm256_castpd_ps(_mm256_unpacklo_pd(a0, b0));
        r[4 * k + 1] = _mm256_castpd_ps(_mm256_unpackhi_pd(a0, b0));
        r[4 * k + 2] = _mm256_castpd_ps(_mm256_unpacklo_pd(a1, b1));
        r[4 * k + 3] = _mm256_castpd_ps(_mm256_unpackhi_pd(a1, b1));
    }
    for (int j = 0; j < 4; ++j) {
        t[j] = _mm256_permute2f128_ps(r[j], r[4 + j], 0x20);      // element j
        t[4 + j] = _mm256_permute2f128_ps(r[j], r[4 + j], 0x31);  // element 4 + j
    }
    for (int e = 0; e < 8; ++e) r[e] = t[e];
}

// Sixteen key rows into 16-float lines, as two 8x8 tiles per 8 elements
// (rows 0-7 into the first half of each line, rows 8-15 the second), a masked
// load per row of a tile; absent rows are zeros.
void transpose16_avx2(const float* rows, int64_t row_stride, int n, int64_t D, float* dst, int64_t dst_stride) {
    for (int64_t d0 = 0; d0 < D; d0 += 8) {
        const int nd = static_cast<int>(std::min<int64_t>(8, D - d0));
        const __m256i m = first_lanes(nd);
        for (int half = 0; half < 2; ++half) {
            __m256 r[8];
            for (int i = 0; i < 8; ++i) {
                const int row = 8 * half + i;
                r[i] = row < n ? _mm256_maskload_ps(rows + row * row_stride + d0, m) : _mm256_setzero_ps();
            }
            transpose8x8(r);
            for (int e = 0; e < nd; ++e) _mm256_storeu_ps(dst + (d0 + e) * dst_stride + 8 * half, r[e]);
        }
    }
}

const Kernels kAvx2 = {
    Isa::Avx2,
    {dot_float<4, load8_f32, load1_f32>, dot_float<2, load8_f16, load1_f16>, dot_float<2, load8_bf16, load1_bf16>},
    dot_quant<34, block_q8_0>,
    dot_quant<18, block_q4_0>,
    {dot_kquant<144, unpack_q4_k>, dot_kquant<176, unpack_q5_k>, dot_kquant<210, unpack_q6_k>},
    {},  // gemm_float
    gemm_q0<34, block_q8_0>,
    gemm_q0<18, block_q4_0>,
    gemm_packed_q0<false>,
    gemm_packed_q0<true>,
    attention_rows_avx2,
    nullptr,  // quantize_act
    nullptr,  // quantize_act_k
    {gemm_packed_kquant<kWQ4_K>, gemm_packed_kquant<kWQ5_K>, gemm_packed_kquant<kWQ6_K>},
    silu_avx2,
    transpose16_avx2,
    add_avx2,
    mul_avx2,
    scale_avx2,
    sum_squares_avx2,
    attention_direct_avx2,
};

}  // namespace

const Kernels& kernels_avx2() { return kAvx2; }

}  // namespace suanli::cpu
