#version 450
// ATTENTION: one workgroup per (head, query). Keys go in chunks of 64, one per
// invocation (score = scale * q.k + mask); the chunk's softmax weights update a
// running maximum and sum (online softmax), and each invocation accumulates
// its own dims of the output (d = lid, lid + 64, ...: head size <= 512).
// A key masked with -inf is never read, nor is its value.
#extension GL_GOOGLE_include_directive : require
#if USE_SUBGROUP
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#endif
#define WG 64u
#define MAX_PER_THREAD 8u
layout(local_size_x = 64) in;

#include "common.glsl"
#include "reduce.glsl"

shared float q_row[WG * MAX_PER_THREAD];
shared float p_chunk[WG];

const float NEG_INF = -1.0 / 0.0;

void main() {
    const uint D = t_ne(0u, 0u), Hq = t_ne(0u, 1u), T = t_ne(0u, 2u);
    const uint Hkv = t_ne(1u, 1u), S = t_ne(1u, 2u);
    const uint kdt = t_dtype(1u), vdt = t_dtype(2u);
    const bool has_mask = x_u(0u) != 0u;
    const float scale = p_f(0u);
    const uint l = gl_LocalInvocationID.x;
    for (uint pair = gl_WorkGroupID.x; pair < Hq * T; pair += gl_NumWorkGroups.x) {
        const uint h = pair % Hq, t = pair / Hq;
        const uint g = h / (Hq / Hkv);
        for (uint d = l; d < D; d += WG) q_row[d] = s0_f32(elem_off(0u, d, h, t, 0u));
        memoryBarrierShared();
        barrier();

        float acc[MAX_PER_THREAD];
        [[unroll]] for (uint r = 0u; r < MAX_PER_THREAD; ++r) acc[r] = 0.0;
        float run_max = NEG_INF, run_sum = 0.0;
        for (uint j0 = 0u; j0 < S; j0 += WG) {
            const uint j = j0 + l;
            float s = NEG_INF;
            if (j < S) {
                const float m = has_mask ? s3_f32(elem_off(3u, j, t, 0u, 0u)) : 0.0;
                if (m != NEG_INF) {
                    const uint key = elem_off(1u, 0u, g, j, 0u);
                    const uint knb0 = t_nb(1u, 0u);
                    float dot = 0.0;
                    for (uint d = 0u; d < D; ++d) dot += q_row[d] * s1_plain(kdt, key + d * knb0);
                    s = scale * dot + m;
                }
            }
            const float new_max = max(run_max, wg_max(s));
            if (new_max == NEG_INF) continue;  // every key so far is masked (uniform)
            const float p = s == NEG_INF ? 0.0 : exp(s - new_max);
            const float correction = run_max == NEG_INF ? 0.0 : exp(run_max - new_max);
            p_chunk[l] = p;
            run_sum = run_sum * correction + wg_sum(p);  // wg_sum's barrier also publishes p_chunk
            const uint n = min(WG, S - j0);
            const uint vnb0 = t_nb(2u, 0u);
            [[unroll]] for (uint r = 0u; r < MAX_PER_THREAD; ++r) {
                const uint d = l + r * WG;
                if (d >= D) break;
                float a = acc[r] * correction;
                for (uint jj = 0u; jj < n; ++jj) {
                    const float w = p_chunk[jj];
                    if (w != 0.0) a += w * s2_plain(vdt, elem_off(2u, 0u, g, j0 + jj, 0u) + d * vnb0);
                }
                acc[r] = a;
            }
            run_max = new_max;
            barrier();  // p_chunk is rewritten by the next chunk
        }
        const float inv = run_sum > 0.0 ? 1.0 / run_sum : 0.0;
        [[unroll]] for (uint r = 0u; r < MAX_PER_THREAD; ++r) {
            const uint d = l + r * WG;
            if (d < D) out_f32((t * Hq + h) * D + d, acc[r] * inv);
        }
        barrier();  // q_row is rewritten for the next pair
    }
}
