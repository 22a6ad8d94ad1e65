// Hugging Face tensor names (Llama / Mistral / Qwen2 checkpoints) and the names
// llama.cpp's GGUF files use for them, as convert_hf_to_gguf.py maps them.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace suanli {

struct GgufTensorName {
    std::string name;      // "blk.3.attn_q.weight"
    int64_t layer = -1;    // the block, or -1 for the global tensors
    bool is_q = false;     // attn_q.weight: rows permuted for adjacent-pair RoPE (llama)
    bool is_k = false;     // attn_k.weight: likewise, with the KV head count
};

// "model.layers.3.self_attn.q_proj.weight" -> "blk.3.attn_q.weight"; nullopt for a
// name the converter does not know (rotary_emb.inv_freq and the like are skipped).
std::optional<GgufTensorName> gguf_tensor_name(std::string_view hf_name);

}  // namespace suanli
