// What the model tests share: JSON reference files, argmax, a model loaded on
// the reference backend, and the Hugging Face name of a GGUF tensor.
#pragma once

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <stdexcept>
#include <string>

#include "backends/reference/reference_backend.h"
#include "core/device.h"
#include "models/model.h"
#include "tokenizer/tokenizer.h"

namespace suanli::test {

inline nlohmann::json read_json(const std::filesystem::path& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot read " + path.string());
    return nlohmann::json::parse(in);
}

// The lowest index of the largest value, as llama.cpp's greedy sampler picks.
inline int32_t argmax(std::span<const float> v) {
    int32_t best = 0;
    for (int32_t i = 1; i < static_cast<int32_t>(v.size()); ++i)
        if (v[i] > v[best]) best = i;
    return best;
}

// A model (GGUF file or Hugging Face directory) on the reference backend.
struct LoadedModel {
    Device device{reference_backend(), 0, 1};
    std::unique_ptr<Model> model;
    std::unique_ptr<Tokenizer> tokenizer;
    explicit LoadedModel(const std::filesystem::path& path, bool with_tokenizer = true) {
        model = Model::load(path, device);
        if (with_tokenizer) tokenizer = load_tokenizer(*model);
    }
};

// "blk.3.attn_q.weight" -> "model.layers.3.self_attn.q_proj.weight", written out
// here independently of the converter's own table.
inline std::string hf_name(const std::string& gguf) {
    static const std::map<std::string, std::string> global{
        {"token_embd.weight", "model.embed_tokens.weight"},
        {"output_norm.weight", "model.norm.weight"},
        {"output.weight", "lm_head.weight"}};
    static const std::map<std::string, std::string> layer{
        {"attn_norm.weight", "input_layernorm.weight"},      {"attn_q.weight", "self_attn.q_proj.weight"},
        {"attn_k.weight", "self_attn.k_proj.weight"},        {"attn_v.weight", "self_attn.v_proj.weight"},
        {"attn_q.bias", "self_attn.q_proj.bias"},            {"attn_k.bias", "self_attn.k_proj.bias"},
        {"attn_v.bias", "self_attn.v_proj.bias"},            {"attn_output.weight", "self_attn.o_proj.weight"},
        {"ffn_norm.weight", "post_attention_layernorm.weight"}, {"ffn_gate.weight", "mlp.gate_proj.weight"},
        {"ffn_up.weight", "mlp.up_proj.weight"},             {"ffn_down.weight", "mlp.down_proj.weight"}};
    if (auto it = global.find(gguf); it != global.end()) return it->second;
    const size_t dot = gguf.find('.', 4);  // "blk.N.rest"
    const std::string n = gguf.substr(4, dot - 4), rest = gguf.substr(dot + 1);
    return "model.layers." + n + "." + layer.at(rest);
}

}  // namespace suanli::test
