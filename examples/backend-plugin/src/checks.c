/*
 * The checks a node passes before anything runs: operand indices, tensor
 * layouts, and each op's preconditions from backend.h. A violated rule is
 * SL_ERR_INVALID_ARGUMENT; a dtype or mode the standard allows but this
 * backend lacks (the K-quants) is SL_ERR_UNSUPPORTED, and so is a dtype an op
 * does not take at all.
 */
#include <stdio.h>
#include <string.h>

#include "example.h"

static const char* const kOpNames[SL_OP_COUNT] = {"NONE", "GET_ROWS", "MUL_MAT", "ADD", "MUL", "SCALE",
                                                  "RMS_NORM", "ROPE", "SILU", "ATTENTION", "COPY"};
/* Operand slots each op uses, and how many of them must be present. */
static const int kSrcUsed[SL_OP_COUNT] = {0, 2, 2, 2, 2, 1, 1, 2, 1, 4, 1};
static const int kSrcNeeded[SL_OP_COUNT] = {0, 2, 2, 2, 2, 1, 1, 2, 1, 3, 1};

float param_f32(const sl_tensor* t, int i) {
    float f;
    memcpy(&f, &t->params[i], sizeof f);
    return f;
}

static int mul_overflows(uint64_t a, uint64_t b, uint64_t* out) {
    if (a != 0 && b > UINT64_MAX / a) return 1;
    *out = a * b;
    return 0;
}

uint64_t tensor_extent(const sl_tensor* t) {
    const int64_t be = block_elements(t->dtype), bb = block_bytes(t->dtype);
    uint64_t total = 0, term = 0;
    if (be == 0) return 0;
    if (be > 1) { /* whole contiguous blocks along ne[0] */
        if (mul_overflows((uint64_t)(t->ne[0] / be), (uint64_t)bb, &total)) return 0;
    } else {
        if (mul_overflows((uint64_t)(t->ne[0] - 1), (uint64_t)t->nb[0], &total)) return 0;
        if (total > UINT64_MAX - (uint64_t)bb) return 0;
        total += (uint64_t)bb;
    }
    for (int i = 1; i < SL_MAX_DIMS; ++i) {
        if (mul_overflows((uint64_t)(t->ne[i] - 1), (uint64_t)t->nb[i], &term)) return 0;
        if (total > UINT64_MAX - term) return 0;
        total += term;
    }
    return total;
}

/* Rules for every tensor: a known dtype, ne >= 1, nb >= 0, whole blocks. */
static sl_status check_layout(const sl_tensor* t, const char* what) {
    const int64_t be = block_elements(t->dtype);
    if (be == 0) return fail(SL_ERR_UNSUPPORTED, "%s has unknown dtype id %d", what, (int)t->dtype);
    for (int i = 0; i < SL_MAX_DIMS; ++i) {
        if (t->ne[i] < 1) return fail(SL_ERR_INVALID_ARGUMENT, "%s has ne[%d] = %lld < 1", what, i, (long long)t->ne[i]);
        if (t->nb[i] < 0) return fail(SL_ERR_INVALID_ARGUMENT, "%s has nb[%d] = %lld < 0", what, i, (long long)t->nb[i]);
    }
    if (t->ne[0] % be != 0)
        return fail(SL_ERR_INVALID_ARGUMENT, "%s is %s with ne[0] = %lld, not a multiple of its block of %lld", what,
                    dtype_name(t->dtype), (long long)t->ne[0], (long long)be);
    if (tensor_extent(t) == 0) return fail(SL_ERR_INVALID_ARGUMENT, "%s spans more than 2^64 bytes", what);
    return SL_OK;
}

static int same_ne(const sl_tensor* t, int64_t n0, int64_t n1, int64_t n2, int64_t n3) {
    return t->ne[0] == n0 && t->ne[1] == n1 && t->ne[2] == n2 && t->ne[3] == n3;
}

