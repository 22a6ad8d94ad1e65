#include "tokenizer/vocabulary.h"

#include <algorithm>
#include <cctype>
#include <limits>

#include "core/error.h"
#include "formats/gguf.h"
#include "tokenizer/pretokenizer.h"

namespace suanli {

namespace {

// Token texts that end generation; llama.cpp (build 4748) also turns them into
// control tokens when the GGUF says otherwise.
constexpr std::string_view kEndOfGenerationTexts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>",
    "<|endoftext|>", "<|eom_id|>", "<EOT>", "_<EOT>",
};

// A special token id: the key's value when it names a token, otherwise
// `fallback` (llama.cpp keeps its default for an out-of-range id, e.g. 2^32-1).
int32_t read_id(const GgufFile& file, std::string_view key, int32_t fallback, int32_t n) {
    const auto v = file.get_int(key);
    if (v && *v >= 0 && *v < n) return static_cast<int32_t>(*v);
    return fallback < n ? fallback : -1;
}

bool is_special_type(TokenType t) {
    return t == TokenType::Control || t == TokenType::UserDefined || t == TokenType::Unknown;
}

}  // namespace

Vocabulary load_vocabulary(const GgufFile& file) {
    const std::string& name = file.name();
    Vocabulary v;

    const auto model = file.get_string("tokenizer.ggml.model");
    if (!model) fail(name, ": no tokenizer.ggml.model");
    v.model = *model;
    if (v.model != "llama" && v.model != "gpt2") {
        fail(name, ": tokenizer.ggml.model '", v.model, "' is not supported (supported: llama, gpt2)");
    }
    v.pre = file.get_string("tokenizer.ggml.pre").value_or("");

    auto tokens = file.get_string_array("tokenizer.ggml.tokens");
    if (!tokens || tokens->empty()) fail(name, ": no tokenizer.ggml.tokens");
    if (tokens->size() > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
        fail(name, ": tokenizer.ggml.tokens has too many entries");
    }
    const auto n = static_cast<int32_t>(tokens->size());
    v.tokens.assign(tokens->begin(), tokens->end());

    if (auto scores = file.get_f32_array("tokenizer.ggml.scores")) {
        if (scores->size() != v.tokens.size()) {
            fail(name, ": tokenizer.ggml.scores has ", scores->size(), " entries, tokens ", n);
        }
        v.scores = std::move(*scores);
    } else {
        v.scores.assign(n, 0.0f);
    }

    v.types.assign(n, TokenType::Normal);
    if (auto types = file.get_i32_array("tokenizer.ggml.token_type")) {
        if (types->size() != v.tokens.size()) {
            fail(name, ": tokenizer.ggml.token_type has ", types->size(), " entries, tokens ", n);
        }
        for (int32_t i = 0; i < n; ++i) {
            const int32_t t = (*types)[i];
            v.types[i] = t >= 0 && t <= 6 ? static_cast<TokenType>(t) : TokenType::Undefined;
        }
    }
    v.strip.assign(n, 0);

    v.index.build(v.tokens);

    if (v.model == "gpt2") {
        const auto merges = file.get_string_array("tokenizer.ggml.merges");
        if (!merges) fail(name, ": tokenizer.ggml.model is gpt2 but there is no tokenizer.ggml.merges");
        v.merges.reserve(merges->size());
        for (size_t i = 0; i < merges->size(); ++i) {
            const std::string_view m = (*merges)[i];
            // Split at the first space after the first byte, as llama.cpp does.
            const size_t sp = m.size() > 1 ? m.find(' ', 1) : std::string_view::npos;
            if (sp == std::string_view::npos) fail(name, ": tokenizer.ggml.merges[", i, "] has no space");
            v.merges.emplace_back(m.substr(0, sp), m.substr(sp + 1));
        }
    }

    const bool spm = v.model == "llama";
    v.bos = read_id(file, "tokenizer.ggml.bos_token_id", spm ? 1 : -1, n);
    v.eos = read_id(file, "tokenizer.ggml.eos_token_id", spm ? 2 : -1, n);
    v.unk = read_id(file, "tokenizer.ggml.unknown_token_id", spm ? 0 : -1, n);
    v.pad = read_id(file, "tokenizer.ggml.padding_token_id", -1, n);
    v.eot = read_id(file, "tokenizer.ggml.eot_token_id", -1, n);
    v.eom = read_id(file, "tokenizer.ggml.eom_token_id", -1, n);

    // Defaults as in llama.cpp: SentencePiece adds BOS and a space prefix; for
    // byte-level BPE the pre-tokenizer family decides about BOS.
    if (spm) {
        v.add_bos = true;
        v.add_space_prefix = true;
    } else {
        try {
            v.add_bos = pretokenizer_spec(v.pre).add_bos;  // also rejects unknown names early
        } catch (const Error& e) {
            fail(name, ": ", e.what());
        }
    }
    v.add_bos = file.get_bool("tokenizer.ggml.add_bos_token").value_or(v.add_bos);
    v.add_eos = file.get_bool("tokenizer.ggml.add_eos_token").value_or(false);
    v.add_space_prefix = file.get_bool("tokenizer.ggml.add_space_prefix").value_or(v.add_space_prefix);
    if (v.add_bos && v.bos < 0) fail(name, ": add_bos_token is set but there is no BOS token");
    if (v.add_eos && v.eos < 0) fail(name, ": add_eos_token is set but there is no EOS token");

    // End of generation: EOS, EOT, EOM and the tokens named by text.
    std::vector<int32_t> eog;
    for (int32_t id : {v.eos, v.eot, v.eom}) {
        if (id >= 0) eog.push_back(id);
    }
    for (std::string_view text : kEndOfGenerationTexts) {
        const int32_t id = v.find(text);
        if (id < 0) continue;
        eog.push_back(id);
        v.types[id] = TokenType::Control;
    }
    std::sort(eog.begin(), eog.end());
    eog.erase(std::unique(eog.begin(), eog.end()), eog.end());
    v.end_of_generation = std::move(eog);

    for (int32_t i = 0; i < n; ++i) {
        if (is_special_type(v.types[i]) && !v.tokens[i].empty()) v.special_tokens.push_back(i);
    }
    std::stable_sort(v.special_tokens.begin(), v.special_tokens.end(), [&](int32_t a, int32_t b) {
        return v.tokens[a].size() > v.tokens[b].size();
    });

    // llama.cpp's per-model fix-up: Phi-3 special tokens swallow the whitespace
    // after them (except <unk>, <s>, <|endoftext|>).
    std::string model_name(file.get_string("general.name").value_or(""));
    std::transform(model_name.begin(), model_name.end(), model_name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (model_name.find("phi-3") != std::string::npos || model_name.find("phi3") != std::string::npos) {
        for (int32_t id : v.special_tokens) v.strip[id] |= Vocabulary::kStripRight;
        if (const int32_t id = v.find("</s>"); id >= 0) v.strip[id] |= Vocabulary::kStripRight;
        for (std::string_view text : {"<unk>", "<s>", "<|endoftext|>"}) {
            if (const int32_t id = v.find(text); id >= 0) v.strip[id] &= ~Vocabulary::kStripRight;
        }
    }
    return v;
}

}  // namespace suanli
