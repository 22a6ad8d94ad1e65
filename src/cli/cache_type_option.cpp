#include "cli/cache_type_option.h"

#include <algorithm>
#include <cctype>

#include "cli/options.h"

namespace suanli {

void add_cache_type_option(OptionParser& parser, std::string& name) {
    parser.option("--cache-type", &name, "TYPE",
                  "KV cache element type: f32 or f16 (half the memory; llama.cpp's default)");
}

DType cache_type(const std::string& name) {
    std::string lower = name;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    if (lower == "f32") return DType::F32;
    if (lower == "f16") return DType::F16;
    throw UsageError("--cache-type: expected f32 or f16, got '" + name + "'");
}

}  // namespace suanli
