// A small Llama-shaped F32 GGUF whose rows are whole 256-element blocks, so the
// K-quant types apply (the shared test models have rows of 64). The tokenizer and
// other metadata are copied from stories260K; weights are Gaussian.
#pragma once

#include <cmath>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "formats/gguf.h"
#include "formats/gguf_writer.h"

namespace suanli::test {

struct SyntheticShape {
    int64_t n_embd = 256, n_ff = 768, n_layer = 8, n_head = 4, n_head_kv = 2;
    bool tied = false;  // no output.weight: the output projection reuses token_embd
};

inline std::vector<float> gaussian(size_t n, float sigma, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> g(0.0f, sigma);
    std::vector<float> v(n);
    for (float& x : v) x = g(rng);
    return v;
}

inline void add_f32(GgufWriter& w, const std::string& name, std::vector<int64_t> ne, const std::vector<float>& v) {
    std::vector<std::byte> bytes(v.size() * sizeof(float));
    std::memcpy(bytes.data(), v.data(), bytes.size());
    w.add_tensor(name, DType::F32, std::move(ne), std::move(bytes));
}

// Writes the model to `path`; `stories` is stories260K.gguf (for its tokenizer).
inline void write_synthetic_model(const std::filesystem::path& path, const std::filesystem::path& stories,
                                  SyntheticShape s = {}) {
    const GgufFile src = GgufFile::open(stories);
    GgufWriter w;
    for (const GgufKeyValue& kv : src.metadata()) w.set_value(kv.key, kv.value);
    w.set_string("general.name", "synthetic-llama-256");
    w.set_u32("llama.embedding_length", static_cast<uint32_t>(s.n_embd));
    w.set_u32("llama.feed_forward_length", static_cast<uint32_t>(s.n_ff));
    w.set_u32("llama.block_count", static_cast<uint32_t>(s.n_layer));
    w.set_u32("llama.attention.head_count", static_cast<uint32_t>(s.n_head));
    w.set_u32("llama.attention.head_count_kv", static_cast<uint32_t>(s.n_head_kv));
    w.set_u32("llama.rope.dimension_count", static_cast<uint32_t>(s.n_embd / s.n_head));
    const int64_t vocab = static_cast<int64_t>(src.find("tokenizer.ggml.tokens")->array_size);
    const int64_t kv = s.n_embd / s.n_head * s.n_head_kv;
    uint32_t seed = 1;
    const float sigma = 0.02f;
    auto ones = [](int64_t n) { return std::vector<float>(static_cast<size_t>(n), 1.0f); };
    add_f32(w, "token_embd.weight", {s.n_embd, vocab}, gaussian(static_cast<size_t>(s.n_embd * vocab), 1.0f, seed++));
    add_f32(w, "output_norm.weight", {s.n_embd}, ones(s.n_embd));
    if (!s.tied)
        add_f32(w, "output.weight", {s.n_embd, vocab}, gaussian(static_cast<size_t>(s.n_embd * vocab), sigma * 4, seed++));
    for (int64_t l = 0; l < s.n_layer; ++l) {
        const std::string b = "blk." + std::to_string(l) + ".";
        auto mat = [&](const char* name, int64_t cols, int64_t rows) {
            add_f32(w, b + name, {cols, rows}, gaussian(static_cast<size_t>(cols * rows), sigma * 4, seed++));
        };
        add_f32(w, b + "attn_norm.weight", {s.n_embd}, ones(s.n_embd));
        mat("attn_q.weight", s.n_embd, s.n_embd);
        mat("attn_k.weight", s.n_embd, kv);
        mat("attn_v.weight", s.n_embd, kv);
        mat("attn_output.weight", s.n_embd, s.n_embd);
        add_f32(w, b + "ffn_norm.weight", {s.n_embd}, ones(s.n_embd));
        mat("ffn_gate.weight", s.n_embd, s.n_ff);
        mat("ffn_down.weight", s.n_ff, s.n_embd);
        mat("ffn_up.weight", s.n_embd, s.n_ff);
    }
    w.write(path);
}

}  // namespace suanli::test
