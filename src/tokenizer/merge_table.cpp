#include "tokenizer/merge_table.h"

namespace suanli {

void MergeTable::reserve(size_t n) {
    size_t capacity = 16;
    while (capacity < 2 * n) capacity *= 2;
    if (capacity <= slots_.size()) return;
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(capacity, Slot{0, {-1, -1}});
    size_ = 0;
    for (const Slot& s : old) {
        if (s.merge.rank >= 0) add(static_cast<int32_t>(s.key >> 32), static_cast<int32_t>(s.key & 0xFFFFFFFFu), s.merge);
    }
}

void MergeTable::add(int32_t left, int32_t right, Merge merge) {
    if (2 * (size_ + 1) > slots_.size()) reserve(size_ + 1 > 8 ? 2 * (size_ + 1) : 16);
    const uint64_t key = key_of(left, right);
    const size_t mask = slots_.size() - 1;
    for (size_t s = hash_of(key) & mask;; s = (s + 1) & mask) {
        Slot& slot = slots_[s];
        if (slot.merge.rank < 0) {
            slot = {key, merge};
            ++size_;
            return;
        }
        if (slot.key == key) return;
    }
}

const MergeTable::Merge* MergeTable::find(int32_t left, int32_t right) const {
    if (slots_.empty()) return nullptr;
    const uint64_t key = key_of(left, right);
    const size_t mask = slots_.size() - 1;
    for (size_t s = hash_of(key) & mask;; s = (s + 1) & mask) {
        const Slot& slot = slots_[s];
        if (slot.merge.rank < 0) return nullptr;
        if (slot.key == key) return &slot.merge;
    }
}

}  // namespace suanli
