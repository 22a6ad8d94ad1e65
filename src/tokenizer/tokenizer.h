// Text <-> token ids, for the vocabularies GGUF files carry.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace suanli {

class GgufFile;

// GGUF's tokenizer.ggml.token_type values.
enum class TokenType : int32_t {
    Undefined = 0, Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6,
};

class Tokenizer {
public:
    // Reads tokenizer.ggml.* metadata. Supports model "llama" (SentencePiece-style
    // BPE with scores and byte fallback) and "gpt2" (byte-level BPE with merges and
    // the pre-tokenizer named by tokenizer.ggml.pre). Throws Error when the
    // metadata is missing, inconsistent or of an unsupported kind.
    static std::unique_ptr<Tokenizer> from_gguf(const GgufFile& file);
    // Reads a Hugging Face directory's tokenizer.json (BPE, SentencePiece-style
    // or byte-level) with tokenizer_config.json; see hf_tokenizer_json.h.
    static std::unique_ptr<Tokenizer> from_hf_dir(const std::filesystem::path& dir);
    virtual ~Tokenizer() = default;

    // add_special: prepend BOS (append EOS) when the vocabulary asks for it.
    // parse_special: text of control and user-defined tokens maps to their ids;
    // otherwise it is tokenized as plain text.
    virtual std::vector<int32_t> encode(std::string_view text, bool add_special,
                                        bool parse_special) const = 0;

    // The bytes a token stands for: SentencePiece '▁' becomes ' ', <0xNN> the
    // byte NN, byte-level symbols their bytes. Control tokens give "" unless
    // `special`. May be an incomplete UTF-8 sequence (see Utf8Stream).
    virtual std::string token_to_piece(int32_t id, bool special = false) const = 0;

    // Concatenated pieces of `ids` (special tokens omitted).
    std::string decode(std::span<const int32_t> ids) const;

    virtual std::string_view kind() const = 0;  // "llama" or "gpt2"
    virtual int32_t n_vocab() const = 0;
    virtual int32_t bos() const = 0;            // -1 if none
    virtual int32_t eos() const = 0;            // -1 if none
    virtual bool add_bos() const = 0;
    // End of generation: EOS, EOT and similar control tokens.
    virtual bool is_end_of_generation(int32_t id) const = 0;
    virtual std::string_view token_text(int32_t id) const = 0;  // raw vocabulary entry
};

// Joins streamed token pieces and releases only whole UTF-8 characters, so a
// character split across byte tokens is printed once it is complete.
class Utf8Stream {
public:
    std::string push(std::string_view piece);
    // What is left at the end; invalid or incomplete bytes become U+FFFD.
    std::string finish();

private:
    std::string pending_;
};

}  // namespace suanli
