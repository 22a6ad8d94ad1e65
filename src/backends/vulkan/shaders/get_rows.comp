#version 450
// GET_ROWS: one invocation per output element, any weight type. An id outside
// the table sets the node's status words (the host reports it) and writes 0.
#extension GL_GOOGLE_include_directive : require
layout(local_size_x = 256) in;

#include "common.glsl"
#include "dequant.glsl"

void main() {
    const uint E = t_ne(0u, 0u), R = t_ne(0u, 1u);
    const uint N = t_ne(1u, 0u), B2 = t_ne(1u, 1u), B3 = t_ne(1u, 2u);
    const uint total = E * N * B2 * B3;
    const uint dt = t_dtype(0u);
    for (uint idx = gl_GlobalInvocationID.x; idx < total; idx += gl_NumWorkGroups.x * 256u) {
        const uint e = idx % E, r = idx / E;
        const uint n = r % N, b2 = (r / N) % B2, b3 = r / (N * B2);
        const int id = s1_i32(elem_off(1u, n, b2, b3, 0u));
        if (id < 0 || uint(id) >= R) {
            args[STATUS_DETAIL] = uint(id);
            args[STATUS_FLAG] = 1u;
            out_f32(idx, 0.0);
            continue;
        }
        out_f32(idx, weight(dt, elem_off(0u, 0u, uint(id), 0u, 0u), e, t_nb(0u, 0u)));
    }
}
