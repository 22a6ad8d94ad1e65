// The compiled compute shaders, embedded at build time (embed_spirv.cmake).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace suanli::vk {

// The SPIR-V words of shader `name` (e.g. "mul_mat_vec_sg"); empty if unknown.
std::span<const uint32_t> spirv_blob(std::string_view name);

}  // namespace suanli::vk
