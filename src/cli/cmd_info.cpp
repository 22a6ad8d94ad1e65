// suanli info: what a model holds (a GGUF file or a Hugging Face directory),
// without loading its weights.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "cli/backend_options.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "core/error.h"
#include "formats/gguf.h"
#include "formats/safetensors.h"
#include "models/hf_config.h"
#include "models/model_config.h"
#include "tokenizer/hf_tokenizer_json.h"

namespace suanli {
namespace {

std::string human_bytes(uint64_t n) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = static_cast<double>(n);
    int u = 0;
    while (v >= 1024 && u < 4) v /= 1024, ++u;
    char buf[32];
    std::snprintf(buf, sizeof buf, u ? "%.2f %s" : "%.0f %s", v, units[u]);
    return buf;
}

std::string value_text(const GgufValue& v) {
    switch (v.type) {
        case GgufType::STRING: {
            std::string s(v.as_string.substr(0, 80));
            return "\"" + s + (v.as_string.size() > 80 ? "...\"" : "\"");
        }
        case GgufType::BOOL: return v.as_bool ? "true" : "false";
        case GgufType::F32:
        case GgufType::F64: return cat(v.as_f64);
        case GgufType::ARRAY: return cat("[", v.array_size, " x ", gguf_type_name(v.array_type), "]");
        case GgufType::I8:
        case GgufType::I16:
        case GgufType::I32:
        case GgufType::I64: return cat(v.as_i64);
        default: return cat(v.as_u64);
    }
}

void print_config(const ModelConfig& c) {
    std::printf("architecture:    %s\n", c.architecture.c_str());
    if (!c.name.empty()) std::printf("name:            %s\n", c.name.c_str());
    std::printf("layers:          %lld\n", static_cast<long long>(c.n_layer));
    std::printf("embedding:       %lld\n", static_cast<long long>(c.n_embd));
    std::printf("feed-forward:    %lld\n", static_cast<long long>(c.n_ff));
    std::printf("heads:           %lld (KV heads %lld, head size %lld)\n", static_cast<long long>(c.n_head),
                static_cast<long long>(c.n_head_kv), static_cast<long long>(c.head_dim));
    std::printf("context (train): %lld\n", static_cast<long long>(c.n_ctx_train));
    std::printf("rope:            %d dims, base %g, scale %g, %s pairs\n", c.n_rot, c.rope_freq_base,
                c.rope_freq_scale, c.rope_mode == 0 ? "adjacent" : "split-half");
    std::printf("rms norm eps:    %g\n", c.rms_eps);
}

// One tensor as both formats describe it, for the summary and the --all listing.
struct TensorLine {
    std::string_view name;
    DType type;
    std::string shape;  // as the file writes it (GGUF innermost first, safetensors outermost first)
    int64_t elements;
    uint64_t bytes;
};

void print_tensor_summary(const std::vector<TensorLine>& tensors) {
    int64_t parameters = 0;
    uint64_t tensor_bytes = 0;
    std::map<std::string, int> by_type;
    for (const TensorLine& t : tensors) {
        parameters += t.elements;
        tensor_bytes += t.bytes;
        ++by_type[std::string(dtype_name(t.type))];
    }
    std::string types;
    for (const auto& [name, count] : by_type) types += cat(types.empty() ? "" : ", ", name, " x", count);
    std::printf("tensors:         %zu (%s)\n", tensors.size(), types.empty() ? "none" : types.c_str());
    std::printf("parameters:      %lld (%s of weights)\n", static_cast<long long>(parameters), human_bytes(tensor_bytes).c_str());
}

void print_tensor_list(const std::vector<TensorLine>& tensors) {
    std::printf("\ntensors:\n");
    size_t width = 32;  // the names in one column, however long (Hugging Face's are)
    for (const TensorLine& t : tensors) width = std::max(width, t.name.size());
    for (const TensorLine& t : tensors)
        std::printf("  %-*.*s %-6s %-20s %s\n", static_cast<int>(width), static_cast<int>(t.name.size()), t.name.data(),
                    std::string(dtype_name(t.type)).c_str(), t.shape.c_str(), human_bytes(t.bytes).c_str());
}

std::string shape_text(std::span<const int64_t> dims) {
    std::string shape;
    for (size_t i = 0; i < dims.size(); ++i) shape += cat(i ? " x " : "", dims[i]);
    return shape;
}

void describe_gguf(const std::string& path, bool all) {
    const GgufFile f = GgufFile::open(path);
    std::printf("file:            %s (GGUF v%u, %s)\n", path.c_str(), f.version(), human_bytes(f.file_size()).c_str());
    if (f.find("general.architecture")) print_config(read_model_config(f));
    std::vector<TensorLine> tensors;
    for (const GgufTensorInfo& t : f.tensors())
        tensors.push_back({t.name, t.type, shape_text(std::span(t.ne).first(static_cast<size_t>(t.n_dims))),
                           t.elements(), t.size});
    print_tensor_summary(tensors);

    const auto model = f.get_string("tokenizer.ggml.model");
    const auto tokens = f.find("tokenizer.ggml.tokens");
    if (model) {
        std::printf("tokenizer:       %.*s", static_cast<int>(model->size()), model->data());
        if (auto pre = f.get_string("tokenizer.ggml.pre")) std::printf(" (pre-tokenizer %.*s)", static_cast<int>(pre->size()), pre->data());
        std::printf(", %llu tokens\n", static_cast<unsigned long long>(tokens ? tokens->array_size : 0));
    } else {
        std::printf("tokenizer:       none\n");
    }

    if (all) {
        std::printf("\nmetadata (%zu keys):\n", f.metadata().size());
        for (const GgufKeyValue& kv : f.metadata())
            std::printf("  %-40.*s %s\n", static_cast<int>(kv.key.size()), kv.key.data(), value_text(kv.value).c_str());
        print_tensor_list(tensors);
    }
}

// A Hugging Face directory: config.json, the safetensors files, tokenizer.json.
void describe_hf(const std::filesystem::path& dir, bool all) {
    const HfConfig hf = read_hf_config(dir / "config.json");
    const SafetensorsSet set = SafetensorsSet::open_dir(dir);
    uint64_t file_bytes = 0;
    std::vector<TensorLine> tensors;
    for (const SafetensorsFile& file : set.files()) {
        file_bytes += file.bytes().size();
        for (const SafetensorsTensor& t : file.tensors()) {
            int64_t elements = 1;
            for (int64_t d : t.shape) elements *= d;
            tensors.push_back({t.name, t.type, shape_text(t.shape), elements, t.size});
        }
    }
    std::printf("directory:       %s (Hugging Face, %zu safetensors file%s, %s)\n", dir.string().c_str(),
                set.files().size(), set.files().size() == 1 ? "" : "s", human_bytes(file_bytes).c_str());
    print_config(hf.model);
    print_tensor_summary(tensors);
    // A tokenizer suanli cannot use is reported, not fatal: the rest still describes the model.
    try {
        const Vocabulary v = load_hf_vocabulary(dir);
        std::printf("tokenizer:       %s", v.model.c_str());
        if (!v.pre.empty()) std::printf(" (pre-tokenizer %s)", v.pre.c_str());
        std::printf(", %d tokens\n", v.n_tokens());
    } catch (const Error& e) {
        std::printf("tokenizer:       unusable (%s)\n", e.what());
    }
    if (all) print_tensor_list(tensors);
}

}  // namespace

int cmd_info(std::span<const std::string_view> args) {
    std::string path;
    bool all = false;
    OptionParser p("suanli info", "Describe a model: architecture, sizes, tensors, tokenizer.");
    p.positional("MODEL", &path, "GGUF file or Hugging Face directory to describe");
    p.flag("-a,--all", &all, "also list every metadata key and every tensor");
    BackendOptions backend;
    add_backend_options(p, backend);
    p.epilog("info reads no weights and runs no backend; --backend and --backend-plugin are only checked\n"
             "(the plugin is loaded and its function table validated), so scripts can pass the same options.\n");
    p.parse(args);
    if (p.help_requested()) {
        std::fputs(p.help().c_str(), stdout);
        return 0;
    }
    resolve_backend(backend);  // a bad name or plugin fails here, as it would for `suanli run`

    if (std::filesystem::is_directory(path))
        describe_hf(path, all);
    else
        describe_gguf(path, all);
    return 0;
}

}  // namespace suanli
