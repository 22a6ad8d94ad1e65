// AVX-512 (F, BW, VL, VNNI) kernels. Compiled with those target flags plus
// AVX2/FMA/F16C; chosen at run time only when CPUID reports them all.
// Everything here has internal linkage (see kernels.h).
#include <immintrin.h>

#include <cstring>

#include "backends/cpu/kernels.h"
#include "backends/cpu/x86/kquant_unpack.h"

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

// Two accumulators per column over 32 elements a step, then 16, then a masked tail.
template <int NC, int Size, __m512 (*Load)(const unsigned char*), __m512 (*MLoad)(const unsigned char*, __mmask16)>
void dot_float_nc(const unsigned char* w, const float* const* cols, int64_t K, float* out) {
    __m512 a0[NC], a1[NC];
    #pragma GCC unroll 4
    for (int c = 0; c < NC; ++c) a0[c] = a1[c] = _mm512_setzero_ps();
    int64_t k = 0;
    for (; k + 32 <= K; k += 32) {
        const __m512 w0 = Load(w + Size * k), w1 = Load(w + Size * (k + 16));
        #pragma GCC unroll 4
        for (int c = 0; c < NC; ++c) {
            a0[c] = _mm512_fmadd_ps(w0, _mm512_loadu_ps(cols[c] + k), a0[c]);
            a1[c] = _mm512_fmadd_ps(w1, _mm512_loadu_ps(cols[c] + k + 16), a1[c]);
        }
    }
    if (k + 16 <= K) {
        const __m512 w0 = Load(w + Size * k);
        #pragma GCC unroll 4
        for (int c = 0; c < NC; ++c) a0[c] = _mm512_fmadd_ps(w0, _mm512_loadu_ps(cols[c] + k), a0[c]);
        k += 16;
    }
    if (k < K) {
        const __mmask16 m = static_cast<__mmask16>((1u << (K - k)) - 1);
        const __m512 w0 = MLoad(w + Size * k, m);
        #pragma GCC unroll 4
        for (int c = 0; c < NC; ++c) a1[c] = _mm512_fmadd_ps(w0, _mm512_maskz_loadu_ps(m, cols[c] + k), a1[c]);
    }
    #pragma GCC unroll 4
    for (int c = 0; c < NC; ++c) out[c] = _mm512_reduce_add_ps(_mm512_add_ps(a0[c], a1[c]));
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

inline float half(const unsigned char* p) {
    uint16_t h;
    std::memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}
// A weight block as 32 signed int8 values.
inline __m256i block_q8_0(const unsigned char* p) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 2));
}
inline __m256i block_q4_0(const unsigned char* p) {
    const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 2));
    const __m128i m = _mm_set1_epi8(0x0f);
    const __m256i x = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(q, 4), m), _mm_and_si128(q, m));
    return _mm256_sub_epi8(x, _mm256_set1_epi8(8));
}
inline __m512i join(__m256i lo, __m256i hi) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}
// Two consecutive blocks as 64 signed int8 values.
inline __m512i pair_q8_0(const unsigned char* p) { return join(block_q8_0(p), block_q8_0(p + 34)); }
inline __m512i pair_q4_0(const unsigned char* p) {
    // Both blocks' nibbles at once: x = [qs0 | qs1]; low nibbles are elements
    // 0-15, high ones 16-31; then the 128-bit lanes go back into block order.
    const __m256i x = _mm256_inserti128_si256(
        _mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 2))),
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 18 + 2)), 1);
    const __m256i m = _mm256_set1_epi8(0x0f);
    const __m512i v = join(_mm256_and_si256(x, m), _mm256_and_si256(_mm256_srli_epi16(x, 4), m));
    return _mm512_sub_epi8(_mm512_shuffle_i64x2(v, v, _MM_SHUFFLE(3, 1, 2, 0)), _mm512_set1_epi8(8));
}
inline __m256i act(const BlockQ8A& b) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs)); }

