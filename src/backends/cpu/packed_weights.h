// Weights the engine declared constant (weight_prepare), kept a second time in
// the layout of the path's packed gemm kernels (PackedQ0 and PackedKQuant in
// kernels.h), or for float matrices as they are, in huge pages (FloatCopy);
// found by their address when a MUL_MAT reads them. The original bytes stay
// where they are for every other use (GET_ROWS, reads); a copy is dropped when
// a buffer over its bytes is freed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "backends/cpu/kernels.h"
#include "core/huge_page_memory.h"
#include "suanli/backend.h"

namespace suanli::cpu {

class ThreadPool;

// One slice of K of a packed Q8_0/Q4_0 matrix: blocks [first_block, first_block +
// layout.nblocks) of every row.
struct KSlice {
    PackedQ0 layout;
    int64_t first_block;
};

// The most bytes of one group's slice of K (kMaxQuantRows rows) in the `dtype` layout (Q8_0 or
// Q4_0), 0 for no limit; groups up to half as long again stay whole. A product reads the
// column's blocks of a slice once per group, and they stay in L1 only while the weights read
// between two uses leave room for them: TinyLlama's Q4_0 down projection (K 5632, 50.7 KB a
// group) streamed at 82-91% of the rate of the gate/up run (K 2048). Half the host's L1d: in
// three slices of 17 KB it ran at 90-97% of that rate (two slices: 88-91%; four or five no
// better than three). Q8_0 matrices stay whole: slices made them no faster (their weights are
// twice the bytes per column byte).
size_t k_slice_bytes(sl_dtype dtype);
// Tests: the slice size Q8_0 and Q4_0 matrices packed from now on use (0: k_slice_bytes() again).
void force_k_slice_bytes(size_t bytes);

// The memory a copy must leave available (host::available_memory), else the matrix is read
// where it is: slower, but a model too large for a second copy still loads and runs. The
// larger of 512 MiB and a sixteenth of the host's memory.
uint64_t copy_reserve_bytes();
// Tests: the reserve from now on (0: copy_reserve_bytes() again).
void force_copy_reserve_bytes(uint64_t bytes);

class PackedMatrix {
public:
    // Repacks the Q8_0, Q4_0, Q4_K, Q5_K or Q6_K matrix of M rows of K elements at `rows`
    // (rows row_bytes apart), a group of rows per task on `pool`.
    PackedMatrix(sl_dtype dtype, const unsigned char* rows, size_t row_bytes, int64_t K, int64_t M, ThreadPool& pool);

    // The layouts: q0_slices() for Q8_0 and Q4_0 (one after another in memory; one slice unless
    // a group's row blocks take more than 1.5 k_slice_bytes()), kquant() for the K-quants.
    std::span<const KSlice> q0_slices() const { return q0_; }
    const PackedKQuant& kquant() const { return kquant_; }
    // Whether `a` is exactly the matrix this was packed from.
    bool copies(const sl_tensor& a) const;
    int64_t groups() const { return (M_ + kMaxQuantRows - 1) / kMaxQuantRows; }
    // Where group g's bytes start (for Q8_0/Q4_0, those of the first slice of K, which a product
    // reads first).
    const unsigned char* group_start(int64_t g) const {
        const PackedQ0* q0 = q0_.empty() ? nullptr : &q0_.front().layout;
        return q0 ? q0->data + g * q0->pairs * q0->pair_bytes
                  : kquant_.data + g * kquant_.nblocks * kPackedKQuantBytes[kquant_weight(dtype_)];
    }
    uint64_t addr() const { return addr_; }
    uint64_t end() const { return addr_ + static_cast<uint64_t>(M_) * row_bytes_; }

private:
    const unsigned char* block_at(const unsigned char* rows, int64_t g, int64_t r, int64_t b) const;
    // Writes group g's part of the layout (for Q8_0/Q4_0, of one slice of K).
    void pack_q0_group(int64_t g, const KSlice& slice, const unsigned char* rows);
    void pack_q4_k_group(int64_t g, const unsigned char* rows);
    void pack_q6_k_group(int64_t g, const unsigned char* rows);

    sl_dtype dtype_;
    uint64_t addr_;
    size_t row_bytes_;
    int64_t K_, M_;
    // Huge pages: a few hundred page faults at load instead of one per 4 KB
    // (which took longer than the packing itself).
    HugePageMemory data_;
    std::vector<KSlice> q0_;
    PackedKQuant kquant_{};
};

// An F32, F16 or BF16 matrix copied row for row into huge pages: the float kernels
// read it as they would the original. The engine's weights are a mapped file in 4 KB
// pages, and a decode step streams every one of them: from the copy, one TLB entry
// covers 2 MiB (TinyLlama F16 decode, alternating runs: 10.6% more tokens/s).
class FloatCopy {
public:
    // Copies the M rows of `row_bytes` bytes at `rows`, a group of rows per task on `pool`.
    FloatCopy(sl_dtype dtype, const unsigned char* rows, size_t row_bytes, int64_t K, int64_t M, ThreadPool& pool);
    // Whether `a` is exactly the matrix this copies.
    bool copies(const sl_tensor& a) const;
    const unsigned char* data() const { return data_.get(); }
    uint64_t addr() const { return addr_; }
    uint64_t end() const { return addr_ + static_cast<uint64_t>(M_) * row_bytes_; }

private:
    sl_dtype dtype_;
    uint64_t addr_;
    size_t row_bytes_;
    int64_t K_, M_;
    HugePageMemory data_;
};

class PackedWeights {
public:
    // Packs `t` if `kernels` have a packed gemm for its type, or copies it if it is a
    // float matrix, when it is a plain dense matrix and the copy leaves copy_reserve_bytes()
    // available; returns whether it did (or had already).
    bool add(const sl_tensor& t, const Kernels& kernels, ThreadPool& pool);
    // The packed copy of `a`, or null.
    std::shared_ptr<const PackedMatrix> find(const sl_tensor& a) const;
    // The float copy of `a`, or null.
    std::shared_ptr<const FloatCopy> find_copy(const sl_tensor& a) const;
    // Drops every copy whose bytes overlap [begin, end).
    void forget(uint64_t begin, uint64_t end);

private:
    template <class Copy>
    using ByAddr = std::map<uint64_t, std::shared_ptr<const Copy>>;
    // The copy of `a` in `by_addr`, or null.
    template <class Copy>
    std::shared_ptr<const Copy> find_in(const ByAddr<Copy>& by_addr, const sl_tensor& a) const;
    // Makes a Copy of `t` (rows of `row_bytes`) into `by_addr` unless it is there or there is no room.
    template <class Copy>
    bool add_to(ByAddr<Copy>& by_addr, const sl_tensor& t, size_t row_bytes, ThreadPool& pool);

    mutable std::mutex mutex_;
    ByAddr<PackedMatrix> by_addr_;
    ByAddr<FloatCopy> copies_;
};

}  // namespace suanli::cpu
