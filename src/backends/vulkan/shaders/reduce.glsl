// Workgroup-wide sum and max of one float per invocation, for a workgroup of
// WG invocations. With USE_SUBGROUP the subgroups reduce in registers
// (subgroupAdd/subgroupMax) and only their partial results meet in shared
// memory; otherwise a shared-memory tree. Call from uniform control flow.
shared float red_[WG];

#if USE_SUBGROUP
float wg_sum(float v) {
    v = subgroupAdd(v);
    if (subgroupElect()) red_[gl_SubgroupID] = v;
    memoryBarrierShared();
    barrier();
    float t = 0.0;
    for (uint s = 0u; s < gl_NumSubgroups; ++s) t += red_[s];
    barrier();
    return t;
}
float wg_max(float v) {
    v = subgroupMax(v);
    if (subgroupElect()) red_[gl_SubgroupID] = v;
    memoryBarrierShared();
    barrier();
    float t = red_[0];
    for (uint s = 1u; s < gl_NumSubgroups; ++s) t = max(t, red_[s]);
    barrier();
    return t;
}
#else
float wg_sum(float v) {
    const uint l = gl_LocalInvocationID.x;
    red_[l] = v;
    memoryBarrierShared();
    barrier();
    [[unroll]] for (uint s = WG / 2u; s > 0u; s >>= 1) {
        if (l < s) red_[l] += red_[l + s];
        memoryBarrierShared();
        barrier();
    }
    const float t = red_[0];
    barrier();
    return t;
}
float wg_max(float v) {
    const uint l = gl_LocalInvocationID.x;
    red_[l] = v;
    memoryBarrierShared();
    barrier();
    [[unroll]] for (uint s = WG / 2u; s > 0u; s >>= 1) {
        if (l < s) red_[l] = max(red_[l], red_[l + s]);
        memoryBarrierShared();
        barrier();
    }
    const float t = red_[0];
    barrier();
    return t;
}
#endif

// Four sums at once (four rows of a mat-vec): one round of barriers for all four.
shared vec4 red4_[WG];

#if USE_SUBGROUP
vec4 wg_sum4(vec4 v) {
    v = subgroupAdd(v);
    if (subgroupElect()) red4_[gl_SubgroupID] = v;
    memoryBarrierShared();
    barrier();
    vec4 t = vec4(0.0);
    for (uint s = 0u; s < gl_NumSubgroups; ++s) t += red4_[s];
    barrier();
    return t;
}
#else
vec4 wg_sum4(vec4 v) {
    const uint l = gl_LocalInvocationID.x;
    red4_[l] = v;
    memoryBarrierShared();
    barrier();
    [[unroll]] for (uint s = WG / 2u; s > 0u; s >>= 1) {
        if (l < s) red4_[l] += red4_[l + s];
        memoryBarrierShared();
        barrier();
    }
    const vec4 t = red4_[0];
    barrier();
    return t;
}
#endif
