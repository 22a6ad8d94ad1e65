#version 450
// MUL_MAT for few columns of B (decode): each workgroup of 64 computes four
// rows of A against one column of B. A row is cut into units (mat_vec_units.glsl:
// 4-16 weights decoded from at most 16 bytes), dealt to the invocations in
// memory order, so each load instruction of the group reads adjacent words;
// a unit's B values are loaded once (16-byte loads where B is contiguous) and
// used for all four rows. One reduction per workgroup at the end: subgroupAdd
// where the device has subgroup arithmetic, else a shared-memory tree.
#extension GL_GOOGLE_include_directive : require
#if USE_SUBGROUP
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#endif
#if !defined(WEIGHT_DT) || !defined(WEIGHT_ID)
#error "mul_mat_vec is built once per weight type (WEIGHT_DT, WEIGHT_ID)"
#endif
#define WG 64u
#define ROWS 4u    // also kMatVecRows in vk_ops.cpp
layout(local_size_x = 64) in;

#include "common.glsl"
#include "dequant.glsl"
#include "mat_vec_units.glsl"
#include "reduce.glsl"

void main() {
    const uint K = t_ne(0u, 0u), M = t_ne(0u, 1u), A2 = t_ne(0u, 2u), A3 = t_ne(0u, 3u);
    const uint N = t_ne(1u, 1u), B2 = t_ne(1u, 2u), B3 = t_ne(1u, 3u);
    const uint dt = WEIGHT_DT;
    const uint columns = N * B2 * B3;
    const bool plain = dt == DT_F32 || dt == DT_F16 || dt == DT_BF16;
    const uint anb0 = t_nb(0u, 0u), bnb0 = t_nb(1u, 0u);
    // Plain rows go by units only where their elements are contiguous; the
    // elements after the last whole unit (and strided rows) go one at a time.
    const uint elem_size = dt == DT_F32 ? 4u : 2u;
    const uint units = (!plain || anb0 == elem_size) ? K / UNIT_K : 0u;
    const uint tid = gl_LocalInvocationID.x;
    const uint row_groups = (M + ROWS - 1u) / ROWS;
    for (uint rg = gl_WorkGroupID.x; rg < row_groups; rg += gl_NumWorkGroups.x) {
        for (uint c = gl_WorkGroupID.y; c < columns; c += gl_NumWorkGroups.y) {
            const uint n = c % N, i = (c / N) % B2, j = c / (N * B2);
            const uint col = elem_off(1u, 0u, n, i, j);
            const bool b_vec = bnb0 == 4u && (col & 15u) == 0u;
            const uint m0 = rg * ROWS;
            uint rows[ROWS];
            uint any_bits = 0u;
            // Rows past M repeat the last one; their sums are not stored.
            [[unroll]] for (uint r = 0u; r < ROWS; ++r) {
                rows[r] = elem_off(0u, 0u, min(m0 + r, M - 1u), i / (B2 / A2), j / (B3 / A3));
                any_bits |= rows[r];
            }
            const bool a_vec = (any_bits & 15u) == 0u;
            vec4 sum = vec4(0.0);
            for (uint u = tid; u < units; u += WG) {
                vec4 bv[NB];
                b_unit(b_vec, u, col, bv);
                [[unroll]] for (uint r = 0u; r < ROWS; ++r) sum[r] += dot_unit(a_vec, rows[r], u, bv);
            }
            for (uint k = units * UNIT_K + tid; k < K; k += WG) {
                const float b = s1_f32(col + k * bnb0);
                [[unroll]] for (uint r = 0u; r < ROWS; ++r) sum[r] += weight(dt, rows[r], k, anb0) * b;
            }
            sum = wg_sum4(sum);
            if (tid < ROWS && m0 + tid < M) out_f32(m0 + tid + M * c, sum[tid]);
        }
    }
}
