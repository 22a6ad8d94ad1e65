// The Vulkan side of one suanli device: the process-wide instance and its list
// of usable physical devices (those with a compute queue), and a Context per
// opened device (logical device, compute queue, command pool, fence, and the
// limits the kernels depend on). Only files of this backend include it.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "vk_handle.h"

namespace suanli::vk {

// The physical devices suanli can use, best first (discrete, integrated,
// virtual, then CPU implementations such as lavapipe). Empty when there is no
// Vulkan driver; unavailable_reason() then says why.
const std::vector<VkPhysicalDevice>& physical_devices();
const std::string& unavailable_reason();
VkInstance instance();

// Throws OpError(SL_ERR_DEVICE) naming `what` when `result` is not VK_SUCCESS.
void check(VkResult result, const char* what);
const char* result_name(VkResult result);

struct Staging;  // vk_buffers.cpp: the host-visible buffer for uploads and downloads

class Context {
public:
    explicit Context(VkPhysicalDevice physical);
    ~Context();
    Context(const Context&) = delete;
    Context& operator=(const Context&) = delete;

    VkDevice device() const { return device_; }
    VkPhysicalDevice physical() const { return physical_; }
    const VkPhysicalDeviceProperties& properties() const { return properties_; }
    // subgroupAdd/subgroupMax in compute shaders (KHR arithmetic subgroup ops).
    bool subgroup_arithmetic() const { return subgroup_arithmetic_; }
    uint32_t subgroup_size() const { return subgroup_size_; }
    // The largest range one storage-buffer descriptor may cover.
    uint64_t max_storage_range() const { return properties_.limits.maxStorageBufferRange; }
    uint64_t storage_offset_alignment() const { return properties_.limits.minStorageBufferOffsetAlignment; }
    // Device-local heap sizes in bytes (the device's "VRAM").
    uint64_t device_local_bytes() const;

    // A memory type among `type_bits` with all of `wanted`; throws when none exists.
    uint32_t memory_type(uint32_t type_bits, VkMemoryPropertyFlags wanted) const;
    // As above, preferring `preferred` on top of `wanted` when such a type exists.
    uint32_t memory_type(uint32_t type_bits, VkMemoryPropertyFlags wanted, VkMemoryPropertyFlags preferred) const;

    // The device's one command buffer: begin() resets and opens it,
    // submit_and_wait() closes, submits and waits for it. Callers hold mutex()
    // around the pair, so uploads and graphs never share it.
    std::mutex& mutex() { return mutex_; }
    VkCommandBuffer command_buffer() const { return command_buffer_; }
    void begin();
    void submit_and_wait();

    Staging& staging() { return *staging_; }

private:
    VkPhysicalDevice physical_;
    VkPhysicalDeviceProperties properties_{};
    VkPhysicalDeviceMemoryProperties memory_{};
    bool subgroup_arithmetic_ = false;
    uint32_t subgroup_size_ = 1;
    uint32_t queue_family_ = 0;
    // Destroyed in reverse order: the device last.
    Owned<VkDevice> device_;
    VkQueue queue_ = VK_NULL_HANDLE;
    Owned<VkCommandPool> pool_;
    VkCommandBuffer command_buffer_ = VK_NULL_HANDLE;
    Owned<VkFence> fence_;
    std::unique_ptr<Staging> staging_;
    std::mutex mutex_;
};

}  // namespace suanli::vk
