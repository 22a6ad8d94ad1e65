// Planning where a graph's intermediate tensors live in one arena buffer.
//
// Each input and node output gets a slice of the arena for as long as a later
// node reads it (directly or through a view); the slice is then reused. Inputs
// and outputs stay alive for the whole graph.
#pragma once

#include <cstdint>
#include <vector>

namespace suanli {

class Graph;

struct MemoryPlan {
    static constexpr uint64_t kNone = ~uint64_t{0};
    std::vector<uint64_t> offsets;  // per tensor: offset in the arena, or kNone
    uint64_t arena_bytes = 0;
};

MemoryPlan plan_memory(const Graph& graph);

// Gives every planned tensor, view and COPY node its address, given the arena's base.
void bind_memory(Graph& graph, const MemoryPlan& plan, uint64_t arena_base);

}  // namespace suanli
