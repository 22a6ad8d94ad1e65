#include "quantize/quant_mix.h"

#include <array>
#include <cctype>
#include <map>

#include "core/error.h"

namespace suanli {
namespace {

// LLAMA_FTYPE_* values from llama.h.
constexpr uint32_t kFtypeF16 = 1, kFtypeQ4_0 = 2, kFtypeQ8_0 = 7, kFtypeQ4_K_S = 14, kFtypeQ4_K_M = 15,
                   kFtypeQ5_K_S = 16, kFtypeQ5_K_M = 17, kFtypeQ6_K = 18, kFtypeBF16 = 32;

// Plain "Q4_K" / "Q5_K" are the _S mixes ("mostly Q4_K").
constexpr std::array kTypes{
    QuantType{"Q8_0", DType::Q8_0, kFtypeQ8_0, QuantType::kUniform},
    QuantType{"Q4_0", DType::Q4_0, kFtypeQ4_0, QuantType::kUniform},
    QuantType{"Q4_K", DType::Q4_K, kFtypeQ4_K_S, QuantType::kSmall},
    QuantType{"Q5_K", DType::Q5_K, kFtypeQ5_K_S, QuantType::kSmall},
    QuantType{"Q6_K", DType::Q6_K, kFtypeQ6_K, QuantType::kUniform},
    QuantType{"Q4_K_S", DType::Q4_K, kFtypeQ4_K_S, QuantType::kSmall},
    QuantType{"Q4_K_M", DType::Q4_K, kFtypeQ4_K_M, QuantType::kMedium},
    QuantType{"Q5_K_S", DType::Q5_K, kFtypeQ5_K_S, QuantType::kSmall},
    QuantType{"Q5_K_M", DType::Q5_K, kFtypeQ5_K_M, QuantType::kMedium},
    QuantType{"F16", DType::F16, kFtypeF16, QuantType::kUniform},
    QuantType{"BF16", DType::BF16, kFtypeBF16, QuantType::kUniform},
};

bool same_ignoring_case(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (std::toupper(static_cast<unsigned char>(a[i])) != std::toupper(static_cast<unsigned char>(b[i])))
            return false;
    return true;
}

bool is_quantized(DType t) { return traits(t).block_elements > 1; }

// "blk.12.attn_v.weight" -> 12; -1 for tensors outside the repeated blocks.
int64_t layer_of(std::string_view name) {
    if (!name.starts_with("blk.")) return -1;
    int64_t n = 0;
    size_t i = 4;
    if (i >= name.size() || !std::isdigit(static_cast<unsigned char>(name[i]))) return -1;
    for (; i < name.size() && std::isdigit(static_cast<unsigned char>(name[i])); ++i) n = n * 10 + (name[i] - '0');
    return n;
}

// The tensor's role after "blk.N.": "attn_v.weight", "ffn_down.weight", ...
std::string_view role_of(std::string_view name) {
    if (layer_of(name) < 0) return name;
    const size_t dot = name.find('.', 4);
    return name.substr(dot + 1);
}

// llama.cpp quantizes names ending in "weight" with >= 2 dimensions, except a few
// small tensors that must stay precise (MoE routers, position/type embeddings).
bool is_quantizable(const GgufTensorInfo& t) {
    const std::string_view name = t.name;
    if (!name.ends_with("weight") || t.n_dims < 2) return false;
    for (std::string_view keep : {"ffn_gate_inp.weight", "pos_embd.weight", "token_types.weight", "_norm.weight"})
        if (name.ends_with(keep)) return false;
    return true;
}

}  // namespace

std::span<const QuantType> quant_types() { return kTypes; }

std::optional<QuantType> find_quant_type(std::string_view name) {
    for (const QuantType& t : kTypes)
        if (same_ignoring_case(t.name, name)) return t;
    return std::nullopt;
}

std::string quant_type_names() {
    std::string out;
    for (const QuantType& t : kTypes) out += cat(out.empty() ? "" : ", ", t.name);
    return out;
}

bool use_more_bits(int64_t i, int64_t n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

std::vector<TensorPlan> plan_quantization(const GgufFile& file, const QuantType& type) {
    // Layer counts per role, as llama.cpp counts n_attention_wv and n_ffn_down.
    std::map<std::string_view, int64_t> role_layers;
    bool has_output = false;
    for (const GgufTensorInfo& t : file.tensors()) {
        if (t.type != DType::F32 && t.type != DType::F16 && t.type != DType::BF16)
            fail(file.name(), ": tensor '", t.name, "' is ", dtype_name(t.type),
                 "; quantize reads F32, F16 or BF16 tensors (re-quantizing is not supported)");
        if (layer_of(t.name) >= 0) role_layers[role_of(t.name)] = std::max(role_layers[role_of(t.name)], layer_of(t.name) + 1);
        if (t.name == "output.weight") has_output = true;
    }

    std::vector<TensorPlan> plans;
    for (const GgufTensorInfo& t : file.tensors()) {
        TensorPlan p{std::string(t.name), t.type, t.type, false, ""};
        if (!is_quantizable(t)) {
            plans.push_back(std::move(p));
            continue;
        }
        DType want = type.base;
        if (is_quantized(type.base)) {  // llama_tensor_get_type runs for quantized mixes only
            const std::string_view role = role_of(t.name);
            const bool is_output = t.name == "output.weight" || (!has_output && t.name == "token_embd.weight");
            if (is_output) {
                if (type.base != DType::Q8_0) want = DType::Q6_K;
            } else if (type.mix == QuantType::kMedium && (role == "attn_v.weight" || role == "ffn_down.weight")) {
                if (use_more_bits(layer_of(t.name), role_layers[role])) want = DType::Q6_K;
            } else if (type.mix == QuantType::kMedium && role == "attn_qkv.weight") {  // fused QKV
                want = type.base == DType::Q4_K ? DType::Q5_K : DType::Q6_K;
            } else if (type.mix == QuantType::kSmall && type.base == DType::Q4_K) {
                const int64_t layer = layer_of(t.name);
                if (role == "attn_v.weight" && layer < 4) want = DType::Q5_K;
                if (role == "ffn_down.weight" && layer < role_layers[role] / 8) want = DType::Q5_K;
            }
        }
        DType to = want;
        const int64_t row = t.ne[0];
        if (row % traits(to).block_elements != 0) {
            to = row % traits(DType::Q8_0).block_elements == 0 && is_quantized(want) ? DType::Q8_0 : DType::F16;
            p.note = cat("rows of ", row, " are not whole ", dtype_name(want), " blocks of ",
                         traits(want).block_elements, ": ", dtype_name(to), " instead");
        }
        p.to = to;
        p.quantize = true;
        plans.push_back(std::move(p));
    }
    return plans;
}

}  // namespace suanli
