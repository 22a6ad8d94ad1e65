#include "vk_ops.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "backends/host/tensor_access.h"

namespace suanli::vk {
namespace {

constexpr uint64_t kMaxGroups = 65535;  // the smallest maxComputeWorkGroupCount Vulkan allows
constexpr uint32_t kElementwiseGroup = 256;
constexpr int64_t kMaxHeadDim = 512;  // attention: 64 threads x 8 accumulators
constexpr int64_t kTile = 64;         // mul_mat output tile (shaders/mul_mat.comp)
constexpr int64_t kMatVecColumns = 2; // up to this many columns of B: the mat-vec kernel
constexpr int64_t kMatVecRows = 4;    // rows of A per mat-vec workgroup (shaders/mul_mat_vec.comp)

uint64_t elements(const sl_tensor& t) {
    return static_cast<uint64_t>(t.ne[0] * t.ne[1] * t.ne[2] * t.ne[3]);
}

uint32_t grid(uint64_t items, uint64_t per_group) {
    return static_cast<uint32_t>(std::clamp<uint64_t>((items + per_group - 1) / per_group, 1, kMaxGroups));
}

void put_slot(Dispatch& d, int slot, const sl_tensor* t) {
    d.slots[slot] = t;
    if (!t) return;
    uint32_t* w = &d.args[slot * kSlotWords];
    for (int i = 0; i < 4; ++i) {
        w[1 + i] = static_cast<uint32_t>(t->ne[i]);
        w[5 + i] = static_cast<uint32_t>(t->nb[i]);
    }
    w[9] = static_cast<uint32_t>(t->dtype);
}

uint32_t f32_bits(float f) {
    uint32_t u;
    std::memcpy(&u, &f, sizeof u);
    return u;
}

// Plain dtypes are read as 32-bit words (F32, I32) or 16-bit halves of them.
void check_alignment(const sl_tensor& t, const char* what) {
    uint64_t align = 1;
    switch (t.dtype) {
        case SL_DTYPE_F32:
        case SL_DTYPE_I32: align = 4; break;
        case SL_DTYPE_F16:
        case SL_DTYPE_BF16: align = 2; break;
        default: return;  // block types: read byte by byte
    }
    if (t.addr % align != 0) host::unsupported(what, " address is not ", align, "-byte aligned");
    for (int i = 0; i < 4; ++i)
        if (t.ne[i] > 1 && t.nb[i] % static_cast<int64_t>(align) != 0)
            host::unsupported(what, " stride nb[", i, "] = ", t.nb[i], " is not a multiple of ", align);
}

void check_tensor(const sl_tensor& t, const char* what, uint64_t max_range) {
    for (int i = 0; i < 4; ++i)
        if (t.ne[i] > UINT32_MAX || t.nb[i] > UINT32_MAX)
            host::unsupported(what, " has a dimension or stride beyond 32 bits");
    // The recorder binds from an aligned offset at most 256 bytes before addr.
    if (host::extent_bytes(t) + 256 > max_range)
        host::unsupported(what, " spans ", host::extent_bytes(t), " bytes; one descriptor covers ", max_range);
    if (elements(t) > UINT32_MAX) host::unsupported(what, " has more than 2^32 elements");
    check_alignment(t, what);
}

}  // namespace

std::span<const sl_dtype> vulkan_weight_types() {
    static constexpr sl_dtype kTypes[] = {SL_DTYPE_F32,  SL_DTYPE_F16,  SL_DTYPE_BF16, SL_DTYPE_Q8_0,
                                          SL_DTYPE_Q4_0, SL_DTYPE_Q4_K, SL_DTYPE_Q5_K, SL_DTYPE_Q6_K};
    return kTypes;
}

void check_kernel_limits(const Node& n, uint64_t max_range) {
    static const char* const kNames[kSlots] = {"src0", "src1", "src2", "src3", "output"};
    for (int s = 0; s < SL_MAX_SRC; ++s)
        if (n.src[s]) check_tensor(*n.src[s], kNames[s], max_range);
    check_tensor(n.out, kNames[kOutSlot], max_range);
    switch (n.out.op) {
        case SL_OP_MUL_MAT: {
            const sl_tensor& b = n.in(1);
            if (static_cast<uint64_t>(b.ne[2] * b.ne[3]) > kMaxGroups)
                host::unsupported("more than ", kMaxGroups, " batches");
            if (static_cast<uint64_t>((n.in(0).ne[1] + kTile - 1) / kTile) > kMaxGroups ||
                static_cast<uint64_t>((b.ne[1] + kTile - 1) / kTile) > kMaxGroups)
                host::unsupported("matrix too large for one dispatch");
            break;
        }
        case SL_OP_ATTENTION:
            if (n.in(0).ne[0] > kMaxHeadDim) host::unsupported("head size ", n.in(0).ne[0], " > ", kMaxHeadDim);
            break;
        default: break;
    }
}

Dispatch plan_node(const Node& n) {
    Dispatch d;
    for (int s = 0; s < SL_MAX_SRC; ++s) put_slot(d, s, n.src[s]);
    put_slot(d, kOutSlot, &n.out);
    for (int i = 0; i < SL_MAX_PARAMS; ++i) d.args[kParamWord + i] = static_cast<uint32_t>(n.out.params[i]);
    uint32_t* extra = &d.args[kExtraWord];
    const uint64_t out_elements = elements(n.out);
    switch (n.out.op) {
        case SL_OP_GET_ROWS:
            d.kernel = Kernel::GetRows;
            d.groups[0] = grid(out_elements, kElementwiseGroup);
            break;
        case SL_OP_MUL_MAT: {
            const sl_tensor& a = n.in(0);
            const sl_tensor& b = n.in(1);
            const uint64_t columns = static_cast<uint64_t>(b.ne[1] * b.ne[2] * b.ne[3]);
            if (b.ne[1] <= kMatVecColumns && columns <= kMaxGroups) {
                // Mat-vec: one workgroup per four rows of A and one column of B, reduced across the group.
                d.kernel = Kernel::MulMatVec;
                d.groups[0] = static_cast<uint32_t>(std::min<uint64_t>((a.ne[1] + kMatVecRows - 1) / kMatVecRows, kMaxGroups));
                d.groups[1] = static_cast<uint32_t>(columns);
            } else {
                // Mat-mat: 32 x 32 output tiles through shared memory.
                d.kernel = Kernel::MulMat;
                d.groups[0] = static_cast<uint32_t>((a.ne[1] + kTile - 1) / kTile);
                d.groups[1] = static_cast<uint32_t>((b.ne[1] + kTile - 1) / kTile);
                d.groups[2] = static_cast<uint32_t>(b.ne[2] * b.ne[3]);
            }
            break;
        }
        case SL_OP_ADD:
        case SL_OP_MUL:
            d.kernel = Kernel::Binary;
            extra[0] = n.out.op == SL_OP_ADD ? 0 : 1;
            d.groups[0] = grid(out_elements, kElementwiseGroup);
            break;
        case SL_OP_SCALE:
        case SL_OP_SILU:
            d.kernel = Kernel::Unary;
            extra[0] = n.out.op == SL_OP_SCALE ? 0 : 1;
            d.groups[0] = grid(out_elements, kElementwiseGroup);
            break;
        case SL_OP_RMS_NORM:
            d.kernel = Kernel::RmsNorm;
            d.groups[0] = static_cast<uint32_t>(std::min<uint64_t>(host::n_rows(n.out), kMaxGroups));
            break;
        case SL_OP_ROPE: {
            d.kernel = Kernel::Rope;
            const int32_t n_rot = n.param_i32(0);
            const float freq_base = n.param_f32(2);
            // The same float pow as the reference (and ggml): the angles are then
            // the same running product in the shader.
            const float theta_scale = n_rot > 0 ? std::pow(freq_base, -2.0f / static_cast<float>(n_rot)) : 1.0f;
            extra[0] = f32_bits(theta_scale);
            const uint64_t per_row = static_cast<uint64_t>(n_rot / 2 + (n.out.ne[0] - n_rot));
            extra[1] = static_cast<uint32_t>(per_row);
            d.groups[0] = grid(per_row * static_cast<uint64_t>(host::n_rows(n.out)), kElementwiseGroup);
            break;
        }
        case SL_OP_ATTENTION:
            d.kernel = Kernel::Attention;
            extra[0] = n.src[3] ? 1 : 0;
            d.groups[0] = static_cast<uint32_t>(std::min<uint64_t>(n.out.ne[1] * n.out.ne[2], kMaxGroups));
            break;
        case SL_OP_COPY: {
            d.kernel = Kernel::Copy;
            const sl_tensor& src = n.in(0);
            const uint64_t bytes = out_elements * (n.out.dtype == SL_DTYPE_F32 ? 4 : 2);
            if (src.dtype == n.out.dtype && host::is_contiguous(src) && host::is_contiguous(n.out) && bytes % 4 == 0) {
                // The same bytes at another place: a word copy (the shader checks the offsets).
                extra[0] = 1;
                extra[1] = static_cast<uint32_t>(bytes / 4);
                d.groups[0] = grid(bytes / 16, kElementwiseGroup);
            } else {
                d.groups[0] = grid(out_elements, kElementwiseGroup);
            }
            break;
        }
        default: host::unsupported("op ", n.out.op, " has no Vulkan kernel");
    }
    return d;
}

}  // namespace suanli::vk
