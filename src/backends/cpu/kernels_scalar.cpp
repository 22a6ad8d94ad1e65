// The portable kernels: plain loops with a fixed summation order, the path for
// CPUs without AVX2 and for non-x86 builds.
#include <cmath>
#include <cstring>

#include "backends/cpu/kernels.h"
#include "core/fp16.h"

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

const Kernels kScalar = {
    Isa::Scalar,
    {dot_float<load_f32>, dot_float<load_f16>, dot_float<load_bf16>},
    dot_quant<34, decode_q8_0>,
    dot_quant<18, decode_q4_0>,
};

}  // namespace

void quantize_act(const float* x, BlockQ8A* y, int64_t nblocks) {
    for (int64_t i = 0; i < nblocks; ++i, x += 32) {
        float amax = 0.0f;
        for (int j = 0; j < 32; ++j) amax = std::fmax(amax, std::fabs(x[j]));
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = d;
        for (int j = 0; j < 32; ++j) y[i].qs[j] = static_cast<int8_t>(std::lrint(x[j] * id));
    }
}

const Kernels& kernels_scalar() { return kScalar; }

const Kernels& kernels_for(Isa isa) {
#ifdef SUANLI_CPU_HAVE_X86_KERNELS
    if (isa == Isa::Avx512) return kernels_avx512();
    if (isa == Isa::Avx2) return kernels_avx2();
#endif
    (void)isa;
    return kScalar;
}

}  // namespace suanli::cpu
