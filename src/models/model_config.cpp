#include "models/model_config.h"

#include <cmath>
#include <cstring>

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
    // Llama 3.1-style per-pair frequency divisors, as llama.cpp's converter stores them.
    if (const GgufTensorInfo* t = f.find_tensor("rope_freqs.weight")) {
        if (t->type != DType::F32 || t->elements() != c.n_rot / 2)
            fail(f.name(), ": rope_freqs.weight must be F32 with ", c.n_rot / 2, " values");
        const auto bytes = f.tensor_data(*t);
        c.rope_freq_factors.resize(static_cast<size_t>(c.n_rot / 2));
        std::memcpy(c.rope_freq_factors.data(), bytes.data(), bytes.size());
        for (float v : c.rope_freq_factors)
            if (!(v > 0) || !std::isfinite(v)) fail(f.name(), ": rope_freqs.weight holds ", v, "; factors must be positive");
    }
    // llama.cpp's rope type per architecture: Llama GGUFs store Q/K permuted for
    // adjacent pairs; Qwen2 keeps Hugging Face's split halves (NEOX).
    c.rope_mode = c.architecture == "qwen2" ? SL_ROPE_HALVES : SL_ROPE_ADJACENT;
    c.qkv_bias = c.architecture == "qwen2";
    return c;
}

bool rope_uses_tables(const ModelConfig& c) { return !c.rope_freq_factors.empty() || c.rope_dynamic_factor > 0; }

std::vector<float> llama3_rope_factors(int32_t n_rot, float base, float factor, float low_freq_factor,
                                       float high_freq_factor, int64_t original_context) {
    // Wavelengths shorter than original_context / high_freq_factor keep their frequency,
    // longer than original_context / low_freq_factor are slowed by `factor`, and those
    // between blend the two.
    const double pi = 3.14159265358979323846, ctx = static_cast<double>(original_context);
    const double low_wavelen = ctx / low_freq_factor, high_wavelen = ctx / high_freq_factor;
    std::vector<float> out;
    for (int32_t i = 0; i < n_rot / 2; ++i) {
        const double inv_freq = std::pow(static_cast<double>(base), -2.0 * i / n_rot);
        const double wavelen = 2 * pi / inv_freq;
        double scaled = inv_freq;
        if (wavelen > low_wavelen) {
            scaled = inv_freq / factor;
        } else if (wavelen >= high_wavelen) {
            const double smooth = (ctx / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor);
            scaled = (1 - smooth) * inv_freq / factor + smooth * inv_freq;
        }
        out.push_back(static_cast<float>(inv_freq / scaled));
    }
    return out;
}

RopeTables rope_tables(const ModelConfig& c, const std::vector<int32_t>& positions, const std::vector<int32_t>& lengths) {
    const int32_t half = c.n_rot / 2;
    RopeTables t;
    t.cos.reserve(positions.size() * static_cast<size_t>(half));
    t.sin.reserve(t.cos.capacity());
    for (size_t k = 0; k < positions.size(); ++k) {
        double base = c.rope_freq_base;
        if (c.rope_dynamic_factor > 0 && lengths[k] > c.rope_dynamic_ctx) {
            const double f = c.rope_dynamic_factor;
            base *= std::pow(f * lengths[k] / static_cast<double>(c.rope_dynamic_ctx) - (f - 1), c.n_rot / (c.n_rot - 2.0));
        }
        for (int32_t i = 0; i < half; ++i) {
            double theta = positions[k] * static_cast<double>(c.rope_freq_scale) * std::pow(base, -2.0 * i / c.n_rot);
            if (!c.rope_freq_factors.empty()) theta /= c.rope_freq_factors[static_cast<size_t>(i)];
            t.cos.push_back(static_cast<float>(std::cos(theta)));
            t.sin.push_back(static_cast<float>(std::sin(theta)));
        }
    }
    t.neg_sin.resize(t.sin.size());
    for (size_t i = 0; i < t.sin.size(); ++i) t.neg_sin[i] = -t.sin[i];
    return t;
}

}  // namespace suanli
