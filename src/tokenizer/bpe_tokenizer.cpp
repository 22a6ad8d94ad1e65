// Byte-level BPE ("gpt2" vocabularies): the pre-tokenizer cuts text into words;
// each word's bytes become GPT-2's byte characters, one symbol per byte; then
// the adjacent pair with the lowest merge rank is merged (leftmost first) until
// no pair has a merge. Symbols are token ids, merges a (left, right) -> rank map.
#include <array>
#include <queue>

#include "tokenizer/byte_level.h"
#include "tokenizer/merge_table.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/vocab_tokenizer.h"

namespace suanli {

namespace {

class BpeTokenizer final : public VocabTokenizer {
public:
    explicit BpeTokenizer(Vocabulary vocab, PreTokenizerSpec spec)
        : VocabTokenizer(std::move(vocab)), pre_(spec.patterns), ignore_merges_(spec.ignore_merges) {
        build_pieces();
        for (int b = 0; b < 256; ++b) byte_tokens_[b] = vocab_.find(byte_level::char_of(static_cast<unsigned char>(b)));
        // A merge whose parts or result are not tokens can never apply (Hugging
        // Face refuses such vocabularies); it is skipped. The first rank of a
        // repeated pair wins.
        merges_.reserve(vocab_.merges.size());
        std::string joined;
        for (size_t rank = 0; rank < vocab_.merges.size(); ++rank) {
            const auto& [a, b] = vocab_.merges[rank];
            const int32_t left = vocab_.find(a), right = vocab_.find(b);
            joined.assign(a).append(b);
            const int32_t result = vocab_.find(joined);
            if (left < 0 || right < 0 || result < 0) continue;
            merges_.add(left, right, {static_cast<int32_t>(rank), result});
        }
        vocab_.merges = {};  // the table has them now
    }

protected:
    void encode_text(std::string_view text, bool after_special, std::vector<int32_t>& out) const override;
    std::string normal_piece(std::string_view text) const override { return byte_level::decode(text); }

private:
    struct Symbol {
        int32_t id;  // -1: merged away, or a byte with no token
        int32_t prev, next;
    };
    struct Bigram {
        int32_t rank;
        int32_t result;  // the merged token
        int32_t left, right;
        int32_t left_id, right_id;  // to detect stale entries
    };
    struct ByPriority {  // lower priority: higher rank, then further right
        bool operator()(const Bigram& a, const Bigram& b) const {
            return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
        }
    };

    void encode_word(std::string_view word, std::vector<int32_t>& out) const;

    PreTokenizer pre_;
    bool ignore_merges_;
    std::array<int32_t, 256> byte_tokens_{};
    MergeTable merges_;
};

void BpeTokenizer::encode_text(std::string_view text, bool /*after_special*/, std::vector<int32_t>& out) const {
    for (std::string_view word : pre_.split(text)) encode_word(word, out);
}

void BpeTokenizer::encode_word(std::string_view word, std::vector<int32_t>& out) const {
    if (word.size() == 1) {
        const int32_t id = byte_tokens_[static_cast<unsigned char>(word[0])];
        if (id >= 0) out.push_back(id);
        return;
    }
    if (ignore_merges_) {
        if (const int32_t id = vocab_.find(byte_level::encode(word)); id >= 0) {
            out.push_back(id);
            return;
        }
    }

    std::vector<Symbol> symbols(word.size());
    for (size_t i = 0; i < word.size(); ++i) {
        const auto index = static_cast<int32_t>(i);
        symbols[i] = {byte_tokens_[static_cast<unsigned char>(word[i])], index - 1,
                      i + 1 == word.size() ? -1 : index + 1};
    }

    std::priority_queue<Bigram, std::vector<Bigram>, ByPriority> queue;
    auto try_add = [&](int32_t left, int32_t right) {
        if (left < 0 || right < 0) return;
        const int32_t a = symbols[left].id, b = symbols[right].id;
        if (a < 0 || b < 0) return;
        const MergeTable::Merge* m = merges_.find(a, b);
        if (!m) return;
        queue.push({m->rank, m->result, left, right, a, b});
    };
    for (int32_t i = 1; i < static_cast<int32_t>(symbols.size()); ++i) try_add(i - 1, i);

    while (!queue.empty()) {
        const Bigram bg = queue.top();
        queue.pop();
        Symbol& left = symbols[bg.left];
        Symbol& right = symbols[bg.right];
        // Stale when either side has merged since (its id changed or it is gone;
        // two live symbols of a bigram are always still adjacent).
        if (left.id != bg.left_id || right.id != bg.right_id || left.next != bg.right) continue;
        left.id = bg.result;
        right.id = -1;
        left.next = right.next;
        if (right.next >= 0) symbols[right.next].prev = bg.left;
        right.prev = right.next = -1;
        try_add(left.prev, bg.left);
        try_add(bg.left, left.next);
    }

    // A byte without a token (no real byte-level vocabulary lacks one) is
    // dropped, as llama.cpp does, unless there is an UNK token.
    for (int32_t i = 0; i != -1; i = symbols[i].next) {
        if (symbols[i].id >= 0) {
            out.push_back(symbols[i].id);
        } else if (vocab_.unk >= 0) {
            out.push_back(vocab_.unk);
        }
    }
}

}  // namespace

std::unique_ptr<Tokenizer> make_bpe_tokenizer(Vocabulary vocab) {
    PreTokenizerSpec spec = pretokenizer_spec(vocab.pre);
    return std::make_unique<BpeTokenizer>(std::move(vocab), std::move(spec));
}

}  // namespace suanli
