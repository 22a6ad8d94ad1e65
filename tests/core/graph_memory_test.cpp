#include <gtest/gtest.h>

#include "core/graph.h"
#include "core/graph_memory.h"

namespace suanli {
namespace {

// Live ranges [first write, last read] of planned tensors must never share bytes.
void expect_no_overlap(const Graph& g, const MemoryPlan& plan) {
    const int32_t n = g.size();
    std::vector<int32_t> last(n, -1);
    auto root = [&](int32_t i) {
        while (g.placement(i) == Placement::View || g.tensors()[i].op == SL_OP_COPY) i = g.base(i);
        return i;
    };
    for (int32_t i = 0; i < n; ++i) {
        if (g.is_output(i) || g.placement(i) == Placement::Input) last[root(i)] = n;
        for (int32_t s : g.tensors()[i].src)
            if (s >= 0 && g.tensors()[i].op != SL_OP_NONE) last[root(s)] = std::max(last[root(s)], i);
    }
    for (int32_t a = 0; a < n; ++a) {
        if (plan.offsets[a] == MemoryPlan::kNone) continue;
        for (int32_t b = a + 1; b < n; ++b) {
            if (plan.offsets[b] == MemoryPlan::kNone) continue;
            const int32_t a_first = g.placement(a) == Placement::Input ? -1 : a;
            const int32_t b_first = g.placement(b) == Placement::Input ? -1 : b;
            const bool live_together = a_first <= std::max(last[b], b) && b_first <= std::max(last[a], a);
            if (!live_together) continue;
            const uint64_t a0 = plan.offsets[a], a1 = a0 + tensor_bytes(g.tensors()[a]);
            const uint64_t b0 = plan.offsets[b], b1 = b0 + tensor_bytes(g.tensors()[b]);
            EXPECT_TRUE(a1 <= b0 || b1 <= a0) << "tensors " << a << " and " << b << " overlap while both live";
        }
    }
}

TEST(GraphMemory, ChainReusesMemoryWithoutOverlap) {
    Graph g;
    const TensorId w = g.external(DType::F32, {64, 64}, 0x1000, "w");
    TensorId x = g.input(DType::F32, {64, 8}, "x");
    uint64_t total = 0;
    for (int i = 0; i < 20; ++i) {
        TensorId y = g.mul_mat(w, x);
        x = g.add(g.silu(y), x);
        total += 3 * 64 * 8 * 4;
    }
    g.mark_output(x);
    const MemoryPlan plan = plan_memory(g);
    expect_no_overlap(g, plan);
    EXPECT_LT(plan.arena_bytes, total / 4) << "intermediate memory should be reused";
}

TEST(GraphMemory, ViewsKeepTheirBaseAlive) {
    Graph g;
    TensorId x = g.input(DType::F32, {16, 4}, "x");
    TensorId a = g.silu(x);
    TensorId last_row = g.view(a, {16, 1}, {4, 64, 64, 64}, 3 * 64);
    TensorId b = g.silu(x);  // must not land on `a`: `a` is still read through the view
    TensorId c = g.add(last_row, g.view(b, {16, 1}, {4, 64, 64, 64}, 0));
    g.mark_output(c);
    const MemoryPlan plan = plan_memory(g);
    expect_no_overlap(g, plan);
    bind_memory(g, plan, 4096);
    EXPECT_EQ(g[last_row].addr, g[a].addr + 3 * 64);
    EXPECT_NE(g[a].addr, g[b].addr);
}

TEST(GraphMemory, CopyWritesIntoItsDestination) {
    Graph g;
    TensorId cache = g.external(DType::F16, {8, 2, 16}, 0x10000, "cache");
    TensorId x = g.input(DType::F32, {8, 2, 1}, "x");
    TensorId slot = g.view(cache, {8, 2, 1}, {2, 16, 32, 32}, 5 * 32);
    TensorId cp = g.copy(g.silu(x), slot);
    const MemoryPlan plan = plan_memory(g);
    EXPECT_EQ(plan.offsets[cp.index], MemoryPlan::kNone);
    bind_memory(g, plan, 0);
    EXPECT_EQ(g[cp].addr, 0x10000u + 5 * 32);
    EXPECT_EQ(g[cp].nb[2], 32);
}

}  // namespace
}  // namespace suanli
