// What the model tests share: JSON reference files, argmax, a model loaded on
// the reference backend, a side-by-side run of two models, and the Hugging
// Face name of a GGUF tensor.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
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
#include "runtime/session.h"
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

// Runs the prompt, then `generated` one token at a time, through both models:
// every logit vector agrees within `tol` and `b`'s argmax is the reference's
// next token. Returns the largest difference seen.
inline double compare_runs(LoadedModel& a, LoadedModel& b, const std::vector<int32_t>& prompt,
                           const std::vector<int32_t>& generated, double tol) {
    const int64_t n_ctx = static_cast<int64_t>(prompt.size() + generated.size() + 8);
    Session sa(*a.model, n_ctx), sb(*b.model, n_ctx);
    std::vector<float> la, lb;
    auto step = [&](std::span<const int32_t> tokens) {
        const auto x = sa.decode(tokens);
        la.assign(x.begin(), x.end());
        const auto y = sb.decode(tokens);
        lb.assign(y.begin(), y.end());
    };
    step(prompt);
    double max_diff = 0;
    for (size_t i = 0; i < generated.size(); ++i) {
        EXPECT_EQ(la.size(), lb.size());
        for (size_t k = 0; k < la.size() && k < lb.size(); ++k)
            max_diff = std::max<double>(max_diff, std::abs(la[k] - lb[k]));
        EXPECT_LE(max_diff, tol) << "step " << i;
        EXPECT_EQ(argmax(lb), generated[i]) << "step " << i;
        if (max_diff > tol || argmax(lb) != generated[i]) break;
        step(std::span(&generated[i], 1));
    }
    return max_diff;
}

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
