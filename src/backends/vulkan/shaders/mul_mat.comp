#version 450
// MUL_MAT for many columns of B (prompt processing): each workgroup computes a
// 64 x 64 tile of the output, staging 16-deep slices of A (dequantized) and B
// in shared memory; each of the 256 invocations accumulates a 4 x 4 block of
// outputs, so every value read from shared memory feeds four multiply-adds.
#extension GL_GOOGLE_include_directive : require
layout(local_size_x = 256) in;

#include "common.glsl"
#include "dequant.glsl"

#define TILE 64u  // also kTile in vk_ops.cpp
#define DEPTH 16u  // 2 x 16 x 65 floats: within the 16 KiB of shared memory every device has
#define PASS (256u / DEPTH)  // tile rows (and columns) loaded per pass
shared float a_tile[DEPTH][TILE + 1u];  // [k][m]; +1 against bank conflicts on the stores
shared float b_tile[DEPTH][TILE + 1u];  // [k][n]

void main() {
    const uint K = t_ne(0u, 0u), M = t_ne(0u, 1u), A2 = t_ne(0u, 2u), A3 = t_ne(0u, 3u);
    const uint N = t_ne(1u, 1u), B2 = t_ne(1u, 2u);
    const uint B3 = t_ne(1u, 3u);
#ifdef WEIGHT_DT
    const uint dt = WEIGHT_DT;  // one build per weight type: the dequant switch folds away
#else
    const uint dt = t_dtype(0u);
#endif
    const uint batch = gl_WorkGroupID.z;
    const uint i = batch % B2, j = batch / B2;
    const uint ia = i / (B2 / A2), ja = j / (B3 / A3);
    const uint m0 = gl_WorkGroupID.x * TILE, n0 = gl_WorkGroupID.y * TILE;
    const uint tid = gl_LocalInvocationID.x;
    const uint anb0 = t_nb(0u, 0u), bnb0 = t_nb(1u, 0u);

    // Loading: invocation tid fills depth kk of tile rows (and columns)
    // r0 + PASS s, so neighbours read neighbouring k of one row. Their offsets are fixed.
    const uint kk = tid % DEPTH, r0 = tid / DEPTH;
    uint a_row[TILE / PASS], b_col[TILE / PASS];
    [[unroll]] for (uint s = 0u; s < TILE / PASS; ++s) {
        a_row[s] = elem_off(0u, 0u, min(m0 + r0 + PASS * s, M - 1u), ia, ja);
        b_col[s] = elem_off(1u, 0u, min(n0 + r0 + PASS * s, N - 1u), i, j);
    }
    // Computing: invocation (tx, ty) owns rows tx + 16a and columns ty + 16b.
    const uint tx = tid % 16u, ty = tid / 16u;
    vec4 acc[4] = {vec4(0.0), vec4(0.0), vec4(0.0), vec4(0.0)};  // acc[b][a]
    for (uint k0 = 0u; k0 < K; k0 += DEPTH) {
        const uint k = k0 + kk;
        [[unroll]] for (uint s = 0u; s < TILE / PASS; ++s) {
            const uint r = r0 + PASS * s;
            a_tile[kk][r] = (m0 + r < M && k < K) ? weight(dt, a_row[s], k, anb0) : 0.0;
            b_tile[kk][r] = (n0 + r < N && k < K) ? s1_f32(b_col[s] + k * bnb0) : 0.0;
        }
        memoryBarrierShared();
        barrier();
        [[unroll]] for (uint d = 0u; d < DEPTH; ++d) {
            const vec4 a = vec4(a_tile[d][tx], a_tile[d][tx + 16u], a_tile[d][tx + 32u], a_tile[d][tx + 48u]);
            const vec4 b = vec4(b_tile[d][ty], b_tile[d][ty + 16u], b_tile[d][ty + 32u], b_tile[d][ty + 48u]);
            acc[0] += a * b.x;
            acc[1] += a * b.y;
            acc[2] += a * b.z;
            acc[3] += a * b.w;
        }
        barrier();
    }
    const uint base = M * N * batch;
    [[unroll]] for (uint bi = 0u; bi < 4u; ++bi) {
        const uint n = n0 + ty + 16u * bi;
        [[unroll]] for (uint ai = 0u; ai < 4u; ++ai) {
            const uint m = m0 + tx + 16u * ai;
            if (m < M && n < N) out_f32(base + m + M * n, acc[bi][ai]);
        }
    }
}
