#include "backends/host/graph_check_cache.h"

#include <algorithm>

#include "backends/host/host_buffers.h"
#include "core/graph_diff.h"

namespace suanli::host {
namespace {

// Node `index` with its operands resolved, as check_node returns it for a node that passes.
Node resolved(const sl_graph& graph, int32_t index) {
    const sl_tensor& t = graph.tensors[index];
    Node node{t, {nullptr, nullptr, nullptr, nullptr}, index};
    for (int i = 0; i < SL_MAX_SRC; ++i)
        if (t.src[i] >= 0) node.src[i] = &graph.tensors[t.src[i]];
    return node;
}

}  // namespace

std::vector<Node> GraphCheckCache::check(const sl_graph* graph, std::span<const sl_dtype> weight_types,
                                         const HostBuffers& memory) {
    check_graph_shape(graph);
    const uint64_t version = memory.version();
    const size_t n = static_cast<size_t>(graph->n_tensors);
    const bool same_setting = version == buffers_version_ && weight_types.data() == weight_types_;
    const size_t known = same_setting ? std::min(n, last_.size()) : 0;
    // Forgets the last graph unless this one passes.
    struct Forget {
        std::vector<sl_tensor>& last;
        bool passed = false;
        ~Forget() {
            if (!passed) last.clear();
        }
    } forget{last_};

    mark_unchanged(std::span(graph->tensors, n), std::span(last_).first(known), same_);
    std::vector<Node> nodes, changed;
    nodes.reserve(n);
    for (int32_t i = 0; i < graph->n_tensors; ++i) {
        if (graph->tensors[i].op == SL_OP_NONE) continue;
        if (same_[static_cast<size_t>(i)]) {
            nodes.push_back(resolved(*graph, i));
        } else {
            nodes.push_back(in_node(*graph, i, [&] { return check_node(*graph, i, weight_types); }));
            changed.push_back(nodes.back());
        }
    }
    memory.check_graph_memory(*graph, changed);

    last_.assign(graph->tensors, graph->tensors + n);
    buffers_version_ = version;
    weight_types_ = weight_types.data();
    forget.passed = true;
    return nodes;
}

}  // namespace suanli::host
