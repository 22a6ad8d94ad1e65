// check_graph for the graphs of one device, done again only for the nodes that differ
// from the last graph that passed (core/graph_diff.h), as long as the same buffers are
// live and the weight types are the same: every rule then gives what it gave before, so
// the nodes returned, and the errors thrown, are check_graph's. TinyLlama Q4_0 decode:
// the checks and the rest of the cpu backend's graph_compute took 56-61 us a step instead
// of 82-88 (SUANLI_CPU_PROFILE).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "backends/host/node_rules.h"
#include "suanli/backend.h"

namespace suanli::host {

class HostBuffers;

class GraphCheckCache {
public:
    // What check_graph(graph, weight_types, memory) returns or throws. One graph at a time
    // (a device computes one graph at a time).
    std::vector<Node> check(const sl_graph* graph, std::span<const sl_dtype> weight_types, const HostBuffers& memory);

private:
    std::vector<sl_tensor> last_;  // the last graph that passed; empty after a failure
    uint64_t buffers_version_ = 0;  // HostBuffers::version() when it was checked
    const sl_dtype* weight_types_ = nullptr;
    std::vector<uint8_t> same_;  // per tensor of the graph being checked: counts as checked
};

}  // namespace suanli::host
