#include "convert/gguf_metadata.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/error.h"
#include "formats/gguf_writer.h"
#include "tokenizer/hf_tokenizer_json.h"
#include "tokenizer/vocabulary.h"

namespace suanli {
namespace {

using nlohmann::json;

// tokenizer_config.json's chat_template: a string, or a list of {name, template}
// of which llama.cpp's converter keeps "default" as tokenizer.chat_template.
std::string chat_template(const std::filesystem::path& dir) {
    const std::filesystem::path path = dir / "tokenizer_config.json";
    std::ifstream in(path, std::ios::binary);
    if (!in) return {};
    const json j = json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object() || !j.contains("chat_template")) return {};
    const json& t = j["chat_template"];
    if (t.is_string()) return t.get<std::string>();
    if (t.is_array())
        for (const json& e : t)
            if (e.is_object() && e.value("name", "") == "default" && e.contains("template") && e["template"].is_string())
                return e["template"].get<std::string>();
    return {};
}

}  // namespace

void write_model_metadata(GgufWriter& w, const HfConfig& hf, int64_t n_vocab, uint32_t file_type) {
    const ModelConfig& c = hf.model;
    const std::string a = c.architecture;
    auto u32 = [](int64_t v) { return static_cast<uint32_t>(v); };
    w.set_string("general.architecture", a);
    w.set_string("general.type", "model");
    w.set_string("general.name", c.name);
    w.set_u32(a + ".block_count", u32(c.n_layer));
    w.set_u32(a + ".context_length", u32(c.n_ctx_train));
    w.set_u32(a + ".embedding_length", u32(c.n_embd));
    w.set_u32(a + ".feed_forward_length", u32(c.n_ff));
    w.set_u32(a + ".attention.head_count", u32(c.n_head));
    w.set_u32(a + ".attention.head_count_kv", u32(c.n_head_kv));
    w.set_f32(a + ".rope.freq_base", c.rope_freq_base);
    w.set_f32(a + ".attention.layer_norm_rms_epsilon", c.rms_eps);
    // A head_dim that is not n_embd / n_head (some Mistral/Qwen models) is stated explicitly.
    if (c.head_dim * c.n_head != c.n_embd) {
        w.set_u32(a + ".attention.key_length", u32(c.head_dim));
        w.set_u32(a + ".attention.value_length", u32(c.head_dim));
    }
    w.set_u32("general.file_type", file_type);
    w.set_u32(a + ".vocab_size", u32(n_vocab));
    if (a == "llama") w.set_u32(a + ".rope.dimension_count", u32(c.n_rot));
    if (c.rope_dynamic_factor > 0)
        fail("rope_scaling dynamic has no GGUF form that llama.cpp reads; run the Hugging Face directory directly");
    if (c.rope_freq_scale != 1.0f) {
        w.set_string(a + ".rope.scaling.type", "linear");
        w.set_f32(a + ".rope.scaling.factor", 1.0f / c.rope_freq_scale);
    }
}

size_t write_tokenizer_metadata(GgufWriter& w, const std::filesystem::path& dir, int64_t n_vocab) {
    const Vocabulary v = load_hf_vocabulary(dir);
    if (v.n_tokens() > n_vocab)
        fail(dir.string(), "/tokenizer.json: ", v.n_tokens(), " tokens, but the embedding has only ", n_vocab,
             " rows");
    const bool spm = v.model == "llama";
    std::vector<std::string> tokens = v.tokens;
    std::vector<float> scores = v.scores;
    std::vector<int32_t> types;
    types.reserve(static_cast<size_t>(n_vocab));
    for (TokenType t : v.types) types.push_back(static_cast<int32_t>(t));
    scores.resize(tokens.size(), 0.0f);
    types.resize(tokens.size(), static_cast<int32_t>(TokenType::Normal));
    // Rows of the embedding with no token (models pad their vocabulary to a round
    // size): convert_hf_to_gguf.py names them [PAD1], [PAD2], ... of type unused.
    const size_t padded = static_cast<size_t>(n_vocab) - tokens.size();
    for (size_t i = 1; i <= padded; ++i) {
        tokens.push_back("[PAD" + std::to_string(i) + "]");
        scores.push_back(spm ? -1000.0f : 0.0f);
        types.push_back(static_cast<int32_t>(TokenType::Unused));
    }

    w.set_string("tokenizer.ggml.model", v.model);
    w.set_string("tokenizer.ggml.pre", v.pre.empty() ? "default" : v.pre);
    w.set_array("tokenizer.ggml.tokens", std::span<const std::string>(tokens));
    if (spm) w.set_array("tokenizer.ggml.scores", std::span<const float>(scores));
    w.set_array("tokenizer.ggml.token_type", std::span<const int32_t>(types));
    if (!v.merges.empty()) {
        std::vector<std::string> merges;
        merges.reserve(v.merges.size());
        for (const auto& [a, b] : v.merges) merges.push_back(a + " " + b);
        w.set_array("tokenizer.ggml.merges", std::span<const std::string>(merges));
    }
    auto id = [&](const char* key, int32_t value) {
        if (value >= 0) w.set_u32(key, static_cast<uint32_t>(value));
    };
    // As gguf-py's SpecialVocab: an id the tokenizer files do not name comes from
    // config.json's bos_token_id / eos_token_id (Qwen2 names no BOS token, yet
    // its GGUFs carry bos_token_id 151643 from there).
    auto config_id = [&](const char* key, int32_t value) {
        if (value >= 0) return value;
        std::ifstream in(dir / "config.json", std::ios::binary);
        const json j = json::parse(in, nullptr, /*allow_exceptions=*/false);
        if (j.is_object() && j.contains(key) && j[key].is_number_integer()) {
            const int64_t x = j[key].get<int64_t>();
            if (x >= 0 && x < n_vocab) return static_cast<int32_t>(x);
        }
        return value;
    };
    id("tokenizer.ggml.bos_token_id", config_id("bos_token_id", v.bos));
    id("tokenizer.ggml.eos_token_id", config_id("eos_token_id", v.eos));
    id("tokenizer.ggml.unknown_token_id", v.unk);
    id("tokenizer.ggml.padding_token_id", v.pad);
    w.set_bool("tokenizer.ggml.add_bos_token", v.add_bos);
    w.set_bool("tokenizer.ggml.add_eos_token", v.add_eos);
    if (spm) w.set_bool("tokenizer.ggml.add_space_prefix", v.add_space_prefix);
    if (const std::string t = chat_template(dir); !t.empty()) w.set_string("tokenizer.chat_template", t);
    return padded;
}

}  // namespace suanli
