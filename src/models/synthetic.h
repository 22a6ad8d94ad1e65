// Random-weight models with the shapes of real ones, for benchmarks: a decode step
// reads the same bytes and does the same arithmetic whatever the weights are, so a
// seeded random TinyLlama runs exactly as fast as the trained one, and needs no download.
//
// The file is a Llama-architecture GGUF (or qwen2, with Q/K/V biases) that suanli and
// llama.cpp both load. Matrices are N(0, 0.02) (so activations stay finite through the
// layers), norms 1.0, biases N(0, 0.02); norms and biases are F32 as llama.cpp writes them.
// The tokenizer is copied from a real vocabulary GGUF and padded with "<pad_N>" tokens up to
// the shape's vocabulary size, so every row of the embedding is a valid token id.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/dtype.h"

namespace suanli {

struct SyntheticShape {
    std::string name;
    std::string architecture = "llama";  // "llama" or "qwen2" (Q/K/V biases, split-halves rope)
    int64_t n_embd = 0;
    int64_t n_layer = 0;
    int64_t n_head = 0;
    int64_t n_head_kv = 0;
    int64_t n_ff = 0;
    int64_t n_vocab = 0;
    int64_t n_ctx = 4096;
    float rope_freq_base = 10000.0f;
    float rms_eps = 1e-5f;
    bool tied_output = false;  // no output.weight: the output layer reuses token_embd
    // Where the tokenizer comes from: "llama-spm" or "gpt-2" (files in ../shared/vocab),
    // a path to any GGUF with tokenizer.* keys, or "bytes" (a generated SentencePiece-style
    // vocabulary of <unk>, <s>, </s> and the 256 byte tokens; needs no file).
    std::string vocab = "bytes";
};

// The named shapes: "tinyllama", "llama3.2-1b", "qwen2.5-0.5b"; nullopt for another name.
std::optional<SyntheticShape> synthetic_shape(std::string_view name);
std::vector<std::string_view> synthetic_shape_names();

struct SyntheticOptions {
    DType type = DType::F16;  // matrices and the embedding: F32, F16 or BF16
    uint64_t seed = 1;
    // Folders searched for "ggml-vocab-<name>.gguf" when shape.vocab is a name.
    std::vector<std::filesystem::path> vocab_dirs;
};

// The file a vocabulary name or path resolves to; empty for "bytes". Throws Error when
// no such file exists.
std::filesystem::path resolve_vocab(const std::string& vocab, const std::vector<std::filesystem::path>& dirs);

// Writes the model to `path`, one tensor in memory at a time. Throws Error (bad shape,
// a vocabulary larger than n_vocab, a file that cannot be written).
void write_synthetic_model(const SyntheticShape& shape, const SyntheticOptions& options,
                           const std::filesystem::path& path);

// Bytes of the weights the model will hold (for messages).
uint64_t synthetic_weight_bytes(const SyntheticShape& shape, DType type);

}  // namespace suanli
