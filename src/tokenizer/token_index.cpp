#include "tokenizer/token_index.h"

#include <functional>

namespace suanli {

namespace {

uint32_t hash_of(std::string_view s) {
    const size_t h = std::hash<std::string_view>{}(s);
    return static_cast<uint32_t>(h ^ (h >> 32));
}

}  // namespace

void TokenIndex::build(const std::vector<std::string>& tokens) {
    size_t total = 0;
    for (const std::string& t : tokens) total += t.size();
    blob_.clear();
    blob_.reserve(total);
    offsets_.assign(1, 0);
    offsets_.reserve(tokens.size() + 1);
    for (const std::string& t : tokens) {
        blob_.append(t);
        offsets_.push_back(blob_.size());
    }

    size_t capacity = 16;
    while (capacity < 2 * tokens.size()) capacity *= 2;
    slots_.assign(capacity, Slot{0, -1});
    const size_t mask = capacity - 1;
    for (size_t i = 0; i < tokens.size(); ++i) {
        const auto id = static_cast<int32_t>(i);
        const uint32_t h = hash_of(tokens[i]);
        for (size_t s = h & mask;; s = (s + 1) & mask) {
            Slot& slot = slots_[s];
            if (slot.id < 0) {
                slot = {h, id};
                break;
            }
            if (slot.hash == h && text_of(slot.id) == tokens[i]) {
                slot.id = id;  // repeated text: the last id wins
                break;
            }
        }
    }
}

int32_t TokenIndex::find(std::string_view text) const {
    if (slots_.empty()) return -1;
    const size_t mask = slots_.size() - 1;
    const uint32_t h = hash_of(text);
    for (size_t s = h & mask;; s = (s + 1) & mask) {
        const Slot& slot = slots_[s];
        if (slot.id < 0) return -1;
        if (slot.hash == h && text_of(slot.id) == text) return slot.id;
    }
}

}  // namespace suanli
