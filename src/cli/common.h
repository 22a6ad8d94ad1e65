// Helpers shared by the CLI commands.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace suanli {

// The bundled demo model: $SUANLI_MODEL, else models/stories260K.gguf in the
// working directory, else the one in the source tree this binary was built from.
std::filesystem::path default_model_path();

// Physical cores, as the default thread count (never oversubscribe).
int32_t default_thread_count();

// Whole file as bytes; throws Error naming the path.
std::string read_text_file(const std::filesystem::path& path);

}  // namespace suanli
