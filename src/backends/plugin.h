// Loading a backend built elsewhere, as a shared object exporting suanli_backend_entry.
#pragma once

#include <filesystem>

#include "suanli/backend.h"

namespace suanli {

// Opens the shared object (once per path; it stays loaded for the life of the
// process), calls its entry point and checks the ABI version and table size.
// Throws Error naming the path and the problem: not found, not a shared object,
// no entry symbol, incompatible ABI version, missing required functions.
const sl_backend& load_backend_plugin(const std::filesystem::path& path);

}  // namespace suanli
