// MUL_MAT with weights packed at load time (packed_weights.h): the columns of B
// are quantized as for the other quantized kernels, plus the sums the packed
// kernels take their offsets from, and each call multiplies one group of
// kMaxQuantRows rows with all N columns. As in matmul.cpp, every output comes
// from the same kernel call whatever the thread or column count.
//
// Consecutive MUL_MATs that share B (a layer's Q, K and V projections; gate and
// up) run as one job: B quantized once, and all their row groups spread over
// the threads together, so a decode step waits at one barrier instead of three.
// Every output is still the same kernel call on the same quantized column.
#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "backends/cpu/ops.h"

namespace suanli::cpu {
namespace {

// A run of this many nodes at most is fused (Q, K, V: 3).
constexpr size_t kMaxFused = 4;

// Column `col` of B (number (i3 * B2 + i2) * N + c) as floats.
const float* column(const sl_tensor& b, int64_t col, float* tmp) {
    const int64_t N = b.ne[1], B2 = b.ne[2];
    return load_row(b, col % N, (col / N) % B2, col / (N * B2), tmp);
}

bool same_tensor(const sl_tensor& x, const sl_tensor& y) {
    return x.addr == y.addr && x.dtype == y.dtype && std::memcmp(x.ne, y.ne, sizeof x.ne) == 0 &&
           std::memcmp(x.nb, y.nb, sizeof x.nb) == 0;
}

bool overlap(const sl_tensor& x, const sl_tensor& y) {
    return x.addr < y.addr + host::extent_bytes(y) && y.addr < x.addr + host::extent_bytes(x);
}

// The columns of B as the packed kernels of `dtype` read them: int8 blocks
// (BlockQ8A for Q8_0/Q4_0, BlockQ8K for K-quants) and the block sums.
struct QuantizedColumns {
    const BlockQ8A* q0 = nullptr;
    const BlockQ8K* k = nullptr;
    const int32_t* sums = nullptr;
};

QuantizedColumns quantize_columns(Context& ctx, const sl_tensor& b, int32_t dtype, int64_t K) {
    const Kernels& kern = ctx.kernels;
    const bool kquant = kquant_weight(dtype) >= 0;
    const int64_t n_cols = b.ne[1] * b.ne[2] * b.ne[3], nblocks = K / (kquant ? 256 : 32);
    const int64_t sums_per_block = kquant ? 8 : 1;
    const size_t block_bytes = kquant ? sizeof(BlockQ8K) : sizeof(BlockQ8A);
    std::byte* scratch = ctx.scratch_bytes((block_bytes + 4 * sums_per_block) * static_cast<size_t>(n_cols * nblocks));
    auto* sums = reinterpret_cast<int32_t*>(scratch + block_bytes * static_cast<size_t>(n_cols * nblocks));
    auto* qcols = reinterpret_cast<BlockQ8A*>(scratch);
    auto* kcols = reinterpret_cast<BlockQ8K*>(scratch);
    // Two int16 sums per int32, sub-block 2i in the low half.
    const auto pair = [](int32_t lo, int32_t hi) {
        return static_cast<int32_t>(uint32_t{static_cast<uint16_t>(lo)} | uint32_t{static_cast<uint16_t>(hi)} << 16);
    };
    ctx.pool.parallel_for(n_cols, std::max<int64_t>(1, kMinMatMulWorkPerThread / 4 / K), [&](int64_t first, int64_t last) {
        std::vector<float> tmp(f32_rows(b) ? 0 : static_cast<size_t>(K));
        for (int64_t col = first; col < last; ++col) {
            const float* x = column(b, col, tmp.data());
            const int64_t first_block = col * nblocks;
            if (!kquant) {
                quantize_act(kern, x, qcols + first_block, nblocks, sums + first_block);
                continue;
            }
            quantize_act_k(kern, x, kcols + first_block, nblocks);
            for (int64_t i = first_block; i < first_block + nblocks; ++i) {
                const int16_t* bs = kcols[i].bsums;  // per 16 elements: Q6_K's sub-blocks; Q4_K/Q5_K's are 32
                for (int p = 0; p < 8; ++p) {
                    if (dtype == SL_DTYPE_Q6_K) sums[8 * i + p] = pair(bs[2 * p], bs[2 * p + 1]);
                    else sums[8 * i + p] = p < 4 ? pair(bs[4 * p] + bs[4 * p + 1], bs[4 * p + 2] + bs[4 * p + 3]) : 0;
                }
            }
        }
    });
    if (kquant) return {nullptr, kcols, sums};
    return {qcols, nullptr, sums};
}

// One MUL_MAT of the run: its packed weights and output.
struct PackedProduct {
    std::shared_ptr<const PackedMatrix> packed;
    const sl_tensor* out;
};

// Whether x and y are cut into the same slices of K (always so for the same K and type, unless
// a test changed the slice size between their packing).
bool same_slices(const PackedMatrix& x, const PackedMatrix& y) {
    const std::span<const KSlice> a = x.q0_slices(), b = y.q0_slices();
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const KSlice& s, const KSlice& t) {
        return s.first_block == t.first_block && s.layout.nblocks == t.layout.nblocks;
    });
}

