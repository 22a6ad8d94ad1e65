// Hyperparameters of a decoder-only transformer, read from a model file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace suanli {

class GgufFile;

struct ModelConfig {
    std::string architecture;  // GGUF general.architecture: "llama", "qwen2"
    std::string name;          // general.name, if any
    int64_t n_vocab = 0;
    int64_t n_embd = 0;
    int64_t n_layer = 0;
    int64_t n_head = 0;
    int64_t n_head_kv = 0;
    int64_t head_dim = 0;
    int64_t n_ff = 0;
    int64_t n_ctx_train = 0;
    int32_t n_rot = 0;         // rotated dimensions per head
    int32_t rope_mode = 0;     // SL_ROPE_ADJACENT or SL_ROPE_HALVES
    float rope_freq_base = 10000.0f;
    float rope_freq_scale = 1.0f;
    // Llama 3.1's "llama3" scaling: pair i turns at θ = pos · freq_scale · base^(-2i/n_rot)
    // / rope_freq_factors[i] (GGUF's rope_freqs.weight). Empty: no factors.
    std::vector<float> rope_freq_factors;
    // "dynamic" (NTK-aware) scaling: once a sequence is longer than rope_dynamic_ctx
    // tokens, its base grows with its length (Hugging Face's formula). 0: off.
    float rope_dynamic_factor = 0.0f;
    int64_t rope_dynamic_ctx = 0;
    float rms_eps = 1e-5f;
    bool qkv_bias = false;     // Qwen2 adds biases to the Q, K and V projections
};

// Reads and checks the hyperparameters; throws Error naming the key at fault.
ModelConfig read_model_config(const GgufFile& file);

// Whether RoPE needs per-token angle tables (llama3 factors or dynamic scaling)
// rather than the ROPE op's one base and scale.
bool rope_uses_tables(const ModelConfig& config);

// Hugging Face's "llama3" rope_scaling as per-pair divisors of the frequency.
std::vector<float> llama3_rope_factors(int32_t n_rot, float base, float factor, float low_freq_factor,
                                       float high_freq_factor, int64_t original_context);

// cos and sin of every rotation angle, [n_rot/2] per token, for tokens at
// `positions` of sequences `lengths` tokens long (dynamic scaling reads the length).
struct RopeTables {
    std::vector<float> cos, sin, neg_sin;
};
RopeTables rope_tables(const ModelConfig& config, const std::vector<int32_t>& positions,
                       const std::vector<int32_t>& lengths);

}  // namespace suanli
