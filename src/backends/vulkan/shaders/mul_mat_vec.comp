#version 450
// MUL_MAT for few columns of B (decode): each workgroup computes four rows of
// A against one column of B, so B is read once for four rows and the group
// reduces four sums in one round of barriers. Each invocation takes a strided
// share of K: whole 32-element chunks for quantized weights (scales decoded
// once per chunk), single elements for float weights.
#extension GL_GOOGLE_include_directive : require
#if USE_SUBGROUP
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#endif
#define WG 64u
#define ROWS 4u
layout(local_size_x = 64) in;

#include "common.glsl"
#include "dequant.glsl"
#include "reduce.glsl"

void main() {
    const uint K = t_ne(0u, 0u), M = t_ne(0u, 1u), A2 = t_ne(0u, 2u), A3 = t_ne(0u, 3u);
    const uint N = t_ne(1u, 1u), B2 = t_ne(1u, 2u), B3 = t_ne(1u, 3u);
#ifdef WEIGHT_DT
    const uint dt = WEIGHT_DT;  // one build per weight type: the dequant switch folds away
#else
    const uint dt = t_dtype(0u);
#endif
    const uint columns = N * B2 * B3;
    const bool blocks = dt != DT_F32 && dt != DT_F16 && dt != DT_BF16;
    const uint anb0 = t_nb(0u, 0u), bnb0 = t_nb(1u, 0u);
    const uint row_groups = (M + ROWS - 1u) / ROWS;
    for (uint rg = gl_WorkGroupID.x; rg < row_groups; rg += gl_NumWorkGroups.x) {
        for (uint c = gl_WorkGroupID.y; c < columns; c += gl_NumWorkGroups.y) {
            const uint n = c % N, i = (c / N) % B2, j = c / (N * B2);
            const uint col = elem_off(1u, 0u, n, i, j);
            const uint m0 = rg * ROWS;
            uint rows[ROWS];
            // Rows past M repeat the last one; their sums are not stored.
            [[unroll]] for (uint r = 0u; r < ROWS; ++r)
                rows[r] = elem_off(0u, 0u, min(m0 + r, M - 1u), i / (B2 / A2), j / (B3 / A3));
            vec4 sum = vec4(0.0);
            if (blocks) {
                for (uint ch = gl_LocalInvocationID.x; ch < K / 32u; ch += WG)
                    [[unroll]] for (uint r = 0u; r < ROWS; ++r) sum[r] += dot_chunk32(dt, rows[r], ch, col, bnb0);
            } else {
                for (uint k = gl_LocalInvocationID.x; k < K; k += WG) {
                    const float b = s1_f32(col + k * bnb0);
                    [[unroll]] for (uint r = 0u; r < ROWS; ++r) sum[r] += weight(dt, rows[r], k, anb0) * b;
                }
            }
            sum = wg_sum4(sum);
            if (gl_LocalInvocationID.x < ROWS && m0 + gl_LocalInvocationID.x < M)
                out_f32(m0 + gl_LocalInvocationID.x + M * c, sum[gl_LocalInvocationID.x]);
        }
    }
}
