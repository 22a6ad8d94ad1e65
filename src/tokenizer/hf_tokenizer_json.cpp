#include "tokenizer/hf_tokenizer_json.h"

#include <algorithm>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "tokenizer/pretokenizer.h"

namespace suanli {
namespace {

using nlohmann::json;

constexpr std::string_view kSpace = "\xE2\x96\x81";  // U+2581 '▁'

// The Split regexes of the byte-level pre-tokenizers we have (as their
// tokenizer.json files spell them) and the names pretokenizer_spec knows.
struct KnownSplit {
    std::string_view regex, pre;
};
constexpr KnownSplit kKnownSplits[] = {
    {R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)",
     "llama3"},
    {R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)",
     "qwen2"},
    {R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)", "gpt-2"},
};

constexpr std::string_view kEndOfGenerationTexts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|eom_id|>", "<EOT>", "_<EOT>",
};

std::string one_line(std::string s) {
    for (char& c : s)
        if (static_cast<unsigned char>(c) < 0x20) c = ' ';
    return s;
}

// Parses a JSON file; a missing optional file gives null.
json read_json(const std::filesystem::path& path, bool required) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        if (required) fail("cannot open ", path.string());
        return json();
    }
    try {
        return json::parse(in);
    } catch (const json::exception& e) {
        fail(path.string(), ": not valid JSON: ", one_line(e.what()));
    }
}

// The components of a normalizer / pre-tokenizer, Sequences flattened.
void flatten(const json& node, const char* list_key, std::vector<const json*>& out) {
    if (!node.is_object()) return;
    if (node.value("type", "") == "Sequence" && node.contains(list_key) && node[list_key].is_array()) {
        for (const json& n : node[list_key]) flatten(n, list_key, out);
    } else {
        out.push_back(&node);
    }
}

// A token named in tokenizer_config.json: "text" or {"content": "text", ...}.
std::string token_string(const json& v) {
    if (v.is_string()) return v.get<std::string>();
    if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
    return {};
}

}  // namespace

