#include "backends/cpu/packed_weights.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <iterator>

#include "backends/cpu/cpu_features.h"
#include "backends/cpu/thread_pool.h"
#include "backends/host/host_device.h"
#include "core/dtype.h"
#include "core/huge_page_memory.h"
#include "core/quant_k.h"

namespace suanli::cpu {
namespace {

bool is_k_quant(sl_dtype dtype) { return kquant_weight(dtype) >= 0; }
const DTypeTraits& traits_of(sl_dtype dtype) { return traits(static_cast<DType>(dtype)); }
size_t block_bytes(sl_dtype dtype) { return traits_of(dtype).block_bytes; }
int64_t block_elements(sl_dtype dtype) { return traits_of(dtype).block_elements; }
int64_t packed_bytes(sl_dtype dtype) { return kPackedKQuantBytes[kquant_weight(dtype)]; }

// Bytes 4r..4r+3 of vector k = bytes 4k..4k+3 of row r's `n`-byte array `src`, each
// XORed with `flip` (zeros for a padding row, src null).
void transpose_rows(const unsigned char* src, int64_t n, int64_t r, unsigned char* dst, uint32_t flip = 0) {
    for (int64_t k = 0; k < n / 4; ++k) {
        uint32_t word = 0;
        if (src) std::memcpy(&word, src + 4 * k, 4), word ^= flip;
        std::memcpy(dst + 64 * k + 4 * r, &word, 4);
    }
}

std::atomic<size_t> g_forced_k_slice_bytes{0};
std::atomic<uint64_t> g_forced_copy_reserve{0};

// Whether a copy of `bytes` leaves the reserve available.
bool room_for_copy(uint64_t bytes) {
    const uint64_t available = host::available_memory();
    return available == 0 || available >= bytes + copy_reserve_bytes();  // 0: unknown, as before
}

// Blocks per slice of K: at most `most` (0: no limit), kept even so that only a last slice can
// end in half a pair, and as equal as that allows. Rows up to half as long again as a slice stay
// whole: with a slice of half the L1d, the column's blocks still fit beside a group of 3/4 of it,
// and a slice more would cost its job's start and end (a 32 KB L1d would otherwise cut the 18 KB
// groups of 2048-wide Q4_0 rows in two).
std::vector<int64_t> slice_blocks(int64_t nblocks, int64_t most) {
    if (most == 0 || nblocks <= most + most / 2) return {nblocks};
    most = std::max<int64_t>(2, most / 2 * 2);
    const int64_t count = (nblocks + most - 1) / most;
    const int64_t each = ((nblocks + count - 1) / count + 1) / 2 * 2;
    std::vector<int64_t> sizes;
    for (int64_t left = nblocks; left > 0; left -= sizes.back()) sizes.push_back(std::min(each, left));
    return sizes;
}

}  // namespace

size_t k_slice_bytes(sl_dtype dtype) {
    if (const size_t forced = g_forced_k_slice_bytes.load(std::memory_order_relaxed)) return forced;
    if (dtype != SL_DTYPE_Q4_0) return 0;
    static const size_t bytes = [] {
        const size_t l1 = data_cache_bytes(1);
        return std::clamp<size_t>(l1 > 0 ? l1 : size_t{32} << 10, size_t{16} << 10, size_t{1} << 20) / 2;
    }();
    return bytes;
}

void force_k_slice_bytes(size_t bytes) { g_forced_k_slice_bytes.store(bytes, std::memory_order_relaxed); }

uint64_t copy_reserve_bytes() {
    if (const uint64_t forced = g_forced_copy_reserve.load(std::memory_order_relaxed)) return forced;
    return std::max<uint64_t>(uint64_t{512} << 20, host::physical_memory() / 16);
}

void force_copy_reserve_bytes(uint64_t bytes) { g_forced_copy_reserve.store(bytes, std::memory_order_relaxed); }

PackedMatrix::PackedMatrix(sl_dtype dtype, const unsigned char* rows, size_t row_bytes, int64_t K, int64_t M,
                           ThreadPool& pool)
    : dtype_(dtype), addr_(reinterpret_cast<uint64_t>(rows)), row_bytes_(row_bytes), K_(K), M_(M) {
    const int64_t nblocks = K / block_elements(dtype), units = groups() * nblocks;  // (group, block) pairs
    if (is_k_quant(dtype)) {
        data_ = allocate_huge_page_memory(static_cast<size_t>(units * packed_bytes(dtype)));
        kquant_ = PackedKQuant{data_.get(), nblocks};
    } else {
        const int64_t quant_bytes = dtype == SL_DTYPE_Q4_0 ? 256 : 512, pair_bytes = 2 * quant_bytes + 64;
        const auto slice_bytes = static_cast<int64_t>(k_slice_bytes(dtype));
        const std::vector<int64_t> sizes =
            slice_blocks(nblocks, slice_bytes > 0 ? std::max<int64_t>(1, slice_bytes * 2 / pair_bytes) : 0);
        int64_t bytes = 0;
        for (int64_t n : sizes) bytes += groups() * ((n + 1) / 2) * pair_bytes;
        data_ = allocate_huge_page_memory(static_cast<size_t>(bytes));
        const unsigned char* at = data_.get();
        int64_t first_block = 0;
        for (int64_t n : sizes) {
            const int64_t pairs = (n + 1) / 2;
            q0_.push_back({{at, n, pairs, quant_bytes, pair_bytes, first_block > 0}, first_block});
            at += groups() * pairs * pair_bytes, first_block += n;
        }
    }
    // Every group is written by one task, its pages faulted in by the thread that writes them.
    pool.parallel_for(groups(), 1, [&](int64_t first, int64_t last) {
        for (int64_t g = first; g < last; ++g) {
            if (dtype == SL_DTYPE_Q4_K || dtype == SL_DTYPE_Q5_K) pack_q4_k_group(g, rows);
            else if (dtype == SL_DTYPE_Q6_K) pack_q6_k_group(g, rows);
            else
                for (const KSlice& slice : q0_) pack_q0_group(g, slice, rows);
        }
    });
}

// Row r of group g, block b; null for the zero rows that pad the last group
// (their lanes compute values that are never stored).
const unsigned char* PackedMatrix::block_at(const unsigned char* rows, int64_t g, int64_t r, int64_t b) const {
    const int64_t row = g * kMaxQuantRows + r;
    return row < M_ ? rows + row * static_cast<int64_t>(row_bytes_) + b * static_cast<int64_t>(block_bytes(dtype_))
                    : nullptr;
}

void PackedMatrix::pack_q0_group(int64_t g, const KSlice& slice, const unsigned char* rows) {
    const bool q4 = dtype_ == SL_DTYPE_Q4_0;
    const PackedQ0& q0 = slice.layout;
    const int64_t nblocks = q0.nblocks, qb = q0.quant_bytes;
    unsigned char* group = const_cast<unsigned char*>(q0.data) + g * q0.pairs * q0.pair_bytes;
    if (nblocks % 2 != 0) std::memset(group + q0.pairs * q0.pair_bytes - q0.pair_bytes, 0, static_cast<size_t>(q0.pair_bytes));
    // Row by row, so that each source row is read in order (the group's packed bytes stay in cache).
    for (int64_t r = 0; r < kMaxQuantRows; ++r)
        for (int64_t b = 0; b < nblocks; ++b) {
            const unsigned char* block = block_at(rows, g, r, slice.first_block + b);
            unsigned char* pair = group + b / 2 * q0.pair_bytes;
            unsigned char* d = pair + 2 * qb + b % 2 * 32 + 2 * r;  // the f16 scale
            if (block) std::memcpy(d, block, 2);
            else d[0] = d[1] = 0;
            // Q8_0's quants become q + 128: flip each byte's top bit.
            transpose_rows(block ? block + 2 : nullptr, qb / 16, r, pair + b % 2 * qb, q4 ? 0u : 0x80808080u);
        }
}

// Q4_K, and Q5_K (the same with its fifth bits after the quants).
void PackedMatrix::pack_q4_k_group(int64_t g, const unsigned char* rows) {
    const int64_t nblocks = kquant_.nblocks;
    const bool q5 = dtype_ == SL_DTYPE_Q5_K;
    const int64_t tail = q5 ? 2048 + 512 : 2048;  // where the scales start
    for (int64_t b = 0; b < nblocks; ++b) {
        auto* p = const_cast<unsigned char*>(kquant_.data) + (g * nblocks + b) * packed_bytes(dtype_);
        unsigned char *scales = p + tail, *mins = p + tail + 128;
        auto* d = reinterpret_cast<uint16_t*>(p + tail + 256);
        for (int64_t r = 0; r < kMaxQuantRows; ++r) {
            // d, dmin, scales[12], then Q4_K: qs[128]; Q5_K: qh[32], qs[128].
            const unsigned char* block = block_at(rows, g, r, b);
            transpose_rows(block ? block + (q5 ? 48 : 16) : nullptr, 128, r, p);
            if (q5) transpose_rows(block ? block + 16 : nullptr, 32, r, p + 2048);
            for (int j = 0; j < 8; ++j) {
                uint8_t sc = 0, mn = 0;
                if (block) scale_min_k4(j, block + 4, &sc, &mn);
                scales[16 * j + r] = sc;
                mins[32 * (j / 2) + 2 * r + j % 2] = mn;
            }
            if (block) std::memcpy(&d[r], block, 2), std::memcpy(&d[16 + r], block + 2, 2);
            else d[r] = d[16 + r] = 0;
        }
    }
}

void PackedMatrix::pack_q6_k_group(int64_t g, const unsigned char* rows) {
    const int64_t nblocks = kquant_.nblocks;
    for (int64_t b = 0; b < nblocks; ++b) {
        auto* p = const_cast<unsigned char*>(kquant_.data) + (g * nblocks + b) * kPackedQ6KBytes;
        unsigned char* scales = p + 3072;
        auto* d = reinterpret_cast<uint16_t*>(p + 3072 + 256);
        std::memset(p + 3072 + 256 + 32, 0, 32);
        for (int64_t r = 0; r < kMaxQuantRows; ++r) {
            const unsigned char* block = block_at(rows, g, r, b);  // ql[128], qh[64], scales[16], d
            transpose_rows(block, 128, r, p);
            transpose_rows(block ? block + 128 : nullptr, 64, r, p + 2048);
            for (int j = 0; j < 16; ++j) scales[32 * (j / 2) + 2 * r + j % 2] = block ? block[192 + j] : 0;
            if (block) std::memcpy(&d[r], block + 208, 2);
            else d[r] = 0;
        }
    }
}

bool PackedMatrix::copies(const sl_tensor& a) const {
    return a.addr == addr_ && a.dtype == dtype_ && a.ne[0] == K_ && a.ne[1] == M_ && a.ne[2] == 1 && a.ne[3] == 1 &&
           static_cast<size_t>(a.nb[1]) == row_bytes_;
}

FloatCopy::FloatCopy(sl_dtype dtype, const unsigned char* rows, size_t row_bytes, int64_t K, int64_t M,
                     ThreadPool& pool)
    : dtype_(dtype), addr_(reinterpret_cast<uint64_t>(rows)), row_bytes_(row_bytes), K_(K), M_(M),
      data_(allocate_huge_page_memory(static_cast<size_t>(M) * row_bytes)) {
    // As for PackedMatrix: the pages are faulted in by the threads that write them.
    pool.parallel_for(M, kMaxQuantRows, [&](int64_t first, int64_t last) {
        const auto bytes = static_cast<size_t>(last - first) * row_bytes;
        std::memcpy(data_.get() + first * row_bytes, rows + first * row_bytes, bytes);
    });
}

bool FloatCopy::copies(const sl_tensor& a) const {
    return a.addr == addr_ && a.dtype == dtype_ && a.ne[0] == K_ && a.ne[1] == M_ && a.ne[2] == 1 && a.ne[3] == 1 &&
           static_cast<size_t>(a.nb[1]) == row_bytes_;
}

template <class Copy>
std::shared_ptr<const Copy> PackedWeights::find_in(const ByAddr<Copy>& by_addr, const sl_tensor& a) const {
    std::lock_guard lock(mutex_);
    const auto it = by_addr.find(a.addr);
    return it != by_addr.end() && it->second->copies(a) ? it->second : nullptr;
}

template <class Copy>
bool PackedWeights::add_to(ByAddr<Copy>& by_addr, const sl_tensor& t, size_t row_bytes, ThreadPool& pool) {
    if (find_in(by_addr, t)) return true;
    if (!room_for_copy(static_cast<uint64_t>(t.ne[1]) * row_bytes)) return false;
    const auto* rows = reinterpret_cast<const unsigned char*>(t.addr);
    auto copy = std::make_shared<const Copy>(static_cast<sl_dtype>(t.dtype), rows, row_bytes, t.ne[0], t.ne[1], pool);
    std::lock_guard lock(mutex_);
    by_addr[t.addr] = std::move(copy);
    return true;
}

bool PackedWeights::add(const sl_tensor& t, const Kernels& kernels, ThreadPool& pool) {
    const auto dtype = static_cast<sl_dtype>(t.dtype);
    if (t.ne[2] != 1 || t.ne[3] != 1) return false;
    if (dtype == SL_DTYPE_F32 || dtype == SL_DTYPE_F16 || dtype == SL_DTYPE_BF16) {
        const size_t row_bytes = static_cast<size_t>(t.ne[0]) * block_bytes(dtype);
        if (static_cast<size_t>(t.nb[0]) != block_bytes(dtype) || static_cast<size_t>(t.nb[1]) != row_bytes)
            return false;
        return add_to(copies_, t, row_bytes, pool);
    }
    const bool have_kernel = dtype == SL_DTYPE_Q4_0   ? kernels.gemm_packed_q4_0 != nullptr
                             : dtype == SL_DTYPE_Q8_0 ? kernels.gemm_packed_q8_0 != nullptr
                             : is_k_quant(dtype)      ? kernels.gemm_packed_kquant[kquant_weight(dtype)] != nullptr
                                                      : false;
    if (!have_kernel || t.ne[0] % block_elements(dtype) != 0) return false;
    const size_t row_bytes = static_cast<size_t>(t.ne[0] / block_elements(dtype)) * block_bytes(dtype);
    if (static_cast<size_t>(t.nb[1]) != row_bytes) return false;
    return add_to(by_addr_, t, row_bytes, pool);
}

std::shared_ptr<const PackedMatrix> PackedWeights::find(const sl_tensor& a) const { return find_in(by_addr_, a); }

std::shared_ptr<const FloatCopy> PackedWeights::find_copy(const sl_tensor& a) const { return find_in(copies_, a); }

void PackedWeights::forget(uint64_t begin, uint64_t end) {
    std::lock_guard lock(mutex_);
    const auto drop = [&](auto& by_addr) {
        for (auto it = by_addr.begin(); it != by_addr.end();)
            it = it->second->addr() < end && it->second->end() > begin ? by_addr.erase(it) : std::next(it);
    };
    drop(by_addr_);
    drop(copies_);
}

}  // namespace suanli::cpu
