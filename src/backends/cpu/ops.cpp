// GET_ROWS, ADD, MUL, SCALE, SILU, RMS_NORM, ROPE, ATTENTION and COPY: loops
// over rows, the rows split across the pool's threads. Every row is computed by
// the same code whichever thread runs it, so results do not depend on the
// thread count.
#include <cmath>
#include <limits>

#include "backends/cpu/cpu_features.h"
#include "backends/cpu/ops.h"
#include "core/quant.h"

namespace suanli::cpu {
namespace {

// Rows per thread below which an op stays on one thread (elements, roughly).
constexpr int64_t kMinElementsPerThread = 1 << 14;

int64_t min_rows(int64_t row_elems) { return std::max<int64_t>(1, kMinElementsPerThread / std::max<int64_t>(row_elems, 1)); }

// Row index r of a tensor shaped ne -> (i1, i2, i3).
struct RowIndex {
    int64_t i1, i2, i3;
};
inline RowIndex split_row(const sl_tensor& t, int64_t r) { return {r % t.ne[1], (r / t.ne[1]) % t.ne[2], r / (t.ne[1] * t.ne[2])}; }

inline float* out_row(const sl_tensor& out, int64_t r) { return reinterpret_cast<float*>(out.addr) + r * out.ne[0]; }

// load_row's scratch, allocated only for a tensor whose rows need converting:
// a decode step's elementwise ops read dense F32 rows and allocate nothing.
class RowReader {
public:
    explicit RowReader(const sl_tensor& t) : t_(t) {
        if (!f32_rows(t)) scratch_.resize(static_cast<size_t>(t.ne[0]));
    }
    const float* operator()(int64_t i1, int64_t i2, int64_t i3) { return load_row(t_, i1, i2, i3, scratch_.data()); }

private:
    const sl_tensor& t_;
    std::vector<float> scratch_;
};

bool disjoint(const float* x, const float* y, int64_t n) { return x + n <= y || y + n <= x; }

// A path's row kernel for ADD or MUL (kernels.h), or null.
using RowKernel = void (*)(const float* a, const float* b, float* o, int64_t n);

// o[k] = op(a[k], b[k]): the path's kernel, or a loop. The standard keeps a node's output
// apart from its operands, so without overlap the loop is vectorized (restrict), kept as
// plain code otherwise.
template <class Op>
void apply(float* o, const float* a, const float* b, int64_t n, Op op, RowKernel kernel) {
    if (disjoint(o, a, n) && disjoint(o, b, n)) {
        if (kernel) return kernel(a, b, o, n);
        const auto vectorized = [n, op](float* __restrict o, const float* __restrict a, const float* __restrict b) {
            for (int64_t k = 0; k < n; ++k) o[k] = op(a[k], b[k]);
        };
        return vectorized(o, a, b);
    }
    for (int64_t k = 0; k < n; ++k) o[k] = op(a[k], b[k]);
}

template <class Op>
void run_binary(Context& ctx, const Node& n, Op op, RowKernel kernel) {
    const sl_tensor& a = n.in(0);
    const sl_tensor& b = n.in(1);
    const int64_t ne0 = a.ne[0], bne0 = b.ne[0];
    ctx.pool.parallel_for(n_rows(a), min_rows(ne0), [&](int64_t first, int64_t last) {
        RowReader read_a(a), read_b(b);
        for (int64_t r = first; r < last; ++r) {
            const RowIndex i = split_row(a, r);
            const float* ra = read_a(i.i1, i.i2, i.i3);
            const float* rb = read_b(i.i1 % b.ne[1], i.i2 % b.ne[2], i.i3 % b.ne[3]);
            float* o = out_row(n.out, r);
            if (bne0 == ne0) {
                apply(o, ra, rb, ne0, op, kernel);
            } else {
                for (int64_t k = 0; k < ne0; ++k) o[k] = op(ra[k], rb[k % bne0]);
            }
        }
    });
}

// o[k] = x[k] * s: the path's kernel, or a loop.
void scale_row(const Kernels& kern, const float* x, float s, float* o, int64_t n) {
    if (kern.scale && disjoint(o, x, n)) return kern.scale(x, s, o, n);
    for (int64_t k = 0; k < n; ++k) o[k] = x[k] * s;
}

// row_op(x, out, n) for every row.
template <class RowOp>
void for_each_row(Context& ctx, const Node& n, RowOp row_op) {
    const sl_tensor& x = n.in(0);
    const int64_t ne0 = x.ne[0];
    ctx.pool.parallel_for(n_rows(x), min_rows(ne0), [&](int64_t first, int64_t last) {
        RowReader read(x);
        for (int64_t r = first; r < last; ++r) {
            const RowIndex i = split_row(x, r);
            row_op(read(i.i1, i.i2, i.i3), out_row(n.out, r), ne0);
        }
    });
}

template <class Op>
void run_unary(Context& ctx, const Node& n, Op op) {
    for_each_row(ctx, n, [&](const float* x, float* o, int64_t ne0) {
        for (int64_t k = 0; k < ne0; ++k) o[k] = op(x[k]);
    });
}

// y += a * x, in blocks of 8 that the compiler turns into vector code at -O2
// (restrict: y and x never overlap here).
void axpy(float* __restrict y, const float* __restrict x, float a, int64_t n) {
    int64_t k = 0;
    for (; k + 8 <= n; k += 8)
        for (int l = 0; l < 8; ++l) y[k + l] += a * x[k + l];
    for (; k < n; ++k) y[k] += a * x[k];
}

// The sum of x[k]^2 (each square in float) in double, where the path has no sum_squares
// kernel. Eight partial sums, so that the adds do not wait on each other (the standard lets
// reductions be reordered): one chain of 2048 dependent adds cost ~1.3 us.
double sum_of_squares(const float* x, int64_t n) {
    double part[8] = {};
    int64_t k = 0;
    for (; k + 8 <= n; k += 8)
        for (int l = 0; l < 8; ++l) part[l] += static_cast<double>(x[k + l] * x[k + l]);
    for (; k < n; ++k) part[k % 8] += static_cast<double>(x[k] * x[k]);
    return ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
}

}  // namespace

bool f32_rows(const sl_tensor& t) {
    return t.dtype == SL_DTYPE_F32 && dense_rows(t) && t.addr % alignof(float) == 0 && t.nb[1] % alignof(float) == 0 &&
           t.nb[2] % alignof(float) == 0 && t.nb[3] % alignof(float) == 0;
}

const float* load_row(const sl_tensor& t, int64_t i1, int64_t i2, int64_t i3, float* scratch) {
    const std::byte* p = row_ptr(t, i1, i2, i3);
    if (t.dtype == SL_DTYPE_F32 && dense_rows(t) && reinterpret_cast<uintptr_t>(p) % alignof(float) == 0)
        return reinterpret_cast<const float*>(p);
    if (dense_rows(t)) {
        dequantize_row(dtype_of(t), p, scratch, t.ne[0]);
    } else {
        for (int64_t i0 = 0; i0 < t.ne[0]; ++i0) dequantize_row(dtype_of(t), p + i0 * t.nb[0], scratch + i0, 1);
    }
    return scratch;
}

void run_add(Context& ctx, const Node& n) {
    run_binary(ctx, n, [](float a, float b) { return a + b; }, ctx.kernels.add);
}
void run_mul(Context& ctx, const Node& n) {
    run_binary(ctx, n, [](float a, float b) { return a * b; }, ctx.kernels.mul);
}
void run_scale(Context& ctx, const Node& n) {
    const float s = n.param_f32(0);
    for_each_row(ctx, n, [&](const float* x, float* o, int64_t ne0) { scale_row(ctx.kernels, x, s, o, ne0); });
}
void run_silu(Context& ctx, const Node& n) {
    if (const auto silu = ctx.kernels.silu) return for_each_row(ctx, n, silu);
    run_unary(ctx, n, [](float x) { return x / (1.0f + std::exp(-x)); });
}

// Squares in float, their sum in double, y = x * (1 / sqrtf(mean + eps)), as ggml.
void run_rms_norm(Context& ctx, const Node& n) {
    const sl_tensor& x = n.in(0);
    const float eps = n.param_f32(0);
    const int64_t ne0 = x.ne[0];
    ctx.pool.parallel_for(n_rows(x), min_rows(ne0), [&](int64_t first, int64_t last) {
        RowReader read(x);
        for (int64_t r = first; r < last; ++r) {
            const RowIndex i = split_row(x, r);
            const float* rx = read(i.i1, i.i2, i.i3);
            const double sum = ctx.kernels.sum_squares ? ctx.kernels.sum_squares(rx, ne0) : sum_of_squares(rx, ne0);
            const float mean = static_cast<float>(sum / static_cast<double>(ne0));
            scale_row(ctx.kernels, rx, 1.0f / std::sqrt(mean + eps), out_row(n.out, r), ne0);
        }
    });
}

namespace {

// The angles of ROPE node n for every position, as ggml computes them:
// theta_{i+1} = theta_i * base^(-2/n_rot) in float; from ctx's cache when an earlier
// node of the graph had the same positions and parameters.
const RopeAngles& rope_angles(Context& ctx, const Node& n) {
    const sl_tensor& pos = n.in(1);
    const int64_t n_rot = n.param_i32(0), T = n.in(0).ne[2], half = n_rot / 2;
    const float freq_base = n.param_f32(2), freq_scale = n.param_f32(3);
    RopeAngles& a = ctx.rope_angles;
    bool same = a.n_rot == n_rot && a.freq_base == freq_base && a.freq_scale == freq_scale &&
                static_cast<int64_t>(a.positions.size()) == T;
    for (int64_t t = 0; same && t < T; ++t) same = a.positions[static_cast<size_t>(t)] == load_i32(pos, t, 0, 0, 0);
    if (same) return a;
    a.n_rot = -1;  // no match until the tables below are whole
    a.positions.resize(static_cast<size_t>(T));
    a.cos.resize(static_cast<size_t>(T * half));
    a.sin.resize(static_cast<size_t>(T * half));
    const float theta_scale = n_rot > 0 ? std::pow(freq_base, -2.0f / static_cast<float>(n_rot)) : 1.0f;
    ctx.pool.parallel_for(T, min_rows(8 * half), [&](int64_t first, int64_t last) {
        for (int64_t t = first; t < last; ++t) {
            const int32_t p = load_i32(pos, t, 0, 0, 0);
            a.positions[static_cast<size_t>(t)] = p;
            float theta = static_cast<float>(p);
            for (int64_t i = 0; i < half; ++i) {
                const float angle = freq_scale * theta;
                a.cos[static_cast<size_t>(t * half + i)] = std::cos(angle);
                a.sin[static_cast<size_t>(t * half + i)] = std::sin(angle);
                theta *= theta_scale;
            }
        }
    });
    a.n_rot = n_rot, a.freq_base = freq_base, a.freq_scale = freq_scale;
    return a;
}

}  // namespace

void run_rope(Context& ctx, const Node& n) {
    const sl_tensor& x = n.in(0);
    const int64_t n_rot = n.param_i32(0), D = x.ne[0], H = x.ne[1];
    const bool adjacent = n.param_i32(1) == SL_ROPE_ADJACENT;
    const int64_t half = n_rot / 2;
    const RopeAngles& angles = rope_angles(ctx, n);
    // Work item: one position t (all its heads share the angles).
    ctx.pool.parallel_for(x.ne[2], min_rows(D * H), [&](int64_t first, int64_t last) {
        std::vector<float> s(f32_rows(x) ? 0 : static_cast<size_t>(D));
        for (int64_t t = first; t < last; ++t) {
            const float* cs = angles.cos.data() + t * half;
            const float* sn = angles.sin.data() + t * half;
            for (int64_t h = 0; h < H; ++h) {
                const float* rx = load_row(x, h, t, 0, s.data());
                float* o = out_row(n.out, t * H + h);
                if (o != rx) std::memcpy(o, rx, sizeof(float) * static_cast<size_t>(D));
                for (int64_t i = 0; i < half; ++i) {
                    const int64_t ia = adjacent ? 2 * i : i, ib = adjacent ? 2 * i + 1 : i + half;
                    const float a = o[ia], b = o[ib];
                    o[ia] = a * cs[i] - b * sn[i];
                    o[ib] = a * sn[i] + b * cs[i];
                }
            }
        }
    });
}

// Flash-attention style: for each (query t, head h) one pass over the keys in
// blocks, with a running maximum and sum (online softmax), so no score matrix
// is stored. Keys masked with -inf are not read.
// ATTENTION through the path's row kernel: the keys transposed (so that a row's
// scores are 16 keys per FMA), the values as dense F32 rows unless they already
// are, then one kernel call per query position and group of query heads that
// share a KV head (they share every key and value load).
namespace {

// What run_attention_rows reads of K and V, and how.
struct AttentionInputs {
    const sl_tensor& k;
    const sl_tensor& v;
    int64_t D, S, Sp;  // Sp: S rounded up to whole blocks of 16 keys
    bool k_strided;    // F32 keys go to the path's transpose16 as they are
    bool v_direct;     // F32 values are read in place
};

// Keys j0..j0+nj-1 (nj <= 16) of KV head g into kt (row d at kt + d * Sp; blocks of 16
// keys, so that each transposed row is written a cache line at a time), and unless V is
// read in place their values as F32 rows at vf + j * D. tmp: 16 * D floats (unused when
// the keys go to transpose16).
void stage_key_block(const Kernels& kern, const AttentionInputs& in, int64_t g, int64_t j0, int64_t nj, float* kt,
                     float* vf, float* tmp) {
    const int64_t D = in.D;
    if (!in.v_direct) {
        for (int64_t j = j0; j < j0 + nj; ++j) {
            float* dst = vf + j * D;
            const float* p = load_row(in.v, g, j, 0, dst);
            if (p != dst) std::memcpy(dst, p, sizeof(float) * static_cast<size_t>(D));
        }
    }
    if (in.k_strided) {
        kern.transpose16(reinterpret_cast<const float*>(row_ptr(in.k, g, j0, 0)), in.k.nb[2] / 4, static_cast<int>(nj), D,
                         kt + j0, in.Sp);
        return;
    }
    const float* rows[16];
    for (int64_t i = 0; i < nj; ++i) rows[i] = load_row(in.k, g, j0 + i, 0, tmp + i * D);
    for (int64_t d = 0; d < D; ++d) {
        float* line = kt + d * in.Sp + j0;
        for (int64_t i = 0; i < nj; ++i) line[i] = rows[i][d];
    }
}

}  // namespace

// Keys per KV head whose rows a decode step's attention asks for into L2 up front (a key and
// its value are 512 bytes in TinyLlama: 256 KB for a thread's two heads).
constexpr int64_t kDirectPrefetchKeys = 256;

namespace {

// Whether a decode step's attention, reading `bytes` of cache rows, runs on the calling
// thread alone (see run_attention_rows). TinyLlama Q4_0, tg128, alternating graph by graph
// within one decode: the op took ~1-3 us a layer longer (~16 us), the step 0.6% less time
// (median of 9 runs, 7 faster).
bool decode_attention_alone(int64_t bytes) {
    static const auto l2 = static_cast<int64_t>(data_cache_bytes(2));
    return bytes <= (l2 > 0 ? l2 : int64_t{512} << 10) / 2;
}

}  // namespace

void run_attention_rows(Context& ctx, const Node& n) {
    const sl_tensor& q = n.in(0);
    const sl_tensor& k = n.in(1);
    const sl_tensor& v = n.in(2);
    const sl_tensor* mask = n.src[3];
    const int64_t D = q.ne[0], Hq = q.ne[1], T = q.ne[2], Hkv = k.ne[1], S = k.ne[2];
    const int64_t group = Hq / Hkv, Sp = (S + 15) / 16 * 16;
    const AttentionInputs in{
        k, v, D, S, Sp,
        // An index of 16 rows must fit int32.
        ctx.kernels.transpose16 && k.dtype == SL_DTYPE_F32 && k.nb[0] == 4 && k.addr % 4 == 0 && k.nb[1] % 4 == 0 &&
            k.nb[2] % 4 == 0 && k.nb[2] / 4 * 15 < (int64_t{1} << 31),
        v.dtype == SL_DTYPE_F32 && dense_rows(v) && v.addr % 4 == 0 && v.nb[1] % 4 == 0 && v.nb[2] % 4 == 0};
    // Units of up to kMaxAttentionHeads query heads that share a KV head, at one position.
    const int64_t per_unit = std::min<int64_t>(group, kMaxAttentionHeads);
    const int64_t units_per_kv = (group + per_unit - 1) / per_unit;
    // Staged K (and V) per KV head: D * Sp floats (+ S * D when V is converted), whole cache
    // lines so that every head's keys stay aligned for the kernel's loads.
    const int64_t staged = (D * Sp + (in.v_direct ? 0 : S * D) + 15) / 16 * 16;
    // A decode step (one unit per KV head) stages its KV head's keys inside its unit, so the
    // staging is spread over the threads with the heads and costs no job of its own; with
    // more units per KV head (prompts) they are staged once, up front, and shared.
    const bool stage_in_unit = T * units_per_kv == 1;
    // Or, with F32 key and value rows, or F16 ones (an F16 cache), not staged at all:
    // attention_direct reads the keys, converting F16 rows a block at a time.
    const bool f16_rows = k.dtype == SL_DTYPE_F16 && v.dtype == SL_DTYPE_F16 && k.nb[0] == 2 && v.nb[0] == 2 &&
                          k.addr % 2 == 0 && v.addr % 2 == 0 && k.nb[2] % 2 == 0 && v.nb[2] % 2 == 0;
    const bool direct = stage_in_unit && ctx.kernels.attention_direct && ((in.k_strided && in.v_direct) || f16_rows);
    auto* stage = direct ? nullptr
                         : reinterpret_cast<float*>(ctx.scratch_bytes(sizeof(float) * static_cast<size_t>(Hkv * staged)));
    const int64_t key_blocks = Sp / 16;
    if (!stage_in_unit) {
        ctx.pool.parallel_for(Hkv * key_blocks, std::max<int64_t>(1, min_rows(D) / 16), [&](int64_t first, int64_t last) {
            std::vector<float> tmp(in.k_strided ? 0 : static_cast<size_t>(16 * D));
            for (int64_t u = first; u < last; ++u) {
                const int64_t g = u / key_blocks, j0 = u % key_blocks * 16;
                float* kt = stage + g * staged;
                stage_key_block(ctx.kernels, in, g, j0, std::min<int64_t>(16, S - j0), kt, kt + D * Sp, tmp.data());
            }
        });
    }
    const float scale = n.param_f32(0);
    const int64_t work = per_unit * S * D * (stage_in_unit ? 2 : 1), units = T * Hkv * units_per_kv;
    int64_t min_units = std::max<int64_t>(1, kMinElementsPerThread / std::max<int64_t>(work, 1));
    // Decode from the key rows: one run of units (KV heads) per thread, whose cold cache rows
    // the thread asks for into L2 first, so that the next unit's misses overlap this one's work.
    // Alternating within one decode (TinyLlama Q4_0, tg128), the op took 1.6-2.3 us of ~16 less.
    if (direct) min_units = std::max(min_units, (units + ctx.pool.size() - 1) / ctx.pool.size());
    // While the rows fit in half of one core's L2, the caller runs them all: it waits on their
    // misses about as long as two threads do, and the other threads go on reading their part of
    // the next product into their caches (ThreadPool::prefetch_hint) meanwhile.
    if (direct && decode_attention_alone(units * S * 2 * D * 4)) min_units = units;
    ctx.pool.parallel_for(units, min_units, [&](int64_t first, int64_t last) {
        std::vector<float> qs(static_cast<size_t>(per_unit * D)), ms(static_cast<size_t>(S));
        std::vector<float> tmp(stage_in_unit && !in.k_strided ? static_cast<size_t>(16 * D) : 0);
        for (int64_t u = first; u < last && direct; ++u) {
            const int64_t g = u / units_per_kv % Hkv;
            for (int64_t j = 0; j < std::min<int64_t>(S, kDirectPrefetchKeys); ++j)
                for (const sl_tensor* t : {&k, &v})
                    for (int64_t b = 0; b < 4 * D; b += 64) __builtin_prefetch(row_ptr(*t, g, j, 0) + b, 0, 2);
        }
        for (int64_t u = first; u < last; ++u) {
            const int64_t t = u / (Hkv * units_per_kv), g = u / units_per_kv % Hkv;
            const int64_t h0 = g * group + u % units_per_kv * per_unit, h1 = std::min(h0 + per_unit, (g + 1) * group);
            float* kt = direct ? nullptr : stage + g * staged;
            if (stage_in_unit) {
                // The cache rows were written steps ago and are cold: ask for all of them first,
                // so that their misses overlap instead of coming one transpose block at a time
                // (attention_direct asks for each next block itself, while it computes).
                // (Prefetches never fault, so a row's bytes may be overestimated: 4 per element.)
                for (int64_t j = 0; j < (direct ? std::min<int64_t>(S, kAttentionKeyBlock) : S); ++j)
                    for (const sl_tensor* t : {&k, &v})
                        for (int64_t b = 0; b < 4 * D; b += 64) __builtin_prefetch(row_ptr(*t, g, j, 0) + b);
                for (int64_t j0 = 0; j0 < S && !direct; j0 += 16)
                    stage_key_block(ctx.kernels, in, g, j0, std::min<int64_t>(16, S - j0), kt, kt + D * Sp, tmp.data());
            }
            AttentionRows rows{};
            rows.n = static_cast<int>(h1 - h0);
            for (int64_t h = h0; h < h1; ++h) {
                rows.q[h - h0] = load_row(q, h, t, 0, qs.data() + (h - h0) * D);
                rows.out[h - h0] = out_row(n.out, t * Hq + h);
            }
            rows.mask = mask ? load_row(*mask, t, 0, 0, ms.data()) : nullptr;
            rows.kt = kt;
            rows.kt_stride = Sp;
            // Direct: the rows where they are, strides in elements (F32, or F16 for kv_f16).
            rows.kv_f16 = direct && !in.k_strided;
            const int64_t es = rows.kv_f16 ? 2 : 4;
            rows.k = direct ? reinterpret_cast<const float*>(row_ptr(k, g, 0, 0)) : nullptr;
            rows.k_stride = direct ? k.nb[2] / es : 0;
            const bool v_in_place = in.v_direct || direct;
            rows.v = v_in_place ? reinterpret_cast<const float*>(row_ptr(v, g, 0, 0)) : kt + D * Sp;
            rows.v_stride = v_in_place ? v.nb[2] / es : D;
            rows.D = D;
            rows.S = S;
            rows.scale = scale;
            (direct ? ctx.kernels.attention_direct : ctx.kernels.attention_rows)(rows);
        }
    });
}

void run_attention(Context& ctx, const Node& n) {
    const sl_tensor& q = n.in(0);
    const sl_tensor& k = n.in(1);
    const sl_tensor& v = n.in(2);
    const sl_tensor* mask = n.src[3];
    const float scale = n.param_f32(0);
    const int64_t D = q.ne[0], Hq = q.ne[1], T = q.ne[2], Hkv = k.ne[1], S = k.ne[2];
    const int64_t group = Hq / Hkv;
    constexpr float kNegInf = -std::numeric_limits<float>::infinity();
    constexpr int64_t kBlock = 64;

    if (ctx.kernels.attention_rows && D <= 512) return run_attention_rows(ctx, n);
    // K and V as dense F32 rows (g, j) at (g * S + j) * D, unless they already are.
    auto dense_f32 = [](const sl_tensor& t) {
        return t.dtype == SL_DTYPE_F32 && dense_rows(t) && t.addr % 4 == 0 && t.nb[1] % 4 == 0 && t.nb[2] % 4 == 0;
    };
    const bool k_direct = dense_f32(k), v_direct = dense_f32(v);
    float* kf = nullptr;
    float* vf = nullptr;
    if (!k_direct || !v_direct) {
        const size_t elems = static_cast<size_t>(Hkv * S * D);
        float* base = reinterpret_cast<float*>(ctx.scratch_bytes(2 * elems * sizeof(float)));
        kf = base;
        vf = base + elems;
        ctx.pool.parallel_for(Hkv * S, min_rows(D), [&](int64_t first, int64_t last) {
            for (int64_t r = first; r < last; ++r) {
                const int64_t g = r / S, j = r % S;
                if (!k_direct) {
                    const float* p = load_row(k, g, j, 0, kf + r * D);
                    if (p != kf + r * D) std::memcpy(kf + r * D, p, sizeof(float) * static_cast<size_t>(D));
                }
                if (!v_direct) {
                    const float* p = load_row(v, g, j, 0, vf + r * D);
                    if (p != vf + r * D) std::memcpy(vf + r * D, p, sizeof(float) * static_cast<size_t>(D));
                }
            }
        });
    }
    auto krow = [&](int64_t g, int64_t j) {
        return k_direct ? reinterpret_cast<const float*>(row_ptr(k, g, j, 0)) : kf + (g * S + j) * D;
    };
    auto vrow = [&](int64_t g, int64_t j) {
        return v_direct ? reinterpret_cast<const float*>(row_ptr(v, g, j, 0)) : vf + (g * S + j) * D;
    };

    const auto dot_f32 = ctx.kernels.dot_float[kWF32];
    ctx.pool.parallel_for(Hq * T, std::max<int64_t>(1, kMinElementsPerThread / std::max<int64_t>(S * D, 1)),
                          [&](int64_t first, int64_t last) {
        std::vector<float> qs(static_cast<size_t>(D)), ms(static_cast<size_t>(S)), acc(static_cast<size_t>(D));
        float s[kBlock];
        int live_j[kBlock];
        for (int64_t i = first; i < last; ++i) {
            const int64_t h = i % Hq, t = i / Hq, g = h / group;
            const float* qrow = load_row(q, h, t, 0, qs.data());
            const float* mrow = mask ? load_row(*mask, t, 0, 0, ms.data()) : nullptr;
            float m = kNegInf, l = 0.0f;
            std::fill(acc.begin(), acc.end(), 0.0f);
            for (int64_t j0 = 0; j0 < S; j0 += kBlock) {
                const int64_t nj = std::min(kBlock, S - j0);
                // The block's unmasked keys, scored kMaxCols at a time by the SIMD dot kernel
                // (the query as its "weight row"); each score depends on its own key only.
                int live = 0;
                for (int64_t j = 0; j < nj; ++j) {
                    const bool masked = mrow && mrow[j0 + j] == kNegInf;
                    s[j] = kNegInf;
                    if (!masked) live_j[live++] = static_cast<int>(j);
                }
                for (int c0 = 0; c0 < live; c0 += kMaxCols) {
                    const int nc = std::min(kMaxCols, live - c0);
                    const float* keys[kMaxCols];
                    float dots[kMaxCols];
                    for (int c = 0; c < nc; ++c) keys[c] = krow(g, j0 + live_j[c0 + c]);
                    dot_f32(qrow, keys, nc, D, dots);
                    for (int c = 0; c < nc; ++c) {
                        const int j = live_j[c0 + c];
                        s[j] = scale * dots[c] + (mrow ? mrow[j0 + j] : 0.0f);
                    }
                }
                float bmax = kNegInf;
                for (int64_t j = 0; j < nj; ++j) bmax = std::max(bmax, s[j]);
                if (bmax == kNegInf) continue;
                if (bmax > m) {
                    const float r = std::exp(m - bmax);  // 0 when m is -inf
                    l *= r;
                    for (float& a : acc) a *= r;
                    m = bmax;
                }
                for (int64_t j = 0; j < nj; ++j) {
                    if (s[j] == kNegInf) continue;
                    const float p = std::exp(s[j] - m);
                    l += p;
                    axpy(acc.data(), vrow(g, j0 + j), p, D);
                }
            }
            float* o = out_row(n.out, i);
            const float inv = l > 0.0f ? 1.0f / l : 0.0f;
            for (int64_t d = 0; d < D; ++d) o[d] = acc[d] * inv;
        }
    });
}

void run_get_rows(Context& ctx, const Node& n) {
    const sl_tensor& table = n.in(0);
    const sl_tensor& ids = n.in(1);
    const int64_t count = n_rows(ids) * ids.ne[0];  // ids [N, B2, B3]: one output row per id
    for (int64_t r = 0; r < count; ++r) {
        const int64_t i = r % ids.ne[0], b2 = (r / ids.ne[0]) % ids.ne[1], b3 = r / (ids.ne[0] * ids.ne[1]);
        const int32_t id = load_i32(ids, i, b2, b3, 0);
        if (id < 0 || id >= table.ne[1])
            invalid("ids[", i, ", ", b2, ", ", b3, "] = ", id, " is outside the table's rows [0, ", table.ne[1], ")");
    }
    const int64_t E = table.ne[0];
    ctx.pool.parallel_for(count, min_rows(E), [&](int64_t first, int64_t last) {
        for (int64_t r = first; r < last; ++r) {
            const int64_t i = r % ids.ne[0], b2 = (r / ids.ne[0]) % ids.ne[1], b3 = r / (ids.ne[0] * ids.ne[1]);
            const int32_t id = load_i32(ids, i, b2, b3, 0);
            float* o = out_row(n.out, r);
            const float* p = load_row(table, id, 0, 0, o);
            if (p != o) std::memcpy(o, p, sizeof(float) * static_cast<size_t>(E));
        }
    });
}

// COPY: into the node's own tensor, with its dtype and strides.
void run_copy(Context& ctx, const Node& n) {
    const sl_tensor& x = n.in(0);
    const sl_tensor& out = n.out;
    const int64_t ne0 = x.ne[0];
    ctx.pool.parallel_for(n_rows(x), min_rows(ne0), [&](int64_t first, int64_t last) {
        RowReader read(x);
        for (int64_t r = first; r < last; ++r) {
            const RowIndex i = split_row(x, r);
            const float* rx = read(i.i1, i.i2, i.i3);
            std::byte* p = row_ptr_mut(out, i.i1, i.i2, i.i3);
            if (dense_rows(out)) {
                quantize_row(dtype_of(out), rx, p, ne0);
            } else {
                for (int64_t k = 0; k < ne0; ++k) quantize_row(dtype_of(out), rx + k, p + k * out.nb[0], 1);
            }
        }
    });
}

}  // namespace suanli::cpu
