#include "core/graph_memory.h"

#include <algorithm>
#include <limits>

#include "core/graph.h"

namespace suanli {
namespace {

constexpr uint64_t kAlign = 64;

uint64_t align_up(uint64_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

// First-fit allocator over a growing arena, merging neighbours on free.
class ArenaAllocator {
public:
    uint64_t allocate(uint64_t size) {
        size = align_up(std::max<uint64_t>(size, 1));
        for (auto it = free_.begin(); it != free_.end(); ++it) {
            if (it->size < size) continue;
            const uint64_t offset = it->offset;
            it->offset += size;
            it->size -= size;
            if (it->size == 0) free_.erase(it);
            return offset;
        }
        // Grow, absorbing a free block at the end of the arena.
        uint64_t offset = end_;
        if (!free_.empty() && free_.back().offset + free_.back().size == end_) {
            offset = free_.back().offset;
            free_.pop_back();
        }
        end_ = offset + size;
        return offset;
    }

    void release(uint64_t offset, uint64_t size) {
        size = align_up(std::max<uint64_t>(size, 1));
        auto it = std::lower_bound(free_.begin(), free_.end(), offset,
                                   [](const Block& b, uint64_t off) { return b.offset < off; });
        it = free_.insert(it, Block{offset, size});
        if (auto next = it + 1; next != free_.end() && it->offset + it->size == next->offset) {
            it->size += next->size;
            free_.erase(next);
        }
        if (it != free_.begin()) {
            auto prev = it - 1;
            if (prev->offset + prev->size == it->offset) {
                prev->size += it->size;
                free_.erase(it);
            }
        }
    }

    uint64_t high_water() const { return end_; }

private:
    struct Block {
        uint64_t offset, size;
    };
    std::vector<Block> free_;
    uint64_t end_ = 0;
};

bool is_planned(const Graph& g, int32_t i) {
    const Placement p = g.placement(i);
    return p == Placement::Input || p == Placement::Scratch || (p == Placement::Node && g.tensors()[i].op != SL_OP_COPY);
}

// Planned where it appears and freed after its last use (inputs, by contrast, live throughout).
bool is_transient(const Graph& g, int32_t i) {
    return is_planned(g, i) && g.placement(i) != Placement::Input;
}

// The tensor whose memory `i` uses: itself, the viewed tensor, or a COPY's destination.
int32_t memory_root(const Graph& g, int32_t i) {
    while (g.placement(i) == Placement::View || (g.placement(i) == Placement::Node && g.tensors()[i].op == SL_OP_COPY))
        i = g.base(i);
    return i;
}

}  // namespace

MemoryPlan plan_memory(const Graph& g) {
    const int32_t n = g.size();
    constexpr int32_t kForever = std::numeric_limits<int32_t>::max();
    std::vector<int32_t> last_use(n, -1);
    for (int32_t i = 0; i < n; ++i) {
        if (g.placement(i) == Placement::Input || g.is_output(i)) last_use[memory_root(g, i)] = kForever;
        const sl_tensor& t = g.tensors()[i];
        if (t.op == SL_OP_NONE) continue;
        for (int32_t s : t.src) {
            if (s < 0) continue;
            int32_t& last = last_use[memory_root(g, s)];
            if (last != kForever) last = std::max(last, i);
        }
    }

    MemoryPlan plan;
    plan.offsets.assign(n, MemoryPlan::kNone);
    ArenaAllocator arena;
    for (int32_t i = 0; i < n; ++i)  // inputs first, alive throughout
        if (g.placement(i) == Placement::Input) plan.offsets[i] = arena.allocate(tensor_bytes(g.tensors()[i]));

    // The transients that die after node i, in index order: dead[dies_at[i] .. dies_at[i + 1]).
    // Counted, then placed (two flat arrays: a vector per node cost ~500 allocations a step).
    std::vector<int32_t> dies_at(static_cast<size_t>(n) + 1, 0), dead;
    auto death = [&](int32_t i) {
        return is_transient(g, i) && last_use[i] != kForever ? std::max(last_use[i], i) : -1;
    };
    for (int32_t i = 0; i < n; ++i)
        if (const int32_t d = death(i); d >= 0) ++dies_at[d + 1];
    for (int32_t i = 0; i < n; ++i) dies_at[i + 1] += dies_at[i];
    dead.resize(static_cast<size_t>(dies_at[n]));
    std::vector<int32_t> placed(dies_at.begin(), dies_at.end() - 1);
    for (int32_t i = 0; i < n; ++i)
        if (const int32_t d = death(i); d >= 0) dead[placed[d]++] = i;

    for (int32_t i = 0; i < n; ++i) {
        if (is_transient(g, i))
            plan.offsets[i] = arena.allocate(tensor_bytes(g.tensors()[i]));
        for (int32_t k = dies_at[i]; k < dies_at[i + 1]; ++k)
            arena.release(plan.offsets[dead[k]], tensor_bytes(g.tensors()[dead[k]]));
    }
    plan.arena_bytes = arena.high_water();
    return plan;
}

void bind_memory(Graph& g, const MemoryPlan& plan, uint64_t arena_base) {
    for (int32_t i = 0; i < g.size(); ++i) {
        sl_tensor& t = g[TensorId{i}];
        if (plan.offsets[i] != MemoryPlan::kNone) {
            t.addr = arena_base + plan.offsets[i];
        } else if (g.placement(i) == Placement::View) {
            t.addr = g.tensors()[g.base(i)].addr + g.view_offset(i);  // bases precede their views
        } else if (g.placement(i) == Placement::Node && t.op == SL_OP_COPY) {
            t.addr = g.tensors()[g.base(i)].addr;
        }
    }
}

}  // namespace suanli
