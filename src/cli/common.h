// Helpers shared by the CLI commands.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace suanli {

// The bundled demo model: $SUANLI_MODEL, else models/stories260K.gguf in the
// working directory, else the one in the source tree this binary was built from.
std::filesystem::path default_model_path();

// Physical cores, as the default thread count (never oversubscribe).
int32_t default_thread_count();

// Whole file as bytes; throws Error naming the path.
std::string read_text_file(const std::filesystem::path& path);

// Fails before any work if a file cannot be written at `out` (a directory, a
// missing folder, no permission), by creating and removing `out`.tmp.
void check_output_writable(const std::filesystem::path& out);

// A tensor shape for progress lines: "2048x5632".
std::string shape_text(const std::vector<int64_t>& ne);

}  // namespace suanli
