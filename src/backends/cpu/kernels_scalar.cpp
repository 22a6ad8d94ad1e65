// The portable kernels: plain loops with a fixed summation order, the path for
// CPUs without AVX2 and for non-x86 builds.
#include <cmath>
#include <cstring>

#include "backends/cpu/kernels.h"
#include "core/fp16.h"
#include "core/quant_k.h"

namespace suanli::cpu {
namespace {

float load_f32(const void* w, int64_t k) {
    float v;
    std::memcpy(&v, static_cast<const unsigned char*>(w) + 4 * k, 4);
    return v;
}
float load_f16(const void* w, int64_t k) {
    uint16_t h;
    std::memcpy(&h, static_cast<const unsigned char*>(w) + 2 * k, 2);
    return f16_to_f32(h);
}
float load_bf16(const void* w, int64_t k) {
    uint16_t h;
    std::memcpy(&h, static_cast<const unsigned char*>(w) + 2 * k, 2);
    return bf16_to_f32(h);
}

// Eight partial sums per column (lane k % 8), added pairwise, then the tail.
template <float (*Load)(const void*, int64_t)>
void dot_float(const void* w, const float* const* cols, int nc, int64_t K, float* out) {
    float lane[kMaxCols][8] = {};
    int64_t k = 0;
    float wk[8];
    for (; k + 8 <= K; k += 8) {
        for (int l = 0; l < 8; ++l) wk[l] = Load(w, k + l);
        for (int c = 0; c < nc; ++c)
            for (int l = 0; l < 8; ++l) lane[c][l] += wk[l] * cols[c][k + l];
    }
    for (int c = 0; c < nc; ++c) {
        float tail = 0.0f;
        for (int64_t j = k; j < K; ++j) tail += Load(w, j) * cols[c][j];
        const float* s = lane[c];
        out[c] = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7])) + tail;
    }
}

// Weight blocks decoded to int8, then exact integer dots per block, scaled in float.
template <int Bytes, void (*Decode)(const unsigned char*, int8_t*, float*)>
void dot_quant(const void* w, const BlockQ8A* const* cols, int nc, int64_t nblocks, float* out) {
    float acc[kMaxQuantCols] = {};
    const auto* p = static_cast<const unsigned char*>(w);
    int8_t q[32];
    for (int64_t i = 0; i < nblocks; ++i, p += Bytes) {
        float d;
        Decode(p, q, &d);
        for (int c = 0; c < nc; ++c) {
            const BlockQ8A& b = cols[c][i];
            int32_t sum = 0;
            for (int j = 0; j < 32; ++j) sum += q[j] * b.qs[j];
            acc[c] += d * b.d * static_cast<float>(sum);
        }
    }
    for (int c = 0; c < nc; ++c) out[c] = acc[c];
}

void decode_q8_0(const unsigned char* p, int8_t* q, float* d) {
    uint16_t h;
    std::memcpy(&h, p, 2);
    *d = f16_to_f32(h);
    std::memcpy(q, p + 2, 32);
}

void decode_q4_0(const unsigned char* p, int8_t* q, float* d) {
    uint16_t h;
    std::memcpy(&h, p, 2);
    *d = f16_to_f32(h);
    for (int j = 0; j < 16; ++j) {
        q[j] = static_cast<int8_t>((p[2 + j] & 0x0f) - 8);
        q[j + 16] = static_cast<int8_t>((p[2 + j] >> 4) - 8);
    }
}

// A K-quant super-block in one form for all three types (as in x86/kquant_unpack.h):
// weights q (0..63), per 16 elements a scale s and an offset m; the block's dot
// with activations a is d * sum_g s_g dot(q_g, a_g) - dmin * sum_g m_g sum(a_g).
struct KBlock {
    uint8_t q[256];
    int32_t s[16], m[16];
    float d, dmin;
};

float half_at(const unsigned char* p) {
    uint16_t h;
    std::memcpy(&h, p, 2);
    return f16_to_f32(h);
}

// Q4_K and Q5_K (layouts in core/quant_k.h): 6-bit scale and min per 32 elements.
template <bool Fifth>
void decode_q45_k(const unsigned char* p, KBlock& b) {
    b.d = half_at(p);
    b.dmin = half_at(p + 2);
    for (int j = 0; j < 8; ++j) {
        uint8_t sc, mn;
        scale_min_k4(j, p + 4, &sc, &mn);
        b.s[2 * j] = b.s[2 * j + 1] = sc;
        b.m[2 * j] = b.m[2 * j + 1] = mn;
    }
    const unsigned char* qh = p + 16;
    const unsigned char* qs = p + (Fifth ? 48 : 16);
    for (int g = 0; g < 4; ++g)
        for (int l = 0; l < 32; ++l) {
            const int lo = qs[32 * g + l] & 15, hi = qs[32 * g + l] >> 4;
            b.q[64 * g + l] = static_cast<uint8_t>(lo | (Fifth ? ((qh[l] >> (2 * g)) & 1) << 4 : 0));
            b.q[64 * g + 32 + l] = static_cast<uint8_t>(hi | (Fifth ? ((qh[l] >> (2 * g + 1)) & 1) << 4 : 0));
        }
}

