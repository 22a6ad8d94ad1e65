// Hyperparameters of a Hugging Face Transformers model directory (config.json).
#pragma once

#include <filesystem>

#include "models/model_config.h"

namespace suanli {

struct HfConfig {
    ModelConfig model;               // architecture "llama" (Llama, Mistral) or "qwen2"
    bool tie_word_embeddings = false;  // no lm_head.weight: the output reuses embed_tokens
};

// Reads `config.json`: architectures[0] must be LlamaForCausalLM,
// MistralForCausalLM or Qwen2ForCausalLM. RoPE is in split-halves order
// (rotate_half), which is how Hugging Face stores Q and K. Throws Error naming
// the file and the key at fault.
HfConfig read_hf_config(const std::filesystem::path& config_json);

}  // namespace suanli
