// K-quant encoders and decoders, transcribed from ggml-quants.c (the "_ref"
// quantizers and the scalar dequantizers). The search loops and rounding are
// kept as ggml has them, so files we write match what llama-quantize's reference
// path writes; comments say what each step is for.
#include "core/quant_k.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/dtype.h"
#include "core/error.h"
#include "core/fp16.h"

namespace suanli {
namespace {

constexpr float kGroupMaxEps = 1e-15f;  // ggml's GROUP_MAX_EPS: below this a group is all zero

// ggml's nearest_int: round to nearest, ties to even, through the float adder
// (valid for |x| <= 4194303).
inline int nearest_int(float x) {
    const float v = x + 12582912.0f;
    int32_t i;
    std::memcpy(&i, &v, sizeof i);
    return (i & 0x007fffff) - 0x00400000;
}

// ggml's make_qkx2_quants: asymmetric quantization of n values to [0, nmax] with
// a scale and a min (x ~ scale * L - the_min), minimizing the weighted squared
// error over nstep + 1 candidate scales around nmax / (max - min).
float make_qkx2_quants(int n, int nmax, const float* x, const float* weights, uint8_t* L, float* the_min,
                       uint8_t* Laux, float rmin, float rdelta, int nstep) {
    float min = x[0];
    float max = x[0];
    float sum_w = weights[0];
    float sum_x = sum_w * x[0];
    for (int i = 1; i < n; ++i) {
        if (x[i] < min) min = x[i];
        if (x[i] > max) max = x[i];
        const float w = weights[i];
        sum_w += w;
        sum_x += w * x[i];
    }
    if (min > 0) min = 0;
    if (max == min) {
        for (int i = 0; i < n; ++i) L[i] = 0;
        *the_min = -min;
        return 0.0f;
    }
    float iscale = static_cast<float>(nmax) / (max - min);
    float scale = 1 / iscale;
    float best_mad = 0;
    for (int i = 0; i < n; ++i) {
        const int l = nearest_int(iscale * (x[i] - min));
        L[i] = static_cast<uint8_t>(std::max(0, std::min(nmax, l)));
        float diff = scale * L[i] + min - x[i];
        diff = diff * diff;
        best_mad += weights[i] * diff;
    }
    if (nstep < 1) {
        *the_min = -min;
        return scale;
    }
    for (int is = 0; is <= nstep; ++is) {
        iscale = (rmin + rdelta * static_cast<float>(is) + static_cast<float>(nmax)) / (max - min);
        float sum_l = 0, sum_l2 = 0, sum_xl = 0;
        for (int i = 0; i < n; ++i) {
            int l = nearest_int(iscale * (x[i] - min));
            l = std::max(0, std::min(nmax, l));
            Laux[i] = static_cast<uint8_t>(l);
            const float w = weights[i];
            sum_l += w * static_cast<float>(l);
            sum_l2 += w * static_cast<float>(l) * static_cast<float>(l);
            sum_xl += w * static_cast<float>(l) * x[i];
        }
        const float D = sum_w * sum_l2 - sum_l * sum_l;
        if (D > 0) {
            float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
            float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
            if (this_min > 0) {
                this_min = 0;
                this_scale = sum_xl / sum_l2;
            }
            float mad = 0;
            for (int i = 0; i < n; ++i) {
                float diff = this_scale * Laux[i] + this_min - x[i];
                diff = diff * diff;
                mad += weights[i] * diff;
            }
            if (mad < best_mad) {
                for (int i = 0; i < n; ++i) L[i] = Laux[i];
                best_mad = mad;
                scale = this_scale;
                min = this_min;
            }
        }
    }
    *the_min = -min;
    return scale;
}

// ggml's make_qx_quants with rmse_type 1 and no importance weights: symmetric
// quantization of n values to [-nmax, nmax - 1] (stored as L = l + nmax), the scale
// chosen among 19 candidates by the x^2-weighted least-squares fit.
float make_qx_quants(int n, int nmax, const float* x, int8_t* L) {
    float max = 0;
    float amax = 0;
    for (int i = 0; i < n; ++i) {
        const float ax = std::fabs(x[i]);
        if (ax > amax) {
            amax = ax;
            max = x[i];
        }
    }
    if (amax < kGroupMaxEps) {
        for (int i = 0; i < n; ++i) L[i] = 0;
        return 0.0f;
    }
    float iscale = -static_cast<float>(nmax) / max;
    float sumlx = 0;
    float suml2 = 0;
    for (int i = 0; i < n; ++i) {
        int l = nearest_int(iscale * x[i]);
        l = std::max(-nmax, std::min(nmax - 1, l));
        L[i] = static_cast<int8_t>(l + nmax);
        const float w = x[i] * x[i];
        sumlx += w * x[i] * static_cast<float>(l);
        suml2 += w * static_cast<float>(l) * static_cast<float>(l);
    }
    float scale = suml2 != 0.0f ? sumlx / suml2 : 0.0f;
    float best = scale * sumlx;
    for (int is = -9; is <= 9; ++is) {
        if (is == 0) continue;
        iscale = -(static_cast<float>(nmax) + 0.1f * static_cast<float>(is)) / max;
        sumlx = suml2 = 0;
        for (int i = 0; i < n; ++i) {
            int l = nearest_int(iscale * x[i]);
            l = std::max(-nmax, std::min(nmax - 1, l));
            const float w = x[i] * x[i];
            sumlx += w * x[i] * static_cast<float>(l);
            suml2 += w * static_cast<float>(l) * static_cast<float>(l);
        }
        if (suml2 > 0 && sumlx * sumlx > best * suml2) {
            for (int i = 0; i < n; ++i) {
                const int l = nearest_int(iscale * x[i]);
                L[i] = static_cast<int8_t>(nmax + std::max(-nmax, std::min(nmax - 1, l)));
            }
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

// The part Q4_K and Q5_K share: per 32-element sub-block a scale and a min from
// make_qkx2_quants (weights av|x| + |x_i|), both requantized to 6 bits against the
// super-block's largest, packed into `scales`; then every element requantized to
// [0, nmax] against the stored (rounded) scale and min, into L.
void quantize_scales_mins(const float* x, int nmax, float rmin, int nstep, uint8_t (&scales_out)[kScaleBytesK],
                          uint16_t& d_out, uint16_t& dmin_out, uint8_t* L) {
    constexpr int kSub = kBlockK / 32;
    float mins[kSub], scales[kSub], weights[32];
    uint8_t Laux[32];
    float max_scale = 0;  // the min is subtracted, so scales are never negative
    float max_min = 0;
    for (int j = 0; j < kSub; ++j) {
        float sum_x2 = 0;
        for (int l = 0; l < 32; ++l) sum_x2 += x[32 * j + l] * x[32 * j + l];
        const float av_x = std::sqrt(sum_x2 / 32);
        for (int l = 0; l < 32; ++l) weights[l] = av_x + std::fabs(x[32 * j + l]);
        scales[j] = make_qkx2_quants(32, nmax, x + 32 * j, weights, L + 32 * j, &mins[j], Laux, rmin, 0.1f, nstep);
        max_scale = std::max(max_scale, scales[j]);
        max_min = std::max(max_min, mins[j]);
    }
    const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
    const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
    std::memset(scales_out, 0, sizeof scales_out);
    for (int j = 0; j < kSub; ++j) {
        uint8_t ls = static_cast<uint8_t>(nearest_int(inv_scale * scales[j]));
        uint8_t lm = static_cast<uint8_t>(nearest_int(inv_min * mins[j]));
        ls = std::min<uint8_t>(63, ls);
        lm = std::min<uint8_t>(63, lm);
        if (j < 4) {
            scales_out[j] = ls;
            scales_out[j + 4] = lm;
        } else {
            scales_out[j + 4] = static_cast<uint8_t>((ls & 0xF) | ((lm & 0xF) << 4));
            scales_out[j - 4] |= static_cast<uint8_t>((ls >> 4) << 6);
            scales_out[j - 0] |= static_cast<uint8_t>((lm >> 4) << 6);
        }
    }
    d_out = f32_to_f16(max_scale / 63.f);
    dmin_out = f32_to_f16(max_min / 63.f);

    for (int j = 0; j < kSub; ++j) {
        uint8_t sc, m;
        scale_min_k4(j, scales_out, &sc, &m);
        const float d = f16_to_f32(d_out) * sc;
        if (d == 0.0f) continue;  // keeps make_qkx2_quants' levels, as ggml does
        const float dm = f16_to_f32(dmin_out) * m;
        for (int ii = 0; ii < 32; ++ii) {
            const int l = nearest_int((x[32 * j + ii] + dm) / d);
            L[32 * j + ii] = static_cast<uint8_t>(std::max(0, std::min(nmax, l)));
        }
    }
}

void require_whole_k_blocks(DType type, int64_t n) {
    if (n < 0 || n % kBlockK != 0)
        fail("a ", dtype_name(type), " row of ", n, " elements is not whole blocks of ", kBlockK);
}

}  // namespace

void encode_q4_K(const float* x, BlockQ4_K& b) {
    uint8_t L[kBlockK];
    quantize_scales_mins(x, 15, -1.0f, 20, b.scales, b.d, b.dmin, L);
    uint8_t* q = b.qs;
    for (int j = 0; j < kBlockK; j += 64) {
        for (int l = 0; l < 32; ++l) q[l] = static_cast<uint8_t>(L[j + l] | (L[j + l + 32] << 4));
        q += 32;
    }
}

void encode_q5_K(const float* x, BlockQ5_K& b) {
    uint8_t L[kBlockK];
    quantize_scales_mins(x, 31, -0.5f, 15, b.scales, b.d, b.dmin, L);
    std::memset(b.qh, 0, sizeof b.qh);
    uint8_t* ql = b.qs;
    uint8_t m1 = 1, m2 = 2;
    for (int n = 0; n < kBlockK; n += 64) {
        for (int j = 0; j < 32; ++j) {
            int l1 = L[n + j];
            if (l1 > 15) {
                l1 -= 16;
                b.qh[j] |= m1;
            }
            int l2 = L[n + j + 32];
            if (l2 > 15) {
                l2 -= 16;
                b.qh[j] |= m2;
            }
            ql[j] = static_cast<uint8_t>(l1 | (l2 << 4));
        }
        m1 = static_cast<uint8_t>(m1 << 2);
        m2 = static_cast<uint8_t>(m2 << 2);
        ql += 32;
    }
}

void encode_q6_K(const float* x, BlockQ6_K& b) {
    int8_t L[kBlockK];
    float scales[kBlockK / 16];
    float max_scale = 0;
    float max_abs_scale = 0;
    for (int ib = 0; ib < kBlockK / 16; ++ib) {
        const float scale = make_qx_quants(16, 32, x + 16 * ib, L + 16 * ib);
        scales[ib] = scale;
        const float abs_scale = std::fabs(scale);
        if (abs_scale > max_abs_scale) {
            max_abs_scale = abs_scale;
            max_scale = scale;
        }
    }
    if (max_abs_scale < kGroupMaxEps) {
        std::memset(&b, 0, sizeof b);
        b.d = f32_to_f16(0.0f);
        return;
    }
    const float iscale = -128.f / max_scale;
    b.d = f32_to_f16(1 / iscale);
    for (int ib = 0; ib < kBlockK / 16; ++ib)
        b.scales[ib] = static_cast<int8_t>(std::min(127, nearest_int(iscale * scales[ib])));
    for (int j = 0; j < kBlockK / 16; ++j) {
        const float d = f16_to_f32(b.d) * static_cast<float>(b.scales[j]);
        if (d == 0.0f) continue;
        for (int ii = 0; ii < 16; ++ii) {
            int l = nearest_int(x[16 * j + ii] / d);
            l = std::max(-32, std::min(31, l));
            L[16 * j + ii] = static_cast<int8_t>(l + 32);
        }
    }
    uint8_t* ql = b.ql;
    uint8_t* qh = b.qh;
    for (int j = 0; j < kBlockK; j += 128) {
        for (int l = 0; l < 32; ++l) {
            const uint8_t q1 = L[j + l + 0] & 0xF;
            const uint8_t q2 = L[j + l + 32] & 0xF;
            const uint8_t q3 = L[j + l + 64] & 0xF;
            const uint8_t q4 = L[j + l + 96] & 0xF;
            ql[l + 0] = static_cast<uint8_t>(q1 | (q3 << 4));
            ql[l + 32] = static_cast<uint8_t>(q2 | (q4 << 4));
            qh[l] = static_cast<uint8_t>((L[j + l] >> 4) | ((L[j + l + 32] >> 4) << 2) |
                                         ((L[j + l + 64] >> 4) << 4) | ((L[j + l + 96] >> 4) << 6));
        }
        ql += 64;
        qh += 32;
    }
}

void decode_q4_K(const BlockQ4_K& b, float* y) {
    const uint8_t* q = b.qs;
    const float d = f16_to_f32(b.d);
    const float min = f16_to_f32(b.dmin);
    int is = 0;
    uint8_t sc, m;
    for (int j = 0; j < kBlockK; j += 64) {
        scale_min_k4(is + 0, b.scales, &sc, &m);
        const float d1 = d * sc, m1 = min * m;
        scale_min_k4(is + 1, b.scales, &sc, &m);
        const float d2 = d * sc, m2 = min * m;
        for (int l = 0; l < 32; ++l) *y++ = d1 * static_cast<float>(q[l] & 0xF) - m1;
        for (int l = 0; l < 32; ++l) *y++ = d2 * static_cast<float>(q[l] >> 4) - m2;
        q += 32;
        is += 2;
    }
}

void decode_q5_K(const BlockQ5_K& b, float* y) {
    const uint8_t* ql = b.qs;
    const uint8_t* qh = b.qh;
    const float d = f16_to_f32(b.d);
    const float min = f16_to_f32(b.dmin);
    int is = 0;
    uint8_t sc, m;
    uint8_t u1 = 1, u2 = 2;
    for (int j = 0; j < kBlockK; j += 64) {
        scale_min_k4(is + 0, b.scales, &sc, &m);
        const float d1 = d * sc, m1 = min * m;
        scale_min_k4(is + 1, b.scales, &sc, &m);
        const float d2 = d * sc, m2 = min * m;
        for (int l = 0; l < 32; ++l) *y++ = d1 * static_cast<float>((ql[l] & 0xF) + (qh[l] & u1 ? 16 : 0)) - m1;
        for (int l = 0; l < 32; ++l) *y++ = d2 * static_cast<float>((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
        ql += 32;
        is += 2;
        u1 = static_cast<uint8_t>(u1 << 2);
        u2 = static_cast<uint8_t>(u2 << 2);
    }
}

void decode_q6_K(const BlockQ6_K& b, float* y) {
    const float d = f16_to_f32(b.d);
    const uint8_t* ql = b.ql;
    const uint8_t* qh = b.qh;
    const int8_t* sc = b.scales;
    for (int n = 0; n < kBlockK; n += 128) {
        for (int l = 0; l < 32; ++l) {
            const int is = l / 16;
            const int q1 = ((ql[l + 0] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
            const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
            const int q3 = ((ql[l + 0] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
            const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
            y[l + 0] = d * static_cast<float>(sc[is + 0]) * static_cast<float>(q1);
            y[l + 32] = d * static_cast<float>(sc[is + 2]) * static_cast<float>(q2);
            y[l + 64] = d * static_cast<float>(sc[is + 4]) * static_cast<float>(q3);
            y[l + 96] = d * static_cast<float>(sc[is + 6]) * static_cast<float>(q4);
        }
        y += 128;
        ql += 64;
        qh += 32;
        sc += 8;
    }
}

void quantize_row_q4_K(const float* src, BlockQ4_K* dst, int64_t n) {
    require_whole_k_blocks(DType::Q4_K, n);
    for (int64_t i = 0; i < n / kBlockK; ++i) encode_q4_K(src + i * kBlockK, dst[i]);
}
void quantize_row_q5_K(const float* src, BlockQ5_K* dst, int64_t n) {
    require_whole_k_blocks(DType::Q5_K, n);
    for (int64_t i = 0; i < n / kBlockK; ++i) encode_q5_K(src + i * kBlockK, dst[i]);
}
void quantize_row_q6_K(const float* src, BlockQ6_K* dst, int64_t n) {
    require_whole_k_blocks(DType::Q6_K, n);
    for (int64_t i = 0; i < n / kBlockK; ++i) encode_q6_K(src + i * kBlockK, dst[i]);
}
void dequantize_row_q4_K(const BlockQ4_K* src, float* dst, int64_t n) {
    require_whole_k_blocks(DType::Q4_K, n);
    for (int64_t i = 0; i < n / kBlockK; ++i) decode_q4_K(src[i], dst + i * kBlockK);
}
void dequantize_row_q5_K(const BlockQ5_K* src, float* dst, int64_t n) {
    require_whole_k_blocks(DType::Q5_K, n);
    for (int64_t i = 0; i < n / kBlockK; ++i) decode_q5_K(src[i], dst + i * kBlockK);
}
void dequantize_row_q6_K(const BlockQ6_K* src, float* dst, int64_t n) {
    require_whole_k_blocks(DType::Q6_K, n);
    for (int64_t i = 0; i < n / kBlockK; ++i) decode_q6_K(src[i], dst + i * kBlockK);
}

}  // namespace suanli
