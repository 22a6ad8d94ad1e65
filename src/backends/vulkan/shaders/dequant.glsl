// Element k of a row of a weight tensor in binding 1 (src0), as F32, for every
// weight type: the block layouts of backend-standard.md (GGUF's), decoded one
// element at a time. `row` is the row's byte offset, nb0 the element stride of
// plain types.

int s0_i8(uint b) { return int(s0_u8(b) << 24) >> 24; }

// ggml's get_scale_min_k4: 6-bit scale and min of sub-block j of a Q4_K/Q5_K block.
vec2 scale_min_k4(uint sc, uint j) {
    if (j < 4u) return vec2(float(s0_u8(sc + j) & 63u), float(s0_u8(sc + j + 4u) & 63u));
    const uint a = s0_u8(sc + j + 4u);
    return vec2(float((a & 15u) | ((s0_u8(sc + j - 4u) >> 6) << 4)), float((a >> 4) | ((s0_u8(sc + j) >> 6) << 4)));
}

float weight(uint dt, uint row, uint k, uint nb0) {
    switch (dt) {
        case DT_F32: return s0_f32(row + k * nb0);
        case DT_F16: return s0_f16(row + k * nb0);
        case DT_BF16: return s0_bf16(row + k * nb0);
        case DT_Q8_0: {
            const uint b = row + (k >> 5) * 34u;
            return s0_f16(b) * float(s0_i8(b + 2u + (k & 31u)));
        }
        case DT_Q4_0: {
            const uint b = row + (k >> 5) * 18u;
            const uint j = k & 31u;
            const uint q = s0_u8(b + 2u + (j & 15u));
            return s0_f16(b) * float(int(j < 16u ? (q & 15u) : (q >> 4)) - 8);
        }
        case DT_Q4_K: {
            const uint b = row + (k >> 8) * 144u;
            const uint e = k & 255u;
            const vec2 sm = scale_min_k4(b + 4u, e >> 5);
            const uint byte = s0_u8(b + 16u + 32u * (e >> 6) + (e & 31u));
            const uint q = (e & 32u) != 0u ? (byte >> 4) : (byte & 15u);
            return (s0_f16(b) * sm.x) * float(q) - s0_f16(b + 2u) * sm.y;
        }
        case DT_Q5_K: {
            const uint b = row + (k >> 8) * 176u;
            const uint e = k & 255u;
            const uint l = e & 31u;
            const uint sub = e >> 5;  // 2g + (high nibble)
            const vec2 sm = scale_min_k4(b + 4u, sub);
            const uint byte = s0_u8(b + 48u + 32u * (e >> 6) + l);
            uint q = (e & 32u) != 0u ? (byte >> 4) : (byte & 15u);
            q += ((s0_u8(b + 16u + l) >> sub) & 1u) << 4;
            return (s0_f16(b) * sm.x) * float(q) - s0_f16(b + 2u) * sm.y;
        }
        case DT_Q6_K: {
            const uint b = row + (k >> 8) * 210u;
            const uint e = k & 255u;
            const uint h = e >> 7, c = (e >> 5) & 3u, l = e & 31u;
            const uint lo = s0_u8(b + 64u * h + 32u * (c & 1u) + l);
            const uint nib = c >= 2u ? (lo >> 4) : (lo & 15u);
            const uint hi = (s0_u8(b + 128u + 32u * h + l) >> (2u * c)) & 3u;
            const int q = int(nib | (hi << 4)) - 32;
            return (s0_f16(b + 208u) * float(s0_i8(b + 192u + (e >> 4)))) * float(q);
        }
        default: return 0.0;
    }
}

// Dot product of the 32 elements [32c, 32c + 32) of a row of a block-quantized
// weight type with 32 floats of B (binding 2, from byte `col`, stride bnb0).
// Scales are decoded once per 32 elements instead of once per element.
float dot_chunk32(uint dt, uint row, uint c, uint col, uint bnb0) {
    const uint k0 = c * 32u;
    float sum = 0.0;
    switch (dt) {
        case DT_Q8_0: {
            const uint b = row + c * 34u;
            for (uint j = 0u; j < 32u; ++j) sum += float(s0_i8(b + 2u + j)) * s1_f32(col + (k0 + j) * bnb0);
            return s0_f16(b) * sum;
        }
        case DT_Q4_0: {
            const uint b = row + c * 18u;
            for (uint j = 0u; j < 16u; ++j) {
                const uint q = s0_u8(b + 2u + j);
                sum += float(int(q & 15u) - 8) * s1_f32(col + (k0 + j) * bnb0);
                sum += float(int(q >> 4) - 8) * s1_f32(col + (k0 + j + 16u) * bnb0);
            }
            return s0_f16(b) * sum;
        }
        case DT_Q4_K:
        case DT_Q5_K: {
            const bool q5 = dt == DT_Q5_K;
            const uint b = row + (c >> 3) * (q5 ? 176u : 144u);
            const uint sub = c & 7u;  // 32-element sub-block: 2g + (high nibble)
            const vec2 sm = scale_min_k4(b + 4u, sub);
            const uint qs = b + (q5 ? 48u : 16u) + 32u * (sub >> 1);
            const uint shift = (sub & 1u) * 4u;
            float bsum = 0.0;
            for (uint l = 0u; l < 32u; ++l) {
                uint q = (s0_u8(qs + l) >> shift) & 15u;
                if (q5) q += ((s0_u8(b + 16u + l) >> sub) & 1u) << 4;
                const float x = s1_f32(col + (k0 + l) * bnb0);
                sum += float(q) * x;
                bsum += x;
            }
            return (s0_f16(b) * sm.x) * sum - (s0_f16(b + 2u) * sm.y) * bsum;
        }
        case DT_Q6_K: {
            const uint b = row + (c >> 3) * 210u;
            const uint e0 = (c & 7u) * 32u;
            const uint h = e0 >> 7, q4 = (e0 >> 5) & 3u;
            float half_sum[2] = {0.0, 0.0};
            for (uint l = 0u; l < 32u; ++l) {
                const uint lo = s0_u8(b + 64u * h + 32u * (q4 & 1u) + l);
                const uint nib = q4 >= 2u ? (lo >> 4) : (lo & 15u);
                const uint hi = (s0_u8(b + 128u + 32u * h + l) >> (2u * q4)) & 3u;
                half_sum[l >> 4] += float(int(nib | (hi << 4)) - 32) * s1_f32(col + (k0 + l) * bnb0);
            }
            const uint sc = b + 192u + (e0 >> 4);
            return s0_f16(b + 208u) * (float(s0_i8(sc)) * half_sum[0] + float(s0_i8(sc + 1u)) * half_sum[1]);
        }
        default: return 0.0;
    }
}