// Two blocks per step: |w| (unsigned) times b with w's sign (signed), four
// products summed per int32 lane by vpdpbusd (exact), scaled in float. An odd
// last block takes the 256-bit form of the same.
template <int NC, int Bytes, __m256i (*Block)(const unsigned char*), __m512i (*Pair)(const unsigned char*)>
void dot_quant_nc(const unsigned char* w, const BlockQ8A* const* cols, int64_t nblocks, float* out) {
    __m512 acc[NC];
    __m256 tail[NC];
    #pragma GCC unroll 8
    for (int c = 0; c < NC; ++c) {
        acc[c] = _mm512_setzero_ps();
        tail[c] = _mm256_setzero_ps();
    }
    int64_t i = 0;
    for (; i + 2 <= nblocks; i += 2, w += 2 * Bytes) {
        const float d0 = half(w), d1 = half(w + Bytes);
        const __m512i q = Pair(w);
        const __m512i aq = _mm512_abs_epi8(q);
        const __mmask64 neg = _mm512_movepi8_mask(q);
        #pragma GCC unroll 8
        for (int c = 0; c < NC; ++c) {
            const BlockQ8A& b0 = cols[c][i];
            const BlockQ8A& b1 = cols[c][i + 1];
            const __m512i bq = join(act(b0), act(b1));
            const __m512i sb = _mm512_mask_sub_epi8(bq, neg, _mm512_setzero_si512(), bq);
            const __m512i dot = _mm512_dpbusd_epi32(_mm512_setzero_si512(), aq, sb);
            const __m512 scale = _mm512_mask_blend_ps(0xff00, _mm512_set1_ps(d0 * b0.d), _mm512_set1_ps(d1 * b1.d));
            acc[c] = _mm512_fmadd_ps(scale, _mm512_cvtepi32_ps(dot), acc[c]);
        }
    }
    if (i < nblocks) {
        const float d = half(w);
        const __m256i q = Block(w);
        const __m256i aq = _mm256_sign_epi8(q, q);
        #pragma GCC unroll 8
        for (int c = 0; c < NC; ++c) {
            const BlockQ8A& b = cols[c][i];
            const __m256i sb = _mm256_sign_epi8(act(b), q);
            const __m256i dot = _mm256_dpbusd_epi32(_mm256_setzero_si256(), aq, sb);
            tail[c] = _mm256_fmadd_ps(_mm256_set1_ps(d * b.d), _mm256_cvtepi32_ps(dot), tail[c]);
        }
    }
    #pragma GCC unroll 8
    for (int c = 0; c < NC; ++c) {
        const __m256 lo = _mm512_castps512_ps256(acc[c]);
        const __m256 hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc[c]), 1));
        __m256 s = _mm256_add_ps(_mm256_add_ps(lo, hi), tail[c]);
        __m128 t = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
        t = _mm_add_ps(t, _mm_movehl_ps(t, t));
        t = _mm_add_ss(t, _mm_movehdup_ps(t));
        out[c] = _mm_cvtss_f32(t);
    }
}

template <int Bytes, __m256i (*Block)(const unsigned char*), __m512i (*Pair)(const unsigned char*)>
void dot_quant(const void* wv, const BlockQ8A* const* cols, int nc, int64_t nblocks, float* out) {
    const auto* w = static_cast<const unsigned char*>(wv);
    switch (nc) {
        case 1: return dot_quant_nc<1, Bytes, Block, Pair>(w, cols, nblocks, out);
        case 2: return dot_quant_nc<2, Bytes, Block, Pair>(w, cols, nblocks, out);
        case 3: return dot_quant_nc<3, Bytes, Block, Pair>(w, cols, nblocks, out);
        case 4: return dot_quant_nc<4, Bytes, Block, Pair>(w, cols, nblocks, out);
        case 5: return dot_quant_nc<5, Bytes, Block, Pair>(w, cols, nblocks, out);
        case 6: return dot_quant_nc<6, Bytes, Block, Pair>(w, cols, nblocks, out);
        case 7: return dot_quant_nc<7, Bytes, Block, Pair>(w, cols, nblocks, out);
        default: return dot_quant_nc<8, Bytes, Block, Pair>(w, cols, nblocks, out);
    }
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

const Kernels kAvx512 = {
    Isa::Avx512,
    {dot_float<4, load16_f32, mload_f32>, dot_float<2, load16_f16, mload_f16>,
     dot_float<2, load16_bf16, mload_bf16>},
    dot_quant<34, block_q8_0, pair_q8_0>,
    dot_quant<18, block_q4_0, pair_q4_0>,
    {dot_kquant<144, unpack_q4_k>, dot_kquant<176, unpack_q5_k>, dot_kquant<210, unpack_q6_k>},
};

}  // namespace

const Kernels& kernels_avx512() { return kAvx512; }

}  // namespace suanli::cpu
