// Writing random-weight models: metadata as llama.cpp's converter writes it, the tokenizer
// copied from a vocabulary file and padded, and tensors generated while the file is written.
#include "models/synthetic.h"

#include <cmath>
#include <cstring>

#include "core/error.h"
#include "core/fp16.h"
#include "formats/gguf.h"
#include "formats/gguf_writer.h"

namespace suanli {
namespace {

// llama.cpp's token types.
constexpr int32_t kTokenNormal = 1, kTokenUnknown = 2, kTokenControl = 3, kTokenUnused = 5, kTokenByte = 6;

uint64_t splitmix64(uint64_t& state) {
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint64_t fnv1a(std::string_view s) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (char c : s) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
    return h;
}

// Approximately N(0, stddev): the sum of four 16-bit uniforms from one 64-bit draw
// (Irwin-Hall), cheap enough for a billion weights.
struct NormalRng {
    uint64_t state;
    float scale;
    float next() {
        const uint64_t r = splitmix64(state);
        const uint32_t sum = static_cast<uint32_t>(r & 0xffff) + static_cast<uint32_t>((r >> 16) & 0xffff) +
                             static_cast<uint32_t>((r >> 32) & 0xffff) + static_cast<uint32_t>(r >> 48);
        // sum/65536 has mean 2 and variance 4/12; scale to unit variance.
        return (static_cast<float>(sum) * (1.0f / 65536.0f) - 2.0f) * scale;
    }
};

// Fills `out` (elements of `type`) with N(0, stddev), or with `constant` when stddev is 0.
GgufWriter::TensorFill random_fill(DType type, uint64_t seed, float stddev, float constant = 0.0f) {
    return [type, seed, stddev, constant](std::span<std::byte> out) {
        NormalRng rng{seed, stddev * std::sqrt(3.0f)};
        auto value = [&] { return stddev > 0 ? rng.next() : constant; };
        if (type == DType::F32) {
            const size_t n = out.size() / 4;
            float* p = reinterpret_cast<float*>(out.data());
            for (size_t i = 0; i < n; ++i) p[i] = value();
        } else {
            const size_t n = out.size() / 2;
            uint16_t* p = reinterpret_cast<uint16_t*>(out.data());
            if (type == DType::F16)
                for (size_t i = 0; i < n; ++i) p[i] = f32_to_f16(value());
            else
                for (size_t i = 0; i < n; ++i) p[i] = f32_to_bf16(value());
        }
    };
}

// general.file_type as llama.cpp numbers it (LLAMA_FTYPE_*).
uint32_t file_type(DType type) {
    switch (type) {
        case DType::F32: return 0;
        case DType::F16: return 1;
        case DType::BF16: return 32;
        default: fail("synthetic models are written in F32, F16 or BF16, not ", dtype_name(type));
    }
}

struct Vocab {
    std::vector<std::string> tokens;
    std::vector<float> scores;    // empty when the source has none
    std::vector<int32_t> types;   // empty when the source has none
};

// <unk>, <s>, </s> and the 256 byte tokens: a SentencePiece-style vocabulary that
// encodes any text through byte fallback.
Vocab byte_vocab() {
    Vocab v;
    v.tokens = {"<unk>", "<s>", "</s>"};
    v.types = {kTokenUnknown, kTokenControl, kTokenControl};
    char name[8];
    for (int b = 0; b < 256; ++b) {
        std::snprintf(name, sizeof name, "<0x%02X>", b);
        v.tokens.emplace_back(name);
        v.types.push_back(kTokenByte);
    }
    v.scores.assign(v.tokens.size(), 0.0f);
    return v;
}

void pad_vocab(Vocab& v, int64_t n_vocab, const std::string& source) {
    if (static_cast<int64_t>(v.tokens.size()) > n_vocab)
        fail("vocabulary ", source, " has ", v.tokens.size(), " tokens, more than the model's ", n_vocab,
             " embedding rows");
    for (int64_t i = static_cast<int64_t>(v.tokens.size()); i < n_vocab; ++i) {
        v.tokens.push_back(cat("<pad_", i, ">"));
        if (!v.scores.empty()) v.scores.push_back(-1e9f);
        if (!v.types.empty()) v.types.push_back(kTokenUnused);
    }
}

void set_vocab(GgufWriter& w, const Vocab& v) {
    w.set_array("tokenizer.ggml.tokens", std::span<const std::string>(v.tokens));
    if (!v.scores.empty()) w.set_array("tokenizer.ggml.scores", std::span<const float>(v.scores));
    if (!v.types.empty()) w.set_array("tokenizer.ggml.token_type", std::span<const int32_t>(v.types));
}

void write_tokenizer(GgufWriter& w, const SyntheticShape& s, const SyntheticOptions& o) {
    const std::filesystem::path file = resolve_vocab(s.vocab, o.vocab_dirs);
    if (file.empty()) {
        Vocab v = byte_vocab();
        pad_vocab(v, s.n_vocab, "bytes");
        w.set_string("tokenizer.ggml.model", "llama");
        set_vocab(w, v);
        w.set_u32("tokenizer.ggml.bos_token_id", 1);
        w.set_u32("tokenizer.ggml.eos_token_id", 2);
        w.set_u32("tokenizer.ggml.unknown_token_id", 0);
        return;
    }
    const GgufFile src = GgufFile::open(file);
    Vocab v;
    const auto tokens = src.get_string_array("tokenizer.ggml.tokens");
    if (!tokens) fail(file.string(), ": no tokenizer.ggml.tokens");
    v.tokens.assign(tokens->begin(), tokens->end());
    if (auto scores = src.get_f32_array("tokenizer.ggml.scores")) v.scores = std::move(*scores);
    if (auto types = src.get_i32_array("tokenizer.ggml.token_type")) v.types = std::move(*types);
    pad_vocab(v, s.n_vocab, file.string());
    // Every tokenizer key in the source's order; the three per-token arrays padded.
    for (const GgufKeyValue& kv : src.metadata()) {
        if (!kv.key.starts_with("tokenizer.")) continue;
        if (kv.key == "tokenizer.ggml.tokens") {
            set_vocab(w, v);
        } else if (kv.key != "tokenizer.ggml.scores" && kv.key != "tokenizer.ggml.token_type") {
            w.set_value(kv.key, kv.value);
        }
    }
}

void check_shape(const SyntheticShape& s) {
    auto positive = [&](const char* what, int64_t v) {
        if (v < 1 || v > (int64_t{1} << 24)) fail("synthetic model: ", what, " = ", v, " is out of range");
    };
    positive("dim", s.n_embd);
    positive("layers", s.n_layer);
    positive("heads", s.n_head);
    positive("kv heads", s.n_head_kv);
    positive("ffn", s.n_ff);
    positive("vocab size", s.n_vocab);
    positive("context", s.n_ctx);
    if (s.n_embd % s.n_head != 0) fail("synthetic model: dim ", s.n_embd, " is not a multiple of heads ", s.n_head);
    if (s.n_head % s.n_head_kv != 0)
        fail("synthetic model: heads ", s.n_head, " is not a multiple of kv heads ", s.n_head_kv);
    if ((s.n_embd / s.n_head) % 2 != 0) fail("synthetic model: the head size ", s.n_embd / s.n_head, " must be even");
    if (s.architecture != "llama" && s.architecture != "qwen2")
        fail("synthetic model: architecture '", s.architecture, "' is not llama or qwen2");
}

}  // namespace

std::optional<SyntheticShape> synthetic_shape(std::string_view name) {
    SyntheticShape s;
    s.name = std::string(name);
    if (name == "tinyllama") {  // TinyLlama-1.1B
        s.n_embd = 2048, s.n_layer = 22, s.n_head = 32, s.n_head_kv = 4, s.n_ff = 5632, s.n_vocab = 32000;
        s.n_ctx = 2048;
        s.vocab = "llama-spm";
    } else if (name == "llama3.2-1b") {  // Llama-3.2-1B (without its llama3 rope scaling)
        s.n_embd = 2048, s.n_layer = 16, s.n_head = 32, s.n_head_kv = 8, s.n_ff = 8192, s.n_vocab = 128256;
        s.n_ctx = 131072;
        s.rope_freq_base = 500000.0f;
        s.tied_output = true;
        s.vocab = "gpt-2";
    } else if (name == "qwen2.5-0.5b") {  // Qwen2.5-0.5B
        s.architecture = "qwen2";
        s.n_embd = 896, s.n_layer = 24, s.n_head = 14, s.n_head_kv = 2, s.n_ff = 4864, s.n_vocab = 151936;
        s.n_ctx = 32768;
        s.rope_freq_base = 1000000.0f;
        s.rms_eps = 1e-6f;
        s.tied_output = true;
        s.vocab = "gpt-2";
    } else {
        return std::nullopt;
    }
    return s;
}

std::vector<std::string_view> synthetic_shape_names() { return {"tinyllama", "llama3.2-1b", "qwen2.5-0.5b"}; }

std::filesystem::path resolve_vocab(const std::string& vocab, const std::vector<std::filesystem::path>& dirs) {
    if (vocab == "bytes") return {};
    if (vocab.find('/') != std::string::npos || vocab.ends_with(".gguf")) {
        if (!std::filesystem::exists(vocab)) fail("vocabulary file ", vocab, " does not exist");
        return vocab;
    }
    std::string tried;
    for (const std::filesystem::path& dir : dirs) {
        const std::filesystem::path p = dir / cat("ggml-vocab-", vocab, ".gguf");
        if (std::filesystem::exists(p)) return p;
        tried += cat(tried.empty() ? "" : ", ", p.string());
    }
    fail("vocabulary '", vocab, "' not found (looked for ", tried.empty() ? "nothing" : tried,
         "); pass --vocab PATH to a GGUF with a tokenizer, or --vocab bytes");
}

uint64_t synthetic_weight_bytes(const SyntheticShape& s, DType type) {
    const uint64_t es = traits(type).block_bytes;
    const uint64_t hd = s.n_embd / s.n_head, e = s.n_embd;
    const uint64_t per_layer = e * hd * s.n_head * 2 + e * hd * s.n_head_kv * 2 + 3 * e * s.n_ff;
    uint64_t b = (per_layer * s.n_layer + e * s.n_vocab * (s.tied_output ? 1 : 2)) * es;
    b += (2 * e * s.n_layer + e) * 4;
    if (s.architecture == "qwen2") b += (hd * s.n_head + 2 * hd * s.n_head_kv) * s.n_layer * 4;
    return b;
}

void write_synthetic_model(const SyntheticShape& s, const SyntheticOptions& o, const std::filesystem::path& path) {
    check_shape(s);
    const DType wt = o.type;
    GgufWriter w;
    const std::string a = s.architecture + ".";
    const int64_t hd = s.n_embd / s.n_head;
    w.set_string("general.architecture", s.architecture);
    w.set_string("general.name", cat("synthetic ", s.name.empty() ? "custom" : s.name));
    w.set_u32("general.file_type", file_type(wt));
    w.set_u32(a + "context_length", static_cast<uint32_t>(s.n_ctx));
    w.set_u32(a + "embedding_length", static_cast<uint32_t>(s.n_embd));
    w.set_u32(a + "block_count", static_cast<uint32_t>(s.n_layer));
    w.set_u32(a + "feed_forward_length", static_cast<uint32_t>(s.n_ff));
    w.set_u32(a + "rope.dimension_count", static_cast<uint32_t>(hd));
    w.set_u32(a + "attention.head_count", static_cast<uint32_t>(s.n_head));
    w.set_u32(a + "attention.head_count_kv", static_cast<uint32_t>(s.n_head_kv));
    w.set_f32(a + "attention.layer_norm_rms_epsilon", s.rms_eps);
    w.set_f32(a + "rope.freq_base", s.rope_freq_base);
    w.set_u32(a + "vocab_size", static_cast<uint32_t>(s.n_vocab));
    write_tokenizer(w, s, o);

    const float kStd = 0.02f;
    auto matrix = [&](const std::string& name, int64_t cols, int64_t rows) {
        w.add_tensor_generated(name, wt, {cols, rows}, random_fill(wt, o.seed ^ fnv1a(name), kStd));
    };
    auto ones = [&](const std::string& name, int64_t n) {
        w.add_tensor_generated(name, DType::F32, {n}, random_fill(DType::F32, 0, 0.0f, 1.0f));
    };
    auto bias = [&](const std::string& name, int64_t n) {
        w.add_tensor_generated(name, DType::F32, {n}, random_fill(DType::F32, o.seed ^ fnv1a(name), kStd));
    };
    const int64_t E = s.n_embd, Dq = hd * s.n_head, Dkv = hd * s.n_head_kv;
    matrix("token_embd.weight", E, s.n_vocab);
    for (int64_t l = 0; l < s.n_layer; ++l) {
        const std::string p = cat("blk.", l, ".");
        ones(p + "attn_norm.weight", E);
        matrix(p + "attn_q.weight", E, Dq);
        matrix(p + "attn_k.weight", E, Dkv);
        matrix(p + "attn_v.weight", E, Dkv);
        if (s.architecture == "qwen2") {
            bias(p + "attn_q.bias", Dq);
            bias(p + "attn_k.bias", Dkv);
            bias(p + "attn_v.bias", Dkv);
        }
        matrix(p + "attn_output.weight", Dq, E);
        ones(p + "ffn_norm.weight", E);
        matrix(p + "ffn_gate.weight", E, s.n_ff);
        matrix(p + "ffn_up.weight", E, s.n_ff);
        matrix(p + "ffn_down.weight", s.n_ff, E);
    }
    ones("output_norm.weight", E);
    if (!s.tied_output) matrix("output.weight", E, s.n_vocab);
    w.write(path);
}

}  // namespace suanli
