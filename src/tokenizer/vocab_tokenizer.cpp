#include "tokenizer/vocab_tokenizer.h"

#include <algorithm>
#include <cstdlib>

#include "core/error.h"
#include "tokenizer/special_tokens.h"

namespace suanli {

namespace {

// "<0xNN>" -> NN, or -1.
int parse_byte_token(std::string_view text) {
    if (text.size() != 6 || text.substr(0, 3) != "<0x" || text[5] != '>') return -1;
    int value = 0;
    for (char c : text.substr(3, 2)) {
        int digit;
        if (c >= '0' && c <= '9') digit = c - '0';
        else if (c >= 'A' && c <= 'F') digit = c - 'A' + 10;
        else if (c >= 'a' && c <= 'f') digit = c - 'a' + 10;
        else return -1;
        value = value * 16 + digit;
    }
    return value;
}

}  // namespace

std::vector<int32_t> VocabTokenizer::encode(std::string_view text, bool add_special, bool parse_special) const {
    std::vector<int32_t> out;
    out.reserve(text.size() / 3 + 2);
    if (add_special && vocab_.add_bos) out.push_back(vocab_.bos);
    bool after_special = true;
    for (const Fragment& f : split_special_tokens(text, vocab_, parse_special)) {
        if (f.token >= 0) {
            out.push_back(f.token);
            after_special = true;
        } else {
            encode_text(f.text, after_special, out);
            after_special = false;
        }
    }
    if (add_special && vocab_.add_eos) out.push_back(vocab_.eos);
    return out;
}

void VocabTokenizer::build_pieces() {
    pieces_.resize(vocab_.tokens.size());
    for (size_t id = 0; id < pieces_.size(); ++id) {
        const std::string& text = vocab_.tokens[id];
        switch (vocab_.types[id]) {
            case TokenType::Normal: pieces_[id] = normal_piece(text); break;
            case TokenType::Control:
            case TokenType::Unknown:
            case TokenType::UserDefined: pieces_[id] = text; break;
            case TokenType::Byte: {
                const int byte = parse_byte_token(text);
                pieces_[id] = byte >= 0 ? std::string(1, static_cast<char>(byte)) : text;
                break;
            }
            case TokenType::Unused:
            case TokenType::Undefined: break;  // no text, as in llama.cpp
        }
    }
}

void VocabTokenizer::check_id(int32_t id) const {
    if (id < 0 || id >= vocab_.n_tokens()) fail("token id ", id, " is out of range [0, ", vocab_.n_tokens(), ")");
}

std::string VocabTokenizer::token_to_piece(int32_t id, bool special) const {
    check_id(id);
    const TokenType t = vocab_.types[id];
    if (!special && (t == TokenType::Control || t == TokenType::Unknown)) return {};
    return pieces_[id];
}

bool VocabTokenizer::is_end_of_generation(int32_t id) const {
    return std::binary_search(vocab_.end_of_generation.begin(), vocab_.end_of_generation.end(), id);
}

std::string_view VocabTokenizer::token_text(int32_t id) const {
    check_id(id);
    return vocab_.tokens[id];
}

}  // namespace suanli
