// What the SentencePiece and byte-level BPE tokenizers share: the vocabulary,
// special-token splitting, BOS/EOS and the token -> piece table.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"
#include "tokenizer/vocabulary.h"

namespace suanli {

class VocabTokenizer : public Tokenizer {
public:
    std::vector<int32_t> encode(std::string_view text, bool add_special, bool parse_special) const override;
    std::string token_to_piece(int32_t id, bool special = false) const override;

    std::string_view kind() const override { return vocab_.model; }
    int32_t n_vocab() const override { return vocab_.n_tokens(); }
    int32_t bos() const override { return vocab_.bos; }
    int32_t eos() const override { return vocab_.eos; }
    bool add_bos() const override { return vocab_.add_bos; }
    bool is_end_of_generation(int32_t id) const override;
    std::string_view token_text(int32_t id) const override;

protected:
    explicit VocabTokenizer(Vocabulary vocab) : vocab_(std::move(vocab)) {}

    // Appends the ids of plain text (no special tokens in it). `after_special`
    // is true at the start of the text and right after a special token.
    virtual void encode_text(std::string_view text, bool after_special, std::vector<int32_t>& out) const = 0;

    // Fills pieces_ (normal_piece() for normal tokens); derived constructors call it.
    void build_pieces();
    // The bytes of a normal token's text (not control, unknown or user-defined).
    virtual std::string normal_piece(std::string_view text) const = 0;

    void check_id(int32_t id) const;

    Vocabulary vocab_;
    std::vector<std::string> pieces_;  // token_to_piece(id, special=true)
};

std::unique_ptr<Tokenizer> make_spm_tokenizer(Vocabulary vocab);
std::unique_ptr<Tokenizer> make_bpe_tokenizer(Vocabulary vocab);

}  // namespace suanli
