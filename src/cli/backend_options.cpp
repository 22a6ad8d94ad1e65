#include "cli/backend_options.h"

#include <charconv>
#include <cstdio>

#include "backends/cpu/cpu_backend.h"
#include "backends/plugin.h"
#include "backends/registry.h"
#include "cli/options.h"
#include "core/device.h"
#include "core/error.h"
#include "models/model.h"

namespace suanli {

void add_backend_options(OptionParser& parser, BackendOptions& options) {
    parser.option("--backend", &options.name, "NAME", "built-in backend to run on (see 'suanli backends')");
    parser.option("--backend-plugin", &options.plugin_path, "PATH",
                  "load a backend from a shared object built against include/suanli/backend.h");
}

void add_model_backend_options(OptionParser& parser, BackendOptions& options) {
    add_backend_options(parser, options);
    parser.option("-ngl,--gpu-layers", &options.gpu_layers, "N|auto",
                  "run the first N layers on --backend and the rest on the cpu backend; auto: as many as fit in "
                  "the device's memory (default: all on --backend)");
}

const sl_backend& resolve_backend(const BackendOptions& options) {
    if (!options.plugin_path.empty()) return load_backend_plugin(options.plugin_path);
    return find_backend(options.name);
}

ModelDevices::ModelDevices(const BackendOptions& options, int32_t threads) : offload_layers_(DevicePlan::kAll) {
    const sl_backend& backend = resolve_backend(options);
    if (!options.gpu_layers.empty()) {
        if (&backend == &cpu_backend())
            throw UsageError("--gpu-layers splits the layers between --backend and the cpu backend: choose another "
                             "--backend (e.g. vulkan)");
        const std::string& v = options.gpu_layers;
        if (v == "auto") {
            offload_layers_ = DevicePlan::kAuto;
        } else {
            int32_t n = -1;
            const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
            if (ec != std::errc() || end != v.data() + v.size() || n < 0)
                throw UsageError(cat("--gpu-layers: expected a layer count or 'auto', got '", v, "'"));
            offload_layers_ = n;
        }
    }
    backend_ = std::make_unique<Device>(backend, 0, threads);
    if (offload_layers_ != DevicePlan::kAll) cpu_ = std::make_unique<Device>(cpu_backend(), 0, threads);
}

ModelDevices::~ModelDevices() = default;

std::unique_ptr<Model> ModelDevices::load(const std::filesystem::path& path, int64_t context) {
    if (!cpu_) return Model::load(path, *backend_);
    DevicePlan plan{cpu_.get(), backend_.get(), offload_layers_, context};
    std::unique_ptr<Model> model = Model::load(path, plan);
    std::fprintf(stderr, "gpu-layers%s: %s\n", offload_layers_ == DevicePlan::kAuto ? " auto" : "",
                 model->placement_text().c_str());
    return model;
}

}  // namespace suanli
