#include "vk_loader.h"

#include <dlfcn.h>

#include "core/error.h"

namespace suanli::vk {

#define SUANLI_VK_DEFINE(name) PFN_##name name = nullptr;
SUANLI_VK_DEFINE(vkCreateInstance)
SUANLI_VK_FUNCTIONS(SUANLI_VK_DEFINE)
#undef SUANLI_VK_DEFINE

namespace {
PFN_vkGetInstanceProcAddr g_get_instance_proc = nullptr;
}  // namespace

bool load_vulkan_library(std::string& why) {
    // Never closed: the driver it loads lives as long as the process.
    void* lib = dlopen("libvulkan.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib) lib = dlopen("libvulkan.so", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        why = "the Vulkan loader libvulkan.so.1 is not installed (Debian: libvulkan1)";
        return false;
    }
    g_get_instance_proc = reinterpret_cast<PFN_vkGetInstanceProcAddr>(dlsym(lib, "vkGetInstanceProcAddr"));
    if (g_get_instance_proc)
        vkCreateInstance = reinterpret_cast<PFN_vkCreateInstance>(g_get_instance_proc(nullptr, "vkCreateInstance"));
    if (!vkCreateInstance) {
        why = "the Vulkan loader has no vkGetInstanceProcAddr/vkCreateInstance";
        return false;
    }
    return true;
}

bool load_instance_functions(VkInstance instance, std::string& why) {
#define SUANLI_VK_LOAD(name)                                                                  \
    name = reinterpret_cast<PFN_##name>(g_get_instance_proc(instance, #name));                \
    if (!name) {                                                                              \
        why = cat("the Vulkan loader does not provide " #name);                               \
        return false;                                                                         \
    }
    SUANLI_VK_FUNCTIONS(SUANLI_VK_LOAD)
#undef SUANLI_VK_LOAD
    return true;
}

}  // namespace suanli::vk
