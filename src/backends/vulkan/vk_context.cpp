#include "vk_context.h"

#include <algorithm>
#include <cstring>

#include "backends/host/abi_errors.h"
#include "vk_buffers.h"

namespace suanli::vk {
namespace {

// Lower is better: a real GPU before a software one.
int type_rank(VkPhysicalDeviceType type) {
    switch (type) {
        case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return 0;
        case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return 1;
        case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return 2;
        case VK_PHYSICAL_DEVICE_TYPE_CPU: return 3;
        default: return 4;
    }
}

bool compute_family(VkPhysicalDevice physical, uint32_t* family) {
    uint32_t n = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(physical, &n, nullptr);
    std::vector<VkQueueFamilyProperties> families(n);
    vkGetPhysicalDeviceQueueFamilyProperties(physical, &n, families.data());
    // A compute-only family first (on GPUs it is the async compute queue), else any with compute.
    for (int pass = 0; pass < 2; ++pass)
        for (uint32_t i = 0; i < n; ++i) {
            const VkQueueFlags f = families[i].queueFlags;
            if (!(f & VK_QUEUE_COMPUTE_BIT) || families[i].queueCount == 0) continue;
            if (pass == 0 && (f & VK_QUEUE_GRAPHICS_BIT)) continue;
            *family = i;
            return true;
        }
    return false;
}

// The instance lives for the whole process: device_count() is asked often
// (listing backends) and creating an instance loads every driver.
struct Loader {
    VkInstance instance = VK_NULL_HANDLE;
    std::vector<VkPhysicalDevice> devices;
    std::string reason;

