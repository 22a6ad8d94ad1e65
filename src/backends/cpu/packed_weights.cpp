#include "backends/cpu/packed_weights.h"

#include <cstring>

#include "backends/cpu/thread_pool.h"

namespace suanli::cpu {

PackedMatrix::PackedMatrix(sl_dtype dtype, const unsigned char* rows, size_t row_bytes, int64_t K, int64_t M,
                           ThreadPool& pool)
    : dtype_(dtype), addr_(reinterpret_cast<uint64_t>(rows)), row_bytes_(row_bytes), K_(K), M_(M) {
    const bool q4 = dtype == SL_DTYPE_Q4_0;
    const int64_t nblocks = K / 32, block_bytes = q4 ? 18 : 34, quant_bytes = q4 ? 256 : 512;
    const int64_t units = groups() * nblocks;  // (group, block) pairs
    quants_.reset(new Line[static_cast<size_t>(units * quant_bytes / 64)]);
    scales_.reset(new uint16_t[static_cast<size_t>(units * 16)]);
    auto* quants = reinterpret_cast<unsigned char*>(quants_.get());
    // Every group is written by one task (its pages faulted in by the thread that
    // writes them). Zero rows pad the last group: their lanes compute zeros that
    // are never stored.
    pool.parallel_for(groups(), 1, [&](int64_t first, int64_t last) {
        for (int64_t g = first; g < last; ++g)
            for (int64_t b = 0; b < nblocks; ++b) {
                unsigned char* q = quants + (g * nblocks + b) * quant_bytes;
                uint16_t* s = scales_.get() + (g * nblocks + b) * 16;
                for (int64_t r = 0; r < kMaxQuantRows; ++r) {
                    const int64_t row = g * kMaxQuantRows + r;
                    const unsigned char* block = row < M ? rows + row * row_bytes + b * block_bytes : nullptr;
                    if (block) std::memcpy(&s[r], block, 2);
                    else s[r] = 0;
                    for (int64_t k = 0; k < quant_bytes / 64; ++k)
                        for (int t = 0; t < 4; ++t) {
                            const unsigned char byte = block ? block[2 + 4 * k + t] : 0;
                            q[64 * k + 4 * r + t] = q4 ? byte : static_cast<unsigned char>(byte ^ 0x80);
                        }
                }
            }
    });
    view_ = PackedQ0{quants, scales_.get(), nblocks, quant_bytes};
}

bool PackedMatrix::packs(const sl_tensor& a) const {
    return a.addr == addr_ && a.dtype == dtype_ && a.ne[0] == K_ && a.ne[1] == M_ && a.ne[2] == 1 && a.ne[3] == 1 &&
           static_cast<size_t>(a.nb[1]) == row_bytes_;
}

bool PackedWeights::add(const sl_tensor& t, const Kernels& kernels, ThreadPool& pool) {
    const bool q4 = t.dtype == SL_DTYPE_Q4_0;
    if (!(q4 ? kernels.gemm_packed_q4_0 : t.dtype == SL_DTYPE_Q8_0 ? kernels.gemm_packed_q8_0 : nullptr)) return false;
    const size_t row_bytes = static_cast<size_t>(t.ne[0] / 32) * (q4 ? 18 : 34);
    if (t.ne[0] % 32 != 0 || t.ne[2] != 1 || t.ne[3] != 1 || static_cast<size_t>(t.nb[1]) != row_bytes) return false;
    if (find(t)) return true;
    auto packed = std::make_shared<const PackedMatrix>(static_cast<sl_dtype>(t.dtype), reinterpret_cast<const unsigned char*>(t.addr),
                                                       row_bytes, t.ne[0], t.ne[1], pool);
    std::lock_guard lock(mutex_);
    by_addr_[t.addr] = std::move(packed);
    return true;
}

std::shared_ptr<const PackedMatrix> PackedWeights::find(const sl_tensor& a) const {
    std::lock_guard lock(mutex_);
    const auto it = by_addr_.find(a.addr);
    return it != by_addr_.end() && it->second->packs(a) ? it->second : nullptr;
}

void PackedWeights::forget(uint64_t begin, uint64_t end) {
    std::lock_guard lock(mutex_);
    for (auto it = by_addr_.begin(); it != by_addr_.end();)
        it = it->second->addr() < end && it->second->end() > begin ? by_addr_.erase(it) : std::next(it);
}

}  // namespace suanli::cpu
