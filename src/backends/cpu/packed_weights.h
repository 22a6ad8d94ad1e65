// Weights the engine declared constant (weight_prepare), kept a second time in
// the layout of the path's packed gemm kernels (PackedQ0 in kernels.h), found
// by their address when a MUL_MAT reads them. The original bytes stay where
// they are for every other use (GET_ROWS, reads); a packed copy is dropped
// when a buffer over its bytes is freed.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <cstddef>

#include "backends/cpu/kernels.h"
#include "suanli/backend.h"

namespace suanli::cpu {

class ThreadPool;

class PackedMatrix {
public:
    // Repacks the Q8_0/Q4_0 matrix of M rows of K elements at `rows` (rows row_bytes apart).
    PackedMatrix(sl_dtype dtype, const unsigned char* rows, size_t row_bytes, int64_t K, int64_t M, ThreadPool& pool);

    const PackedQ0& view() const { return view_; }
    // Whether `a` is exactly the matrix this was packed from.
    bool packs(const sl_tensor& a) const;
    int64_t groups() const { return (M_ + kMaxQuantRows - 1) / kMaxQuantRows; }
    uint64_t addr() const { return addr_; }
    uint64_t end() const { return addr_ + static_cast<uint64_t>(M_) * row_bytes_; }

private:
    struct alignas(64) Line {
        unsigned char bytes[64];
    };
    sl_dtype dtype_;
    uint64_t addr_;
    size_t row_bytes_;
    int64_t K_, M_;
    std::unique_ptr<Line[]> quants_;  // not value-initialized: the packing writes every byte
    std::unique_ptr<uint16_t[]> scales_;
    PackedQ0 view_;
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
