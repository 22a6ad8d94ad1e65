// MUL_MAT with weights packed at load time (packed_weights.h): the columns of B
// are quantized as for the other quantized kernels, plus the sums the packed
// kernels take their offsets from, and each call multiplies one group of
// kMaxQuantRows rows with all N columns. As in matmul.cpp, every output comes
// from the same kernel call whatever the thread or column count.
#include <algorithm>
#include <memory>

#include "backends/cpu/ops.h"

namespace suanli::cpu {
namespace {

// Column `col` of B (number (i3 * B2 + i2) * N + c) as floats.
const float* column(const sl_tensor& b, int64_t col, float* tmp) {
    const int64_t N = b.ne[1], B2 = b.ne[2];
    return load_row(b, col % N, (col / N) % B2, col / (N * B2), tmp);
}

}  // namespace

bool run_mul_mat_packed(Context& ctx, const Node& n) {
    const sl_tensor& a = n.in(0);
    const sl_tensor& b = n.in(1);
    const Kernels& kern = ctx.kernels;
    const bool kquant = a.dtype == SL_DTYPE_Q4_K || a.dtype == SL_DTYPE_Q6_K;
    const auto gemm_q0 = a.dtype == SL_DTYPE_Q8_0 ? kern.gemm_packed_q8_0
                         : a.dtype == SL_DTYPE_Q4_0 ? kern.gemm_packed_q4_0
                                                    : nullptr;
    const auto gemm_k = kquant ? kern.gemm_packed_kquant[a.dtype == SL_DTYPE_Q4_K ? kWQ4_K : kWQ6_K] : nullptr;
    if (!gemm_q0 && !gemm_k) return false;
    const std::shared_ptr<const PackedMatrix> packed = ctx.packed.find(a);
    if (!packed) return false;

    const int64_t K = a.ne[0], M = a.ne[1], N = b.ne[1];
    const int64_t mats = b.ne[2] * b.ne[3], n_cols = N * mats;  // one packed matrix, broadcast over i2, i3
    const int64_t nblocks = K / (kquant ? 256 : 32);
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
        std::vector<float> tmp(static_cast<size_t>(K));
        for (int64_t col = first; col < last; ++col) {
            const float* x = column(b, col, tmp.data());
            const int64_t first_block = col * nblocks;
            if (!kquant) {
                quantize_act(kern, x, qcols + first_block, nblocks, sums + first_block);
                continue;
            }
            quantize_act_k(kern, x, kcols + first_block, nblocks);
            for (int64_t i = first_block; i < first_block + nblocks; ++i) {
                const int16_t* bs = kcols[i].bsums;  // per 16 elements: Q6_K's sub-blocks
                for (int p = 0; p < 8; ++p) {
                    if (a.dtype == SL_DTYPE_Q6_K) sums[8 * i + p] = pair(bs[2 * p], bs[2 * p + 1]);
                    else sums[8 * i + p] = p < 4 ? pair(bs[4 * p] + bs[4 * p + 1], bs[4 * p + 2] + bs[4 * p + 3]) : 0;
                }
            }
        }
    });

    auto* out = reinterpret_cast<float*>(n.out.addr);
    const int64_t groups = packed->groups();
    const int64_t min_groups = std::max<int64_t>(1, kMinMatMulWorkPerThread / std::max<int64_t>(K * N, 1) / kMaxQuantRows);
    ctx.pool.parallel_for(groups * mats, min_groups, [&](int64_t first, int64_t last) {
        for (int64_t u = first; u < last; ++u) {
            const int64_t g = u % groups, mat = u / groups, m = g * kMaxQuantRows;
            const int nr = static_cast<int>(std::min<int64_t>(kMaxQuantRows, M - m));
            float* o = out + mat * M * N + m;
            const int64_t first_block = mat * N * nblocks;
            if (kquant)
                gemm_k(packed->kquant(), g, nr, kcols + first_block, sums + 8 * first_block, nblocks, N, o, M);
            else
                gemm_q0(packed->q0(), g, nr, qcols + first_block, sums + first_block, nblocks, N, o, M);
        }
    });
    return true;
}

}  // namespace suanli::cpu
