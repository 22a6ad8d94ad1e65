// Hugging Face tokenizers' tokenizer.json (with tokenizer_config.json and
// generation_config.json beside it), mapped onto the Vocabulary that the
// SentencePiece-style and byte-level BPE tokenizers run on.
#pragma once

#include <filesystem>

#include "tokenizer/vocabulary.h"

namespace suanli {

// Reads `dir`/tokenizer.json. Supports model.type BPE in two forms:
//  - SentencePiece-style (normalizer Prepend "▁" + Replace " " -> "▁", or a
//    Metaspace pre-tokenizer; byte_fallback): model "llama", with scores
//    derived from the merge ranks (the earlier the merge, the higher the score);
//  - byte-level (a ByteLevel pre-tokenizer, alone or after a Split regex of
//    GPT-2, Llama 3 or Qwen2): model "gpt2" with the matching pre-tokenizer.
// added_tokens marked special become control tokens, the others user-defined.
// Throws Error naming the file and the field when something is missing,
// inconsistent or unsupported.
Vocabulary load_hf_vocabulary(const std::filesystem::path& dir);

}  // namespace suanli
