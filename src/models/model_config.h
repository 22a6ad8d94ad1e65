// Hyperparameters of a decoder-only transformer, read from a model file.
#pragma once

#include <cstdint>
#include <string>

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
    float rms_eps = 1e-5f;
    bool qkv_bias = false;     // Qwen2 adds biases to the Q, K and V projections
};

// Reads and checks the hyperparameters; throws Error naming the key at fault.
ModelConfig read_model_config(const GgufFile& file);

}  // namespace suanli
