// AVX2 + FMA + F16C kernels. Compiled with -mavx2 -mfma -mf16c; chosen at run
// time only when CPUID reports all three. Everything here has internal linkage
// (see kernels.h).
#include <immintrin.h>

#include <cstring>

#include "backends/cpu/kernels.h"
#include "backends/cpu/x86/kquant_unpack.h"

namespace suanli::cpu {
namespace {

inline float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
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

// Per block: |w| (unsigned) times b with w's sign (signed) with maddubs, pairs
// summed to int32 with madd, then scaled in float: exact integer dots.
template <int NC, int Bytes, __m256i (*Block)(const unsigned char*, float*)>
void dot_quant_nc(const unsigned char* w, const BlockQ8A* const* cols, int64_t nblocks, float* out) {
    __m256 acc[NC];
    #pragma GCC unroll 8
    for (int c = 0; c < NC; ++c) acc[c] = _mm256_setzero_ps();
    const __m256i ones = _mm256_set1_epi16(1);
    for (int64_t i = 0; i < nblocks; ++i, w += Bytes) {
        float d;
        const __m256i q = Block(w, &d);
        const __m256i aq = _mm256_sign_epi8(q, q);
        #pragma GCC unroll 8
        for (int c = 0; c < NC; ++c) {
            const BlockQ8A& b = cols[c][i];
            const __m256i bq = _mm256_sign_epi8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs)), q);
            const __m256i dot = _mm256_madd_epi16(_mm256_maddubs_epi16(aq, bq), ones);
            acc[c] = _mm256_fmadd_ps(_mm256_set1_ps(d * b.d), _mm256_cvtepi32_ps(dot), acc[c]);
        }
    }
    #pragma GCC unroll 8
    for (int c = 0; c < NC; ++c) out[c] = hsum(acc[c]);
}

template <int Bytes, __m256i (*Block)(const unsigned char*, float*)>
void dot_quant(const void* wv, const BlockQ8A* const* cols, int nc, int64_t nblocks, float* out) {
    const auto* w = static_cast<const unsigned char*>(wv);
    switch (nc) {
        case 1: return dot_quant_nc<1, Bytes, Block>(w, cols, nblocks, out);
        case 2: return dot_quant_nc<2, Bytes, Block>(w, cols, nblocks, out);
        case 3: return dot_quant_nc<3, Bytes, Block>(w, cols, nblocks, out);
        case 4: return dot_quant_nc<4, Bytes, Block>(w, cols, nblocks, out);
        case 5: return dot_quant_nc<5, Bytes, Block>(w, cols, nblocks, out);
        case 6: return dot_quant_nc<6, Bytes, Block>(w, cols, nblocks, out);
        case 7: return dot_quant_nc<7, Bytes, Block>(w, cols, nblocks, out);
        default: return dot_quant_nc<8, Bytes, Block>(w, cols, nblocks, out);
    }
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

const Kernels kAvx2 = {
    Isa::Avx2,
    {dot_float<4, load8_f32, load1_f32>, dot_float<2, load8_f16, load1_f16>, dot_float<2, load8_bf16, load1_bf16>},
    dot_quant<34, block_q8_0>,
    dot_quant<18, block_q4_0>,
    {dot_kquant<144, unpack_q4_k>, dot_kquant<176, unpack_q5_k>, dot_kquant<210, unpack_q6_k>},
};

}  // namespace

const Kernels& kernels_avx2() { return kAvx2; }

}  // namespace suanli::cpu
