#version 450
// ADD (extra 0 = 0) and MUL (1): a any strides, b repeated along each
// dimension it divides, output dense.
#extension GL_GOOGLE_include_directive : require
layout(local_size_x = 256) in;

#include "common.glsl"

void main() {
    const uint total = t_ne(0u, 0u) * t_ne(0u, 1u) * t_ne(0u, 2u) * t_ne(0u, 3u);
    const bool add = x_u(0u) == 0u;
    const uvec4 bne = uvec4(t_ne(1u, 0u), t_ne(1u, 1u), t_ne(1u, 2u), t_ne(1u, 3u));
    for (uint idx = gl_GlobalInvocationID.x; idx < total; idx += gl_NumWorkGroups.x * 256u) {
        const uvec4 i = unravel(0u, idx);
        const float a = s0_f32(elem_off(0u, i.x, i.y, i.z, i.w));
        const uvec4 j = i % bne;
        const float b = s1_f32(elem_off(1u, j.x, j.y, j.z, j.w));
        out_f32(idx, add ? a + b : a * b);
    }
}
