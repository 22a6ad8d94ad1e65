// The backend options every command accepts: --backend NAME, --backend-plugin PATH.
#pragma once

#include <string>

#include "suanli/backend.h"

namespace suanli {

class OptionParser;

struct BackendOptions {
    std::string name = "cpu";  // the optimized CPU backend; "reference" is the oracle
    std::string plugin_path;
};

void add_backend_options(OptionParser& parser, BackendOptions& options);

// The plugin when one was given, else the built-in backend of that name.
// Throws Error naming the unknown backend or the plugin's problem.
const sl_backend& resolve_backend(const BackendOptions& options);

}  // namespace suanli
