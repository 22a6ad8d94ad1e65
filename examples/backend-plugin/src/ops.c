/*
 * The kernels: one plain loop nest per op, on one thread. Inputs are read
 * through their byte strides (any layout backend.h allows), sums are kept in
 * double, and outputs are written as F32 (COPY: the node's dtype and strides).
 * Every node has passed check_node (checks.c) before any of them runs.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "example.h"

static float* out_row(const sl_tensor* out, int64_t i1, int64_t i2, int64_t i3) {
    return (float*)(uintptr_t)(out->addr + (uint64_t)(i1 * out->nb[1] + i2 * out->nb[2] + i3 * out->nb[3]));
}

static sl_status no_memory(void) { return fail(SL_ERR_OUT_OF_MEMORY, "out of host memory for scratch rows"); }

static sl_status run_get_rows(const sl_tensor* out, const sl_tensor* table, const sl_tensor* ids) {
    const int64_t R = table->ne[1];
    /* Every id first, so that a bad one leaves the output untouched. */
    for (int64_t b3 = 0; b3 < ids->ne[2]; ++b3)
        for (int64_t b2 = 0; b2 < ids->ne[1]; ++b2)
            for (int64_t n = 0; n < ids->ne[0]; ++n) {
                const int32_t id = load_i32(ids, n, b2, b3, 0);
                if (id < 0 || id >= R)
                    return fail(SL_ERR_INVALID_ARGUMENT, "get_rows: ids[%lld, %lld, %lld] = %d is outside [0, %lld)",
                                (long long)n, (long long)b2, (long long)b3, (int)id, (long long)R);
            }
    for (int64_t b3 = 0; b3 < ids->ne[2]; ++b3)
        for (int64_t b2 = 0; b2 < ids->ne[1]; ++b2)
            for (int64_t n = 0; n < ids->ne[0]; ++n)
                load_row(table, load_i32(ids, n, b2, b3, 0), 0, 0, out_row(out, n, b2, b3));
    return SL_OK;
}

static sl_status run_mul_mat(const sl_tensor* out, const sl_tensor* a, const sl_tensor* b) {
    const int64_t K = a->ne[0], M = a->ne[1], N = b->ne[1];
    const int64_t r2 = b->ne[2] / a->ne[2], r3 = b->ne[3] / a->ne[3];
    float* a_row = malloc((size_t)K * sizeof(float));
    float* b_rows = malloc((size_t)(K * N) * sizeof(float));
    if (!a_row || !b_rows) {
        free(a_row);
        free(b_rows);
        return no_memory();
    }
    for (int64_t j = 0; j < b->ne[3]; ++j)
        for (int64_t i = 0; i < b->ne[2]; ++i) {
            for (int64_t n = 0; n < N; ++n) load_row(b, n, i, j, b_rows + n * K);
            for (int64_t m = 0; m < M; ++m) {
                load_row(a, m, i / r2, j / r3, a_row);
                for (int64_t n = 0; n < N; ++n) {
                    const float* bn = b_rows + n * K;
                    double sum = 0.0;
                    for (int64_t k = 0; k < K; ++k) sum += (double)a_row[k] * (double)bn[k];
                    out_row(out, n, i, j)[m] = (float)sum;
                }
            }
        }
    free(a_row);
    free(b_rows);
    return SL_OK;
}

/* ADD, MUL, SCALE, SILU: element by element; b repeats along each dimension it is shorter in. */
static void run_elementwise(int op, const sl_tensor* out, const sl_tensor* a, const sl_tensor* b) {
    const float scale = param_f32(out, 0);
    for (int64_t i3 = 0; i3 < a->ne[3]; ++i3)
        for (int64_t i2 = 0; i2 < a->ne[2]; ++i2)
            for (int64_t i1 = 0; i1 < a->ne[1]; ++i1) {
                float* o = out_row(out, i1, i2, i3);
                for (int64_t i0 = 0; i0 < a->ne[0]; ++i0) {
                    const float x = load_f(a, i0, i1, i2, i3);
                    switch (op) {
                        case SL_OP_ADD:
                        case SL_OP_MUL: {
                            const float y = load_f(b, i0 % b->ne[0], i1 % b->ne[1], i2 % b->ne[2], i3 % b->ne[3]);
                            o[i0] = op == SL_OP_ADD ? x + y : x * y;
                            break;
                        }
                        case SL_OP_SCALE: o[i0] = x * scale; break;
                        default: o[i0] = (float)((double)x / (1.0 + exp(-(double)x))); break; /* SILU */
                    }
                }
            }
}

static void run_rms_norm(const sl_tensor* out, const sl_tensor* x) {
    const double eps = param_f32(out, 0);
    for (int64_t i3 = 0; i3 < x->ne[3]; ++i3)
        for (int64_t i2 = 0; i2 < x->ne[2]; ++i2)
            for (int64_t i1 = 0; i1 < x->ne[1]; ++i1) {
                double sum = 0.0;
                for (int64_t i0 = 0; i0 < x->ne[0]; ++i0) {
                    const double v = load_f(x, i0, i1, i2, i3);
                    sum += v * v;
                }
                const double inv = 1.0 / sqrt(sum / (double)x->ne[0] + eps);
                float* o = out_row(out, i1, i2, i3);
                for (int64_t i0 = 0; i0 < x->ne[0]; ++i0) o[i0] = (float)(load_f(x, i0, i1, i2, i3) * inv);
            }
}

