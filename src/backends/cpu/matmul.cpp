// MUL_MAT: out[m, n, i, j] = dot(A[:, m, i / (B2/A2), j / (B3/A3)], B[:, n, i, j]).
//
// Float weights (F32, F16, BF16): each weight row is converted in registers and
// multiplied with F32 columns of B. Quantized weights (Q8_0, Q4_0): the columns
// of B are first quantized to int8 blocks (BlockQ8A) once, then every block is
// an exact integer dot product scaled in float. K-quant weights (Q4_K, Q5_K,
// Q6_K) have no kernel of their own yet: each row is dequantized to F32 and
// goes through the F32 kernel, correct but not as fast as it could be. Output rows are split across
// the threads; a weight row is read once for up to kMaxCols columns (kMaxQuantCols for Q8_0/Q4_0), and
// kRowBlock rows are swept per column tile so the tile stays in cache.
// Every output element is computed by the same kernel call whichever thread
// runs it, so the result does not depend on the thread count.
#include "backends/cpu/ops.h"
#include "core/quant.h"

namespace suanli::cpu {
namespace {

constexpr int64_t kRowBlock = 16;
// Multiply-adds per thread below which a matmul stays on fewer threads.
constexpr int64_t kMinWorkPerThread = int64_t{1} << 16;

}  // namespace

void run_mul_mat(Context& ctx, const Node& n) {
    const sl_tensor& a = n.in(0);
    const sl_tensor& b = n.in(1);
    const int64_t K = a.ne[0], M = a.ne[1], N = b.ne[1], B2 = b.ne[2], B3 = b.ne[3];
    const int64_t r2 = B2 / a.ne[2], r3 = B3 / a.ne[3];
    const int64_t n_cols = N * B2 * B3;  // column (c, i2, i3) is number (i3 * B2 + i2) * N + c
    const bool quantized = a.dtype == SL_DTYPE_Q8_0 || a.dtype == SL_DTYPE_Q4_0;
    const bool k_quant = a.dtype == SL_DTYPE_Q4_K || a.dtype == SL_DTYPE_Q5_K || a.dtype == SL_DTYPE_Q6_K;
    const Kernels& kern = ctx.kernels;
    const int64_t min_cols = std::max<int64_t>(1, kMinWorkPerThread / 4 / K);

    // The columns of B in the form the kernels read.
    const int64_t nblocks = K / 32;
    BlockQ8A* qcols = nullptr;
    float* fcols = nullptr;
    const bool b_direct = !quantized && b.nb[0] == 4 && b.addr % 4 == 0 && b.nb[1] % 4 == 0 && b.nb[2] % 4 == 0 &&
                          b.nb[3] % 4 == 0;
    if (quantized) {
        qcols = reinterpret_cast<BlockQ8A*>(ctx.scratch_bytes(sizeof(BlockQ8A) * static_cast<size_t>(n_cols * nblocks)));
        ctx.pool.parallel_for(n_cols, min_cols, [&](int64_t first, int64_t last) {
            std::vector<float> tmp(static_cast<size_t>(K));
            for (int64_t col = first; col < last; ++col) {
                const int64_t c = col % N, i2 = (col / N) % B2, i3 = col / (N * B2);
                quantize_act(load_row(b, c, i2, i3, tmp.data()), qcols + col * nblocks, nblocks);
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
    const int64_t min_rows = std::max<int64_t>(1, kMinWorkPerThread / std::max<int64_t>(K * N, 1));
    const int64_t tile = quantized ? kMaxQuantCols : kMaxCols;  // columns per weight-row pass
    ctx.pool.parallel_for(total_rows, min_rows, [&](int64_t first, int64_t last) {
        std::vector<float> dequantized(k_quant ? static_cast<size_t>(K) : 0);
        for (int64_t r0 = first; r0 < last; r0 += kRowBlock) {
            const int64_t r1 = std::min(last, r0 + kRowBlock);
            for (int64_t c0 = 0; c0 < N; c0 += tile) {
                const int nc = static_cast<int>(std::min<int64_t>(tile, N - c0));
                for (int64_t r = r0; r < r1; ++r) {
                    const int64_t m = r % M, i2 = (r / M) % B2, i3 = r / (M * B2);
                    const void* w = row_ptr(a, m, i2 / r2, i3 / r3);
                    float res[kMaxQuantCols];
                    if (quantized) {
                        const BlockQ8A* cols[kMaxQuantCols];
                        for (int c = 0; c < nc; ++c) cols[c] = qcols + ((i3 * B2 + i2) * N + c0 + c) * nblocks;
                        (a.dtype == SL_DTYPE_Q8_0 ? kern.dot_q8_0 : kern.dot_q4_0)(w, cols, nc, nblocks, res);
                    } else {
                        const float* cols[kMaxCols];
                        for (int c = 0; c < nc; ++c) cols[c] = float_col(c0 + c, i2, i3);
                        if (k_quant) {
                            dequantize_row(dtype_of(a), w, dequantized.data(), K);
                            kern.dot_float[kWF32](dequantized.data(), cols, nc, K, res);
                        } else {
                            kern.dot_float[fw](w, cols, nc, K, res);
                        }
                    }
                    float* o = out + (i3 * B2 + i2) * M * N + m;
                    for (int c = 0; c < nc; ++c) o[(c0 + c) * M] = res[c];
                }
            }
        }
    });
}

}  // namespace suanli::cpu