// How many nodes from nodes[0] (a MUL_MAT with packed weights, run[0]) can run
// with it: the same B, weights of the same type packed too (in the same slices),
// one matrix (no broadcast), and outputs that overlap neither B nor each other,
// so that running them together reads and writes what running them in order would.
size_t fusable_run(const Context& ctx, std::span<const Node> nodes, PackedProduct (&run)[kMaxFused]) {
    const Node& head = nodes[0];
    const sl_tensor& b = head.in(1);
    if (b.ne[2] * b.ne[3] != 1) return 1;
    size_t count = 1;
    for (size_t i = 1; i < nodes.size() && count < kMaxFused; ++i) {
        const Node& n = nodes[i];
        if (n.out.op != SL_OP_MUL_MAT || !same_tensor(n.in(1), b) || n.in(0).dtype != head.in(0).dtype) break;
        std::shared_ptr<const PackedMatrix> packed = ctx.packed.find(n.in(0));
        if (!packed || !same_slices(*packed, *run[0].packed) || overlap(n.out, b)) break;
        bool disjoint = true;
        for (size_t j = 0; j < count; ++j) disjoint = disjoint && !overlap(n.out, *run[j].out);
        if (!disjoint) break;
        run[count++] = {std::move(packed), &n.out};
    }
    return count;
}

// A run of products as one job: unit u is group (u - begin[j]) % groups of matrix
// (u - begin[j]) / groups (B broadcast over i2, i3) of product j, begin[j] <= u < begin[j + 1].
struct RunPlan {
    PackedProduct run[kMaxFused];
    size_t count = 0;  // 0: nodes[0]'s weights are not packed
    int64_t begin[kMaxFused + 1] = {};
    int64_t min_groups = 1;  // per thread

    RunPlan(const Context& ctx, std::span<const Node> nodes) {
        const sl_tensor& a = nodes[0].in(0);
        const sl_tensor& b = nodes[0].in(1);
        run[0] = {ctx.packed.find(a), &nodes[0].out};
        if (!run[0].packed) return;
        count = fusable_run(ctx, nodes, run);
        const int64_t mats = b.ne[2] * b.ne[3];  // one packed matrix, broadcast over i2, i3 (then count is 1)
        for (size_t j = 0; j < count; ++j) begin[j + 1] = begin[j] + run[j].packed->groups() * mats;
        min_groups = std::max<int64_t>(1, kMinMatMulWorkPerThread / std::max<int64_t>(a.ne[0] * b.ne[1], 1) / kMaxQuantRows);
    }
    int64_t total() const { return begin[count]; }
    // Unit u as (product, group, matrix).
    void locate(int64_t u, size_t& j, int64_t& g, int64_t& mat) const {
        j = 0;
        while (u >= begin[j + 1]) ++j;
        const int64_t groups = run[j].packed->groups();
        g = (u - begin[j]) % groups, mat = (u - begin[j]) / groups;
    }
};

// Bytes of its next range that each idle worker is asked to read while the ops between two
// runs go (thread_pool.h, prefetch_hint): up to its L2, more than the few microseconds of a
// decode step's small ops let it read. Alternating tokens within one decode, 1 MB hints
// (Zen 4's L2) made tokens 1% faster than 256 KB ones.
size_t hint_bytes() {
    static const size_t bytes = std::clamp<size_t>(data_cache_bytes(2), size_t{256} << 10, size_t{2} << 20);
    return bytes;
}

// What the caller asks for of its own range of the next run before the ops between the two:
// the misses that would open its part of the run overlap with those ops instead. Alternating
// tokens within one decode, 32 KB made tokens ~1% shorter (6 of 8 runs); 128 KB, longer.
constexpr size_t kCallerHintBytes = size_t{32} << 10;

// Bytes of one operand that prefetch_cold_operands asks for (the small ops' vectors are a few KB).
constexpr uint64_t kColdOperandBytes = 16 << 10;

// Asks, into L1, for what the ops between two product runs read or write outside the graph's
// own intermediates: the weight stream evicted it, and the caller would wait for each line in
// turn. Those are their leaf operands (a norm's weights for MUL; ROPE's positions) and COPY's
// destination (the KV cache rows a step writes); ATTENTION asks for its cache rows itself.
// In a TinyLlama Q4_0 decode (tg128 profiles, three runs each), MUL went from 1.7-2.2 to 1.2-1.3
// us a node, COPY from 0.7-1.3 to 0.3, ROPE from 1.17 to 1.07.
template <int Write>
void prefetch_operand(const sl_tensor& t) {
    const auto* p = reinterpret_cast<const char*>(t.addr);
    const uint64_t bytes = std::min(host::extent_bytes(t), kColdOperandBytes);
    for (uint64_t b = 0; b < bytes; b += 64) __builtin_prefetch(p + b, Write, 3);
}