    Loader() {
        if (!load_vulkan_library(reason)) return;
        VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
        app.pApplicationName = "suanli";
        app.pEngineName = "suanli";
        app.apiVersion = VK_API_VERSION_1_1;
        VkInstanceCreateInfo info{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
        info.pApplicationInfo = &app;
        const VkResult r = vkCreateInstance(&info, nullptr, &instance);
        if (r != VK_SUCCESS) {
            instance = VK_NULL_HANDLE;
            reason = r == VK_ERROR_INCOMPATIBLE_DRIVER ? "no Vulkan driver (ICD) installed"
                                                       : cat("vkCreateInstance failed: ", result_name(r));
            return;
        }
        if (!load_instance_functions(instance, reason)) {
            instance = VK_NULL_HANDLE;  // kept alive: it cannot be destroyed without its functions
            return;
        }
        uint32_t n = 0;
        vkEnumeratePhysicalDevices(instance, &n, nullptr);
        std::vector<VkPhysicalDevice> all(n);
        vkEnumeratePhysicalDevices(instance, &n, all.data());
        all.resize(n);
        for (VkPhysicalDevice d : all) {
            VkPhysicalDeviceProperties p;
            vkGetPhysicalDeviceProperties(d, &p);
            uint32_t family;
            if (p.apiVersion >= VK_API_VERSION_1_1 && compute_family(d, &family)) devices.push_back(d);
        }
        std::stable_sort(devices.begin(), devices.end(), [](VkPhysicalDevice a, VkPhysicalDevice b) {
            VkPhysicalDeviceProperties pa, pb;
            vkGetPhysicalDeviceProperties(a, &pa);
            vkGetPhysicalDeviceProperties(b, &pb);
            return type_rank(pa.deviceType) < type_rank(pb.deviceType);
        });
        if (devices.empty()) reason = "no Vulkan 1.1 device with a compute queue";
    }
    // Never destroyed: drivers may already be unloaded during static destruction.
};

Loader& loader() {
    static Loader* l = new Loader;
    return *l;
}

}  // namespace

const std::vector<VkPhysicalDevice>& physical_devices() { return loader().devices; }
const std::string& unavailable_reason() { return loader().reason; }
VkInstance instance() { return loader().instance; }

const char* result_name(VkResult r) {
    switch (r) {
        case VK_SUCCESS: return "VK_SUCCESS";
        case VK_NOT_READY: return "VK_NOT_READY";
        case VK_TIMEOUT: return "VK_TIMEOUT";
        case VK_ERROR_OUT_OF_HOST_MEMORY: return "VK_ERROR_OUT_OF_HOST_MEMORY";
        case VK_ERROR_OUT_OF_DEVICE_MEMORY: return "VK_ERROR_OUT_OF_DEVICE_MEMORY";
        case VK_ERROR_INITIALIZATION_FAILED: return "VK_ERROR_INITIALIZATION_FAILED";
        case VK_ERROR_DEVICE_LOST: return "VK_ERROR_DEVICE_LOST";
        case VK_ERROR_MEMORY_MAP_FAILED: return "VK_ERROR_MEMORY_MAP_FAILED";
        case VK_ERROR_EXTENSION_NOT_PRESENT: return "VK_ERROR_EXTENSION_NOT_PRESENT";
        case VK_ERROR_FEATURE_NOT_PRESENT: return "VK_ERROR_FEATURE_NOT_PRESENT";
        case VK_ERROR_INCOMPATIBLE_DRIVER: return "VK_ERROR_INCOMPATIBLE_DRIVER";
        case VK_ERROR_TOO_MANY_OBJECTS: return "VK_ERROR_TOO_MANY_OBJECTS";
        case VK_ERROR_OUT_OF_POOL_MEMORY: return "VK_ERROR_OUT_OF_POOL_MEMORY";
        default: return "VkResult error";
    }
}

void check(VkResult result, const char* what) {
    if (result == VK_SUCCESS) return;
    const sl_status status = result == VK_ERROR_OUT_OF_DEVICE_MEMORY || result == VK_ERROR_OUT_OF_HOST_MEMORY
                                 ? SL_ERR_OUT_OF_MEMORY
                                 : SL_ERR_DEVICE;
    throw host::OpError(status, cat(what, " failed: ", result_name(result), " (", static_cast<int>(result), ")"));
}

Context::Context(VkPhysicalDevice physical) : physical_(physical) {
    vkGetPhysicalDeviceProperties(physical, &properties_);
    vkGetPhysicalDeviceMemoryProperties(physical, &memory_);

    VkPhysicalDeviceSubgroupProperties subgroup{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
    VkPhysicalDeviceProperties2 props2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
    props2.pNext = &subgroup;
    vkGetPhysicalDeviceProperties2(physical, &props2);
    const VkSubgroupFeatureFlags needed = VK_SUBGROUP_FEATURE_BASIC_BIT | VK_SUBGROUP_FEATURE_ARITHMETIC_BIT;
    subgroup_arithmetic_ = (subgroup.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) &&
                           (subgroup.supportedOperations & needed) == needed && subgroup.subgroupSize >= 1;
    subgroup_size_ = std::max(1u, subgroup.subgroupSize);

    if (!compute_family(physical, &queue_family_)) host::unsupported("the device has no compute queue");
    const float priority = 1.0f;
    VkDeviceQueueCreateInfo queue{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
    queue.queueFamilyIndex = queue_family_;
    queue.queueCount = 1;
    queue.pQueuePriorities = &priority;
    VkDeviceCreateInfo info{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
    info.queueCreateInfoCount = 1;
    info.pQueueCreateInfos = &queue;
    VkDevice device = VK_NULL_HANDLE;
    check(vkCreateDevice(physical, &info, nullptr, &device), "vkCreateDevice");
    device_ = Owned<VkDevice>(device, [](VkDevice d) { vkDestroyDevice(d, nullptr); });
    vkGetDeviceQueue(device, queue_family_, 0, &queue_);

    VkCommandPoolCreateInfo pool{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
    pool.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
    pool.queueFamilyIndex = queue_family_;
    VkCommandPool p = VK_NULL_HANDLE;
    check(vkCreateCommandPool(device, &pool, nullptr, &p), "vkCreateCommandPool");
    pool_ = Owned<VkCommandPool>(p, [device](VkCommandPool h) { vkDestroyCommandPool(device, h, nullptr); });

    VkCommandBufferAllocateInfo alloc{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
    alloc.commandPool = p;
    alloc.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
    alloc.commandBufferCount = 1;
    check(vkAllocateCommandBuffers(device, &alloc, &command_buffer_), "vkAllocateCommandBuffers");

    VkFenceCreateInfo fence{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    VkFence f = VK_NULL_HANDLE;
    check(vkCreateFence(device, &fence, nullptr, &f), "vkCreateFence");
    fence_ = Owned<VkFence>(f, [device](VkFence h) { vkDestroyFence(device, h, nullptr); });

    staging_ = std::make_unique<Staging>();
}

Context::~Context() {
    if (device_) vkDeviceWaitIdle(device_);
    staging_.reset();  // before the device
}

uint64_t Context::device_local_bytes() const {
    uint64_t total = 0;
    for (uint32_t i = 0; i < memory_.memoryHeapCount; ++i)
        if (memory_.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) total += memory_.memoryHeaps[i].size;
    return total;
}

uint32_t Context::memory_type(uint32_t type_bits, VkMemoryPropertyFlags wanted) const {
    for (uint32_t i = 0; i < memory_.memoryTypeCount; ++i)
        if ((type_bits & (1u << i)) && (memory_.memoryTypes[i].propertyFlags & wanted) == wanted) return i;
    throw host::OpError(SL_ERR_OUT_OF_MEMORY, cat("no memory type with properties 0x", wanted));
}

uint32_t Context::memory_type(uint32_t type_bits, VkMemoryPropertyFlags wanted, VkMemoryPropertyFlags preferred) const {
    const VkMemoryPropertyFlags both = wanted | preferred;
    for (uint32_t i = 0; i < memory_.memoryTypeCount; ++i)
        if ((type_bits & (1u << i)) && (memory_.memoryTypes[i].propertyFlags & both) == both) return i;
    return memory_type(type_bits, wanted);
}

void Context::begin() {
    check(vkResetCommandBuffer(command_buffer_, 0), "vkResetCommandBuffer");
    VkCommandBufferBeginInfo begin{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    begin.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
    check(vkBeginCommandBuffer(command_buffer_, &begin), "vkBeginCommandBuffer");
}

void Context::submit_and_wait() {
    check(vkEndCommandBuffer(command_buffer_), "vkEndCommandBuffer");
    VkSubmitInfo submit{VK_STRUCTURE_TYPE_SUBMIT_INFO};
    submit.commandBufferCount = 1;
    submit.pCommandBuffers = &command_buffer_;
    VkFence f = fence_;
    check(vkResetFences(device_, 1, &f), "vkResetFences");
    check(vkQueueSubmit(queue_, 1, &submit, f), "vkQueueSubmit");
    check(vkWaitForFences(device_, 1, &f, VK_TRUE, UINT64_MAX), "vkWaitForFences");
}

}  // namespace suanli::vk
