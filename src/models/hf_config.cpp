#include "models/hf_config.h"

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "suanli/backend.h"

namespace suanli {
namespace {

using nlohmann::json;

constexpr int64_t kMaxDim = int64_t{1} << 24;  // as for GGUF: no size computed from it overflows

std::string one_line(std::string s) {
    for (char& c : s)
        if (static_cast<unsigned char>(c) < 0x20) c = ' ';
    return s;
}

class Reader {
public:
    Reader(const json& j, std::string file) : j_(j), file_(std::move(file)) {}

    bool has(const char* key) const { return j_.contains(key) && !j_[key].is_null(); }

    int64_t dim(const char* key) const {
        if (!has(key)) fail(file_, ": missing key '", key, "'");
        const json& v = j_[key];
        if (!v.is_number_integer()) fail(file_, ": '", key, "' must be an integer");
        const int64_t x = v.get<int64_t>();
        if (x <= 0 || x > kMaxDim) fail(file_, ": '", key, "' = ", x, " is out of range");
        return x;
    }
    int64_t dim(const char* key, int64_t fallback) const { return has(key) ? dim(key) : fallback; }

    float positive(const char* key, float fallback) const {
        if (!has(key)) return fallback;
        const json& v = j_[key];
        if (!v.is_number()) fail(file_, ": '", key, "' must be a number");
        const double x = v.get<double>();
        if (!std::isfinite(x) || x <= 0) fail(file_, ": '", key, "' = ", x, " must be a positive number");
        return static_cast<float>(x);
    }

    bool flag(const char* key, bool fallback) const {
        if (!has(key)) return fallback;
        if (!j_[key].is_boolean()) fail(file_, ": '", key, "' must be true or false");
        return j_[key].get<bool>();
    }

    std::string string(const char* key) const {
        if (!has(key)) return {};
        if (!j_[key].is_string()) fail(file_, ": '", key, "' must be a string");
        return j_[key].get<std::string>();
    }

private:
    const json& j_;
    const std::string file_;
};

}  // namespace

HfConfig read_hf_config(const std::filesystem::path& path) {
    const std::string file = path.string();
    std::ifstream in(path, std::ios::binary);
    if (!in) fail("cannot open ", file);
    json j;
    try {
        j = json::parse(in);
    } catch (const json::exception& e) {
        fail(file, ": not valid JSON: ", one_line(e.what()));
    }
    if (!j.is_object()) fail(file, ": not a JSON object");
    const Reader r(j, file);

    if (!j.contains("architectures") || !j["architectures"].is_array() || j["architectures"].empty() ||
        !j["architectures"][0].is_string())
        fail(file, ": no \"architectures\" list");
    const std::string arch = j["architectures"][0].get<std::string>();
    HfConfig h;
    ModelConfig& c = h.model;
    if (arch == "LlamaForCausalLM" || arch == "MistralForCausalLM") {
        c.architecture = "llama";
    } else if (arch == "Qwen2ForCausalLM") {
        c.architecture = "qwen2";
        c.qkv_bias = true;
    } else {
        fail(file, ": architecture '", one_line(arch),
             "' is not supported (supported: LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM)");
    }
    c.name = path.parent_path().filename().string();

    c.n_vocab = r.dim("vocab_size");
    c.n_embd = r.dim("hidden_size");
    c.n_ff = r.dim("intermediate_size");
    c.n_layer = r.dim("num_hidden_layers");
    c.n_head = r.dim("num_attention_heads");
    c.n_head_kv = r.dim("num_key_value_heads", c.n_head);
    if (c.n_head % c.n_head_kv != 0)
        fail(file, ": num_attention_heads ", c.n_head, " is not a multiple of num_key_value_heads ", c.n_head_kv);
    if (!r.has("head_dim") && c.n_embd % c.n_head != 0)
        fail(file, ": hidden_size ", c.n_embd, " is not a multiple of num_attention_heads ", c.n_head);
    c.head_dim = r.dim("head_dim", c.n_embd / c.n_head);
    if (c.head_dim % 2 != 0) fail(file, ": head_dim ", c.head_dim, " must be even for RoPE");
    c.n_rot = static_cast<int32_t>(c.head_dim);
    c.n_ctx_train = r.dim("max_position_embeddings", 2048);
    c.rms_eps = r.positive("rms_norm_eps", 1e-6f);
    c.rope_freq_base = r.positive("rope_theta", 10000.0f);
    // Hugging Face's Llama and Qwen2 rotate halves of each head (rotate_half).
    c.rope_mode = SL_ROPE_HALVES;
    h.tie_word_embeddings = r.flag("tie_word_embeddings", false);

    if (const std::string act = r.string("hidden_act"); !act.empty() && act != "silu")
        fail(file, ": hidden_act '", one_line(act), "' is not supported (only silu)");
    if (c.architecture == "llama" && r.flag("attention_bias", false))
        fail(file, ": attention_bias is not supported for ", arch);
    if (r.flag("mlp_bias", false)) fail(file, ": mlp_bias is not supported");

    if (r.has("rope_scaling")) {
        const json& s = j["rope_scaling"];
        if (!s.is_object()) fail(file, ": 'rope_scaling' must be an object or null");
        std::string type;
        for (const char* key : {"rope_type", "type"})
            if (s.contains(key) && s[key].is_string()) type = s[key].get<std::string>();
        const Reader sr(s, file + " rope_scaling");
        if (type == "linear") {
            c.rope_freq_scale = 1.0f / sr.positive("factor", 1.0f);
        } else if (type == "llama3") {
            const float low = sr.positive("low_freq_factor", 1.0f), high = sr.positive("high_freq_factor", 4.0f);
            if (!(high > low)) fail(file, ": rope_scaling high_freq_factor must be larger than low_freq_factor");
            c.rope_freq_factors = llama3_rope_factors(c.n_rot, c.rope_freq_base, sr.positive("factor", 8.0f), low, high,
                                                      sr.dim("original_max_position_embeddings", 8192));
        } else if (type == "dynamic") {
            c.rope_dynamic_factor = sr.positive("factor", 1.0f);
            c.rope_dynamic_ctx = c.n_ctx_train;  // Hugging Face's: the config's max_position_embeddings
        } else if (type.empty()) {
            fail(file, ": rope_scaling has no rope_type");
        } else if (type != "default") {
            fail(file, ": rope_scaling ", one_line(type), " not supported yet (supported: linear, dynamic, llama3)");
        }
    }
    return h;
}

}  // namespace suanli
