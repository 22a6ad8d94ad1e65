#include "convert/hf_to_gguf.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <memory>
#include <string>

#include "convert/gguf_metadata.h"
#include "convert/tensor_names.h"
#include "core/error.h"
#include "formats/gguf_writer.h"
#include "formats/safetensors.h"
#include "models/hf_config.h"
#include "quantize/quantize.h"

namespace suanli {
namespace {

constexpr uint32_t kFtypeF32 = 0, kFtypeF16 = 1, kFtypeBF16 = 32;  // LLAMA_FTYPE_ALL_F32, MOSTLY_F16, MOSTLY_BF16

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

// convert_hf_to_gguf.py keeps 1-D tensors and norm weights in F32 whatever the
// output type; every other weight matrix gets `base`.
DType tensor_type(const std::string& gguf_name, size_t dims, DType base) {
    if (dims <= 1 || gguf_name.ends_with("_norm.weight")) return DType::F32;
    return base;
}

// HF stores Q and K for rotate_half RoPE: per head, the first half of the rows
// then the second. GGUF `llama` rotates adjacent pairs, so the rows of each head
// are interleaved, (2, D/2) -> (D/2, 2): convert_hf_to_gguf.py's permute().
std::vector<std::byte> permute_rows(std::span<const std::byte> data, size_t row_bytes, int64_t n_head, int64_t rows) {
    std::vector<std::byte> out(data.size());
    const int64_t d = rows / n_head, half = d / 2;
    for (int64_t h = 0; h < n_head; ++h)
        for (int64_t j = 0; j < 2; ++j)
            for (int64_t i = 0; i < half; ++i) {
                const int64_t from = h * d + j * half + i, to = h * d + 2 * i + j;
                std::memcpy(out.data() + to * row_bytes, data.data() + from * row_bytes, row_bytes);
            }
    return out;
}

}  // namespace

std::optional<ConvertType> find_convert_type(std::string_view name) {
    const std::string n = lower(name);
    if (n == "f32") return ConvertType{"f32", DType::F32, kFtypeF32, std::nullopt};
    if (n == "f16") return ConvertType{"f16", DType::F16, kFtypeF16, std::nullopt};
    if (n == "bf16") return ConvertType{"bf16", DType::BF16, kFtypeBF16, std::nullopt};
    const std::optional<QuantType> q = find_quant_type(name);
    if (!q) return std::nullopt;
    return ConvertType{n, DType::F32, q->file_type, q};
}

std::string convert_type_names() {
    std::string s = "f32, f16, bf16";
    for (const QuantType& q : quant_types())
        if (q.base != DType::F16 && q.base != DType::BF16) s += ", " + lower(q.name);
    return s;
}

GgufWriter hf_to_gguf_writer(const std::filesystem::path& dir, DType base, uint32_t file_type, int threads,
                             ConvertReport& report, const std::function<void(const ConvertedTensor&)>& on_tensor) {
    if (!std::filesystem::exists(dir)) fail(dir.string(), ": no such directory");
    if (!std::filesystem::is_directory(dir)) fail(dir.string(), ": not a directory (expected a Hugging Face model folder)");
    for (const char* name : {"config.json", "tokenizer.json"})
        if (!std::filesystem::exists(dir / name)) fail(dir.string(), ": missing ", name);
    if (!std::filesystem::exists(dir / "model.safetensors") && !std::filesystem::exists(dir / "model.safetensors.index.json"))
        fail(dir.string(), ": missing model.safetensors (or model.safetensors.index.json)");

    const HfConfig hf = read_hf_config(dir / "config.json");
    const ModelConfig& c = hf.model;
    auto set = std::make_shared<const SafetensorsSet>(SafetensorsSet::open_dir(dir));

    const SafetensorsSet::Found embd = set->find("model.embed_tokens.weight");
    if (!embd) fail(set->source_name(), ": missing tensor 'model.embed_tokens.weight'");
    if (embd.tensor->shape.size() != 2 || embd.tensor->shape[1] != c.n_embd)
        fail(set->files()[embd.file].name(), ": model.embed_tokens.weight is not [vocab, ", c.n_embd, "]");
    const int64_t n_vocab = embd.tensor->shape[0];
    const bool has_lm_head = static_cast<bool>(set->find("lm_head.weight"));
    if (!has_lm_head && !hf.tie_word_embeddings)
        fail(set->source_name(), ": missing tensor 'lm_head.weight' (and config.json does not tie it to the embedding)");

    GgufWriter w;
    write_model_metadata(w, hf, n_vocab, file_type);
    report = ConvertReport{};
    report.architecture = c.architecture;
    report.n_vocab = static_cast<int32_t>(n_vocab);
    report.padded_tokens = write_tokenizer_metadata(w, dir, n_vocab);
    report.tied_output = hf.tie_word_embeddings || !has_lm_head;

    // The tensors in llama.cpp's order: token_embd, the blocks, output_norm, output.
    // Every one the architecture needs must be there; unknown names are an error,
    // as in convert_hf_to_gguf.py ("Can not map tensor"), except rotary caches.
    const int64_t Dq = c.head_dim * c.n_head, Dkv = c.head_dim * c.n_head_kv;
    struct Want {
        std::string hf;
        std::vector<int64_t> shape;  // HF order
    };
    std::vector<Want> wanted{{"model.embed_tokens.weight", {n_vocab, c.n_embd}}};
    for (int64_t l = 0; l < c.n_layer; ++l) {
        const std::string p = "model.layers." + std::to_string(l) + ".";
        wanted.push_back({p + "input_layernorm.weight", {c.n_embd}});
        wanted.push_back({p + "self_attn.q_proj.weight", {Dq, c.n_embd}});
        if (c.qkv_bias) wanted.push_back({p + "self_attn.q_proj.bias", {Dq}});
        wanted.push_back({p + "self_attn.k_proj.weight", {Dkv, c.n_embd}});
        if (c.qkv_bias) wanted.push_back({p + "self_attn.k_proj.bias", {Dkv}});
        wanted.push_back({p + "self_attn.v_proj.weight", {Dkv, c.n_embd}});
        if (c.qkv_bias) wanted.push_back({p + "self_attn.v_proj.bias", {Dkv}});
        wanted.push_back({p + "self_attn.o_proj.weight", {c.n_embd, Dq}});
        wanted.push_back({p + "post_attention_layernorm.weight", {c.n_embd}});
        wanted.push_back({p + "mlp.gate_proj.weight", {c.n_ff, c.n_embd}});
        wanted.push_back({p + "mlp.up_proj.weight", {c.n_ff, c.n_embd}});
        wanted.push_back({p + "mlp.down_proj.weight", {c.n_embd, c.n_ff}});
    }
    wanted.push_back({"model.norm.weight", {c.n_embd}});
    if (!report.tied_output) wanted.push_back({"lm_head.weight", {n_vocab, c.n_embd}});

    for (const SafetensorsFile& f : set->files())
        for (const SafetensorsTensor& t : f.tensors()) {
            if (t.name.ends_with("rotary_emb.inv_freq")) continue;
            if (t.name == "lm_head.weight") continue;
            const auto known = gguf_tensor_name(t.name);
            const bool used = known && std::any_of(wanted.begin(), wanted.end(), [&](const Want& x) { return x.hf == t.name; });
            if (!used) fail(f.name(), ": tensor '", t.name, "' is not part of a ", c.architecture, " model of this config");
        }

    const size_t count = wanted.size();
    for (size_t i = 0; i < count; ++i) {
        const Want& want = wanted[i];
        const SafetensorsSet::Found found = set->find(want.hf);
        if (!found) fail(set->source_name(), ": missing tensor '", want.hf, "'");
        const SafetensorsTensor& t = *found.tensor;
        const std::string& file = set->files()[found.file].name();
        if (t.shape != want.shape) {
            auto text = [](const std::vector<int64_t>& s) {
                std::string r = "[";
                for (size_t k = 0; k < s.size(); ++k) r += (k ? ", " : "") + std::to_string(s[k]);
                return r + "]";
            };
            fail(file, ": tensor '", want.hf, "' has shape ", text(t.shape), ", expected ", text(want.shape));
        }
        const GgufTensorName g = *gguf_tensor_name(want.hf);
        std::vector<int64_t> ne(t.shape.rbegin(), t.shape.rend());
        const DType to = tensor_type(g.name, ne.size(), base);
        const bool permute = c.architecture == "llama" && (g.is_q || g.is_k);
        const int64_t heads = g.is_q ? c.n_head : c.n_head_kv;
        ConvertedTensor info{i, count, want.hf, g.name, t.type, to, ne, permute, "convert"};
        int64_t elements = 1;
        for (int64_t x : ne) elements *= x;
        report.elements += static_cast<uint64_t>(elements);
        ++report.tensors;

        const size_t file_index = found.file;
        const SafetensorsTensor* tensor = &t;
        w.add_tensor_generated(g.name, to, ne, [set, file_index, tensor, info, permute, heads, threads,
                                                on_tensor](std::span<std::byte> out) {
            std::span<const std::byte> src = set->files()[file_index].tensor_data(*tensor);
            const int64_t row_len = info.ne[0];
            const int64_t rows = static_cast<int64_t>(src.size() / row_bytes(info.from, row_len));
            std::vector<std::byte> permuted;
            if (permute) {
                permuted = permute_rows(src, row_bytes(info.from, row_len), heads, rows);
                src = permuted;
            }
            if (info.from == info.to) {
                std::memcpy(out.data(), src.data(), out.size());
            } else {
                convert_rows(info.from, info.to, src.data(), row_len, rows, threads, out);
            }
            if (on_tensor) on_tensor(info);
        });
    }
    // llama3 rope scaling travels as per-pair frequency divisors, as llama.cpp's converter writes them.
    if (!c.rope_freq_factors.empty()) {
        const auto bytes = std::as_bytes(std::span(c.rope_freq_factors));
        w.add_tensor("rope_freqs.weight", DType::F32, {static_cast<int64_t>(c.rope_freq_factors.size())},
                     std::vector<std::byte>(bytes.begin(), bytes.end()));
    }
    return w;
}

ConvertReport convert_hf_to_gguf(const std::filesystem::path& dir, const std::filesystem::path& out,
                                 const ConvertOptions& options) {
    ConvertReport report;
    const ConvertType& type = options.type;
    if (!type.quant) {
        const GgufWriter w = hf_to_gguf_writer(dir, type.base, type.file_type, options.threads, report, options.on_tensor);
        w.write(out);
    } else {
        // F32 first (exact for F32/F16/BF16 sources, so the quantizer sees the
        // checkpoint's values), then llama.cpp's mix over it.
        std::filesystem::path f32 = out;
        f32 += ".f32.tmp";
        struct Remove {
            std::filesystem::path p;
            ~Remove() {
                std::error_code ec;
                std::filesystem::remove(p, ec);
            }
        } remove{f32};
        {
            const GgufWriter w = hf_to_gguf_writer(dir, DType::F32, kFtypeF32, options.threads, report, options.on_tensor);
            w.write(f32);
        }
        quantize_file(f32, out, *type.quant, options.threads, [&](const TensorDone& d) {
            if (!options.on_tensor) return;
            ConvertedTensor info{d.index, d.count, "", d.plan->name, d.plan->from, d.plan->to, d.ne, false, "quantize"};
            options.on_tensor(info);
        });
    }
    std::error_code ec;
    report.file_bytes = std::filesystem::file_size(out, ec);
    return report;
}

}  // namespace suanli
