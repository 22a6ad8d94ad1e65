// SentencePiece-style BPE ("llama" vocabularies), as llama.cpp's llm_tokenizer_spm:
// spaces become U+2581, the text is split into characters, and the adjacent pair
// whose concatenation is the vocabulary token with the highest score is merged
// (leftmost first on equal scores) until no pair is a token. A symbol left that
// is not a token is spelled with byte tokens <0xNN> (byte fallback).
#include <array>
#include <queue>

#include "core/error.h"
#include "core/utf8.h"
#include "tokenizer/vocab_tokenizer.h"

namespace suanli {

namespace {

constexpr std::string_view kSpace = "\xE2\x96\x81";  // U+2581 '▁'

class SpmTokenizer final : public VocabTokenizer {
public:
    explicit SpmTokenizer(Vocabulary vocab) : VocabTokenizer(std::move(vocab)) {
        build_pieces();
        has_byte_tokens_ = true;
        static constexpr char kHex[] = "0123456789ABCDEF";
        for (int b = 0; b < 256; ++b) {
            const char name[] = {'<', '0', 'x', kHex[b >> 4], kHex[b & 15], '>'};
            int32_t id = vocab_.find(std::string_view(name, sizeof name));
            const char raw = static_cast<char>(b);
            if (id < 0) id = vocab_.find(std::string_view(&raw, 1));
            byte_tokens_[b] = id;
            if (id < 0) has_byte_tokens_ = false;
        }
    }

protected:
    void encode_text(std::string_view text, bool after_special, std::vector<int32_t>& out) const override;
    std::string normal_piece(std::string_view text) const override {
        std::string out;
        for (size_t pos = 0; pos < text.size();) {
            if (text.substr(pos, kSpace.size()) == kSpace) {
                out.push_back(' ');
                pos += kSpace.size();
            } else {
                out.push_back(text[pos++]);
            }
        }
        return out;
    }

private:
    struct Symbol {
        int32_t prev, next;
        uint32_t start, length;  // bytes in the escaped text; length 0: merged away
    };
    struct Bigram {
        float score;
        int32_t left, right;
        uint32_t length;
    };
    // Lower priority: lower score, then further right.
    struct ByPriority {
        bool operator()(const Bigram& a, const Bigram& b) const {
            return a.score < b.score || (a.score == b.score && a.left > b.left);
        }
    };

    void emit(std::string_view symbol, std::vector<int32_t>& out) const;

    std::array<int32_t, 256> byte_tokens_{};
    bool has_byte_tokens_ = false;
};

void SpmTokenizer::encode_text(std::string_view raw, bool after_special, std::vector<int32_t>& out) const {
    // llama.cpp adds the space prefix to every text fragment that follows a
    // special token (or starts the text), then escapes all spaces.
    std::string text;
    text.reserve(raw.size() + raw.size() / 2 + 3);
    if (vocab_.add_space_prefix && after_special) text.append(kSpace);
    for (char c : raw) {
        if (c == ' ') {
            text.append(kSpace);
        } else {
            text.push_back(c);
        }
    }
    if (text.empty()) return;

    // One symbol per character; an ill-formed byte sequence is a symbol of its own.
    std::vector<Symbol> symbols;
    symbols.reserve(text.size());
    for (size_t pos = 0; pos < text.size();) {
        const auto length = static_cast<uint32_t>(utf8::scan(text, pos).length);
        const auto index = static_cast<int32_t>(symbols.size());
        symbols.push_back({index - 1, pos + length == text.size() ? -1 : index + 1,
                           static_cast<uint32_t>(pos), length});
        pos += length;
    }

    std::priority_queue<Bigram, std::vector<Bigram>, ByPriority> queue;
    auto try_add = [&](int32_t left, int32_t right) {
        if (left < 0 || right < 0) return;
        const uint32_t length = symbols[left].length + symbols[right].length;
        const int32_t id = vocab_.find(std::string_view(text).substr(symbols[left].start, length));
        if (id < 0) return;
        queue.push({vocab_.scores[id], left, right, length});
    };
    for (int32_t i = 1; i < static_cast<int32_t>(symbols.size()); ++i) try_add(i - 1, i);

    while (!queue.empty()) {
        const Bigram b = queue.top();
        queue.pop();
        Symbol& left = symbols[b.left];
        Symbol& right = symbols[b.right];
        // Stale: one side was merged since. A left symbol only grows to the
        // right, so an unchanged total length means the same bytes.
        if (left.length == 0 || right.length == 0 || left.length + right.length != b.length) continue;
        left.length += right.length;
        right.length = 0;
        left.next = right.next;
        if (right.next >= 0) symbols[right.next].prev = b.left;
        try_add(left.prev, b.left);
        try_add(b.left, left.next);
    }

    for (int32_t i = 0; i != -1; i = symbols[i].next) {
        emit(std::string_view(text).substr(symbols[i].start, symbols[i].length), out);
    }
}

// Every merged symbol is a token (merges are only made into tokens), so a
// symbol that is not a token is a single character: spell it in bytes.
void SpmTokenizer::emit(std::string_view symbol, std::vector<int32_t>& out) const {
    const int32_t id = vocab_.find(symbol);
    if (id >= 0) {
        out.push_back(id);
    } else if (has_byte_tokens_) {
        for (char c : symbol) out.push_back(byte_tokens_[static_cast<unsigned char>(c)]);
    } else if (vocab_.unk >= 0) {
        out.push_back(vocab_.unk);  // SentencePiece without byte fallback
    } else {
        fail("tokenizer: text has a character that the vocabulary cannot spell (no byte tokens, no UNK)");
    }
}

}  // namespace

std::unique_ptr<Tokenizer> make_spm_tokenizer(Vocabulary vocab) {
    return std::make_unique<SpmTokenizer>(std::move(vocab));
}

}  // namespace suanli
