// The metadata convert_hf_to_gguf.py writes: hyperparameters under the
// architecture's prefix and the tokenizer as tokenizer.ggml.*.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>

#include "models/hf_config.h"

namespace suanli {

class GgufWriter;

// general.* and {arch}.* from config.json; `n_vocab` is the embedding's row count.
void write_model_metadata(GgufWriter& w, const HfConfig& hf, int64_t n_vocab, uint32_t file_type);

// tokenizer.ggml.* from tokenizer.json (+ tokenizer_config.json), padded with
// "[PADn]" tokens (type unused) up to `n_vocab` rows as llama.cpp's converter
// does, and tokenizer.chat_template when tokenizer_config.json has one.
// Returns how many tokens were padded. Throws Error when the tokenizer has more
// tokens than the embedding has rows.
size_t write_tokenizer_metadata(GgufWriter& w, const std::filesystem::path& dir, int64_t n_vocab);

}  // namespace suanli
