#version 450
// SCALE (extra 0 = 0: x * params[0]) and SILU (1: x / (1 + e^-x)); input any strides.
#extension GL_GOOGLE_include_directive : require
layout(local_size_x = 256) in;

#include "common.glsl"

void main() {
    const uint total = t_ne(0u, 0u) * t_ne(0u, 1u) * t_ne(0u, 2u) * t_ne(0u, 3u);
    const bool scale = x_u(0u) == 0u;
    const float s = p_f(0u);
    for (uint idx = gl_GlobalInvocationID.x; idx < total; idx += gl_NumWorkGroups.x * 256u) {
        const uvec4 i = unravel(0u, idx);
        const float x = s0_f32(elem_off(0u, i.x, i.y, i.z, i.w));
        out_f32(idx, scale ? x * s : x / (1.0 + exp(-x)));
    }
}
