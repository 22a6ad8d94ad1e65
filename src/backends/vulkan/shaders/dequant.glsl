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
