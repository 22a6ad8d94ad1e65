// Weights the engine declared constant (weight_prepare), kept a second time in
// the layout of the path's packed gemm kernels (PackedQ0 and PackedKQuant in
// kernels.h), found by their address when a MUL_MAT reads them. The original
// bytes stay where they are for every other use (GET_ROWS, reads); a packed
// copy is dropped when a buffer over its bytes is freed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>

#include "backends/cpu/kernels.h"
#include "core/huge_page_memory.h"
#include "suanli/backend.h"

namespace suanli::cpu {

class ThreadPool;

class PackedMatrix {
public:
    // Repacks the Q8_0, Q4_0, Q4_K, Q5_K or Q6_K matrix of M rows of K elements at `rows`
    // (rows row_bytes apart), a group of rows per task on `pool`.
    PackedMatrix(sl_dtype dtype, const unsigned char* rows, size_t row_bytes, int64_t K, int64_t M, ThreadPool& pool);

    // The layouts: q0() for Q8_0 and Q4_0, kquant() for the K-quants.
    const PackedQ0& q0() const { return q0_; }
    const PackedKQuant& kquant() const { return kquant_; }
    // Whether `a` is exactly the matrix this was packed from.
    bool packs(const sl_tensor& a) const;
    int64_t groups() const { return (M_ + kMaxQuantRows - 1) / kMaxQuantRows; }
    // Where group g's bytes start.
    const unsigned char* group_start(int64_t g) const {
        return q0_.data ? q0_.data + g * q0_.pairs * q0_.pair_bytes
                        : kquant_.data + g * kquant_.nblocks * kPackedKQuantBytes[kquant_weight(dtype_)];
    }
    uint64_t addr() const { return addr_; }
    uint64_t end() const { return addr_ + static_cast<uint64_t>(M_) * row_bytes_; }

private:
    const unsigned char* block_at(const unsigned char* rows, int64_t g, int64_t r, int64_t b) const;
    // Writes group g's part of the layout.
    void pack_q0_group(int64_t g, const unsigned char* rows);
    void pack_q4_k_group(int64_t g, const unsigned char* rows);
    void pack_q6_k_group(int64_t g, const unsigned char* rows);

    sl_dtype dtype_;
    uint64_t addr_;
    size_t row_bytes_;
    int64_t K_, M_;
    // Huge pages: a few hundred page faults at load instead of one per 4 KB
    // (which took longer than the packing itself).
    HugePageMemory data_;
    PackedQ0 q0_{};
    PackedKQuant kquant_{};
};

class PackedWeights {
public:
    // Packs `t` if `kernels` have a packed gemm for its type and it is a plain
    // dense matrix; returns whether it did (or had already).
    bool add(const sl_tensor& t, const Kernels& kernels, ThreadPool& pool);
    // The packed copy of `a`, or null.
    std::shared_ptr<const PackedMatrix> find(const sl_tensor& a) const;
    // Drops every packed copy whose bytes overlap [begin, end).
    void forget(uint64_t begin, uint64_t end);

private:
    mutable std::mutex mutex_;
    std::map<uint64_t, std::shared_ptr<const PackedMatrix>> by_addr_;
};

}  // namespace suanli::cpu
