// The paged KV cache's bookkeeping: the cache's cells are cut into fixed-size
// blocks; each sequence holds a table of block ids, and a block may be shared.
//
// Prefix caching: a block filled with computed tokens can be published under the
// hash of every token from the start of its sequence through its end. A later
// sequence whose prompt starts with the same tokens references those blocks
// instead of computing them again. Published blocks that no sequence uses stay
// cached until their cells are needed, least recently used first.
#pragma once

#include <cstdint>
#include <list>
#include <span>
#include <unordered_map>
#include <vector>

namespace suanli {

class KvBlockPool {
public:
    KvBlockPool(int32_t n_blocks, int32_t block_size);

    int32_t block_size() const { return block_size_; }
    int32_t n_blocks() const { return static_cast<int32_t>(blocks_.size()); }
    int32_t used_blocks() const { return used_; }                  // referenced by a sequence
    int32_t cached_blocks() const { return static_cast<int32_t>(lru_.size()); }  // unused, holding a prefix
    int32_t available_blocks() const { return n_blocks() - used_; }  // free or evictable

    // The chain hash of block `index` of a sequence: `parent` is the previous block's hash (0 for the first).
    static uint64_t chain_hash(uint64_t parent, std::span<const int32_t> block_tokens);

    // References the longest run (at most max_blocks) of published blocks that
    // holds a prefix of `tokens`, and returns their ids in order.
    std::vector<int32_t> acquire_prefix(std::span<const int32_t> tokens, int32_t max_blocks);
    // A block with reference count 1 (evicting the least recently used cached block
    // if no block is free), or -1 when every block is in use.
    int32_t allocate();
    // Publishes a full block: `hash` is its chain hash, `tokens` its block_size tokens.
    // Does nothing if an equal block is already published.
    void publish(int32_t block, uint64_t hash, std::span<const int32_t> tokens);
    // Drops one reference. A published block then stays cached; others become free.
    void release(int32_t block);

private:
    struct Block {
        int32_t refs = 0;
        bool published = false;
        uint64_t hash = 0;
        std::vector<int32_t> tokens;        // what a published block holds, to rule out hash collisions
        std::list<int32_t>::iterator lru;   // valid while cached (published, refs == 0)
    };
    void unpublish(int32_t block);

    int32_t block_size_;
    std::vector<Block> blocks_;
    std::vector<int32_t> free_;             // unpublished, unused; lowest id on top
    std::list<int32_t> lru_;                // cached blocks, least recently used first
    std::unordered_map<uint64_t, int32_t> published_;
    int32_t used_ = 0;
};

}  // namespace suanli
