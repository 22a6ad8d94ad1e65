// Where a device's graph time goes, per op: with SUANLI_CPU_PROFILE=1 in the
// environment, every node is timed and the totals go to stderr when the
// device closes. Off (one branch per node) otherwise.
#pragma once

#include <chrono>
#include <cstdint>

#include "suanli/backend.h"

namespace suanli::cpu {

class NodeProfile {
public:
    NodeProfile();
    ~NodeProfile();  // prints the totals
    NodeProfile(const NodeProfile&) = delete;
    NodeProfile& operator=(const NodeProfile&) = delete;

    bool enabled() const { return enabled_; }
    // `nodes` nodes of `op` run as one (fused) in time t.
    void add_nodes(int32_t op, size_t nodes, std::chrono::steady_clock::duration t) {
        count_[op] += nodes;
        ++runs_[op];
        time_[op] += t;
    }
    // A whole graph_compute call: its nodes plus the checks before them.
    void add_graph(std::chrono::steady_clock::duration t) {
        ++graphs_;
        graph_time_ += t;
    }

private:
    bool enabled_;
    uint64_t graphs_ = 0;
    std::chrono::steady_clock::duration graph_time_{};
    uint64_t count_[SL_OP_COUNT] = {};
    uint64_t runs_[SL_OP_COUNT] = {};
    std::chrono::steady_clock::duration time_[SL_OP_COUNT] = {};
};

}  // namespace suanli::cpu