Vocabulary load_hf_vocabulary(const std::filesystem::path& dir) {
    const std::filesystem::path path = dir / "tokenizer.json";
    const std::string name = path.string();
    const json j = read_json(path, true);
    if (!j.is_object()) fail(name, ": not a JSON object");
    const json& model = j.contains("model") ? j["model"] : json();
    if (!model.is_object()) fail(name, ": no \"model\" object");
    const std::string type = model.value("type", "BPE");  // older files leave out the type
    if (type != "BPE") fail(name, ": model.type '", one_line(type), "' is not supported (only BPE)");
    if (!model.contains("vocab") || !model["vocab"].is_object()) fail(name, ": model.vocab is not an object");

    Vocabulary v;
    // Ids: the vocabulary, then added tokens (which may also redefine ids).
    std::vector<std::pair<int64_t, std::string>> entries;
    for (const auto& [text, id] : model["vocab"].items()) {
        if (!id.is_number_integer()) fail(name, ": model.vocab['", one_line(text), "'] is not an integer id");
        entries.emplace_back(id.get<int64_t>(), text);
    }
    const json& added = j.contains("added_tokens") && j["added_tokens"].is_array() ? j["added_tokens"] : json::array();
    for (size_t i = 0; i < added.size(); ++i) {
        const json& a = added[i];
        if (!a.is_object() || !a.contains("id") || !a["id"].is_number_integer() || !a.contains("content") ||
            !a["content"].is_string())
            fail(name, ": added_tokens[", i, "] needs an integer id and a content string");
        entries.emplace_back(a["id"].get<int64_t>(), a["content"].get<std::string>());
    }
    int64_t n = 0;
    for (const auto& [id, text] : entries) {
        if (id < 0 || id >= std::numeric_limits<int32_t>::max() / 2) fail(name, ": token id ", id, " is out of range");
        n = std::max(n, id + 1);
    }
    if (n == 0) fail(name, ": the vocabulary is empty");
    if (static_cast<size_t>(n) > 2 * entries.size() + 1024)
        fail(name, ": token ids reach ", n, " but there are only ", entries.size(), " tokens");
    v.tokens.assign(n, std::string());
    v.types.assign(n, TokenType::Unused);  // an id no token has
    v.scores.assign(n, 0.0f);
    v.strip.assign(n, 0);
    for (auto& [id, text] : entries) {
        v.tokens[id] = std::move(text);
        v.types[id] = TokenType::Normal;
    }
    for (const json& a : added) {
        const auto id = a["id"].get<int64_t>();
        v.types[id] = a.value("special", false) ? TokenType::Control : TokenType::UserDefined;
        if (a.value("lstrip", false)) v.strip[id] |= Vocabulary::kStripLeft;
        if (a.value("rstrip", false)) v.strip[id] |= Vocabulary::kStripRight;
    }
    v.index.build(v.tokens);

    // Merges: "a b" strings (split at the first space after the first byte,
    // as for GGUF) or [a, b] pairs.
    if (model.contains("merges") && !model["merges"].is_null()) {
        const json& merges = model["merges"];
        if (!merges.is_array()) fail(name, ": model.merges is not a list");
        v.merges.reserve(merges.size());
        for (size_t i = 0; i < merges.size(); ++i) {
            const json& m = merges[i];
            if (m.is_string()) {
                const std::string s = m.get<std::string>();
                const size_t sp = s.size() > 1 ? s.find(' ', 1) : std::string::npos;
                if (sp == std::string::npos) fail(name, ": model.merges[", i, "] has no space");
                v.merges.emplace_back(s.substr(0, sp), s.substr(sp + 1));
            } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
                v.merges.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
            } else {
                fail(name, ": model.merges[", i, "] is neither \"a b\" nor [a, b]");
            }
        }
    }
    if (!model.contains("unk_token") || model["unk_token"].is_null()) {
        v.unk = -1;
    } else if (model["unk_token"].is_string()) {
        v.unk = v.find(model["unk_token"].get<std::string>());
        if (v.unk >= 0) v.types[v.unk] = TokenType::Unknown;
    }

    // Which of the two families: byte-level pre-tokenizer, or SentencePiece style.
    // (flatten keeps pointers into these: they must outlive pre and norm.)
    const json pre_json = j.value("pre_tokenizer", json()), norm_json = j.value("normalizer", json());
    std::vector<const json*> pre, norm;
    flatten(pre_json, "pretokenizers", pre);
    flatten(norm_json, "normalizers", norm);
    const bool byte_level = std::any_of(pre.begin(), pre.end(), [](const json* p) { return p->value("type", "") == "ByteLevel"; });
    if (byte_level) {
        v.model = "gpt2";
        std::string regex;
        for (const json* p : pre) {
            const std::string t = p->value("type", "");
            if (t == "ByteLevel") {
                if (p->value("use_regex", true)) {
                    if (!regex.empty()) fail(name, ": more than one pre-tokenizer regex is not supported");
                    regex = std::string(kKnownSplits[2].regex);
                }
                if (p->value("add_prefix_space", false)) fail(name, ": ByteLevel add_prefix_space is not supported");
            } else if (t == "Split" && p->contains("pattern") && (*p)["pattern"].contains("Regex")) {
                if (!regex.empty()) fail(name, ": more than one pre-tokenizer regex is not supported");
                regex = (*p)["pattern"]["Regex"].get<std::string>();
            } else {
                fail(name, ": pre_tokenizer '", one_line(t), "' is not supported here");
            }
        }
        for (const KnownSplit& k : kKnownSplits)
            if (regex == k.regex) v.pre = k.pre;
        if (v.pre.empty()) fail(name, ": pre-tokenizer regex '", one_line(regex), "' is not supported (known: GPT-2, Llama 3, Qwen2)");
        for (const json* nz : norm)
            if (nz->value("type", "") != "NFC")  // NFC leaves ordinary text unchanged
                fail(name, ": normalizer '", one_line(nz->value("type", "")), "' is not supported with a byte-level pre-tokenizer");
        v.add_bos = pretokenizer_spec(v.pre).add_bos;
    } else {
        // SentencePiece style: spaces are '▁' and a '▁' starts the text.
        v.model = "llama";
        bool replaces_spaces = false;
        for (const json* nz : norm) {
            const std::string t = nz->value("type", "");
            if (t == "Prepend" && nz->value("prepend", "") == kSpace) {
                v.add_space_prefix = true;
            } else if (t == "Replace" && nz->contains("pattern") && (*nz)["pattern"].value("String", "") == " " &&
                       nz->value("content", "") == kSpace) {
                replaces_spaces = true;
            } else {
                fail(name, ": normalizer '", one_line(t), "' is not supported");
            }
        }
        for (const json* p : pre) {
            const std::string t = p->value("type", "");
            if (t != "Metaspace" || p->value("replacement", std::string(kSpace)) != kSpace)
                fail(name, ": pre_tokenizer '", one_line(t), "' is not supported with a SentencePiece-style vocabulary");
            replaces_spaces = true;
            const std::string scheme = p->value("prepend_scheme", p->value("add_prefix_space", true) ? "always" : "never");
            v.add_space_prefix = scheme != "never";
        }
        if (!replaces_spaces) fail(name, ": neither a normalizer nor a pre-tokenizer turns spaces into '▁'");
        if (!model.value("byte_fallback", false) && v.unk < 0)
            fail(name, ": no byte_fallback and no unk_token: some text could not be tokenized");
        for (int32_t id = 0; id < n; ++id) {
            const std::string& t = v.tokens[id];
            if (v.types[id] == TokenType::Normal && t.size() == 6 && t.starts_with("<0x") && t.ends_with(">"))
                v.types[id] = TokenType::Byte;
        }
        // Scores from merge ranks, as SentencePiece's merges were ordered by
        // score: the SPM tokenizer merges the best-scoring pair first, which
        // is the pair with the lowest rank.
        std::vector<bool> scored(n, false);
        std::string joined;
        for (size_t rank = 0; rank < v.merges.size(); ++rank) {
            joined.assign(v.merges[rank].first).append(v.merges[rank].second);
            const int32_t id = v.find(joined);
            if (id < 0 || scored[id]) continue;
            scored[id] = true;
            v.scores[id] = -static_cast<float>(rank);
        }
        // A token no merge makes: only ever a starting character.
        for (int32_t id = 0; id < n; ++id)
            if (!scored[id]) v.scores[id] = -1e9f;
        v.merges.clear();
        v.add_bos = true;
    }

    // Special tokens: tokenizer_config.json, else the post-processor's template.
    const json config = read_json(dir / "tokenizer_config.json", false);
    const json post = j.value("post_processor", json());
    std::vector<const json*> posts;
    flatten(post, "processors", posts);
    int32_t template_bos = -1;
    for (const json* p : posts) {
        if (p->value("type", "") != "TemplateProcessing" || !p->contains("single") || !(*p)["single"].is_array()) continue;
        const json& single = (*p)["single"];
        if (!single.empty() && single[0].contains("SpecialToken"))
            template_bos = v.find(single[0]["SpecialToken"].value("id", ""));
        if (!single.empty() && single.back().contains("SpecialToken") && single.size() > 1) {
            const int32_t id = v.find(single.back()["SpecialToken"].value("id", ""));
            if (id >= 0) v.eos = id, v.add_eos = true;
        }
    }
    if (!posts.empty() || byte_level) v.add_bos = template_bos >= 0;
    v.bos = template_bos;
    if (config.is_object()) {
        if (config.contains("bos_token")) {
            const std::string t = token_string(config["bos_token"]);
            if (!t.empty()) v.bos = v.find(t);
            if (!t.empty() && v.bos < 0) fail(dir.string(), "/tokenizer_config.json: bos_token '", one_line(t), "' is not a token");
        }
        if (config.contains("eos_token")) {
            const std::string t = token_string(config["eos_token"]);
            if (!t.empty()) v.eos = v.find(t);
            if (!t.empty() && v.eos < 0) fail(dir.string(), "/tokenizer_config.json: eos_token '", one_line(t), "' is not a token");
        }
        if (config.contains("add_bos_token") && config["add_bos_token"].is_boolean()) v.add_bos = config["add_bos_token"].get<bool>();
        if (config.contains("add_eos_token") && config["add_eos_token"].is_boolean()) v.add_eos = config["add_eos_token"].get<bool>();
        if (config.contains("pad_token")) v.pad = v.find(token_string(config["pad_token"]));
    }
    if (v.add_bos && v.bos < 0) fail(name, ": BOS is to be added but there is no BOS token");
    if (v.add_eos && v.eos < 0) fail(name, ": EOS is to be added but there is no EOS token");

    // End of generation: EOS, generation_config.json's eos_token_id(s), and
    // the usual end-of-turn texts (as for GGUF vocabularies).
    std::vector<int32_t> eog;
    if (v.eos >= 0) eog.push_back(v.eos);
    const json gen = read_json(dir / "generation_config.json", false);
    if (gen.is_object() && gen.contains("eos_token_id")) {
        const json& e = gen["eos_token_id"];
        for (const json& id : e.is_array() ? e : json::array({e}))
            if (id.is_number_integer() && id.get<int64_t>() >= 0 && id.get<int64_t>() < n) eog.push_back(id.get<int32_t>());
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
        const TokenType t = v.types[i];
        if ((t == TokenType::Control || t == TokenType::UserDefined || t == TokenType::Unknown) && !v.tokens[i].empty())
            v.special_tokens.push_back(i);
    }
    std::stable_sort(v.special_tokens.begin(), v.special_tokens.end(),
                     [&](int32_t a, int32_t b) { return v.tokens[a].size() > v.tokens[b].size(); });
    return v;
}

}  // namespace suanli
