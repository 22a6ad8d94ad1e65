#include "cli/backend_options.h"

#include "backends/plugin.h"
#include "backends/registry.h"
#include "cli/options.h"

namespace suanli {

void add_backend_options(OptionParser& parser, BackendOptions& options) {
    parser.option("--backend", &options.name, "NAME", "built-in backend to run on (see 'suanli backends')");
    parser.option("--backend-plugin", &options.plugin_path, "PATH",
                  "load a backend from a shared object built against include/suanli/backend.h");
}

const sl_backend& resolve_backend(const BackendOptions& options) {
    if (!options.plugin_path.empty()) return load_backend_plugin(options.plugin_path);
    return find_backend(options.name);
}

}  // namespace suanli