// Q6_K: int8 scale per 16 elements, q - 32 taken as offset m = 32 s.
void decode_q6_k(const unsigned char* p, KBlock& b) {
    const unsigned char *ql = p, *qh = p + 128;
    b.d = b.dmin = half_at(p + 208);
    for (int g = 0; g < 16; ++g) {
        b.s[g] = static_cast<int8_t>(p[192 + g]);
        b.m[g] = 32 * b.s[g];
    }
    for (int h = 0; h < 2; ++h)
        for (int l = 0; l < 32; ++l) {
            const int lo0 = ql[64 * h + l], lo1 = ql[64 * h + 32 + l], hb = qh[32 * h + l];
            uint8_t* q = b.q + 128 * h + l;
            q[0] = static_cast<uint8_t>((lo0 & 15) | (hb & 3) << 4);
            q[32] = static_cast<uint8_t>((lo1 & 15) | ((hb >> 2) & 3) << 4);
            q[64] = static_cast<uint8_t>((lo0 >> 4) | ((hb >> 4) & 3) << 4);
            q[96] = static_cast<uint8_t>((lo1 >> 4) | ((hb >> 6) & 3) << 4);
        }
}

// Both sums exact in int32 (|sum| < 2^29 for every type), scaled in float.
template <int Bytes, void (*Decode)(const unsigned char*, KBlock&)>
void dot_kquant(const void* w, const BlockQ8K* const* cols, int nc, int64_t nblocks, float* out) {
    float acc[kMaxQuantCols] = {};
    const auto* p = static_cast<const unsigned char*>(w);
    KBlock k;
    for (int64_t i = 0; i < nblocks; ++i, p += Bytes) {
        Decode(p, k);
        for (int c = 0; c < nc; ++c) {
            const BlockQ8K& a = cols[c][i];
            int32_t sum = 0, off = 0;
            for (int g = 0; g < 16; ++g) {
                int32_t dot = 0;
                for (int j = 16 * g; j < 16 * g + 16; ++j) dot += k.q[j] * a.qs[j];
                sum += k.s[g] * dot;
                off += k.m[g] * a.bsums[g];
            }
            acc[c] += k.d * a.d * static_cast<float>(sum) - k.dmin * a.d * static_cast<float>(off);
        }
    }
    for (int c = 0; c < nc; ++c) out[c] = acc[c];
}

const Kernels kScalar = {
    Isa::Scalar,
    {dot_float<load_f32>, dot_float<load_f16>, dot_float<load_bf16>},
    dot_quant<34, decode_q8_0>,
    dot_quant<18, decode_q4_0>,
    {dot_kquant<144, decode_q45_k<false>>, dot_kquant<176, decode_q45_k<true>>, dot_kquant<210, decode_q6_k>},
};

}  // namespace

void quantize_act(const float* x, BlockQ8A* y, int64_t nblocks, int32_t* sums) {
    for (int64_t i = 0; i < nblocks; ++i, x += 32) {
        float amax = 0.0f;
        for (int j = 0; j < 32; ++j) amax = std::fmax(amax, std::fabs(x[j]));
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = d;
        int32_t sum = 0;
        for (int j = 0; j < 32; ++j) sum += y[i].qs[j] = static_cast<int8_t>(std::lrint(x[j] * id));
        if (sums) sums[i] = sum;
    }
}

void quantize_act_k(const float* x, BlockQ8K* y, int64_t nblocks) {
    for (int64_t i = 0; i < nblocks; ++i, x += 256) {
        float amax = 0.0f;
        for (int j = 0; j < 256; ++j) amax = std::fmax(amax, std::fabs(x[j]));
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = d;
        for (int j = 0; j < 256; ++j) y[i].qs[j] = static_cast<int8_t>(std::lrint(x[j] * id));
        for (int g = 0; g < 16; ++g) {
            int sum = 0;
            for (int j = 16 * g; j < 16 * g + 16; ++j) sum += y[i].qs[j];
            y[i].bsums[g] = static_cast<int16_t>(sum);
        }
    }
}

const Kernels& kernels_scalar() { return kScalar; }

const Kernels& kernels_for(Isa isa) {
#ifdef SUANLI_CPU_HAVE_X86_KERNELS
    if (isa == Isa::Avx512) return kernels_avx512();
    if (isa == Isa::Avx2) return kernels_avx2();
#endif
#ifdef SUANLI_CPU_HAVE_ARM_KERNELS
    if (isa == Isa::NeonDot) return kernels_neon_dot();
    if (isa == Isa::Neon) return kernels_neon();
#endif
    (void)isa;
    return kScalar;
}

}  // namespace suanli::cpu
