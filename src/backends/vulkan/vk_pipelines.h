// The compute pipelines, one per kernel, all with one layout: binding 0 is
// the node's argument block (shapes, strides, offsets, params; see
// shaders/common.glsl), bindings 1-4 the operands src[0..3], binding 5 the
// output. Pipelines are built on first use, so opening a device (and listing
// backends) compiles nothing.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "suanli/backend.h"
#include "vk_context.h"

namespace suanli::vk {

enum class Kernel { MulMatVec, MulMat, GetRows, Binary, Unary, RmsNorm, Rope, Attention, Copy, Count };

inline constexpr uint32_t kBindings = 6;  // args, src0..src3, dst

class Pipelines {
public:
    explicit Pipelines(Context& context);

    // The pipeline of `kernel`; the mul_mat kernels have one per weight type.
    VkPipeline get(Kernel kernel, int32_t weight_type = SL_DTYPE_F32);
    VkPipelineLayout layout() const { return layout_; }
    VkDescriptorSetLayout set_layout() const { return set_layout_; }
    // Whether the reduction kernels use subgroup operations on this device.
    bool subgroups() const { return subgroups_; }

private:
    Context& context_;
    bool subgroups_;
    Owned<VkDescriptorSetLayout> set_layout_;
    Owned<VkPipelineLayout> layout_;
    struct Built {
        Owned<VkShaderModule> module;
        Owned<VkPipeline> pipeline;
    };
    std::map<std::string, Built> built_;  // by shader name
};

}  // namespace suanli::vk
