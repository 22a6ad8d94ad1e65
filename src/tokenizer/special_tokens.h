// Splitting text on the text of special tokens before ordinary tokenization.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "tokenizer/vocabulary.h"

namespace suanli {

struct Fragment {
    std::string_view text;  // plain text to tokenize (when token < 0)
    int32_t token = -1;     // a special token found in the text
};

// Cuts `text` into plain text and special tokens the way llama.cpp's
// tokenizer_st_partition does: the special tokens are tried one after another,
// longest text first, and each cuts every occurrence (left to right) out of the
// plain fragments left so far. User-defined tokens are always split out, control
// and unknown tokens only when `parse_special`, as in Hugging Face tokenizers.
// A token marked to strip whitespace takes the ASCII whitespace beside it along.
std::vector<Fragment> split_special_tokens(std::string_view text, const Vocabulary& vocab, bool parse_special);

}  // namespace suanli
