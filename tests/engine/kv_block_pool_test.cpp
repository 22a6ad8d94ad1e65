#include "engine/kv_block_pool.h"

#include <gtest/gtest.h>

#include <numeric>

namespace suanli {
namespace {

std::vector<int32_t> iota_tokens(int n, int start = 0) {
    std::vector<int32_t> t(static_cast<size_t>(n));
    std::iota(t.begin(), t.end(), start);
    return t;
}

TEST(KvBlockPool, AllocatesLowestFirstAndRunsOut) {
    KvBlockPool pool(3, 4);
    EXPECT_EQ(pool.allocate(), 0);
    EXPECT_EQ(pool.allocate(), 1);
    EXPECT_EQ(pool.allocate(), 2);
    EXPECT_EQ(pool.allocate(), -1);
    EXPECT_EQ(pool.used_blocks(), 3);
    pool.release(1);
    EXPECT_EQ(pool.available_blocks(), 1);
    EXPECT_EQ(pool.allocate(), 1);
}

TEST(KvBlockPool, SharesPublishedPrefixBlocks) {
    KvBlockPool pool(8, 4);
    const auto prompt = iota_tokens(10);
    const int32_t a = pool.allocate(), b = pool.allocate();
    uint64_t h = KvBlockPool::chain_hash(0, std::span(prompt).subspan(0, 4));
    pool.publish(a, h, std::span(prompt).subspan(0, 4));
    h = KvBlockPool::chain_hash(h, std::span(prompt).subspan(4, 4));
    pool.publish(b, h, std::span(prompt).subspan(4, 4));

    EXPECT_EQ(pool.acquire_prefix(prompt, 8), (std::vector<int32_t>{a, b}));
    EXPECT_EQ(pool.acquire_prefix(prompt, 1), (std::vector<int32_t>{a}));
    auto other = prompt;
    other[5] = 99;  // differs in the second block
    EXPECT_EQ(pool.acquire_prefix(other, 8), (std::vector<int32_t>{a}));
    EXPECT_TRUE(pool.acquire_prefix(iota_tokens(10, 1), 8).empty());
    EXPECT_EQ(pool.used_blocks(), 2);
}

TEST(KvBlockPool, CachedBlocksAreReusedThenEvictedLeastRecentFirst) {
    KvBlockPool pool(2, 2);
    const auto t = iota_tokens(2), u = iota_tokens(2, 10);
    const int32_t a = pool.allocate(), b = pool.allocate();
    pool.publish(a, KvBlockPool::chain_hash(0, t), t);
    pool.publish(b, KvBlockPool::chain_hash(0, u), u);
    pool.release(a);
    pool.release(b);
    EXPECT_EQ(pool.cached_blocks(), 2);
    EXPECT_EQ(pool.available_blocks(), 2);
    EXPECT_EQ(pool.acquire_prefix(t, 1), (std::vector<int32_t>{a}));  // a is now the most recent
    pool.release(a);
    EXPECT_EQ(pool.allocate(), b);  // b was used longest ago
    EXPECT_TRUE(pool.acquire_prefix(u, 1).empty());
    EXPECT_EQ(pool.acquire_prefix(t, 1), (std::vector<int32_t>{a}));
}

TEST(KvBlockPool, ReleasingTooOftenIsAnError) {
    KvBlockPool pool(1, 1);
    const int32_t a = pool.allocate();
    pool.release(a);
    EXPECT_ANY_THROW(pool.release(a));
}

}  // namespace
}  // namespace suanli
