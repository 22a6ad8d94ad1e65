#include "engine/kv_block_pool.h"

#include <algorithm>

#include "core/error.h"

namespace suanli {

KvBlockPool::KvBlockPool(int32_t n_blocks, int32_t block_size) : block_size_(block_size) {
    if (n_blocks <= 0 || block_size <= 0) fail("KV cache: need at least one block of at least one cell");
    blocks_.resize(static_cast<size_t>(n_blocks));
    for (int32_t b = n_blocks - 1; b >= 0; --b) free_.push_back(b);
}

uint64_t KvBlockPool::chain_hash(uint64_t parent, std::span<const int32_t> block_tokens) {
    // FNV-1a over the parent hash and the token ids, then a final mix (splitmix64).
    uint64_t h = 1469598103934665603ull ^ parent;
    for (int32_t t : block_tokens) {
        h ^= static_cast<uint32_t>(t);
        h *= 1099511628211ull;
    }
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebull;
    return h ^ (h >> 31);
}

std::vector<int32_t> KvBlockPool::acquire_prefix(std::span<const int32_t> tokens, int32_t max_blocks) {
    std::vector<int32_t> out;
    uint64_t hash = 0;
    const size_t B = static_cast<size_t>(block_size_);
    for (size_t at = 0; at + B <= tokens.size() && static_cast<int32_t>(out.size()) < max_blocks; at += B) {
        const auto block_tokens = tokens.subspan(at, B);
        hash = chain_hash(hash, block_tokens);
        const auto it = published_.find(hash);
        if (it == published_.end()) break;
        Block& b = blocks_[static_cast<size_t>(it->second)];
        if (!std::equal(b.tokens.begin(), b.tokens.end(), block_tokens.begin())) break;
        if (b.refs++ == 0) {
            lru_.erase(b.lru);
            ++used_;
        }
        out.push_back(it->second);
    }
    return out;
}

int32_t KvBlockPool::allocate() {
    int32_t id = -1;
    if (!free_.empty()) {
        id = free_.back();
        free_.pop_back();
    } else if (!lru_.empty()) {
        id = lru_.front();
        lru_.pop_front();
        unpublish(id);
    } else {
        return -1;
    }
    blocks_[static_cast<size_t>(id)].refs = 1;
    ++used_;
    return id;
}

void KvBlockPool::publish(int32_t block, uint64_t hash, std::span<const int32_t> tokens) {
    Block& b = blocks_.at(static_cast<size_t>(block));
    if (b.published || published_.count(hash)) return;
    b.published = true;
    b.hash = hash;
    b.tokens.assign(tokens.begin(), tokens.end());
    published_.emplace(hash, block);
}

void KvBlockPool::unpublish(int32_t block) {
    Block& b = blocks_[static_cast<size_t>(block)];
    published_.erase(b.hash);
    b.published = false;
    b.tokens.clear();
}

void KvBlockPool::release(int32_t block) {
    Block& b = blocks_.at(static_cast<size_t>(block));
    if (b.refs <= 0) fail("KV cache: block ", block, " released more often than acquired");
    if (--b.refs > 0) return;
    --used_;
    if (b.published) {
        lru_.push_back(block);
        b.lru = std::prev(lru_.end());
    } else {
        // Keep the lowest ids on top, so a lone sequence gets increasing, adjacent cells.
        free_.insert(std::upper_bound(free_.begin(), free_.end(), block, std::greater<>()), block);
    }
}

}  // namespace suanli