static void run_rope(const sl_tensor* out, const sl_tensor* x, const sl_tensor* pos) {
    const int32_t n_rot = out->params[0], mode = out->params[1];
    const double base = param_f32(out, 2), freq_scale = param_f32(out, 3);
    for (int64_t t = 0; t < x->ne[2]; ++t) {
        const double p = (double)load_i32(pos, t, 0, 0, 0);
        for (int64_t h = 0; h < x->ne[1]; ++h) {
            float* o = out_row(out, h, t, 0);
            for (int64_t d = n_rot; d < x->ne[0]; ++d) o[d] = load_f(x, d, h, t, 0);
            for (int32_t i = 0; i < n_rot / 2; ++i) {
                const double theta = p * freq_scale * pow(base, -2.0 * i / n_rot);
                const double c = cos(theta), s = sin(theta);
                const int64_t ia = mode == SL_ROPE_ADJACENT ? 2 * i : i;
                const int64_t ib = mode == SL_ROPE_ADJACENT ? 2 * i + 1 : i + n_rot / 2;
                const double a = load_f(x, ia, h, t, 0), b = load_f(x, ib, h, t, 0);
                o[ia] = (float)(a * c - b * s);
                o[ib] = (float)(a * s + b * c);
            }
        }
    }
}

static sl_status run_attention(const sl_tensor* out, const sl_tensor* q, const sl_tensor* k, const sl_tensor* v,
                               const sl_tensor* mask) {
    const int64_t D = q->ne[0], Hq = q->ne[1], T = q->ne[2], S = k->ne[2];
    const int64_t group = Hq / k->ne[1];
    const double scale = param_f32(out, 0);
    double* scores = malloc((size_t)S * sizeof(double));
    double* acc = malloc((size_t)D * sizeof(double));
    if (!scores || !acc) {
        free(scores);
        free(acc);
        return no_memory();
    }
    for (int64_t t = 0; t < T; ++t)
        for (int64_t h = 0; h < Hq; ++h) {
            const int64_t g = h / group;
            double max = -INFINITY;
            for (int64_t j = 0; j < S; ++j) {
                const float m = mask ? load_f(mask, j, t, 0, 0) : 0.0f;
                if (isinf(m) && m < 0) { /* masked out: k and v of this key are never read */
                    scores[j] = -INFINITY;
                    continue;
                }
                double dot = 0.0;
                for (int64_t d = 0; d < D; ++d) dot += (double)load_f(q, d, h, t, 0) * (double)load_f(k, d, g, j, 0);
                scores[j] = scale * dot + m;
                if (scores[j] > max) max = scores[j];
            }
            for (int64_t d = 0; d < D; ++d) acc[d] = 0.0;
            double total = 0.0;
            if (max > -INFINITY) {
                for (int64_t j = 0; j < S; ++j) {
                    if (scores[j] == -INFINITY) continue;
                    const double w = exp(scores[j] - max);
                    total += w;
                    for (int64_t d = 0; d < D; ++d) acc[d] += w * (double)load_f(v, d, g, j, 0);
                }
            }
            float* o = out_row(out, h, t, 0);
            for (int64_t d = 0; d < D; ++d) o[d] = total > 0.0 ? (float)(acc[d] / total) : 0.0f;
        }
    free(scores);
    free(acc);
    return SL_OK;
}

static sl_status run_copy(const sl_tensor* out, const sl_tensor* src) {
    float* row = malloc((size_t)src->ne[0] * sizeof(float));
    if (!row) return no_memory();
    for (int64_t i3 = 0; i3 < src->ne[3]; ++i3)
        for (int64_t i2 = 0; i2 < src->ne[2]; ++i2)
            for (int64_t i1 = 0; i1 < src->ne[1]; ++i1) {
                load_row(src, i1, i2, i3, row);
                store_row(out, i1, i2, i3, row);
            }
    free(row);
    return SL_OK;
}

sl_status run_node(const sl_graph* graph, int32_t index) {
    const sl_tensor* t = &graph->tensors[index];
    const sl_tensor* src[SL_MAX_SRC] = {0};
    for (int i = 0; i < SL_MAX_SRC; ++i)
        if (t->src[i] >= 0) src[i] = &graph->tensors[t->src[i]];
    switch (t->op) {
        case SL_OP_GET_ROWS: return run_get_rows(t, src[0], src[1]);
        case SL_OP_MUL_MAT: return run_mul_mat(t, src[0], src[1]);
        case SL_OP_ADD:
        case SL_OP_MUL:
        case SL_OP_SCALE:
        case SL_OP_SILU: run_elementwise(t->op, t, src[0], src[1]); return SL_OK;
        case SL_OP_RMS_NORM: run_rms_norm(t, src[0]); return SL_OK;
        case SL_OP_ROPE: run_rope(t, src[0], src[1]); return SL_OK;
        case SL_OP_ATTENTION: return run_attention(t, src[0], src[1], src[2], src[3]);
        case SL_OP_COPY: return run_copy(t, src[0]);
        default: return SL_OK; /* a leaf */
    }
}
