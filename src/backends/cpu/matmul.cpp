// MUL_MAT: out[m, n, i, j] = dot(A[:, m, i / (B2/A2), j / (B3/A3)], B[:, n, i, j]).
//
// Float weights (F32, F16, BF16): each weight row is converted in registers and
// multiplied with F32 columns of B. Quantized weights: the columns of B are
// first quantized once to 8-bit blocks, BlockQ8A (32 elements, for Q8_0/Q4_0)
// or BlockQ8K (256 elements with per-16 sums, for Q4_K/Q5_K/Q6_K); then every
// weight block is unpacked in registers and its dot with each column is an
// exact integer sum, scaled in float. Output rows are split across the threads;
// a weight row is read once for up to kMaxCols columns (kMaxQuantCols for the
// quantized types), and kRowBlock rows are swept per column tile so the tile
// stays in cache. A path with Q8_0/Q4_0 gemm kernels (AVX-512) instead hands
// them up to kMaxQuantRows rows and all the columns at once: they repack the
// rows once and sweep the columns over them; one with a float gemm kernel gets
// tiles of kMaxFloatRows rows by kMaxFloatCols columns. Weights the engine declared
// constant (weight_prepare) were repacked at load time and take the kernels
// of matmul_packed.cpp instead (graph_compute tries those first).
// Every output element is computed by the same kernel call whichever thread
// runs it, and a kernel treats each of its columns alike, whatever their
// number, so the result depends neither on the thread count nor on how many
// columns the matmul has (a request gives the same bits alone or batched).
#include <algorithm>

#include "backends/cpu/ops.h"

