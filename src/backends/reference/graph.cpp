// The op table, and the checks every node passes before any node runs.
#include "backends/reference/graph.h"

#include "backends/reference/ops.h"

namespace suanli::reference {
namespace {

// Indexed by sl_op. n_src: slots used; n_src_needed: leading slots that must be set.
const OpImpl kOps[SL_OP_COUNT] = {
    {"NONE", 0, 0, nullptr, nullptr},
    {"GET_ROWS", 2, 2, check_get_rows, run_get_rows},
    {"MUL_MAT", 2, 2, check_mul_mat, run_mul_mat},
    {"ADD", 2, 2, check_add_mul, run_add},
    {"MUL", 2, 2, check_add_mul, run_mul},
    {"SCALE", 1, 1, check_unary, run_scale},
    {"RMS_NORM", 1, 1, check_rms_norm, run_rms_norm},
    {"ROPE", 2, 2, check_rope, run_rope},
    {"SILU", 1, 1, check_unary, run_silu},
    {"ATTENTION", 4, 3, check_attention, run_attention},
    {"COPY", 1, 1, check_copy, run_copy},
};

// Layout rules every tensor obeys, whatever uses it.
void check_layout(const sl_tensor& t, const std::string& what) {
    const auto tr = dtype_traits(static_cast<uint32_t>(t.dtype));
    if (t.dtype < 0 || !tr) unsupported(what, " has unknown dtype id ", t.dtype);
    for (int i = 0; i < SL_MAX_DIMS; ++i) {
        if (t.ne[i] < 1) invalid(what, " has ne[", i, "] = ", t.ne[i], " (every dimension must be >= 1)");
        if (t.nb[i] < 0) invalid(what, " has negative stride nb[", i, "] = ", t.nb[i]);
    }
    if (t.ne[0] % tr->block_elements != 0)
        invalid(what, " is ", tr->name, " with ne[0] = ", t.ne[0], ", not a multiple of its block size ",
                tr->block_elements);
}

}  // namespace

const OpImpl& op_impl(int32_t op) { return kOps[op]; }

const char* op_name(int32_t op) { return op >= 0 && op < SL_OP_COUNT ? kOps[op].name : "unknown op"; }

Node resolve_node(const sl_graph& graph, int32_t index, int n_threads) {
    const sl_tensor& t = graph.tensors[index];
    if (t.op < 0 || t.op >= SL_OP_COUNT) unsupported("op code ", t.op, " is not a standard op");
    Node node{t, {nullptr, nullptr, nullptr, nullptr}, n_threads};
    const OpImpl& impl = kOps[t.op];
    for (int i = 0; i < SL_MAX_SRC; ++i) {
        const int32_t s = t.src[i];
        if (s == -1) {
            if (i < impl.n_src_needed) invalid("src[", i, "] is missing");
            continue;
        }
        if (i >= impl.n_src) invalid("src[", i, "] = ", s, " is set but the op takes ", impl.n_src, " operands");
        if (s < 0 || s >= index)
            invalid("src[", i, "] = ", s, " is not an earlier tensor (must be in [0, ", index, "))");
        node.src[i] = &graph.tensors[s];
        check_layout(*node.src[i], cat("src[", i, "] (tensor ", s, ")"));
    }
    check_layout(t, "the node's tensor");
    return node;
}

void check_node(const sl_graph& graph, int32_t index) {
    const sl_tensor& t = graph.tensors[index];
    if (t.op == SL_OP_NONE) return;
    const Node node = resolve_node(graph, index, 1);
    kOps[t.op].check(node);
}

void check_graph_shape(const sl_graph* graph) {
    if (!graph) invalid("graph is NULL");
    if (graph->n_tensors < 0) invalid("graph has n_tensors = ", graph->n_tensors);
    if (graph->n_tensors > 0 && !graph->tensors) invalid("graph has ", graph->n_tensors, " tensors but no array");
}

}  // namespace suanli::reference
