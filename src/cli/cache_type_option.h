// --cache-type: the element type of the KV cache, for the commands that run a model.
#pragma once

#include <string>

#include "core/dtype.h"

namespace suanli {

class OptionParser;

// Adds --cache-type f32|f16 (default f32) writing into `name`.
void add_cache_type_option(OptionParser& parser, std::string& name);

// The type `name` stands for (f32 or f16, any case); throws UsageError for anything else.
DType cache_type(const std::string& name);

}  // namespace suanli
