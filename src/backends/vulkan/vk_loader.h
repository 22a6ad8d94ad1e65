// The Vulkan API as function pointers loaded at run time: the loader library
// (libvulkan.so.1) is opened with dlopen on first use, so a machine without
// Vulkan still runs suanli (this backend then reports no devices) instead of
// failing to start. Include this, never <vulkan/vulkan.h> directly.
#pragma once

#ifndef VK_NO_PROTOTYPES
#define VK_NO_PROTOTYPES
#endif
#include <vulkan/vulkan.h>

#include <string>

// Every function the backend calls, except vkCreateInstance (resolved first).
#define SUANLI_VK_FUNCTIONS(X)                                                                              \
    X(vkEnumeratePhysicalDevices) X(vkGetPhysicalDeviceProperties) X(vkGetPhysicalDeviceProperties2)        \
    X(vkGetPhysicalDeviceMemoryProperties) X(vkGetPhysicalDeviceQueueFamilyProperties) X(vkCreateDevice)    \
    X(vkDestroyDevice) X(vkGetDeviceQueue) X(vkDeviceWaitIdle) X(vkCreateCommandPool)                       \
    X(vkDestroyCommandPool) X(vkAllocateCommandBuffers) X(vkResetCommandBuffer) X(vkBeginCommandBuffer)     \
    X(vkEndCommandBuffer) X(vkCreateFence) X(vkDestroyFence) X(vkResetFences) X(vkWaitForFences)            \
    X(vkQueueSubmit) X(vkCreateBuffer) X(vkDestroyBuffer) X(vkGetBufferMemoryRequirements)                  \
    X(vkAllocateMemory) X(vkFreeMemory) X(vkBindBufferMemory) X(vkMapMemory) X(vkCmdCopyBuffer)             \
    X(vkCmdPipelineBarrier) X(vkCmdBindPipeline) X(vkCmdBindDescriptorSets) X(vkCmdDispatch)                \
    X(vkCreateDescriptorSetLayout) X(vkDestroyDescriptorSetLayout) X(vkCreatePipelineLayout)                \
    X(vkDestroyPipelineLayout) X(vkCreateShaderModule) X(vkDestroyShaderModule)                             \
    X(vkCreateComputePipelines) X(vkDestroyPipeline) X(vkCreateDescriptorPool) X(vkDestroyDescriptorPool)   \
    X(vkResetDescriptorPool) X(vkAllocateDescriptorSets) X(vkUpdateDescriptorSets)                         \
    X(vkCreateQueryPool) X(vkDestroyQueryPool) X(vkCmdResetQueryPool) X(vkCmdWriteTimestamp)                \
    X(vkGetQueryPoolResults)

namespace suanli::vk {

#define SUANLI_VK_DECLARE(name) extern PFN_##name name;
SUANLI_VK_DECLARE(vkCreateInstance)
SUANLI_VK_FUNCTIONS(SUANLI_VK_DECLARE)
#undef SUANLI_VK_DECLARE

// Opens the loader library and resolves vkCreateInstance; false (and why) when it cannot.
bool load_vulkan_library(std::string& why);
// Resolves every other function through `instance`; false (and why) when one is missing.
bool load_instance_functions(VkInstance instance, std::string& why);

}  // namespace suanli::vk