static sl_status expect_ne(const sl_tensor* t, const char* what, int64_t n0, int64_t n1, int64_t n2, int64_t n3) {
    if (same_ne(t, n0, n1, n2, n3)) return SL_OK;
    return fail(SL_ERR_INVALID_ARGUMENT, "%s is [%lld, %lld, %lld, %lld]; expected [%lld, %lld, %lld, %lld]", what,
                (long long)t->ne[0], (long long)t->ne[1], (long long)t->ne[2], (long long)t->ne[3], (long long)n0,
                (long long)n1, (long long)n2, (long long)n3);
}

static sl_status expect_dtype(const sl_tensor* t, const char* what, int32_t a, int32_t b, int32_t c) {
    if (t->dtype == a || t->dtype == b || t->dtype == c) return SL_OK;
    return fail(SL_ERR_UNSUPPORTED, "%s has dtype %s, which this op does not take here", what, dtype_name(t->dtype));
}

/* Dense in dimension order; strides of dimensions of size 1 do not matter. */
static int contiguous(const sl_tensor* t) {
    int64_t expect = block_bytes(t->dtype);
    if (block_elements(t->dtype) == 1 && t->ne[0] > 1 && t->nb[0] != expect) return 0;
    expect = t->ne[0] / block_elements(t->dtype) * block_bytes(t->dtype);
    for (int i = 1; i < SL_MAX_DIMS; ++i) {
        if (t->ne[i] > 1 && t->nb[i] != expect) return 0;
        expect *= t->ne[i];
    }
    return 1;
}

/* Non-COPY nodes write a contiguous F32 tensor of the op's output shape. */
static sl_status expect_output(const sl_tensor* out, int64_t n0, int64_t n1, int64_t n2, int64_t n3) {
    if (out->dtype != SL_DTYPE_F32)
        return fail(SL_ERR_UNSUPPORTED, "the output is %s; this op writes F32", dtype_name(out->dtype));
    sl_status s = expect_ne(out, "the output", n0, n1, n2, n3);
    if (s != SL_OK) return s;
    if (!contiguous(out)) return fail(SL_ERR_INVALID_ARGUMENT, "the output's strides are not contiguous");
    return SL_OK;
}

static sl_status weight_type(const sl_tensor* t, const char* what) {
    if (is_readable_weight(t->dtype)) return SL_OK;
    if (is_standard_weight(t->dtype))
        return fail(SL_ERR_UNSUPPORTED, "%s is %s, which this example backend does not implement", what,
                    dtype_name(t->dtype));
    return fail(SL_ERR_UNSUPPORTED, "%s has dtype %s; expected a weight type", what, dtype_name(t->dtype));
}

#define TRY(expr)                         \
    do {                                  \
        const sl_status s_ = (expr);      \
        if (s_ != SL_OK) return s_;       \
    } while (0)

static sl_status check_get_rows(const sl_tensor* out, const sl_tensor* table, const sl_tensor* ids) {
    TRY(weight_type(table, "src0 (table)"));
    TRY(expect_dtype(ids, "src1 (ids)", SL_DTYPE_I32, SL_DTYPE_I32, SL_DTYPE_I32));
    if (table->ne[2] != 1 || table->ne[3] != 1) return fail(SL_ERR_INVALID_ARGUMENT, "the table must be [E, R]");
    if (ids->ne[3] != 1) return fail(SL_ERR_INVALID_ARGUMENT, "ids must be [N, B2, B3]");
    return expect_output(out, table->ne[0], ids->ne[0], ids->ne[1], ids->ne[2]);
}

static sl_status check_mul_mat(const sl_tensor* out, const sl_tensor* a, const sl_tensor* b) {
    TRY(weight_type(a, "src0 (A)"));
    TRY(expect_dtype(b, "src1 (B)", SL_DTYPE_F32, SL_DTYPE_F32, SL_DTYPE_F32));
    if (a->ne[0] != b->ne[0])
        return fail(SL_ERR_INVALID_ARGUMENT, "A has K = %lld but B has K = %lld", (long long)a->ne[0],
                    (long long)b->ne[0]);
    if (b->ne[2] % a->ne[2] != 0 || b->ne[3] % a->ne[3] != 0)
        return fail(SL_ERR_INVALID_ARGUMENT, "B's batch dimensions are not multiples of A's");
    if (block_elements(a->dtype) == 1 && a->ne[0] > 1 && a->nb[0] != block_bytes(a->dtype))
        return fail(SL_ERR_INVALID_ARGUMENT, "A's rows must be contiguous");
    return expect_output(out, a->ne[1], b->ne[1], b->ne[2], b->ne[3]);
}

