// Paths the tests read: shared models and reference data, the repo, the CLI binary.
#pragma once

#include <filesystem>
#include <string>

namespace suanli::test {

inline std::filesystem::path shared_dir() { return SUANLI_SHARED_DIR; }
inline std::filesystem::path source_dir() { return SUANLI_SOURCE_DIR; }
inline std::filesystem::path suanli_binary() { return SUANLI_BINARY; }
inline std::filesystem::path shared(const std::string& rel) { return shared_dir() / rel; }

}  // namespace suanli::test
