// BPE merges by token ids: (left, right) -> (rank, merged token), in a flat
// open-addressing table (one probe sequence, no node per merge).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace suanli {

class MergeTable {
public:
    struct Merge {
        int32_t rank;
        int32_t result;
    };

    void reserve(size_t n);
    // Adds a merge unless the pair has one already (the first, lowest rank wins).
    void add(int32_t left, int32_t right, Merge merge);
    // The merge of the pair, or nullptr.
    const Merge* find(int32_t left, int32_t right) const;

private:
    struct Slot {
        uint64_t key;
        Merge merge;  // rank < 0: empty
    };
    static uint64_t key_of(int32_t left, int32_t right) {
        return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
    }
    static size_t hash_of(uint64_t key) { return static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> 32); }
    void grow();

    std::vector<Slot> slots_;
    size_t size_ = 0;
};

}  // namespace suanli
