#include "vk_pipelines.h"

#include <cstdlib>
#include <string>

#include "backends/host/abi_errors.h"
#include "vk_spirv.h"

namespace suanli::vk {
namespace {

// The embedded shader of each kernel: "@" is replaced by the weight type
// (mul_mat_q4_k), "*" by _sg (subgroup reductions) or _sh (shared memory).
const char* const kShaderNames[] = {"mul_mat_vec_@*", "mul_mat_@", "get_rows",  "binary", "unary",
                                    "rms_norm*",      "rope",      "attention*", "copy"};
static_assert(std::size(kShaderNames) == static_cast<size_t>(Kernel::Count));

const char* type_suffix(int32_t type) {
    switch (type) {
        case SL_DTYPE_F32: return "f32";
        case SL_DTYPE_F16: return "f16";
        case SL_DTYPE_BF16: return "bf16";
        case SL_DTYPE_Q8_0: return "q8_0";
        case SL_DTYPE_Q4_0: return "q4_0";
        case SL_DTYPE_Q4_K: return "q4_k";
        case SL_DTYPE_Q5_K: return "q5_k";
        case SL_DTYPE_Q6_K: return "q6_k";
        default: return "unknown";
    }
}

}  // namespace

Pipelines::Pipelines(Context& context) : context_(context) {
    // SUANLI_VULKAN_NO_SUBGROUPS=1 forces the shared-memory kernels, to test them on any device.
    const char* env = std::getenv("SUANLI_VULKAN_NO_SUBGROUPS");
    subgroups_ = context.subgroup_arithmetic() && !(env && *env && std::string(env) != "0");
    const VkDevice device = context.device();

    VkDescriptorSetLayoutBinding bindings[kBindings];
    for (uint32_t i = 0; i < kBindings; ++i)
        bindings[i] = {i, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1, VK_SHADER_STAGE_COMPUTE_BIT, nullptr};
    VkDescriptorSetLayoutCreateInfo set_info{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
    set_info.bindingCount = kBindings;
    set_info.pBindings = bindings;
    VkDescriptorSetLayout set_layout = VK_NULL_HANDLE;
    check(vkCreateDescriptorSetLayout(device, &set_info, nullptr, &set_layout), "vkCreateDescriptorSetLayout");
    set_layout_ = Owned<VkDescriptorSetLayout>(
        set_layout, [device](VkDescriptorSetLayout h) { vkDestroyDescriptorSetLayout(device, h, nullptr); });

    VkPipelineLayoutCreateInfo layout_info{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
    layout_info.setLayoutCount = 1;
    layout_info.pSetLayouts = &set_layout;
    VkPipelineLayout layout = VK_NULL_HANDLE;
    check(vkCreatePipelineLayout(device, &layout_info, nullptr, &layout), "vkCreatePipelineLayout");
    layout_ = Owned<VkPipelineLayout>(layout, [device](VkPipelineLayout h) { vkDestroyPipelineLayout(device, h, nullptr); });
}

VkPipeline Pipelines::get(Kernel kernel, int32_t weight_type) {
    std::string name = kShaderNames[static_cast<size_t>(kernel)];
    if (const size_t at = name.find('@'); at != std::string::npos) name.replace(at, 1, type_suffix(weight_type));
    if (name.back() == '*') name = name.substr(0, name.size() - 1) + (subgroups_ ? "_sg" : "_sh");
    Built& built = built_[name];
    if (built.pipeline) return built.pipeline;
    const VkDevice device = context_.device();
    const std::span<const uint32_t> code = spirv_blob(name);
    if (code.empty()) throw host::OpError(SL_ERR_DEVICE, cat("shader ", name, " is not embedded in this build"));
    VkShaderModuleCreateInfo module_info{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
    module_info.codeSize = code.size_bytes();
    module_info.pCode = code.data();
    VkShaderModule module = VK_NULL_HANDLE;
    check(vkCreateShaderModule(device, &module_info, nullptr, &module), "vkCreateShaderModule");
    built.module = Owned<VkShaderModule>(module, [device](VkShaderModule h) { vkDestroyShaderModule(device, h, nullptr); });

    VkComputePipelineCreateInfo info{VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
    info.stage = {VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO};
    info.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
    info.stage.module = module;
    info.stage.pName = "main";
    info.layout = layout_;
    VkPipeline pipeline = VK_NULL_HANDLE;
    check(vkCreateComputePipelines(device, VK_NULL_HANDLE, 1, &info, nullptr, &pipeline),
          cat("vkCreateComputePipelines (", name, ")").c_str());
    built.pipeline = Owned<VkPipeline>(pipeline, [device](VkPipeline h) { vkDestroyPipeline(device, h, nullptr); });
    return pipeline;
}

}  // namespace suanli::vk
