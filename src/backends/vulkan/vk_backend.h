// The Vulkan compute backend, behind the same C ABI as every backend.
// Light on purpose: no Vulkan header, so including it costs nothing.
#pragma once

#include "suanli/backend.h"

namespace suanli {

const sl_backend& vulkan_backend();

}  // namespace suanli
