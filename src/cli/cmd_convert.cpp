// suanli convert: a Hugging Face model directory to a GGUF file llama.cpp loads.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/backend_options.h"
#include "cli/options.h"
#include "convert/hf_to_gguf.h"
#include "core/error.h"

namespace suanli {
namespace {

}  // namespace

int cmd_convert(std::span<const std::string_view> args) {
    std::string dir, out, type_name = "f16";
    int32_t threads = default_thread_count();
    OptionParser p("suanli convert", "Convert a Hugging Face model directory to a GGUF file that llama.cpp loads.");
    p.positional("DIR", &dir, "folder with config.json, model.safetensors (or shards) and tokenizer.json");
    p.positional("OUT", &out, "GGUF file to write (replaced atomically)");
    p.option("--type", &type_name, "TYPE", cat("output type: ", convert_type_names()));
    p.option("-t,--threads", &threads, "N", "threads converting rows", 1, 1024);
    BackendOptions backend;  // accepted on every command; this one runs no backend
    add_backend_options(p, backend);
    p.epilog(
        "Architectures: LlamaForCausalLM, MistralForCausalLM (written as llama) and Qwen2ForCausalLM.\n"
        "As llama.cpp's convert_hf_to_gguf.py: llama.cpp's tensor names and keys, Q/K rows permuted for\n"
        "llama's adjacent-pair RoPE, norms and biases kept in F32, no output.weight when the embedding is\n"
        "tied, the tokenizer as tokenizer.ggml.* and tokenizer_config.json's chat template.\n"
        "Quantized types are written as F32 first, then quantized with `suanli quantize`'s mixes.\n"
        "\n"
        "example: suanli convert ./Qwen2.5-0.5B-Instruct qwen2.5-0.5b-q8_0.gguf --type q8_0\n");
    p.parse(args);
    if (p.help_requested()) {
        std::fputs(p.help().c_str(), stdout);
        return 0;
    }
    resolve_backend(backend);  // a bad --backend or plugin fails here, as it would elsewhere
    const std::optional<ConvertType> type = find_convert_type(type_name);
    if (!type) throw UsageError(cat("unknown --type '", type_name, "'; valid types: ", convert_type_names()));
    if (!std::filesystem::exists(dir)) fail("cannot open ", dir, ": no such directory");
    if (!std::filesystem::is_directory(dir)) fail(dir, ": not a directory (expected a Hugging Face model folder)");
    check_output_writable(out);

    ConvertOptions options;
    options.type = *type;
    options.threads = threads;
    options.on_tensor = [](const ConvertedTensor& t) {
        const int digits = static_cast<int>(std::to_string(t.count).size());
        std::string line = t.stage == "quantize" ? cat("quantize ", t.gguf_name) : cat(t.gguf_name, " <- ", t.hf_name);
        line += cat("  ", dtype_name(t.from), " -> ", dtype_name(t.to), "  ", shape_text(t.ne));
        if (t.permuted) line += "  (rows permuted for RoPE)";
        std::fprintf(stderr, "[%*zu/%zu] %s\n", digits, t.index + 1, t.count, line.c_str());
    };
    const ConvertReport r = convert_hf_to_gguf(dir, out, options);
    std::fprintf(stderr, "converted %s: %zu tensors, %.2fM parameters, vocabulary %d%s%s\n", r.architecture.c_str(),
                 r.tensors, static_cast<double>(r.elements) / 1e6, r.n_vocab,
                 r.padded_tokens ? cat(" (", r.padded_tokens, " [PAD] tokens added)").c_str() : "",
                 r.tied_output ? ", output tied to token_embd" : "");
    std::fprintf(stderr, "wrote %s (%s, %.2f MiB)\n", out.c_str(), type->name.c_str(),
                 static_cast<double>(r.file_bytes) / (1024.0 * 1024.0));
    return 0;
}

}  // namespace suanli
