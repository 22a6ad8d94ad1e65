// Tokenizer::from_gguf picks the tokenizer for tokenizer.ggml.model; decode.
#include "tokenizer/tokenizer.h"

#include "formats/gguf.h"
#include "tokenizer/hf_tokenizer_json.h"
#include "tokenizer/vocab_tokenizer.h"
#include "tokenizer/vocabulary.h"

namespace suanli {

std::unique_ptr<Tokenizer> Tokenizer::from_gguf(const GgufFile& file) {
    Vocabulary vocab = load_vocabulary(file);  // rejects other models
    if (vocab.model == "llama") return make_spm_tokenizer(std::move(vocab));
    return make_bpe_tokenizer(std::move(vocab));
}

std::unique_ptr<Tokenizer> Tokenizer::from_hf_dir(const std::filesystem::path& dir) {
    Vocabulary vocab = load_hf_vocabulary(dir);
    if (vocab.model == "llama") return make_spm_tokenizer(std::move(vocab));
    return make_bpe_tokenizer(std::move(vocab));
}

std::string Tokenizer::decode(std::span<const int32_t> ids) const {
    std::string out;
    for (int32_t id : ids) out.append(token_to_piece(id, false));
    return out;
}

}  // namespace suanli
