// placeholder: the plugin loader is being written
#include "backends/plugin.h"

#include "core/error.h"

namespace suanli {

const sl_backend& load_backend_plugin(const std::filesystem::path& path) {
    fail("cannot load backend plugin ", path.string(), ": plugins are not supported yet");
}

}  // namespace suanli
