#include "convert/tensor_names.h"

#include <charconv>
#include <cstdint>

namespace suanli {
namespace {

struct Pair {
    std::string_view hf, gguf;
};

constexpr Pair kGlobal[] = {
    {"model.embed_tokens.weight", "token_embd.weight"},
    {"model.norm.weight", "output_norm.weight"},
    {"lm_head.weight", "output.weight"},
};

// After "model.layers.N.".
constexpr Pair kLayer[] = {
    {"input_layernorm.weight", "attn_norm.weight"},
    {"self_attn.q_proj.weight", "attn_q.weight"},
    {"self_attn.k_proj.weight", "attn_k.weight"},
    {"self_attn.v_proj.weight", "attn_v.weight"},
    {"self_attn.q_proj.bias", "attn_q.bias"},
    {"self_attn.k_proj.bias", "attn_k.bias"},
    {"self_attn.v_proj.bias", "attn_v.bias"},
    {"self_attn.o_proj.weight", "attn_output.weight"},
    {"post_attention_layernorm.weight", "ffn_norm.weight"},
    {"mlp.gate_proj.weight", "ffn_gate.weight"},
    {"mlp.up_proj.weight", "ffn_up.weight"},
    {"mlp.down_proj.weight", "ffn_down.weight"},
};

}  // namespace

std::optional<GgufTensorName> gguf_tensor_name(std::string_view hf) {
    for (const Pair& p : kGlobal)
        if (hf == p.hf) return GgufTensorName{std::string(p.gguf)};
    constexpr std::string_view prefix = "model.layers.";
    if (!hf.starts_with(prefix)) return std::nullopt;
    hf.remove_prefix(prefix.size());
    const size_t dot = hf.find('.');
    if (dot == std::string_view::npos || dot == 0) return std::nullopt;
    int64_t layer = -1;
    const auto [end, ec] = std::from_chars(hf.data(), hf.data() + dot, layer);
    if (ec != std::errc() || end != hf.data() + dot || layer < 0) return std::nullopt;
    const std::string_view rest = hf.substr(dot + 1);
    for (const Pair& p : kLayer)
        if (rest == p.hf) {
            GgufTensorName n{"blk." + std::to_string(layer) + "." + std::string(p.gguf), layer};
            n.is_q = p.gguf == "attn_q.weight";
            n.is_k = p.gguf == "attn_k.weight";
            return n;
        }
    return std::nullopt;
}

}  // namespace suanli
