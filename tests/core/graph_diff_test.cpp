#include <gtest/gtest.h>

#include <vector>

#include "core/graph.h"
#include "core/graph_diff.h"

namespace suanli {
namespace {

// x -> rms_norm -> mul(w) -> scale, with the last node's factor as given.
Graph chain(float factor, uint64_t w_addr = 0x1000) {
    Graph g;
    const TensorId x = g.input(DType::F32, {8, 2}, "x");
    const TensorId w = g.external(DType::F32, {8}, w_addr, "w");
    g.scale(g.mul(g.rms_norm(x, 1e-5f), w), factor);
    return g;
}

std::vector<uint8_t> unchanged(const Graph& now, const Graph& before) {
    std::vector<uint8_t> same;
    mark_unchanged(now.tensors(), before.tensors(), same);
    return same;
}

TEST(GraphDiff, IdenticalGraphsAreUnchangedThroughout) {
    EXPECT_EQ(unchanged(chain(2), chain(2)), (std::vector<uint8_t>{1, 1, 1, 1, 1}));
}

TEST(GraphDiff, AChangedTensorChangesEveryNodeThatReadsIt) {
    // The scale factor: only the last node.
    EXPECT_EQ(unchanged(chain(3), chain(2)), (std::vector<uint8_t>{1, 1, 1, 1, 0}));
    // The weight's address: the weight, the MUL that reads it and the SCALE that reads that.
    EXPECT_EQ(unchanged(chain(2, 0x2000), chain(2)), (std::vector<uint8_t>{1, 0, 1, 0, 0}));
}

TEST(GraphDiff, TensorsPastTheGraphBeforeAreNew) {
    const Graph before = chain(2);
    const std::vector<sl_tensor> shorter(before.tensors().begin(), before.tensors().begin() + 3);
    std::vector<uint8_t> same;
    mark_unchanged(chain(2).tensors(), shorter, same);
    EXPECT_EQ(same, (std::vector<uint8_t>{1, 1, 1, 0, 0}));
    mark_unchanged(chain(2).tensors(), {}, same);
    EXPECT_EQ(same, (std::vector<uint8_t>{0, 0, 0, 0, 0}));
}

TEST(GraphDiff, OperandsOutOfOrderAreNeverUnchanged) {
    // Equal bytes, but an operand index that is not an earlier tensor (or not -1): not vouched for.
    const Graph g = chain(2);
    std::vector<sl_tensor> t(g.tensors().begin(), g.tensors().end());
    t[2].src[1] = 3;
    std::vector<uint8_t> same;
    mark_unchanged(t, t, same);
    EXPECT_EQ(same, (std::vector<uint8_t>{1, 1, 0, 0, 0}));
    t[2].src[1] = -2;
    mark_unchanged(t, t, same);
    EXPECT_EQ(same[2], 0);
}

TEST(Graph, LeavesKeepTheirNames) {
    Graph g;
    const TensorId w = g.external(DType::F32, {4}, 0x1000, "blk.0.attn_norm.weight");
    const TensorId x = g.input(DType::F32, {4}, "x");
    const TensorId s = g.scratch(DType::F32, {4}, "");
    const TensorId y = g.mul(x, w);
    EXPECT_EQ(g.name(w.index), "blk.0.attn_norm.weight");
    EXPECT_EQ(g.name(x.index), "x");
    EXPECT_EQ(g.name(s.index), "");
    EXPECT_EQ(g.name(y.index), "");
}

}  // namespace
}  // namespace suanli
