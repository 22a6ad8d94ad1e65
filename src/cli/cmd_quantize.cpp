// suanli quantize: convert a model's F32/F16/BF16 weights to a quantized mix.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/backend_options.h"
#include "cli/options.h"
#include "core/error.h"
#include "quantize/quantize.h"

namespace suanli {
namespace {

std::string mib(uint64_t bytes) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
    return buf;
}

}  // namespace

int cmd_quantize(std::span<const std::string_view> args) {
    std::string in, out, type_name;
    int32_t threads = default_thread_count();
    OptionParser p("suanli quantize", "Convert a GGUF model's F32/F16/BF16 weights to a quantized type.");
    p.positional("IN", &in, "GGUF model with F32, F16 or BF16 tensors");
    p.positional("OUT", &out, "GGUF file to write (replaced atomically)");
    p.positional("TYPE", &type_name, cat("one of ", quant_type_names(), " (any case)"));
    p.option("-t,--threads", &threads, "N", "threads converting rows", 1, 1024);
    BackendOptions backend;  // accepted on every command; this one runs no backend
    add_backend_options(p, backend);
    p.epilog(
        "Only weight matrices are converted; norms, biases and other 1-D tensors keep their type.\n"
        "As llama.cpp does in the quantized types: output.weight (token_embd.weight when the two are\n"
        "tied) gets Q6_K, Q8_0 for TYPE Q8_0; the _M mixes give attn_v and ffn_down Q6_K in the first\n"
        "and last eighth of the layers and every third layer between.\n"
        "Q4_K means Q4_K_S and Q5_K means Q5_K_S (llama-quantize reads them as the _M mixes).\n"
        "Rows that are not whole blocks of 256 fall back to Q8_0 (F16 if not whole blocks of 32);\n"
        "the progress lines mark each fallback and the summary counts them.\n"
        "\n"
        "example: suanli quantize model-f32.gguf model-q4_k_m.gguf Q4_K_M\n");
    p.parse(args);
    if (p.help_requested()) {
        std::fputs(p.help().c_str(), stdout);
        return 0;
    }
    resolve_backend(backend);  // a bad --backend or plugin fails here, as it would elsewhere
    const std::optional<QuantType> type = find_quant_type(type_name);
    if (!type) throw UsageError(cat("unknown TYPE '", type_name, "'; valid types: ", quant_type_names()));
    if (!std::filesystem::exists(in)) fail("cannot open ", in, ": no such file");
    check_output_writable(out);

    auto on_tensor = [](const TensorDone& d) {
        const int digits = static_cast<int>(std::to_string(d.count).size());
        const TensorPlan& p = *d.plan;
        std::string line = cat(p.name, "  ", dtype_name(p.from), " -> ", dtype_name(p.to), "  ", shape_text(d.ne));
        if (p.quantize && p.from != p.to) line += cat("  ", mib(d.bytes_in), " -> ", mib(d.bytes_out));
        if (!p.quantize) line += "  (kept)";
        if (!p.note.empty()) line += cat("  [", p.note, "]");
        std::fprintf(stderr, "[%*zu/%zu] %s\n", digits, d.index + 1, d.count, line.c_str());
    };
    const QuantizeReport r = quantize_file(in, out, *type, threads, on_tensor);

    std::fprintf(stderr, "quantized %zu of %zu tensors to %.*s (general.file_type %u)\n", r.quantized,
                 r.plans.size(), static_cast<int>(type->name.size()), type->name.data(), type->file_type);
    std::fprintf(stderr, "tensor data: %s -> %s (%.2f -> %.2f bits per weight)\n", mib(r.bytes_in).c_str(),
                 mib(r.bytes_out).c_str(), r.bits_per_weight_in(), r.bits_per_weight_out());
    if (r.fallbacks > 0)
        std::fprintf(stderr,
                     "%zu tensors fell back to another type because their rows are not whole blocks "
                     "(see [...] above)\n",
                     r.fallbacks);
    std::fprintf(stderr, "wrote %s\n", out.c_str());
    return 0;
}

}  // namespace suanli
