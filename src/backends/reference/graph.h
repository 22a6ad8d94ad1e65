// Graph-level checks of the reference backend: operand indices, tensor layouts,
// and each op's preconditions. They throw OpError (ops.h) without reading data.
#pragma once

#include <string>

#include "backends/reference/ops.h"

namespace suanli::reference {

// Throws if the graph struct itself is malformed (NULL, negative count, no array).
void check_graph_shape(const sl_graph* graph);

// Resolves node `index` (op != NONE): op code known, operand indices earlier
// than the node and present exactly where the op needs them, layouts sane.
Node resolve_node(const sl_graph& graph, int32_t index, int n_threads);

// resolve_node plus the op's own preconditions. Leaves pass trivially.
void check_node(const sl_graph& graph, int32_t index);

// Runs `fn`, prefixing any OpError's message with "node <index> (<OP>): ".
template <class Fn>
void in_node(const sl_graph& graph, int32_t index, Fn&& fn) {
    try {
        fn();
    } catch (const OpError& e) {
        throw OpError(e.status, cat("node ", index, " (", op_name(graph.tensors[index].op), "): ", e.what()));
    }
}

}  // namespace suanli::reference
