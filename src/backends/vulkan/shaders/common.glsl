// What every kernel shares: the bindings and the node's argument block.
//
// Binding 0 is the node's argument block (vk_ops.h): per slot s (0-3: src[s],
// 4: the output) ten words: byte offset from the bound range's start, ne[4],
// nb[4] (bytes), dtype; then params[0..7] at word 50, host-computed extras at
// 58, and status words at 62-63 that a kernel sets on bad input.
// Bindings 1-5 are the tensors' bytes, read as 32-bit words so any byte
// offset works: quantized rows need not be 4-byte aligned.
#extension GL_EXT_control_flow_attributes : enable

layout(std430, set = 0, binding = 0) buffer Args { uint args[]; };
layout(std430, set = 0, binding = 1) readonly buffer Src0 { uint s0[]; };
layout(std430, set = 0, binding = 2) readonly buffer Src1 { uint s1[]; };
layout(std430, set = 0, binding = 3) readonly buffer Src2 { uint s2[]; };
layout(std430, set = 0, binding = 4) readonly buffer Src3 { uint s3[]; };
layout(std430, set = 0, binding = 5) buffer Dst { uint dst[]; };
// The same bytes as 16-byte words, for wide loads and stores where a kernel
// knows its offsets are 16-byte aligned (Vulkan allows aliased bindings).
layout(std430, set = 0, binding = 1) readonly buffer Src0V { uvec4 s0v[]; };
layout(std430, set = 0, binding = 2) readonly buffer Src1V { vec4 s1v[]; };
layout(std430, set = 0, binding = 5) buffer DstV { uvec4 dstv[]; };

#define SLOT_DST 4u
uint t_off(uint s) { return args[s * 10u]; }
uint t_ne(uint s, uint i) { return args[s * 10u + 1u + i]; }
uint t_nb(uint s, uint i) { return args[s * 10u + 5u + i]; }
uint t_dtype(uint s) { return args[s * 10u + 9u]; }
uint p_u(uint i) { return args[50u + i]; }
float p_f(uint i) { return uintBitsToFloat(args[50u + i]); }
uint x_u(uint i) { return args[58u + i]; }
#define STATUS_DETAIL 62u
#define STATUS_FLAG 63u

#define DT_F32 0u
#define DT_F16 1u
#define DT_Q4_0 2u
#define DT_Q8_0 8u
#define DT_Q4_K 12u
#define DT_Q5_K 13u
#define DT_Q6_K 14u
#define DT_I32 26u
#define DT_BF16 30u

// Byte-addressed loads from one binding: u8, u16 (any alignment), f32 and i32
// (4-byte aligned), f16, bf16, and a plain float of a given dtype.
#define DEFINE_LOADS(B)                                                                        \
    uint B##_u8(uint b) { return (B[b >> 2] >> ((b & 3u) << 3)) & 0xffu; }                    \
    uint B##_u16(uint b) {                                                                     \
        if ((b & 1u) == 0u) return (B[b >> 2] >> ((b & 2u) << 3)) & 0xffffu;                   \
        return B##_u8(b) | (B##_u8(b + 1u) << 8);                                              \
    }                                                                                          \
    float B##_f32(uint b) { return uintBitsToFloat(B[b >> 2]); }                               \
    int B##_i32(uint b) { return int(B[b >> 2]); }                                             \
    float B##_f16(uint b) { return unpackHalf2x16(B##_u16(b)).x; }                             \
    float B##_bf16(uint b) { return uintBitsToFloat(B##_u16(b) << 16); }                       \
    float B##_plain(uint dt, uint b) {                                                         \
        return dt == DT_F32 ? B##_f32(b) : (dt == DT_F16 ? B##_f16(b) : B##_bf16(b));          \
    }

DEFINE_LOADS(s0)
DEFINE_LOADS(s1)
DEFINE_LOADS(s2)
DEFINE_LOADS(s3)

// Dense F32 output: element i of the node's tensor.
void out_f32(uint i, float v) { dst[(t_off(SLOT_DST) >> 2) + i] = floatBitsToUint(v); }

// Byte offset of element (i0, i1, i2, i3) of slot s.
uint elem_off(uint s, uint i0, uint i1, uint i2, uint i3) {
    return t_off(s) + i0 * t_nb(s, 0u) + i1 * t_nb(s, 1u) + i2 * t_nb(s, 2u) + i3 * t_nb(s, 3u);
}

// Splits a linear index over slot s's shape into (i0, i1, i2, i3).
uvec4 unravel(uint s, uint idx) {
    const uint n0 = t_ne(s, 0u), n1 = t_ne(s, 1u), n2 = t_ne(s, 2u);
    uvec4 i;
    i.x = idx % n0;
    idx /= n0;
    i.y = idx % n1;
    idx /= n1;
    i.z = idx % n2;
    i.w = idx / n2;
    return i;
}
