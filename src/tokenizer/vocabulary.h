// A tokenizer's vocabulary as GGUF stores it (tokenizer.ggml.*), with the
// defaults and fix-ups llama.cpp applies when it loads one.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tokenizer/token_index.h"
#include "tokenizer/tokenizer.h"

namespace suanli {

struct Vocabulary {
    std::string model;  // tokenizer.ggml.model: "llama" or "gpt2"
    std::string pre;    // tokenizer.ggml.pre ("" when absent)
    std::vector<std::string> tokens;
    std::vector<float> scores;      // all 0 when absent
    std::vector<TokenType> types;   // all Normal when absent
    // Per token: whitespace to strip beside it when it is split out of text as
    // a special token (llama.cpp's LSTRIP / RSTRIP attributes).
    std::vector<uint8_t> strip;
    std::vector<std::pair<std::string, std::string>> merges;  // gpt2: by rank

    int32_t bos = -1, eos = -1, unk = -1, pad = -1, eot = -1, eom = -1;
    bool add_bos = false;
    bool add_eos = false;
    bool add_space_prefix = false;  // llama: prepend ' ' to text (default true)

    // Control, user-defined and unknown tokens with non-empty text, longest first
    // (ids ascending among equal lengths): the order text is split on them.
    std::vector<int32_t> special_tokens;
    std::vector<int32_t> end_of_generation;  // sorted ids

    TokenIndex index;  // text -> id

    static constexpr uint8_t kStripLeft = 1, kStripRight = 2;

    int32_t n_tokens() const { return static_cast<int32_t>(tokens.size()); }
    int32_t find(std::string_view text) const { return index.find(text); }
};

// Reads and checks the tokenizer.ggml.* keys. Throws Error naming the file and
// the key when something is missing, inconsistent or unsupported.
Vocabulary load_vocabulary(const GgufFile& file);

}  // namespace suanli
