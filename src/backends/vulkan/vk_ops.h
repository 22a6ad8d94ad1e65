// Node -> dispatch: which kernel runs a node, its argument block (the layout
// shaders/common.glsl reads) and its workgroup counts; and the limits of these
// kernels beyond the standard's rules (alignment, 32-bit offsets, head size),
// so supports_op can answer honestly.
#pragma once

#include <array>
#include <cstdint>

#include "backends/host/node_rules.h"
#include "vk_pipelines.h"

namespace suanli::vk {

using host::Node;

inline constexpr uint32_t kArgWords = 64;  // 256 bytes per node
inline constexpr int kSlots = 5;           // src0..src3, then the output
inline constexpr int kOutSlot = 4;
// Words of the argument block (see common.glsl).
inline constexpr uint32_t kSlotWords = 10;  // per slot: offset, ne[4], nb[4], dtype
inline constexpr uint32_t kParamWord = 50;  // the node's params[0..7]
inline constexpr uint32_t kExtraWord = 58;  // per-kernel values computed on the host
inline constexpr uint32_t kStatusDetailWord = 62;
inline constexpr uint32_t kStatusWord = 63;  // nonzero: the kernel found a bad input (GET_ROWS id)

struct Dispatch {
    Kernel kernel = Kernel::Count;
    std::array<uint32_t, kArgWords> args{};
    uint32_t groups[3] = {1, 1, 1};
    const sl_tensor* slots[kSlots] = {};  // nullptr: unused slot
};

// The weight types MUL_MAT and GET_ROWS take on this backend.
std::span<const sl_dtype> vulkan_weight_types();

// Throws OpError(SL_ERR_UNSUPPORTED) when a checked node is outside what the
// kernels handle on a device whose storage descriptors cover `max_range` bytes.
void check_kernel_limits(const Node& node, uint64_t max_range);

// The dispatch of a checked node; slot offsets (word 0 of each slot) are left
// for the recorder, which knows where each buffer range is bound.
Dispatch plan_node(const Node& node);

}  // namespace suanli::vk