void prefetch_cold_operands(std::span<const Node> between) {
    for (const Node& n : between) {
        if (n.out.op == SL_OP_ATTENTION) continue;
        for (const sl_tensor* src : n.src)
            if (src && src->op == SL_OP_NONE) prefetch_operand<0>(*src);
        if (n.out.op == SL_OP_COPY) prefetch_operand<1>(n.out);
    }
}

// After a run of products: hints each worker at the start of its range of the next run of
// packed products after `rest`'s first MUL_MAT, if that run starts before any other MUL_MAT,
// asks for the cold operands of the ops in between, and for the start of the caller's range.
void hint_next_run(Context& ctx, std::span<const Node> rest) {
    const auto next = std::find_if(rest.begin(), rest.end(), [](const Node& n) { return n.out.op == SL_OP_MUL_MAT; });
    const std::span<const Node> between = rest.first(static_cast<size_t>(next - rest.begin()));
    if (next == rest.end()) {
        prefetch_cold_operands(between);
        return;
    }
    const RunPlan plan(ctx, rest.subspan(between.size()));
    const int parts = plan.count == 0 ? 1 : ctx.pool.balanced_parts(plan.total(), plan.min_groups);
    for (int w = 1; w < parts; ++w) {
        size_t j;
        int64_t g, mat;
        plan.locate(ThreadPool::balanced_begin(plan.total(), w, parts), j, g, mat);
        const PackedMatrix& packed = *plan.run[j].packed;
        const unsigned char* start = packed.group_start(g);
        const auto left = static_cast<size_t>(packed.group_start(packed.groups()) - start);
        ctx.pool.prefetch_hint(w, start, std::min(hint_bytes(), left));
    }
    // The workers' hints first: the caller's own requests wait for free miss buffers, and the
    // workers would wait for them (alternating, tokens took ~1.6% less time, 8 of 10 runs).
    // Then what the caller needs soonest.
    prefetch_cold_operands(between);
    if (plan.count == 0 || ctx.pool.size() < 2) return;
    const PackedMatrix& first = *plan.run[0].packed;  // the caller's range starts at its group 0
    const unsigned char* caller_start = first.group_start(0);
    const auto caller_bytes = std::min(kCallerHintBytes, static_cast<size_t>(first.group_start(first.groups()) - caller_start));
    for (size_t b = 0; b < caller_bytes; b += 64) __builtin_prefetch(caller_start + b, 0, 2);  // into L2
}

}  // namespace

size_t run_mul_mats_packed(Context& ctx, std::span<const Node> nodes) {
    const Node& head = nodes[0];
    const sl_tensor& a = head.in(0);
    const sl_tensor& b = head.in(1);
    const Kernels& kern = ctx.kernels;
    const int kw = kquant_weight(a.dtype);
    const bool kquant = kw >= 0;
    const auto gemm_q0 = a.dtype == SL_DTYPE_Q8_0 ? kern.gemm_packed_q8_0
                         : a.dtype == SL_DTYPE_Q4_0 ? kern.gemm_packed_q4_0
                                                    : nullptr;
    const auto gemm_k = kquant ? kern.gemm_packed_kquant[kw] : nullptr;
    if (!gemm_q0 && !gemm_k) return 0;
    const RunPlan plan(ctx, nodes);
    if (plan.count == 0) return 0;

    const int64_t K = a.ne[0], N = b.ne[1];
    const int64_t nblocks = K / (kquant ? 256 : 32);
    const QuantizedColumns cols = quantize_columns(ctx, b, a.dtype, K);
    // Slice by slice of K (Q8_0/Q4_0; one job each, as a slice adds to what the one before
    // stored), group by group, so that the threads end together (parallel_for_balanced).
    const size_t slices = kquant ? 1 : plan.run[0].packed->q0_slices().size();
    for (size_t s = 0; s < slices; ++s) {
        ctx.pool.parallel_for_balanced(plan.total(), plan.min_groups, 1, [&](int64_t first, int64_t last) {
            for (int64_t u = first; u < last; ++u) {
                size_t j;
                int64_t g, mat;
                plan.locate(u, j, g, mat);
                const PackedMatrix& packed = *plan.run[j].packed;
                const int64_t M = plan.run[j].out->ne[0], m = g * kMaxQuantRows;
                const int nr = static_cast<int>(std::min<int64_t>(kMaxQuantRows, M - m));
                float* o = reinterpret_cast<float*>(plan.run[j].out->addr) + mat * M * N + m;
                const int64_t first_block = mat * N * nblocks;
                if (kquant) {
                    gemm_k(packed.kquant(), g, nr, cols.k + first_block, cols.sums + 8 * first_block, nblocks, N, o, M);
                } else {
                    const KSlice& slice = packed.q0_slices()[s];
                    const int64_t at = first_block + slice.first_block;
                    gemm_q0(slice.layout, g, nr, cols.q0 + at, cols.sums + at, nblocks, N, o, M);
                }
            }
        });
    }
    hint_next_run(ctx, nodes.subspan(plan.count));
    return plan.count;
}

}  // namespace suanli::cpu
