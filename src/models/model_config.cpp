#include "models/model_config.h"

#include <cmath>

#include "core/error.h"
#include "formats/gguf.h"
#include "suanli/backend.h"

namespace suanli {
namespace {

// Large enough for any real model, small enough that no size computed from it overflows.
constexpr int64_t kMaxDim = int64_t{1} << 24;

int64_t required(const GgufFile& f, const std::string& key) {
    const auto v = f.get_uint(key);
    if (!v) fail(f.name(), ": missing metadata key '", key, "'");
    if (*v == 0 || *v > static_cast<uint64_t>(kMaxDim)) fail(f.name(), ": metadata '", key, "' = ", *v, " is out of range");
    return static_cast<int64_t>(*v);
}

int64_t optional(const GgufFile& f, const std::string& key, int64_t fallback) {
    return f.find(key) ? required(f, key) : fallback;
}

float optional_float(const GgufFile& f, const std::string& key, float fallback) {
    const auto v = f.get_float(key);
    if (!v) return fallback;
    if (!std::isfinite(*v) || *v <= 0) fail(f.name(), ": metadata '", key, "' = ", *v, " must be a positive number");
    return static_cast<float>(*v);
}

}  // namespace

ModelConfig read_model_config(const GgufFile& f) {
    ModelConfig c;
    const auto arch = f.get_string("general.architecture");
    if (!arch) fail(f.name(), ": missing metadata key 'general.architecture'");
    c.architecture = std::string(*arch);
    if (c.architecture != "llama" && c.architecture != "qwen2")
        fail(f.name(), ": architecture '", c.architecture, "' is not supported (supported: llama, qwen2)");
    if (auto name = f.get_string("general.name")) c.name = std::string(*name);

    const std::string a = c.architecture + ".";
    c.n_embd = required(f, a + "embedding_length");
    c.n_layer = required(f, a + "block_count");
    c.n_ff = required(f, a + "feed_forward_length");
    c.n_head = required(f, a + "attention.head_count");
    c.n_head_kv = optional(f, a + "attention.head_count_kv", c.n_head);
    c.n_ctx_train = optional(f, a + "context_length", 2048);
    if (c.n_head % c.n_head_kv != 0)
        fail(f.name(), ": head_count ", c.n_head, " is not a multiple of head_count_kv ", c.n_head_kv);
    if (!f.find(a + "attention.key_length") && c.n_embd % c.n_head != 0)
        fail(f.name(), ": embedding_length ", c.n_embd, " is not a multiple of head_count ", c.n_head);
    c.head_dim = optional(f, a + "attention.key_length", c.n_embd / c.n_head);
    if (optional(f, a + "attention.value_length", c.head_dim) != c.head_dim)
        fail(f.name(), ": attention.value_length differs from key_length, which is not supported");
    c.n_rot = static_cast<int32_t>(optional(f, a + "rope.dimension_count", c.head_dim));
    if (c.n_rot > c.head_dim || c.n_rot % 2 != 0)
        fail(f.name(), ": rope.dimension_count ", c.n_rot, " must be even and at most the head size ", c.head_dim);
    c.rope_freq_base = optional_float(f, a + "rope.freq_base", 10000.0f);
    c.rms_eps = optional_float(f, a + "attention.layer_norm_rms_epsilon", 1e-5f);

    if (auto type = f.get_string(a + "rope.scaling.type"); type && *type != "none") {
        if (*type != "linear") fail(f.name(), ": rope scaling '", *type, "' is not supported yet");
        c.rope_freq_scale = 1.0f / optional_float(f, a + "rope.scaling.factor", 1.0f);
    }
    // llama.cpp's rope type per architecture: Llama GGUFs store Q/K permuted for
    // adjacent pairs; Qwen2 keeps Hugging Face's split halves (NEOX).
    c.rope_mode = c.architecture == "qwen2" ? SL_ROPE_HALVES : SL_ROPE_ADJACENT;
    c.qkv_bias = c.architecture == "qwen2";
    return c;
}

}  // namespace suanli
