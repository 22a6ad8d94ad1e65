// suanli synth: a random-weight model with a real model's shape, for benchmarks.
#include <chrono>
#include <cstdio>
#include <string>

#include "cli/commands.h"
#include "cli/backend_options.h"
#include "cli/options.h"
#include "models/synthetic.h"

namespace suanli {
namespace {

DType parse_type(const std::string& name) {
    if (name == "f16" || name == "F16") return DType::F16;
    if (name == "f32" || name == "F32") return DType::F32;
    if (name == "bf16" || name == "BF16") return DType::BF16;
    throw UsageError(cat("option '--type' must be f16, f32 or bf16, got '", name, "'"));
}

std::string shape_list() {
    std::string out;
    for (std::string_view n : synthetic_shape_names()) out += cat(out.empty() ? "" : ", ", n);
    return out;
}

}  // namespace

int cmd_synth(std::span<const std::string_view> args) {
    std::string shape_name, out_path, type_name = "f16", vocab, arch;
    int32_t dim = 0, layers = 0, heads = 0, kv_heads = 0, ffn = 0, vocab_size = 0, context = 0;
    float rope_base = 0;
    uint64_t seed = 1;
    bool tied = false, quiet = false;
    OptionParser p("suanli synth",
                   "Write a Llama-architecture GGUF with random weights and a real model's shape, for benchmarks.");
    p.option("--shape", &shape_name, "NAME", cat("start from a named shape: ", shape_list()));
    p.option("-o,--output", &out_path, "PATH", "the GGUF file to write (required)");
    p.option("--type", &type_name, "TYPE", "weight type of the matrices and embedding: f16, f32 or bf16");
    p.option("--seed", &seed, "N", "random seed; the same seed gives the same file");
    p.option("--layers", &layers, "N", "layers; with --shape, 0 keeps the shape's (set it small for quick tests)", 1, 1 << 16);
    p.option("--dim", &dim, "N", "embedding size (0: the shape's)", 1, 1 << 20);
    p.option("--heads", &heads, "N", "attention heads (0: the shape's)", 1, 1 << 16);
    p.option("--kv-heads", &kv_heads, "N", "key/value heads (0: the shape's, else --heads)", 1, 1 << 16);
    p.option("--ffn", &ffn, "N", "feed-forward size (0: the shape's)", 1, 1 << 24);
    p.option("--vocab-size", &vocab_size, "N", "embedding rows, 0: the shape's (the tokenizer is padded with <pad_N> tokens)", 1,
             1 << 24);
    p.option("--vocab", &vocab, "NAME|PATH",
             "tokenizer: llama-spm or gpt-2 (from ../shared/vocab), a GGUF file, or bytes (generated, 259 tokens)");
    p.option("--arch", &arch, "NAME", "llama, or qwen2 (adds Q/K/V biases)");
    p.option("--rope-base", &rope_base, "F", "rope frequency base (0: the shape's, else 10000)", 1.0f);
    p.option("--context", &context, "N", "context length written to the metadata (0: the shape's, else 4096)", 1, 1 << 24);
    p.flag("--tied", &tied, "no output.weight: the output layer reuses the token embedding");
    p.flag("-q,--quiet", &quiet, "print nothing on success");
    BackendOptions backend;  // accepted on every command; this one runs no backend
    add_backend_options(p, backend);
    p.epilog(
        "Shapes: tinyllama (dim 2048, 22 layers, 32/4 heads, FFN 5632, vocab 32000, llama-spm),\n"
        "llama3.2-1b (2048, 16 layers, 32/8 heads, FFN 8192, vocab 128256 = gpt-2 padded, rope 5e5, tied),\n"
        "qwen2.5-0.5b (qwen2: 896, 24 layers, 14/2 heads, FFN 4864, vocab 151936 = gpt-2 padded, rope 1e6,\n"
        "tied, Q/K/V biases). Options after --shape override its values. Without --shape, --dim,\n"
        "--layers, --heads, --ffn and --vocab-size are required (tokenizer: bytes).\n"
        "\n"
        "Examples:\n"
        "  suanli synth --shape tinyllama -o tinyllama-f16.gguf\n"
        "  suanli synth --shape tinyllama --layers 2 -o tiny2.gguf\n"
        "  suanli synth --dim 64 --layers 2 --heads 4 --kv-heads 2 --ffn 128 --vocab-size 512 -o t.gguf\n");
    p.parse(args);
    if (p.help_requested()) {
        std::fputs(p.help().c_str(), stdout);
        return 0;
    }
    resolve_backend(backend);  // a bad --backend or plugin fails here, as it would elsewhere
    if (out_path.empty()) throw UsageError("missing -o PATH, the file to write");

    SyntheticShape shape;
    if (!shape_name.empty()) {
        auto named = synthetic_shape(shape_name);
        if (!named) throw UsageError(cat("unknown shape '", shape_name, "' (known: ", shape_list(), ")"));
        shape = *named;
    } else {
        if (!dim || !layers || !heads || !ffn || !vocab_size)
            throw UsageError("without --shape, give --dim, --layers, --heads, --ffn and --vocab-size");
        shape.name = "custom";
    }
    if (dim) shape.n_embd = dim;
    if (layers) shape.n_layer = layers;
    if (heads) shape.n_head = heads;
    if (kv_heads) shape.n_head_kv = kv_heads;
    if (!shape.n_head_kv) shape.n_head_kv = shape.n_head;
    if (ffn) shape.n_ff = ffn;
    if (vocab_size) shape.n_vocab = vocab_size;
    if (!vocab.empty()) shape.vocab = vocab;
    if (!arch.empty()) {
        if (arch != "llama" && arch != "qwen2") throw UsageError(cat("option '--arch' must be llama or qwen2"));
        shape.architecture = arch;
    }
    if (rope_base > 0) shape.rope_freq_base = rope_base;
    if (context) shape.n_ctx = context;
    if (tied) shape.tied_output = true;
    if (shape.n_embd % shape.n_head != 0 || shape.n_head % shape.n_head_kv != 0)
        throw UsageError(cat("dim ", shape.n_embd, ", heads ", shape.n_head, ", kv heads ", shape.n_head_kv,
                             ": dim must be a multiple of heads and heads of kv heads"));

    SyntheticOptions options;
    options.type = parse_type(type_name);
    options.seed = seed;
    options.vocab_dirs = {"../shared/vocab", std::filesystem::path(SUANLI_SOURCE_DIR) / "../shared/vocab"};

    const auto start = std::chrono::steady_clock::now();
    write_synthetic_model(shape, options, out_path);
    if (!quiet) {
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        std::printf("wrote %s: %s %s, dim %lld, %lld layers, %lld/%lld heads, FFN %lld, vocab %lld, %.1f MiB, %.1f s\n",
                    out_path.c_str(), shape.name.c_str(), shape.architecture.c_str(),
                    static_cast<long long>(shape.n_embd), static_cast<long long>(shape.n_layer),
                    static_cast<long long>(shape.n_head), static_cast<long long>(shape.n_head_kv),
                    static_cast<long long>(shape.n_ff), static_cast<long long>(shape.n_vocab),
                    synthetic_weight_bytes(shape, options.type) / 1048576.0, s);
    }
    return 0;
}

}  // namespace suanli
