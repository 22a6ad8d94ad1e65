// The backends this build knows by name.
#pragma once

#include <span>
#include <string_view>

#include "suanli/backend.h"

namespace suanli {

std::span<const sl_backend* const> builtin_backends();
// Throws Error listing the known names when `name` is not one of them.
const sl_backend& find_backend(std::string_view name);

}  // namespace suanli
