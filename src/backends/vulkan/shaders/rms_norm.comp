#version 450
// RMS_NORM: one workgroup per row; the sum of squares is a workgroup reduction.
#extension GL_GOOGLE_include_directive : require
#if USE_SUBGROUP
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#endif
#define WG 256u
layout(local_size_x = 256) in;

#include "common.glsl"
#include "reduce.glsl"

void main() {
    const uint D = t_ne(0u, 0u), H = t_ne(0u, 1u), T = t_ne(0u, 2u);
    const uint rows = H * T * t_ne(0u, 3u);
    const float eps = p_f(0u);
    const uint nb0 = t_nb(0u, 0u);
    for (uint r = gl_WorkGroupID.x; r < rows; r += gl_NumWorkGroups.x) {
        const uint row = elem_off(0u, 0u, r % H, (r / H) % T, r / (H * T));
        float sum = 0.0;
        for (uint k = gl_LocalInvocationID.x; k < D; k += WG) {
            const float x = s0_f32(row + k * nb0);
            sum += x * x;
        }
        sum = wg_sum(sum);
        const float scale = 1.0 / sqrt(sum / float(D) + eps);
        for (uint k = gl_LocalInvocationID.x; k < D; k += WG) out_f32(r * D + k, s0_f32(row + k * nb0) * scale);
    }
}