static sl_status check_add_mul(const sl_tensor* out, const sl_tensor* a, const sl_tensor* b) {
    TRY(expect_dtype(a, "src0 (a)", SL_DTYPE_F32, SL_DTYPE_F32, SL_DTYPE_F32));
    TRY(expect_dtype(b, "src1 (b)", SL_DTYPE_F32, SL_DTYPE_F32, SL_DTYPE_F32));
    for (int i = 0; i < SL_MAX_DIMS; ++i)
        if (a->ne[i] % b->ne[i] != 0)
            return fail(SL_ERR_INVALID_ARGUMENT, "b.ne[%d] = %lld does not divide a.ne[%d] = %lld", i,
                        (long long)b->ne[i], i, (long long)a->ne[i]);
    return expect_output(out, a->ne[0], a->ne[1], a->ne[2], a->ne[3]);
}

static sl_status check_unary(const sl_tensor* out, const sl_tensor* x) {
    TRY(expect_dtype(x, "src0", SL_DTYPE_F32, SL_DTYPE_F32, SL_DTYPE_F32));
    return expect_output(out, x->ne[0], x->ne[1], x->ne[2], x->ne[3]);
}

static sl_status check_rope(const sl_tensor* out, const sl_tensor* x, const sl_tensor* pos) {
    TRY(expect_dtype(x, "src0 (x)", SL_DTYPE_F32, SL_DTYPE_F32, SL_DTYPE_F32));
    TRY(expect_dtype(pos, "src1 (positions)", SL_DTYPE_I32, SL_DTYPE_I32, SL_DTYPE_I32));
    if (x->ne[3] != 1) return fail(SL_ERR_INVALID_ARGUMENT, "x must be [D, H, T]");
    TRY(expect_ne(pos, "src1 (positions)", x->ne[2], 1, 1, 1));
    const int32_t n_rot = out->params[0], mode = out->params[1];
    if (n_rot < 0 || n_rot % 2 != 0 || n_rot > x->ne[0])
        return fail(SL_ERR_INVALID_ARGUMENT, "n_rot = %d must be even and in [0, D = %lld]", (int)n_rot,
                    (long long)x->ne[0]);
    if (mode != SL_ROPE_ADJACENT && mode != SL_ROPE_HALVES)
        return fail(SL_ERR_UNSUPPORTED, "rope mode %d (known: 0 adjacent, 2 halves)", (int)mode);
    return expect_output(out, x->ne[0], x->ne[1], x->ne[2], x->ne[3]);
}

static sl_status check_attention(const sl_tensor* out, const sl_tensor* q, const sl_tensor* k, const sl_tensor* v,
                                 const sl_tensor* mask) {
    TRY(expect_dtype(q, "src0 (q)", SL_DTYPE_F32, SL_DTYPE_F32, SL_DTYPE_F32));
    TRY(expect_dtype(k, "src1 (k)", SL_DTYPE_F32, SL_DTYPE_F16, SL_DTYPE_F16));
    TRY(expect_dtype(v, "src2 (v)", SL_DTYPE_F32, SL_DTYPE_F16, SL_DTYPE_F16));
    if (q->ne[3] != 1) return fail(SL_ERR_INVALID_ARGUMENT, "q must be [D, Hq, T]");
    if (k->ne[0] != q->ne[0] || k->ne[3] != 1)
        return fail(SL_ERR_INVALID_ARGUMENT, "k must be [D, Hkv, S] with q's D = %lld", (long long)q->ne[0]);
    TRY(expect_ne(v, "src2 (v)", k->ne[0], k->ne[1], k->ne[2], 1));
    if (q->ne[1] % k->ne[1] != 0)
        return fail(SL_ERR_INVALID_ARGUMENT, "Hq = %lld is not a multiple of Hkv = %lld", (long long)q->ne[1],
                    (long long)k->ne[1]);
    if (mask) {
        TRY(expect_dtype(mask, "src3 (mask)", SL_DTYPE_F32, SL_DTYPE_F32, SL_DTYPE_F32));
        TRY(expect_ne(mask, "src3 (mask)", k->ne[2], q->ne[2], 1, 1));
    }
    return expect_output(out, q->ne[0], q->ne[1], q->ne[2], 1);
}

