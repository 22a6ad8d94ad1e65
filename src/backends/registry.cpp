#include "backends/registry.h"

#include <array>
#include <string>

#include "backends/cpu/cpu_backend.h"
#include "backends/reference/reference_backend.h"
#ifdef SUANLI_HAVE_VULKAN
#include "backends/vulkan/vk_backend.h"
#endif
#include "core/error.h"

namespace suanli {

std::span<const sl_backend* const> builtin_backends() {
#ifdef SUANLI_HAVE_VULKAN
    // Listed even without a Vulkan device: it then reports no devices, and
    // opening one fails with a message saying so.
    static const std::array<const sl_backend*, 3> backends{&reference_backend(), &cpu_backend(), &vulkan_backend()};
#else
    static const std::array<const sl_backend*, 2> backends{&reference_backend(), &cpu_backend()};
#endif
    return backends;
}

const sl_backend& find_backend(std::string_view name) {
    std::string known;
    for (const sl_backend* b : builtin_backends()) {
        if (name == b->name) return *b;
        known += cat(known.empty() ? "" : ", ", b->name);
    }
    fail("unknown backend '", name, "' (available: ", known, ")");
}

}  // namespace suanli
