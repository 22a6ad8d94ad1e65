// The backend options every command accepts: --backend NAME, --backend-plugin PATH;
// and, for the commands that run a model, --gpu-layers (partial offload).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "suanli/backend.h"

namespace suanli {

class Device;
class Model;
class OptionParser;

struct BackendOptions {
    std::string name = "cpu";  // the optimized CPU backend; "reference" is the oracle
    std::string plugin_path;
    std::string gpu_layers;    // empty: every layer on the backend; N or "auto": that many, the rest on cpu
};

void add_backend_options(OptionParser& parser, BackendOptions& options);
// The same plus -ngl/--gpu-layers.
void add_model_backend_options(OptionParser& parser, BackendOptions& options);

// The plugin when one was given, else the built-in backend of that name.
// Throws Error naming the unknown backend or the plugin's problem.
const sl_backend& resolve_backend(const BackendOptions& options);

// The devices a command runs a model on: the backend's, plus the cpu backend's
// for the layers --gpu-layers leaves off it.
class ModelDevices {
public:
    // Throws UsageError for a --gpu-layers value that is not a count or "auto",
    // or one given with the cpu backend itself.
    ModelDevices(const BackendOptions& options, int32_t threads);
    ~ModelDevices();

    // Loads the model over the devices; `context` is the KV cache size to leave
    // room for when --gpu-layers is auto. Says on stderr where layers went when split.
    std::unique_ptr<Model> load(const std::filesystem::path& path, int64_t context);

    Device& backend_device() { return *backend_; }

private:
    std::unique_ptr<Device> backend_, cpu_;
    int32_t offload_layers_;
};

}  // namespace suanli
