// The mat-vec kernel's unit of work, one build per weight type (WEIGHT_ID):
// UNIT_K weights of a row that one invocation decodes from 16 bytes or less
// (4 F32, 8 F16/BF16/Q8_0/Q4_0/Q4_K/Q5_K, 16 Q6_K), and the NB vec4s of B
// they meet. Units are numbered along the row in memory order, so adjacent
// invocations read adjacent words of A (coalesced), and a block's scale is
// read by the few invocations sharing that block (one cache line).
//
//   b_unit(b_vec, u, col, bv): B's values for unit u (column at byte `col`)
//   dot_unit(a_vec, row, u, bv): unit u of the row at byte `row`, dotted with bv
// (b_vec, a_vec: whether B, A's rows allow 16-byte loads; see b4, a16)
//
// Plain types (F32, F16, BF16) take the units only where the row's elements
// are contiguous; the kernel handles strided rows and the last K % 8 elements
// one at a time (dequant.glsl's weight()).

// WEIGHT_ID: the weight type as a plain number (the preprocessor cannot
// compare WEIGHT_DT's "8u").
#define ID_F32 0
#define ID_F16 1
#define ID_Q4_0 2
#define ID_Q8_0 8
#define ID_Q4_K 12
#define ID_Q5_K 13
#define ID_Q6_K 14
#define ID_BF16 30

// 32 bits from byte b of src0, at any alignment, without a branch: the two
// words holding bytes b and b + 3 (the same word when b is aligned), funnel-
// shifted. Bytes b..b+3 must be the tensor's, so both words are bound. (A
// block's last half, Q6_K's d, is read with common.glsl's s0_f16 instead.)
uint s0_word(uint b) {
    const uint sh = (b & 3u) << 3;
    return (s0[b >> 2] >> sh) | ((s0[(b + 3u) >> 2] << (31u - sh)) << 1u);
}

// Bits [s, s + n) of each of the four bytes of w (s + n <= 8), and the bytes as int8.
uvec4 byte_bits(uint w, uint s, uint n) { return (uvec4(w, w >> 8, w >> 16, w >> 24) >> s) & ((1u << n) - 1u); }
vec4 signed_bytes(uint w) { return vec4(ivec4(uvec4(w << 24, w << 16, w << 8, w)) >> 24); }
float sum4(vec4 v) { return dot(v, vec4(1.0)); }

// dequant.glsl's scale_min_k4 from the 12 scale bytes held in three words
// (loaded with d and dmin in one 16-byte load, not byte by byte).
uint byte_of(uvec3 w, uint i) { return (w[i >> 2] >> ((i & 3u) << 3)) & 255u; }
vec2 scale_min_words(uvec3 w, uint j) {
    if (j < 4u) return vec2(float(byte_of(w, j) & 63u), float(byte_of(w, j + 4u) & 63u));
    const uint a = byte_of(w, j + 4u);
    return vec2(float((a & 15u) | ((byte_of(w, j - 4u) >> 6) << 4)), float((a >> 4) | ((byte_of(w, j) >> 6) << 4)));
}

// B as vec4s: one 16-byte load where B is contiguous and 16-byte aligned
// (b_vec, the same for the whole workgroup), else four words.
vec4 b4(bool b_vec, uint col, uint k) {
    if (b_vec) return s1v[(col >> 4) + (k >> 2)];
    const uint bnb0 = t_nb(1u, 0u);
    const uint b = col + k * bnb0;
    return vec4(s1_f32(b), s1_f32(b + bnb0), s1_f32(b + 2u * bnb0), s1_f32(b + 3u * bnb0));
}

// Plain rows: 16 bytes of A in one load where every row of the group is
// 16-byte aligned (a_vec), else four words.
uvec4 a16(bool a_vec, uint b) {
    if (a_vec) return s0v[b >> 4];
    return uvec4(s0_word(b), s0_word(b + 4u), s0_word(b + 8u), s0_word(b + 12u));
}

// A word at a 4-byte multiple from a row's start: one load where the rows are
// 16-byte aligned (a_vec), else the funnel shift.
uint a_word(bool a_vec, uint b) { return a_vec ? s0[b >> 2] : s0_word(b); }

#if WEIGHT_ID == ID_Q6_K
#define UNIT_K 16u
#define NB 4
#elif WEIGHT_ID == ID_F32
#define UNIT_K 4u
#define NB 1
#else
#define UNIT_K 8u
#define NB 2
#endif

void b_unit(bool b_vec, uint u, uint col, out vec4 bv[NB]) {
#if WEIGHT_ID == ID_F32
    bv[0] = b4(b_vec, col, 4u * u);
#elif WEIGHT_ID == ID_F16 || WEIGHT_ID == ID_BF16 || WEIGHT_ID == ID_Q8_0
    // 8 consecutive weights
    bv[0] = b4(b_vec, col, 8u * u);
    bv[1] = b4(b_vec, col, 8u * u + 4u);
#elif WEIGHT_ID == ID_Q4_0
    // block u/4: bytes 4q..4q+3 of qs hold weights 4q.. (low nibbles) and 16+4q.. (high)
    const uint k = 32u * (u >> 2) + 4u * (u & 3u);
    bv[0] = b4(b_vec, col, k);
    bv[1] = b4(b_vec, col, k + 16u);
#elif WEIGHT_ID == ID_Q4_K || WEIGHT_ID == ID_Q5_K
    // super-block u/32, group g of 64 weights, bytes 4q..4q+3: weights 64g+4q.. and 64g+32+4q..
    const uint k = 256u * (u >> 5) + 64u * ((u >> 3) & 3u) + 4u * (u & 7u);
    bv[0] = b4(b_vec, col, k);
    bv[1] = b4(b_vec, col, k + 32u);
#elif WEIGHT_ID == ID_Q6_K
    // super-block u/16, half h, positions l = 4q..4q+3: weights 128h + 32c + l for c = 0..3
    const uint k = 256u * (u >> 4) + 128u * ((u >> 3) & 1u) + 4u * (u & 7u);
    [[unroll]] for (uint c = 0u; c < 4u; ++c) bv[c] = b4(b_vec, col, k + 32u * c);
#endif
}

