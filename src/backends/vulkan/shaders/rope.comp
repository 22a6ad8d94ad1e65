#version 450
// ROPE: one invocation per rotated pair or copied element of a row. The angle
// is ggml's (and the reference's): theta_i = pos * theta_scale^i as a running
// product in float, times freq_scale; it is reduced to [-pi, pi] exactly
// enough (Cody-Waite, three parts of 2 pi) before sin and cos, whose accuracy
// Vulkan only promises on that interval.
#extension GL_GOOGLE_include_directive : require
layout(local_size_x = 256) in;

#include "common.glsl"

float reduce_angle(float x) {
    const float k = round(x * 0.15915494309189535);
    precise float r = x - k * 6.28125;
    r = r - k * 1.9353071795864769e-3;
    r = r - k * 2.8841412e-11;
    return r;
}

void main() {
    const uint D = t_ne(0u, 0u), H = t_ne(0u, 1u), T = t_ne(0u, 2u);
    const uint n_rot = p_u(0u), mode = p_u(1u);
    const float freq_scale = p_f(3u);
    const float theta_scale = uintBitsToFloat(x_u(0u));
    const uint per_row = x_u(1u), half_rot = n_rot / 2u;
    const uint total = per_row * H * T;
    for (uint idx = gl_GlobalInvocationID.x; idx < total; idx += gl_NumWorkGroups.x * 256u) {
        const uint q = idx % per_row, h = (idx / per_row) % H, t = idx / (per_row * H);
        const uint row = elem_off(0u, 0u, h, t, 0u);
        const uint nb0 = t_nb(0u, 0u);
        const uint out_row = (t * H + h) * D;
        if (q < half_rot) {
            precise float theta = float(s1_i32(elem_off(1u, t, 0u, 0u, 0u)));
            for (uint i = 0u; i < q; ++i) theta *= theta_scale;
            const float angle = reduce_angle(freq_scale * theta);
            const float c = cos(angle), s = sin(angle);
            const uint ia = mode == 0u ? 2u * q : q;
            const uint ib = mode == 0u ? 2u * q + 1u : q + half_rot;
            const float a = s0_f32(row + ia * nb0), b = s0_f32(row + ib * nb0);
            out_f32(out_row + ia, a * c - b * s);
            out_f32(out_row + ib, a * s + b * c);
        } else {
            const uint e = n_rot + (q - half_rot);
            out_f32(out_row + e, s0_f32(row + e * nb0));
        }
    }
}
