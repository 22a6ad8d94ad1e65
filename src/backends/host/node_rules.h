// The standard's rules for a valid node (backend-standard.md, sections 2-3):
// operand indices, tensor layouts, and each op's dtypes, shapes and params.
// supports_op and graph_compute of every host backend ask these, so both
// backends accept and reject exactly the same graphs, with the same messages.
// No tensor data is read; a violation throws OpError (abi_errors.h).
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "backends/host/abi_errors.h"
#include "suanli/backend.h"

namespace suanli::host {

class HostBuffers;

// A checked node with its operands resolved.
struct Node {
    const sl_tensor& out;
    const sl_tensor* src[SL_MAX_SRC];  // nullptr where the index is -1
    int32_t index;                     // position in the graph

    const sl_tensor& in(int i) const { return *src[i]; }
    int32_t param_i32(int i) const { return out.params[i]; }
    float param_f32(int i) const {
        float f;
        std::memcpy(&f, &out.params[i], sizeof f);
        return f;
    }
};

// The weight types (MUL_MAT's A, GET_ROWS' table) a backend implements.
inline constexpr sl_dtype kAllWeightTypes[] = {SL_DTYPE_F32,  SL_DTYPE_F16,  SL_DTYPE_BF16, SL_DTYPE_Q8_0,
                                               SL_DTYPE_Q4_0, SL_DTYPE_Q4_K, SL_DTYPE_Q5_K, SL_DTYPE_Q6_K};

// "MUL_MAT"; "unknown op" outside the standard's range.
const char* op_name(int32_t op);

// The graph struct itself: not NULL, a count >= 0, an array if the count is > 0.
void check_graph_shape(const sl_graph* graph);

// Node `index` against every rule; a leaf (SL_OP_NONE) passes with no operands.
Node check_node(const sl_graph& graph, int32_t index, std::span<const sl_dtype> weight_types);

// What supports_op asks: the graph, the index and the node are all valid.
void check_supported(const sl_graph* graph, int32_t index, std::span<const sl_dtype> weight_types);

// What graph_compute does before running anything: every node passes the rules
// and lies in live buffers of `memory`. Returns the op nodes in order, so a
// malformed graph runs no node at all.
std::vector<Node> check_graph(const sl_graph* graph, std::span<const sl_dtype> weight_types, const HostBuffers& memory);

// Runs fn, prefixing an OpError's message with "node <index> (<OP>): ".
template <class Fn>
auto in_node(const sl_graph& graph, int32_t index, Fn&& fn) {
    try {
        return fn();
    } catch (const OpError& e) {
        throw OpError(e.status, cat("node ", index, " (", op_name(graph.tensors[index].op), "): ", e.what()));
    }
}

}  // namespace suanli::host
