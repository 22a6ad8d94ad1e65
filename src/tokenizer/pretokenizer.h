// Pre-tokenizers of byte-level BPE vocabularies: regular expressions that cut
// text into words; BPE merges then run inside each word only.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace suanli {

// What tokenizer.ggml.pre selects.
struct PreTokenizerSpec {
    // Applied in order: each splits every piece the previous one produced. Text
    // between matches is kept as pieces of its own (as llama.cpp does).
    std::vector<std::string> patterns;
    bool ignore_merges = false;  // a word that is a whole token is taken as is (Llama 3)
    bool add_bos = false;        // add_bos_token when the GGUF does not say
};

// The spec for a tokenizer.ggml.pre name ("" means "default"). Throws Error
// naming an unknown name and the known ones.
PreTokenizerSpec pretokenizer_spec(std::string_view name);

class PreTokenizer {
public:
    // Compiles the patterns with PCRE2 (UTF, UCP; JIT when available). Throws
    // Error on a pattern PCRE2 rejects.
    explicit PreTokenizer(const std::vector<std::string>& patterns);
    PreTokenizer(PreTokenizer&&) noexcept;
    PreTokenizer& operator=(PreTokenizer&&) noexcept;
    ~PreTokenizer();

    // Consecutive pieces that together are exactly `text`. Thread-safe.
    // Ill-formed UTF-8 is never given to the regexes: each ill-formed sequence
    // (a maximal subpart) becomes a piece of its own and the well-formed runs
    // between them are split as usual, so any bytes tokenize losslessly.
    std::vector<std::string_view> split(std::string_view text) const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace suanli
