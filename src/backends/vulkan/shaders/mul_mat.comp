#version 450
// MUL_MAT for many columns of B (prompt processing): each workgroup computes a
// 32 x 32 tile of the output, staging 32-deep slices of A (dequantized) and B
// in shared memory; each of the 256 invocations accumulates 2 x 2 outputs.
#extension GL_GOOGLE_include_directive : require
layout(local_size_x = 16, local_size_y = 16) in;

#include "common.glsl"
#include "dequant.glsl"

#define TILE 32u
shared float a_tile[TILE][TILE + 1u];  // [k][m]; +1 against bank conflicts
shared float b_tile[TILE][TILE + 1u];  // [k][n]

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
    const uint tx = gl_LocalInvocationID.x, ty = gl_LocalInvocationID.y;
    const uint tid = ty * 16u + tx;
    const uint anb0 = t_nb(0u, 0u), bnb0 = t_nb(1u, 0u);

    float acc00 = 0.0, acc01 = 0.0, acc10 = 0.0, acc11 = 0.0;
    for (uint k0 = 0u; k0 < K; k0 += TILE) {
        for (uint e = tid; e < TILE * TILE; e += 256u) {
            const uint kk = e % TILE, r = e / TILE;
            const uint k = k0 + kk;
            const uint m = m0 + r, n = n0 + r;
            a_tile[kk][r] = (m < M && k < K) ? weight(dt, elem_off(0u, 0u, m, ia, ja), k, anb0) : 0.0;
            b_tile[kk][r] = (n < N && k < K) ? s1_f32(elem_off(1u, 0u, n, i, j) + k * bnb0) : 0.0;
        }
        memoryBarrierShared();
        barrier();
        [[unroll]] for (uint kk = 0u; kk < TILE; ++kk) {
            const float a0 = a_tile[kk][tx], a1 = a_tile[kk][tx + 16u];
            const float b0 = b_tile[kk][ty], b1 = b_tile[kk][ty + 16u];
            acc00 += a0 * b0;
            acc01 += a0 * b1;
            acc10 += a1 * b0;
            acc11 += a1 * b1;
        }
        barrier();
    }
    const uint base = M * N * batch;
    const uint ma = m0 + tx, mb = m0 + tx + 16u, na = n0 + ty, nb = n0 + ty + 16u;
    if (ma < M && na < N) out_f32(base + ma + M * na, acc00);
    if (ma < M && nb < N) out_f32(base + ma + M * nb, acc01);
    if (mb < M && na < N) out_f32(base + mb + M * na, acc10);
    if (mb < M && nb < N) out_f32(base + mb + M * nb, acc11);
}
