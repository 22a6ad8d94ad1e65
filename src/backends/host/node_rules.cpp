#include "backends/host/node_rules.h"

#include <initializer_list>
#include <string>

#include "backends/host/host_buffers.h"
#include "backends/host/tensor_access.h"

namespace suanli::host {
namespace {

void expect_dtype(const sl_tensor& t, const char* what, std::span<const sl_dtype> allowed) {
    for (sl_dtype d : allowed)
        if (t.dtype == d) return;
    std::string names;
    for (sl_dtype d : allowed) names += cat(names.empty() ? "" : ", ", dtype_name(static_cast<DType>(d)));
    unsupported(what, " has dtype ", dtype_name(dtype_of(t)), "; expected one of ", names);
}

void expect_dtype(const sl_tensor& t, const char* what, std::initializer_list<sl_dtype> allowed) {
    expect_dtype(t, what, std::span<const sl_dtype>(allowed.begin(), allowed.size()));
}

void expect_shape(const sl_tensor& t, const char* what, const int64_t (&ne)[4]) {
    for (int i = 0; i < SL_MAX_DIMS; ++i)
        if (t.ne[i] != ne[i])
            invalid(what, " has shape ", shape_str(t), "; expected [", ne[0], ", ", ne[1], ", ", ne[2], ", ", ne[3], "]");
}

// A non-COPY node writes a dense F32 tensor of its own shape.
void expect_f32_output(const Node& n, const int64_t (&ne)[4]) {
    if (n.out.dtype != SL_DTYPE_F32) unsupported("output has dtype ", dtype_name(dtype_of(n.out)), "; this op writes F32");
    expect_shape(n.out, "output", ne);
    if (!is_contiguous(n.out)) invalid("output strides are not contiguous (non-COPY nodes write a dense tensor)");
}

// ---- one function per op ----

void check_get_rows(const Node& n, std::span<const sl_dtype> weight_types) {
    const sl_tensor& table = n.in(0);
    const sl_tensor& ids = n.in(1);
    expect_dtype(table, "src0 (table)", weight_types);
    expect_dtype(ids, "src1 (ids)", {SL_DTYPE_I32});
    if (table.ne[2] != 1 || table.ne[3] != 1) invalid("table ", shape_str(table), " must be [E, R]");
    if (ids.ne[3] != 1) invalid("ids ", shape_str(ids), " must be [N, B2, B3]");
    expect_f32_output(n, {table.ne[0], ids.ne[0], ids.ne[1], ids.ne[2]});
}

void check_mul_mat(const Node& n, std::span<const sl_dtype> weight_types) {
    const sl_tensor& a = n.in(0);
    const sl_tensor& b = n.in(1);
    expect_dtype(a, "src0 (A)", weight_types);
    expect_dtype(b, "src1 (B)", {SL_DTYPE_F32});
    if (a.ne[0] != b.ne[0])
        invalid("inner dimensions differ: A ", shape_str(a), " has K = ", a.ne[0], ", B ", shape_str(b), " has K = ", b.ne[0]);
    if (b.ne[2] % a.ne[2] != 0 || b.ne[3] % a.ne[3] != 0)
        invalid("B ", shape_str(b), " batch dims are not multiples of A ", shape_str(a));
    if (!dense_rows(a)) invalid("A's rows must be contiguous (nb[0] = ", a.nb[0], ")");
    expect_f32_output(n, {a.ne[1], b.ne[1], b.ne[2], b.ne[3]});
}

// ADD and MUL: b repeats along every dimension it divides.
void check_add_mul(const Node& n) {
    const sl_tensor& a = n.in(0);
    const sl_tensor& b = n.in(1);
    expect_dtype(a, "src0 (a)", {SL_DTYPE_F32});
    expect_dtype(b, "src1 (b)", {SL_DTYPE_F32});
    for (int i = 0; i < SL_MAX_DIMS; ++i)
        if (a.ne[i] % b.ne[i] != 0)
            invalid("b ", shape_str(b), " does not broadcast to a ", shape_str(a), ": b.ne[", i, "] = ", b.ne[i],
                    " does not divide a.ne[", i, "] = ", a.ne[i]);
    expect_f32_output(n, a.ne);
}

// SCALE, SILU, RMS_NORM: F32 in, F32 of the same shape out.
void check_unary(const Node& n) {
    expect_dtype(n.in(0), "src0", {SL_DTYPE_F32});
    expect_f32_output(n, n.in(0).ne);
}

void check_rope(const Node& n) {
    const sl_tensor& x = n.in(0);
    const sl_tensor& pos = n.in(1);
    expect_dtype(x, "src0 (x)", {SL_DTYPE_F32});
    expect_dtype(pos, "src1 (positions)", {SL_DTYPE_I32});
    if (x.ne[3] != 1) invalid("x ", shape_str(x), " must be [D, H, T]");
    expect_shape(pos, "src1 (positions)", {x.ne[2], 1, 1, 1});
    const int32_t n_rot = n.param_i32(0);
    if (n_rot < 0 || n_rot % 2 != 0 || n_rot > x.ne[0]) invalid("n_rot = ", n_rot, " must be even and in [0, D = ", x.ne[0], "]");
    const int32_t mode = n.param_i32(1);
    if (mode != SL_ROPE_ADJACENT && mode != SL_ROPE_HALVES) unsupported("rope mode ", mode, " (known: 0 adjacent, 2 halves)");
    expect_f32_output(n, x.ne);
}

void check_attention(const Node& n) {
    const sl_tensor& q = n.in(0);
    const sl_tensor& k = n.in(1);
    const sl_tensor& v = n.in(2);
    expect_dtype(q, "src0 (q)", {SL_DTYPE_F32});
    expect_dtype(k, "src1 (k)", {SL_DTYPE_F32, SL_DTYPE_F16});
    expect_dtype(v, "src2 (v)", {SL_DTYPE_F32, SL_DTYPE_F16});
    if (q.ne[3] != 1) invalid("q ", shape_str(q), " must be [D, Hq, T]");
    const int64_t D = q.ne[0], T = q.ne[2];
    if (k.ne[3] != 1 || k.ne[0] != D) invalid("k ", shape_str(k), " must be [D, Hkv, S] with D = ", D, " as in q ", shape_str(q));
    const int64_t Hkv = k.ne[1], S = k.ne[2];
    expect_shape(v, "src2 (v)", k.ne);
    if (q.ne[1] % Hkv != 0) invalid("Hq = ", q.ne[1], " is not a multiple of Hkv = ", Hkv);
    if (n.src[3]) {
        expect_dtype(n.in(3), "src3 (mask)", {SL_DTYPE_F32});
        expect_shape(n.in(3), "src3 (mask)", {S, T, 1, 1});
    }
    expect_f32_output(n, q.ne);
}

// COPY writes into the node's own tensor: its own dtype and strides.
void check_copy(const Node& n) {
    // F16 and BF16 sources are an extension of backend.h (which names F32).
    expect_dtype(n.in(0), "src0", {SL_DTYPE_F32, SL_DTYPE_F16, SL_DTYPE_BF16});
    expect_dtype(n.out, "destination (the node)", {SL_DTYPE_F32, SL_DTYPE_F16, SL_DTYPE_BF16});
    expect_shape(n.out, "destination (the node)", n.in(0).ne);
}

struct OpRule {
    const char* name;
    int n_src;         // operand slots used: src[n_src..] must be -1
    int n_src_needed;  // leading slots that must be present
};

// Indexed by sl_op.
const OpRule kOps[SL_OP_COUNT] = {
    {"NONE", 0, 0},     {"GET_ROWS", 2, 2}, {"MUL_MAT", 2, 2},   {"ADD", 2, 2}, {"MUL", 2, 2},  {"SCALE", 1, 1},
    {"RMS_NORM", 1, 1}, {"ROPE", 2, 2},     {"SILU", 1, 1}, {"ATTENTION", 4, 3}, {"COPY", 1, 1},
};

void check_op(const Node& n, std::span<const sl_dtype> weight_types) {
    switch (n.out.op) {
        case SL_OP_GET_ROWS: return check_get_rows(n, weight_types);
        case SL_OP_MUL_MAT: return check_mul_mat(n, weight_types);
        case SL_OP_ADD:
        case SL_OP_MUL: return check_add_mul(n);
        case SL_OP_SCALE:
        case SL_OP_RMS_NORM:
        case SL_OP_SILU: return check_unary(n);
        case SL_OP_ROPE: return check_rope(n);
        case SL_OP_ATTENTION: return check_attention(n);
        case SL_OP_COPY: return check_copy(n);
        default: return;
    }
}

// Which tensor of a node a message is about: its operand src[i] (tensor `tensor`), or
// with i < 0 the node's own. Named only when a check fails: checks run for every
// node of every graph, and building the name each time cost more than the checks.
struct Which {
    int src = -1;
    int32_t tensor = -1;
};

std::string name_of(Which w) { return w.src < 0 ? "the node's tensor" : cat("src[", w.src, "] (tensor ", w.tensor, ")"); }

// Layout rules every tensor obeys, whatever uses it.
void check_layout(const sl_tensor& t, Which which) {
    const auto tr = dtype_traits(static_cast<uint32_t>(t.dtype));
    if (t.dtype < 0 || !tr) unsupported(name_of(which), " has unknown dtype id ", t.dtype);
    for (int i = 0; i < SL_MAX_DIMS; ++i) {
        if (t.ne[i] < 1) invalid(name_of(which), " has ne[", i, "] = ", t.ne[i], " (every dimension must be >= 1)");
        if (t.nb[i] < 0) invalid(name_of(which), " has negative stride nb[", i, "] = ", t.nb[i]);
    }
    if (t.ne[0] % tr->block_elements != 0)
        invalid(name_of(which), " is ", tr->name, " with ne[0] = ", t.ne[0], ", not a multiple of its block size ",
                tr->block_elements);
}

}  // namespace

const char* op_name(int32_t op) { return op >= 0 && op < SL_OP_COUNT ? kOps[op].name : "unknown op"; }

void check_graph_shape(const sl_graph* graph) {
    if (!graph) invalid("graph is NULL");
    if (graph->n_tensors < 0) invalid("graph has n_tensors = ", graph->n_tensors);
    if (graph->n_tensors > 0 && !graph->tensors) invalid("graph has ", graph->n_tensors, " tensors but no array");
}

Node check_node(const sl_graph& graph, int32_t index, std::span<const sl_dtype> weight_types) {
    const sl_tensor& t = graph.tensors[index];
    if (t.op < 0 || t.op >= SL_OP_COUNT) unsupported("op code ", t.op, " is not a standard op");
    Node node{t, {nullptr, nullptr, nullptr, nullptr}, index};
    if (t.op == SL_OP_NONE) return node;
    const OpRule& op = kOps[t.op];
    for (int i = 0; i < SL_MAX_SRC; ++i) {
        const int32_t s = t.src[i];
        if (s == -1) {
            if (i < op.n_src_needed) invalid("src[", i, "] is missing");
            continue;
        }
        if (i >= op.n_src) invalid("src[", i, "] = ", s, " is set but the op takes ", op.n_src, " operands");
        if (s < 0 || s >= index) invalid("src[", i, "] = ", s, " is not an earlier tensor (must be in [0, ", index, "))");
        node.src[i] = &graph.tensors[s];
        check_layout(*node.src[i], Which{i, s});
    }
    check_layout(t, Which{});
    check_op(node, weight_types);
    return node;
}

void check_supported(const sl_graph* graph, int32_t index, std::span<const sl_dtype> weight_types) {
    check_graph_shape(graph);
    if (index < 0 || index >= graph->n_tensors)
        invalid("node ", index, " is out of range (the graph has ", graph->n_tensors, " tensors)");
    in_node(*graph, index, [&] { check_node(*graph, index, weight_types); });
}

std::vector<Node> check_graph(const sl_graph* graph, std::span<const sl_dtype> weight_types, const HostBuffers& memory) {
    check_graph_shape(graph);
    std::vector<Node> nodes;
    nodes.reserve(static_cast<size_t>(graph->n_tensors));
    for (int32_t i = 0; i < graph->n_tensors; ++i) {
        if (graph->tensors[i].op == SL_OP_NONE) continue;
        nodes.push_back(in_node(*graph, i, [&] { return check_node(*graph, i, weight_types); }));
    }
    memory.check_graph_memory(*graph, nodes);
    return nodes;
}

}  // namespace suanli::host
