#include "tokenizer/special_tokens.h"

#include <cctype>

namespace suanli {

namespace {

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

// Splits one plain fragment on every occurrence of `special` (token `id`).
void split_fragment(std::string_view text, std::string_view special, int32_t id, uint8_t strip,
                    std::vector<Fragment>& out) {
    size_t start = 0;
    while (start < text.size()) {
        const size_t at = text.find(special, start);
        if (at == std::string_view::npos) break;
        size_t left_end = at;
        if (strip & Vocabulary::kStripLeft) {
            while (left_end > start && is_space(text[left_end - 1])) --left_end;
        }
        if (left_end > start) out.push_back({text.substr(start, left_end - start), -1});
        out.push_back({{}, id});
        start = at + special.size();
        if (strip & Vocabulary::kStripRight) {
            while (start < text.size() && is_space(text[start])) ++start;
        }
    }
    if (start < text.size()) out.push_back({text.substr(start), -1});
}

}  // namespace

std::vector<Fragment> split_special_tokens(std::string_view text, const Vocabulary& vocab, bool parse_special) {
    std::vector<Fragment> fragments;
    if (text.empty()) return fragments;
    fragments.push_back({text, -1});

    std::vector<Fragment> next;
    for (const int32_t id : vocab.special_tokens) {
        const TokenType type = vocab.types[id];
        if (!parse_special && (type == TokenType::Control || type == TokenType::Unknown)) continue;
        const std::string_view special = vocab.tokens[id];

        // Most special tokens do not occur at all: check before rebuilding.
        bool found = false;
        for (const Fragment& f : fragments) {
            if (f.token < 0 && f.text.find(special) != std::string_view::npos) {
                found = true;
                break;
            }
        }
        if (!found) continue;

        next.clear();
        for (const Fragment& f : fragments) {
            if (f.token >= 0) {
                next.push_back(f);
            } else {
                split_fragment(f.text, special, id, vocab.strip[id], next);
            }
        }
        fragments.swap(next);
    }
    return fragments;
}

}  // namespace suanli