static sl_status check_copy(const sl_tensor* out, const sl_tensor* src) {
    TRY(expect_dtype(src, "src0", SL_DTYPE_F32, SL_DTYPE_F16, SL_DTYPE_BF16));
    TRY(expect_dtype(out, "the destination", SL_DTYPE_F32, SL_DTYPE_F16, SL_DTYPE_BF16));
    return expect_ne(out, "the destination", src->ne[0], src->ne[1], src->ne[2], src->ne[3]);
}

sl_status check_node(const sl_graph* graph, int32_t index) {
    const sl_tensor* t = &graph->tensors[index];
    const sl_tensor* src[SL_MAX_SRC] = {0};
    char what[48];
    if (t->op == SL_OP_NONE) return SL_OK;
    if (t->op < 0 || t->op >= SL_OP_COUNT)
        return fail(SL_ERR_UNSUPPORTED, "node %d: op code %d is not a standard op", (int)index, (int)t->op);
    const int op = t->op;
    for (int i = 0; i < SL_MAX_SRC; ++i) {
        const int32_t s = t->src[i];
        if (s == -1) {
            if (i < kSrcNeeded[op]) return fail(SL_ERR_INVALID_ARGUMENT, "node %d (%s): src[%d] is missing", (int)index, kOpNames[op], i);
            continue;
        }
        if (i >= kSrcUsed[op])
            return fail(SL_ERR_INVALID_ARGUMENT, "node %d (%s): src[%d] is set but the op takes %d operands", (int)index,
                        kOpNames[op], i, kSrcUsed[op]);
        if (s < 0 || s >= index)
            return fail(SL_ERR_INVALID_ARGUMENT, "node %d (%s): src[%d] = %d is not an earlier tensor", (int)index,
                        kOpNames[op], i, (int)s);
        src[i] = &graph->tensors[s];
        snprintf(what, sizeof what, "node %d (%s): src[%d]", (int)index, kOpNames[op], i);
        TRY(check_layout(src[i], what));
    }
    snprintf(what, sizeof what, "node %d (%s)", (int)index, kOpNames[op]);
    TRY(check_layout(t, what));

    sl_status s = SL_OK;
    switch (op) {
        case SL_OP_GET_ROWS: s = check_get_rows(t, src[0], src[1]); break;
        case SL_OP_MUL_MAT: s = check_mul_mat(t, src[0], src[1]); break;
        case SL_OP_ADD:
        case SL_OP_MUL: s = check_add_mul(t, src[0], src[1]); break;
        case SL_OP_SCALE:
        case SL_OP_SILU:
        case SL_OP_RMS_NORM: s = check_unary(t, src[0]); break;
        case SL_OP_ROPE: s = check_rope(t, src[0], src[1]); break;
        case SL_OP_ATTENTION: s = check_attention(t, src[0], src[1], src[2], src[3]); break;
        case SL_OP_COPY: s = check_copy(t, src[0]); break;
    }
    if (s != SL_OK) {
        /* prefix the op's message with the node it is about */
        char detail[400];
        snprintf(detail, sizeof detail, "%s", example_last_error());
        const char* body = strncmp(detail, "example: ", 9) == 0 ? detail + 9 : detail;
        return fail(s, "node %d (%s): %s", (int)index, kOpNames[op], body);
    }
    return SL_OK;
}