float dot_unit(bool a_vec, uint row, uint u, vec4 bv[NB]) {
#if WEIGHT_ID == ID_F32
    return dot(uintBitsToFloat(a16(a_vec, row + 16u * u)), bv[0]);
#elif WEIGHT_ID == ID_F16
    const uvec4 w = a16(a_vec, row + 16u * u);
    return dot(vec4(unpackHalf2x16(w.x), unpackHalf2x16(w.y)), bv[0]) +
           dot(vec4(unpackHalf2x16(w.z), unpackHalf2x16(w.w)), bv[1]);
#elif WEIGHT_ID == ID_BF16
    const uvec4 w = a16(a_vec, row + 16u * u);
    const uvec4 lo = w << 16, hi = w & 0xffff0000u;
    return dot(uintBitsToFloat(uvec4(lo.x, hi.x, lo.y, hi.y)), bv[0]) +
           dot(uintBitsToFloat(uvec4(lo.z, hi.z, lo.w, hi.w)), bv[1]);
#elif WEIGHT_ID == ID_Q8_0
    const uint b = row + 34u * (u >> 2), q = b + 2u + 8u * (u & 3u);
    const float s = dot(signed_bytes(s0_word(q)), bv[0]) + dot(signed_bytes(s0_word(q + 4u)), bv[1]);
    return s0_f16(b) * s;
#elif WEIGHT_ID == ID_Q4_0
    const uint b = row + 18u * (u >> 2);
    const uint w = s0_word(b + 2u + 4u * (u & 3u));
    return s0_f16(b) * (dot(vec4(byte_bits(w, 0u, 4u)) - 8.0, bv[0]) + dot(vec4(byte_bits(w, 4u, 4u)) - 8.0, bv[1]));
#elif WEIGHT_ID == ID_Q4_K || WEIGHT_ID == ID_Q5_K
#if WEIGHT_ID == ID_Q5_K
    const uint b = row + 176u * (u >> 5), qs = 48u;
#else
    const uint b = row + 144u * (u >> 5), qs = 16u;
#endif
    // Super-blocks are 144 or 176 bytes: 16-byte aligned when the rows are.
    const uint g = (u >> 3) & 3u, q = u & 7u;
    const uint w = a_word(a_vec, b + qs + 32u * g + 4u * q);
    uvec4 lo = byte_bits(w, 0u, 4u), hi = byte_bits(w, 4u, 4u);
#if WEIGHT_ID == ID_Q5_K
    // the fifth bit of weight l of sub-block j is bit j of qh[l]
    const uint h = a_word(a_vec, b + 16u + 4u * q);
    lo |= byte_bits(h, 2u * g, 1u) << 4;
    hi |= byte_bits(h, 2u * g + 1u, 1u) << 4;
#endif
    const uvec4 head = a16(a_vec, b);  // d and dmin (halves), then the 12 scale bytes
    const vec2 dm = unpackHalf2x16(head.x);
    const uvec3 scales = head.yzw;
    const vec2 sm_lo = scale_min_words(scales, 2u * g), sm_hi = scale_min_words(scales, 2u * g + 1u);
    return dm.x * (sm_lo.x * dot(vec4(lo), bv[0]) + sm_hi.x * dot(vec4(hi), bv[1])) -
           dm.y * (sm_lo.y * sum4(bv[0]) + sm_hi.y * sum4(bv[1]));
#elif WEIGHT_ID == ID_Q6_K
    const uint b = row + 210u * (u >> 4);
    const uint h = (u >> 3) & 1u, q = u & 7u;
    const uint ql0 = s0_word(b + 64u * h + 4u * q);        // c = 0 (low nibbles), 2 (high)
    const uint ql1 = s0_word(b + 64u * h + 32u + 4u * q);  // c = 1, 3
    const uint qh = s0_word(b + 128u + 32u * h + 4u * q);  // bits 2c, 2c+1: the top two bits
    // int8 scales 8h + 2c + q/4: bytes q/4 and 2 + q/4 of each of two words
    const uint sc0 = s0_word(b + 192u + 8u * h), sc1 = s0_word(b + 196u + 8u * h);
    const uint j = 8u * (q >> 2);
    const vec4 sc = vec4(ivec4(uvec4(sc0 << (24u - j), sc0 << (8u - j), sc1 << (24u - j), sc1 << (8u - j))) >> 24);
    const float s = sc.x * dot(vec4(byte_bits(ql0, 0u, 4u) | (byte_bits(qh, 0u, 2u) << 4)) - 32.0, bv[0]) +
                    sc.y * dot(vec4(byte_bits(ql1, 0u, 4u) | (byte_bits(qh, 2u, 2u) << 4)) - 32.0, bv[1]) +
                    sc.z * dot(vec4(byte_bits(ql0, 4u, 4u) | (byte_bits(qh, 4u, 2u) << 4)) - 32.0, bv[2]) +
                    sc.w * dot(vec4(byte_bits(ql1, 4u, 4u) | (byte_bits(qh, 6u, 2u) << 4)) - 32.0, bv[3]);
    return s0_f16(b + 208u) * s;
#endif
}