namespace suanli::cpu {
namespace {

constexpr int64_t kRowBlock = 16;

}  // namespace

void run_mul_mat(Context& ctx, const Node& n) {
    sl_tensor a = n.in(0);
    // A float matrix copied at load time (weight_prepare) is read from its copy.
    const bool float_weights = a.dtype == SL_DTYPE_F32 || a.dtype == SL_DTYPE_F16 || a.dtype == SL_DTYPE_BF16;
    const std::shared_ptr<const FloatCopy> copy = float_weights ? ctx.packed.find_copy(a) : nullptr;
    if (copy) a.addr = reinterpret_cast<uint64_t>(copy->data());
    const sl_tensor& b = n.in(1);
    const int64_t K = a.ne[0], M = a.ne[1], N = b.ne[1], B2 = b.ne[2], B3 = b.ne[3];
    const int64_t r2 = B2 / a.ne[2], r3 = B3 / a.ne[3];
    const int64_t n_cols = N * B2 * B3;  // column (c, i2, i3) is number (i3 * B2 + i2) * N + c
    const bool q8a = a.dtype == SL_DTYPE_Q8_0 || a.dtype == SL_DTYPE_Q4_0;
    const int kw = kquant_weight(a.dtype);
    const bool q8k = kw >= 0;
    const bool quantized = q8a || q8k;
    const Kernels& kern = ctx.kernels;
    const int64_t min_cols = std::max<int64_t>(1, kMinMatMulWorkPerThread / 4 / K);

    // The columns of B in the form the kernels read.
    const int64_t nblocks = K / (q8k ? 256 : 32);
    BlockQ8A* qcols = nullptr;
    BlockQ8K* kcols = nullptr;
    float* fcols = nullptr;
    const bool b_direct = !quantized && b.nb[0] == 4 && b.addr % 4 == 0 && b.nb[1] % 4 == 0 && b.nb[2] % 4 == 0 &&
                          b.nb[3] % 4 == 0;
    if (quantized) {
        const size_t block_bytes = q8k ? sizeof(BlockQ8K) : sizeof(BlockQ8A);
        auto* scratch = ctx.scratch_bytes(block_bytes * static_cast<size_t>(n_cols * nblocks));
        if (q8k) kcols = reinterpret_cast<BlockQ8K*>(scratch);
        else qcols = reinterpret_cast<BlockQ8A*>(scratch);
        ctx.pool.parallel_for(n_cols, min_cols, [&](int64_t first, int64_t last) {
            std::vector<float> tmp(static_cast<size_t>(K));
            for (int64_t col = first; col < last; ++col) {
                const int64_t c = col % N, i2 = (col / N) % B2, i3 = col / (N * B2);
                const float* x = load_row(b, c, i2, i3, tmp.data());
                if (q8k) quantize_act_k(kern, x, kcols + col * nblocks, nblocks);
                else quantize_act(kern, x, qcols + col * nblocks, nblocks);
            }
        });
    } else if (!b_direct) {
        fcols = reinterpret_cast<float*>(ctx.scratch_bytes(sizeof(float) * static_cast<size_t>(n_cols * K)));
        ctx.pool.parallel_for(n_cols, min_cols, [&](int64_t first, int64_t last) {
            for (int64_t col = first; col < last; ++col) {
                const int64_t c = col % N, i2 = (col / N) % B2, i3 = col / (N * B2);
                float* dst = fcols + col * K;
                const float* p = load_row(b, c, i2, i3, dst);
                if (p != dst) std::memcpy(dst, p, sizeof(float) * static_cast<size_t>(K));
            }
        });
    }
    auto float_col = [&](int64_t c, int64_t i2, int64_t i3) -> const float* {
        if (fcols) return fcols + ((i3 * B2 + i2) * N + c) * K;
        return reinterpret_cast<const float*>(row_ptr(b, c, i2, i3));
    };

    const int fw = a.dtype == SL_DTYPE_F16 ? kWF16 : a.dtype == SL_DTYPE_BF16 ? kWBF16 : kWF32;
    auto* out = reinterpret_cast<float*>(n.out.addr);
    const int64_t total_rows = M * B2 * B3;  // output row r is (m, i2, i3), r = (i3 * B2 + i2) * M + m
    const int64_t min_rows = std::max<int64_t>(1, kMinMatMulWorkPerThread / std::max<int64_t>(K * N, 1));
    const auto gemm = a.dtype == SL_DTYPE_Q8_0 ? kern.gemm_q8_0 : a.dtype == SL_DTYPE_Q4_0 ? kern.gemm_q4_0 : nullptr;
    if (gemm) {
        // Up to kMaxQuantRows rows of one matrix against all N of its columns per call.
        ctx.pool.parallel_for_balanced(total_rows, min_rows, kMaxQuantRows, [&](int64_t first, int64_t last) {
            for (int64_t r = first; r < last;) {
                const int64_t m = r % M, i2 = (r / M) % B2, i3 = r / (M * B2);
                const int nr = static_cast<int>(std::min<int64_t>({kMaxQuantRows, last - r, M - m}));
                gemm(row_ptr(a, m, i2 / r2, i3 / r3), a.nb[1], nr, qcols + (i3 * B2 + i2) * N * nblocks, nblocks, N,
                     nblocks, out + (i3 * B2 + i2) * M * N + m, M);
                r += nr;
            }
        });
        return;
    }
    const auto gemm_float = quantized ? nullptr : kern.gemm_float[fw];
    // Columns per weight-row pass.
    const int64_t tile = quantized ? kMaxQuantCols : gemm_float ? kMaxFloatCols : kMaxCols;
    // Balanced ranges (thread_pool.h), kRowBlock rows at a time: the threads end together.
    ctx.pool.parallel_for_balanced(total_rows, min_rows, kRowBlock, [&](int64_t first, int64_t last) {
        for (int64_t r0 = first; r0 < last; r0 += kRowBlock) {
            const int64_t r1 = std::min(last, r0 + kRowBlock);
            for (int64_t c0 = 0; c0 < N; c0 += tile) {
                const int nc = static_cast<int>(std::min<int64_t>(tile, N - c0));
                if (gemm_float) {
                    // Up to kMaxFloatRows rows of one matrix per call.
                    for (int64_t r = r0; r < r1;) {
                        const int64_t m = r % M, i2 = (r / M) % B2, i3 = r / (M * B2);
                        // One row at a time for a single column: several rows at once would be streams
                        // from as many pages, which the prefetchers follow poorly.
                        const int nr = static_cast<int>(std::min<int64_t>({N == 1 ? 1 : kMaxFloatRows, r1 - r, M - m}));
                        const void* rows[kMaxFloatRows];
                        for (int i = 0; i < nr; ++i) rows[i] = row_ptr(a, m + i, i2 / r2, i3 / r3);
                        const float* cols[kMaxFloatCols];
                        for (int c = 0; c < nc; ++c) cols[c] = float_col(c0 + c, i2, i3);
                        float res[kMaxFloatCols * kMaxFloatRows];
                        gemm_float(rows, nr, cols, nc, K, res);
                        float* o = out + (i3 * B2 + i2) * M * N + m;
                        for (int c = 0; c < nc; ++c)
                            for (int i = 0; i < nr; ++i) o[(c0 + c) * M + i] = res[c * kMaxFloatRows + i];
                        r += nr;
                    }
                    continue;
                }
                for (int64_t r = r0; r < r1; ++r) {
                    const int64_t m = r % M, i2 = (r / M) % B2, i3 = r / (M * B2);
                    const void* w = row_ptr(a, m, i2 / r2, i3 / r3);
                    const int64_t col0 = (i3 * B2 + i2) * N + c0;  // first column of the tile
                    float res[kMaxQuantCols];
                    if (q8k) {
                        const BlockQ8K* cols[kMaxQuantCols];
                        for (int c = 0; c < nc; ++c) cols[c] = kcols + (col0 + c) * nblocks;
                        kern.dot_kquant[kw](w, cols, nc, nblocks, res);
                    } else if (q8a) {
                        const BlockQ8A* cols[kMaxQuantCols];
                        for (int c = 0; c < nc; ++c) cols[c] = qcols + (col0 + c) * nblocks;
                        (a.dtype == SL_DTYPE_Q8_0 ? kern.dot_q8_0 : kern.dot_q4_0)(w, cols, nc, nblocks, res);
                    } else {
                        const float* cols[kMaxCols];
                        for (int c = 0; c < nc; ++c) cols[c] = float_col(c0 + c, i2, i3);
                        kern.dot_float[fw](w, cols, nc, K, res);
                    }
                    float* o = out + (i3 * B2 + i2) * M * N + m;
                    for (int c = 0; c < nc; ++c) o[(c0 + c) * M] = res[c];
                }
            }
        }
    });
}

}  // namespace suanli::cpu
