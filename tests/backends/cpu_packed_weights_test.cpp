// weight_prepare on the cpu backend: Q8_0/Q4_0/Q4_K/Q5_K/Q6_K matrices in wrapped host
// memory are repacked once and multiplied from the packed copy, with the same
// bits as the unprepared weights (K-quants: as the scalar path) for any column and
// thread count; F32/F16/BF16 matrices are copied as they are and multiplied from
// the copy; freeing the buffer drops a copy; tensors outside read-only memory are
// refused.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/kernels.h"
#include "backends/cpu/packed_weights.h"
#include "backends/cpu/thread_pool.h"
#include "core/error.h"
#include "graph_harness.h"

namespace suanli::testing {
namespace {

using cpu::Isa;

constexpr Isa kIsas[] = {Isa::Scalar, Isa::Avx2, Isa::Avx512, Isa::Neon, Isa::NeonDot};
// 37 rows: two full groups of 16 and a partial one; K: 17 blocks (odd) of Q8_0/Q4_0, 3 super-blocks of K-quants.
constexpr int64_t M = 37;
int64_t g_k = 544;  // K of the dtype under test

std::vector<std::byte> quantized(sl_dtype dtype, uint32_t seed) {
    const int64_t K = g_k;
    const std::vector<float> v = random_floats(static_cast<size_t>(K * M), seed);
    const size_t rb = row_bytes(static_cast<DType>(dtype), K);
    std::vector<std::byte> out(rb * M);
    for (int64_t r = 0; r < M; ++r) quantize_row(static_cast<DType>(dtype), v.data() + r * K, &out[r * rb], K);
    return out;
}

// Host memory wrapped as a read-only buffer of the harness's device.
class Wrapped {
public:
    Wrapped(GraphHarness& h, const std::vector<std::byte>& bytes) : be_(h.backend()) {
        EXPECT_EQ(be_.buffer_from_host(h.device(), bytes.data(), bytes.size(), &buffer_, &base_), SL_OK) << h.error();
    }
    ~Wrapped() { free(); }
    Wrapped(const Wrapped&) = delete;
    Wrapped& operator=(const Wrapped&) = delete;
    uint64_t base() const { return base_; }
    void free() {
        if (buffer_) be_.buffer_free(buffer_);
        buffer_ = nullptr;
    }

private:
    const sl_backend& be_;
    sl_buffer buffer_ = nullptr;
    uint64_t base_ = 0;
};

sl_tensor matrix_at(sl_dtype dtype, uint64_t addr) {
    const int64_t K = g_k;
    sl_tensor t = GraphHarness::blank(dtype, {K, M, 1, 1});
    t.addr = addr;
    return t;
}

// weights [K, M] times N random columns: the bytes at `weights_addr` (wrapped
// host memory holding `weights`), or when it is 0 a fresh unprepared wrap of
// a copy of them (requantizing decoded values would not give the same bytes).
// A graph of its own on a new device (buffers and packed copies are the backend's, not a device's).
// B is `b_values` when given, else random.
std::vector<float> multiply(int threads, sl_dtype dtype, const std::vector<std::byte>& weights, uint64_t weights_addr,
                            int64_t N, const std::vector<float>* b_values = nullptr) {
    const int64_t K = g_k;
    GraphHarness h(cpu_backend(), threads);
    const std::vector<std::byte> copy = weights;
    std::unique_ptr<Wrapped> own;
    if (!weights_addr) {
        own = std::make_unique<Wrapped>(h, copy);
        weights_addr = own->base();
    }
    const int a = h.leaf(dtype, {K, M, 1, 1}, std::vector<float>(static_cast<size_t>(K * M)));
    h[a].addr = weights_addr;
    const int b =
        h.leaf(SL_DTYPE_F32, {K, N, 1, 1}, b_values ? *b_values : random_floats(static_cast<size_t>(K * N), 9));
    const int out = h.node(SL_OP_MUL_MAT, {M, N, 1, 1}, {a, b});
    EXPECT_EQ(h.run(), SL_OK) << h.error();
    return h.values(out);
}

bool k_quant(sl_dtype d) { return d == SL_DTYPE_Q4_K || d == SL_DTYPE_Q5_K || d == SL_DTYPE_Q6_K; }

// `weights` wrapped (kept in `wrapped`) and prepared, as a leaf of h's graph.
int prepared_leaf(GraphHarness& h, std::vector<std::unique_ptr<Wrapped>>& wrapped, sl_dtype dtype,
                  const std::vector<std::byte>& weights) {
    wrapped.push_back(std::make_unique<Wrapped>(h, weights));
    const sl_tensor t = matrix_at(dtype, wrapped.back()->base());
    EXPECT_EQ(h.backend().weight_prepare(h.device(), &t), SL_OK) << h.error();
    const int a = h.leaf(dtype, {g_k, M, 1, 1}, std::vector<float>(static_cast<size_t>(g_k * M)));
    h[a].addr = wrapped.back()->base();
    return a;
}

// weight_prepare of `t` with SUANLI_CPU_PACK=0 (no copy of any kind).
sl_status prepare_with_packing_off(GraphHarness& h, const sl_tensor& t) {
    ::setenv("SUANLI_CPU_PACK", "0", 1);
    const sl_status prepared = h.backend().weight_prepare(h.device(), &t);
    ::unsetenv("SUANLI_CPU_PACK");
    return prepared;
}

bool bitwise_equal(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

class CpuPackedWeights : public ::testing::TestWithParam<sl_dtype> {
protected:
    void SetUp() override { g_k = k_quant(GetParam()) ? 768 : 544; }
    void TearDown() override {
        cpu::clear_forced_isa();
        cpu::force_k_slice_bytes(0);
    }
};

TEST_P(CpuPackedWeights, SameBitsAsUnpreparedForEveryColumnAndThreadCount) {
    const sl_dtype dtype = GetParam();
    const std::vector<std::byte> weights = quantized(dtype, 7);
    for (Isa isa : kIsas) {
        if (!cpu::force_isa(isa)) continue;
        for (int threads : {1, 2, 3})
            for (int64_t N : {1, 3, 6, 13}) {  // with 4-column tiles (AVX2): 1, 3, 4 + 2, 3 * 4 + 1
                const std::string what = cat(cpu::isa_name(isa), ", ", threads, " threads, N=", N);
                // The K-quant packed kernels keep the scalar path's float steps; the others the unpacked kernel's.
                if (k_quant(dtype) && cpu::kernels_for(isa).gemm_packed_kquant[cpu::kquant_weight(dtype)])
                    cpu::force_isa(Isa::Scalar);
                const std::vector<float> want = multiply(threads, dtype, weights, 0, N);
                cpu::force_isa(isa);
                GraphHarness h(cpu_backend(), threads);
                Wrapped w(h, weights);
                const sl_tensor t = matrix_at(dtype, w.base());
                ASSERT_EQ(h.backend().weight_prepare(h.device(), &t), SL_OK) << h.error();
                const std::vector<float> got = multiply(threads, dtype, weights, w.base(), N);
                size_t bad = 0;
                while (bad < got.size() && got[bad] == want[bad]) ++bad;
                EXPECT_TRUE(bitwise_equal(got, want)) << what << ": at " << bad << " " << got[bad] << " vs " << want[bad];
            }
    }
}

// Consecutive products of one B (a layer's Q, K and V) may run as one job: each
// output keeps the bits it has alone, and a product written over an earlier
// one's output must land after it. (The backend does not fuse such a product;
// jobs this small run in order anyway, so the last check guards the semantics,
// not the overlap test itself.)
TEST_P(CpuPackedWeights, ProductsOfOneInputKeepTheirBitsAndTheirOrder) {
    const sl_dtype dtype = GetParam();
    const std::vector<std::byte> weights[3] = {quantized(dtype, 7), quantized(dtype, 11), quantized(dtype, 13)};
    for (Isa isa : kIsas) {
        if (!cpu::force_isa(isa)) continue;
        for (int threads : {1, 2})
            for (int64_t N : {1, 5}) {
                const std::string what = cat(cpu::isa_name(isa), ", ", threads, " threads, N=", N);
                if (k_quant(dtype) && cpu::kernels_for(isa).gemm_packed_kquant[cpu::kquant_weight(dtype)])
                    cpu::force_isa(Isa::Scalar);
                std::vector<float> want[3];
                for (int i = 0; i < 3; ++i) want[i] = multiply(threads, dtype, weights[i], 0, N);
                cpu::force_isa(isa);
                GraphHarness h(cpu_backend(), threads);
                std::vector<std::unique_ptr<Wrapped>> wrapped;
                int a[3];
                for (int i = 0; i < 3; ++i) a[i] = prepared_leaf(h, wrapped, dtype, weights[i]);
                const int b = h.leaf(SL_DTYPE_F32, {g_k, N, 1, 1}, random_floats(static_cast<size_t>(g_k * N), 9));
                int out[3];
                for (int i = 0; i < 3; ++i) out[i] = h.node(SL_OP_MUL_MAT, {M, N, 1, 1}, {a[i], b});
                // A fourth product, a[1] times b again, into out[0]'s bytes.
                const int over = h.view(out[0], {M, N, 1, 1}, {4, 4 * M, 4 * M * N, 4 * M * N}, 0);
                h[over].op = SL_OP_MUL_MAT;
                h[over].src[0] = a[1];
                h[over].src[1] = b;
                ASSERT_EQ(h.run(), SL_OK) << h.error();
                EXPECT_TRUE(bitwise_equal(h.values(out[0]), want[1])) << what << ": the later product did not land last";
                EXPECT_TRUE(bitwise_equal(h.values(out[1]), want[1])) << what;
                EXPECT_TRUE(bitwise_equal(h.values(out[2]), want[2])) << what;
            }
    }
}

// Q8_0/Q4_0 rows cut into slices of K (PackedMatrix): the slices cover each row's blocks in
// order, all but the last of an even count, none over the size asked for; and products keep
// the bits of the whole rows, alone and in a run of one input, on every path.
TEST_P(CpuPackedWeights, SlicesOfKKeepTheBits) {
    const sl_dtype dtype = GetParam();
    if (k_quant(dtype)) GTEST_SKIP() << "K-quant rows are not sliced";
    const int64_t nblocks = g_k / 32;  // 17
    const size_t block_bytes = cpu::kMaxQuantRows * traits(static_cast<DType>(dtype)).block_bytes;  // a group's
    const std::vector<std::byte> weights[2] = {quantized(dtype, 7), quantized(dtype, 11)};
    // At most 2 blocks a slice (the last one block), 6 (6, 6, 5), 10 (10, 7), and whole rows (at
    // most 12: rows up to half as long again as a slice stay whole).
    for (int64_t most : {2, 6, 10, 12}) {
        const size_t bytes = static_cast<size_t>(most) * block_bytes;
        cpu::force_k_slice_bytes(bytes);
        {
            cpu::ThreadPool pool(1);
            const cpu::PackedMatrix packed(dtype, reinterpret_cast<const unsigned char*>(weights[0].data()),
                                           row_bytes(static_cast<DType>(dtype), g_k), g_k, M, pool);
            const bool whole = nblocks <= most + most / 2;
            int64_t next = 0;
            for (const cpu::KSlice& slice : packed.q0_slices()) {
                EXPECT_EQ(slice.first_block, next);
                EXPECT_LE(slice.layout.nblocks, whole ? nblocks : most);
                EXPECT_EQ(slice.layout.adds_to_out, next > 0);
                next += slice.layout.nblocks;
                if (next < nblocks) {
                    EXPECT_EQ(slice.layout.nblocks % 2, 0);
                }
            }
            EXPECT_EQ(next, nblocks);
            EXPECT_EQ(packed.q0_slices().size(), whole ? 1 : static_cast<size_t>((nblocks + most - 1) / most));
        }
        for (Isa isa : kIsas) {
            const cpu::Kernels& k = cpu::kernels_for(isa);
            if (!cpu::isa_supported(isa) || !(dtype == SL_DTYPE_Q8_0 ? k.gemm_packed_q8_0 : k.gemm_packed_q4_0)) continue;
            for (int threads : {1, 2, 3})
                for (int64_t N : {1, 3, 13}) {
                    const std::string what = cat(cpu::isa_name(isa), ", ", most, " blocks a slice, ", threads,
                                                 " threads, N=", N);
                    cpu::force_isa(isa);
                    const std::vector<float> want[2] = {multiply(threads, dtype, weights[0], 0, N),
                                                        multiply(threads, dtype, weights[1], 0, N)};
                    GraphHarness h(cpu_backend(), threads);
                    std::vector<std::unique_ptr<Wrapped>> wrapped;
                    const int a[2] = {prepared_leaf(h, wrapped, dtype, weights[0]),
                                      prepared_leaf(h, wrapped, dtype, weights[1])};
                    // Two products of one B: one job per slice for both.
                    const int b = h.leaf(SL_DTYPE_F32, {g_k, N, 1, 1}, random_floats(static_cast<size_t>(g_k * N), 9));
                    const int out[2] = {h.node(SL_OP_MUL_MAT, {M, N, 1, 1}, {a[0], b}),
                                        h.node(SL_OP_MUL_MAT, {M, N, 1, 1}, {a[1], b})};
                    ASSERT_EQ(h.run(), SL_OK) << h.error();
                    EXPECT_TRUE(bitwise_equal(h.values(out[0]), want[0])) << what;
                    EXPECT_TRUE(bitwise_equal(h.values(out[1]), want[1])) << what;
                }
        }
    }
}

// Whether path `isa` (supported here) multiplies `dtype` from a packed copy.
bool has_packed_kernel(Isa isa, sl_dtype dtype) {
    const cpu::Kernels& k = cpu::kernels_for(isa);
    return dtype == SL_DTYPE_Q8_0   ? k.gemm_packed_q8_0 != nullptr
           : dtype == SL_DTYPE_Q4_0 ? k.gemm_packed_q4_0 != nullptr
                                    : k.gemm_packed_kquant[cpu::kquant_weight(dtype)] != nullptr;
}

// White-box: on every path with a packed kernel for the type, MUL_MAT reads the
// packed copy (changing the wrapped bytes behind the backend's back, which the
// standard forbids, shows it), and freeing the buffer forgets the copy.
TEST_P(CpuPackedWeights, MulMatReadsThePackedCopyUntilTheBufferIsFreed) {
    const sl_dtype dtype = GetParam();
    const std::vector<std::byte> first = quantized(dtype, 7), second = quantized(dtype, 11);
    int paths = 0;
    for (Isa isa : kIsas) {
        if (!cpu::isa_supported(isa) || !has_packed_kernel(isa, dtype)) continue;
        ++paths;
        SCOPED_TRACE(cpu::isa_name(isa));
        std::vector<std::byte> host = first;
        // The unprepared results with the packed kernel's bits (K-quants: the scalar path's).
        cpu::force_isa(k_quant(dtype) ? Isa::Scalar : isa);
        const std::vector<float> want_first = multiply(2, dtype, first, 0, 3);
        const std::vector<float> want_second = multiply(2, dtype, second, 0, 3);
        ASSERT_FALSE(bitwise_equal(want_first, want_second));
        cpu::force_isa(isa);
        GraphHarness h(cpu_backend(), 2);

        auto wrapped = std::make_unique<Wrapped>(h, host);
        const uint64_t base = wrapped->base();
        const sl_tensor t = matrix_at(dtype, base);
        ASSERT_EQ(h.backend().weight_prepare(h.device(), &t), SL_OK) << h.error();
        host = second;  // same storage (same size), new bytes
        ASSERT_EQ(reinterpret_cast<uint64_t>(host.data()), base);
        EXPECT_TRUE(bitwise_equal(multiply(2, dtype, host, base, 3), want_first)) << "the packed copy was not used";

        wrapped->free();
        Wrapped again(h, host);  // the same address, now holding `second`, not prepared
        ASSERT_EQ(again.base(), base);
        EXPECT_TRUE(bitwise_equal(multiply(2, dtype, host, base, 3), multiply(2, dtype, second, 0, 3)))
            << "a stale packed copy was used";
    }
    if (!paths) GTEST_SKIP() << "no path with packed kernels here";
}

// SUANLI_CPU_PACK=0 turns packing off: MUL_MAT then reads the wrapped bytes themselves.
TEST_P(CpuPackedWeights, PackingCanBeTurnedOff) {
    const sl_dtype dtype = GetParam();
    int paths = 0;
    for (Isa isa : kIsas) {
        if (!cpu::isa_supported(isa) || !has_packed_kernel(isa, dtype)) continue;
        ++paths;
        SCOPED_TRACE(cpu::isa_name(isa));
        cpu::force_isa(isa);
        const std::vector<std::byte> second = quantized(dtype, 11);
        std::vector<std::byte> host = quantized(dtype, 7);
        GraphHarness h(cpu_backend(), 2);
        Wrapped w(h, host);
        const sl_tensor t = matrix_at(dtype, w.base());
        ASSERT_EQ(prepare_with_packing_off(h, t), SL_OK) << h.error();
        host = second;  // read in place: the new bytes count
        EXPECT_TRUE(bitwise_equal(multiply(2, dtype, host, w.base(), 3), multiply(2, dtype, second, 0, 3)));
    }
    if (!paths) GTEST_SKIP() << "no path with packed kernels here";
}

// `dtype` weights with every quant at its largest magnitude: Q4_0 15, Q8_0 -128,
// Q4_K/Q5_K 15/31 with 6-bit scales and mins of 63, Q6_K 63 with scales of
// -128 (d and dmin as quantized, so the results stay finite).
std::vector<std::byte> largest_quants(sl_dtype dtype) {
    std::vector<std::byte> w = quantized(dtype, 7);
    const size_t bytes = traits(static_cast<DType>(dtype)).block_bytes;
    for (size_t at = 0; at < w.size(); at += bytes) {
        std::byte* p = &w[at];
        switch (dtype) {
            case SL_DTYPE_Q4_0: std::memset(p + 2, 0xff, 16); break;
            case SL_DTYPE_Q8_0: std::memset(p + 2, 0x80, 32); break;
            case SL_DTYPE_Q4_K: std::memset(p + 4, 0xff, 140); break;  // scales, mins, quants
            case SL_DTYPE_Q5_K: std::memset(p + 4, 0xff, 172); break;  // and the fifth bits
            case SL_DTYPE_Q6_K:
                std::memset(p, 0xff, 192);        // ql, qh
                std::memset(p + 192, 0x80, 16);  // scales
                break;
            default: ADD_FAILURE() << "not a packed type";
        }
    }
    return w;
}

// The largest quants times columns of +1 and -1 (activation quants of +127
// and -127): the AVX2 kernels add maddubs pairs in int16 before widening,
// and these are the sums that come closest to its bounds; they must not wrap.
TEST_P(CpuPackedWeights, LargestQuantsKeepTheirBits) {
    const sl_dtype dtype = GetParam();
    const std::vector<std::byte> weights = largest_quants(dtype);
    constexpr int64_t N = 3;
    std::vector<float> b = random_floats(static_cast<size_t>(g_k * N), 9);  // column 2 stays random
    std::fill(b.begin(), b.begin() + g_k, 1.0f);
    std::fill(b.begin() + g_k, b.begin() + 2 * g_k, -1.0f);
    int paths = 0;
    for (Isa isa : kIsas) {
        if (!cpu::isa_supported(isa) || !has_packed_kernel(isa, dtype)) continue;
        ++paths;
        SCOPED_TRACE(cpu::isa_name(isa));
        cpu::force_isa(k_quant(dtype) ? Isa::Scalar : isa);
        const std::vector<float> want = multiply(1, dtype, weights, 0, N, &b);
        ASSERT_NE(want[0], 0.0f);
        cpu::force_isa(isa);
        GraphHarness h(cpu_backend(), 1);
        Wrapped w(h, weights);
        const sl_tensor t = matrix_at(dtype, w.base());
        ASSERT_EQ(h.backend().weight_prepare(h.device(), &t), SL_OK) << h.error();
        const std::vector<float> got = multiply(1, dtype, weights, w.base(), N, &b);
        size_t bad = 0;
        while (bad < got.size() && got[bad] == want[bad]) ++bad;
        EXPECT_TRUE(bitwise_equal(got, want)) << "at " << bad << ": " << got[bad] << " vs " << want[bad];
    }
    if (!paths) GTEST_SKIP() << "no path with packed kernels here";
}

INSTANTIATE_TEST_SUITE_P(PackedTypes, CpuPackedWeights, ::testing::Values(SL_DTYPE_Q8_0, SL_DTYPE_Q4_0, SL_DTYPE_Q4_K, SL_DTYPE_Q5_K, SL_DTYPE_Q6_K),
                         [](const ::testing::TestParamInfo<sl_dtype>& i) {
                             return std::string(dtype_name(static_cast<DType>(i.param)));
                         });

TEST(CpuWeightPrepare, RefusesWritableMemoryAndBadShapesIgnoresOtherTypes) {
    GraphHarness h(cpu_backend(), 1);
    const sl_backend& be = h.backend();
    EXPECT_EQ(be.weight_prepare(h.device(), nullptr), SL_ERR_INVALID_ARGUMENT);

    // In a buffer the backend allocated (writable): refused.
    sl_buffer buffer = nullptr;
    uint64_t base = 0;
    g_k = 544;
    const uint64_t bytes = row_bytes(DType::Q8_0, g_k) * M;
    ASSERT_EQ(be.buffer_alloc(h.device(), bytes, &buffer, &base), SL_OK);
    sl_tensor t = matrix_at(SL_DTYPE_Q8_0, base);
    EXPECT_EQ(be.weight_prepare(h.device(), &t), SL_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(be.last_error()).find("read-only"), std::string::npos) << be.last_error();
    be.buffer_free(buffer);

    const std::vector<std::byte> host = quantized(SL_DTYPE_Q8_0, 7);
    Wrapped w(h, host);
    t = matrix_at(SL_DTYPE_Q8_0, w.base());
    t.ne[1] = M + 1;  // one row past the buffer
    EXPECT_EQ(be.weight_prepare(h.device(), &t), SL_ERR_INVALID_ARGUMENT);
    t = matrix_at(SL_DTYPE_Q8_0, w.base());
    t.ne[2] = 2;
    EXPECT_EQ(be.weight_prepare(h.device(), &t), SL_ERR_INVALID_ARGUMENT);
    t = matrix_at(SL_DTYPE_F32, w.base());  // a float matrix past the end of the buffer
    EXPECT_EQ(be.weight_prepare(h.device(), &t), SL_ERR_INVALID_ARGUMENT);
    t = matrix_at(SL_DTYPE_I32, w.base());  // nothing to repack or copy: accepted, ignored
    t.ne[1] = 1;
    EXPECT_EQ(be.weight_prepare(h.device(), &t), SL_OK) << be.last_error();
}

// White-box, as MulMatReadsThePackedCopyUntilTheBufferIsFreed: on every path, MUL_MAT of
// a prepared F32/F16/BF16 matrix reads its copy (with the same bits as the wrapped
// bytes), until the buffer is freed; with SUANLI_CPU_PACK=0 nothing is copied.
TEST(CpuFloatCopies, MulMatReadsTheCopyUntilTheBufferIsFreed) {
    g_k = 544;
    for (sl_dtype dtype : {SL_DTYPE_F32, SL_DTYPE_F16, SL_DTYPE_BF16})
        for (Isa isa : kIsas) {
            if (!cpu::force_isa(isa)) continue;
            SCOPED_TRACE(cat(dtype_name(static_cast<DType>(dtype)), ", ", cpu::isa_name(isa)));
            const std::vector<std::byte> first = quantized(dtype, 7), second = quantized(dtype, 11);
            const std::vector<float> want_first = multiply(2, dtype, first, 0, 3);
            const std::vector<float> want_second = multiply(2, dtype, second, 0, 3);
            ASSERT_FALSE(bitwise_equal(want_first, want_second));
            std::vector<std::byte> host = first;
            GraphHarness h(cpu_backend(), 2);
            auto wrapped = std::make_unique<Wrapped>(h, host);
            const uint64_t base = wrapped->base();
            const sl_tensor t = matrix_at(dtype, base);
            ASSERT_EQ(h.backend().weight_prepare(h.device(), &t), SL_OK) << h.error();
            host = second;  // same storage, new bytes behind the backend's back
            ASSERT_EQ(reinterpret_cast<uint64_t>(host.data()), base);
            EXPECT_TRUE(bitwise_equal(multiply(2, dtype, host, base, 3), want_first)) << "the copy was not used";
            wrapped->free();
            Wrapped again(h, host);  // the same address, not prepared
            ASSERT_EQ(again.base(), base);
            EXPECT_TRUE(bitwise_equal(multiply(2, dtype, host, base, 3), want_second)) << "a stale copy was used";

            // Turned off: the product reads the wrapped bytes.
            std::vector<std::byte> off = first;
            Wrapped w(h, off);
            const sl_tensor u = matrix_at(dtype, w.base());
            ASSERT_EQ(prepare_with_packing_off(h, u), SL_OK) << h.error();
            off = second;
            EXPECT_TRUE(bitwise_equal(multiply(2, dtype, off, w.base(), 3), want_second));
        }
    cpu::clear_forced_isa();
}

// A copy must leave copy_reserve_bytes() available: with a reserve no host has, weight_prepare
// still succeeds and the products read the wrapped bytes themselves.
TEST(CpuWeightPrepare, NoCopyWithoutRoomForIt) {
    g_k = 544;
    for (sl_dtype dtype : {SL_DTYPE_F16, SL_DTYPE_Q4_0}) {
        SCOPED_TRACE(dtype_name(static_cast<DType>(dtype)));
        const std::vector<std::byte> second = quantized(dtype, 11);
        const std::vector<float> want_second = multiply(2, dtype, second, 0, 3);
        std::vector<std::byte> host = quantized(dtype, 7);
        GraphHarness h(cpu_backend(), 2);
        Wrapped w(h, host);
        const sl_tensor t = matrix_at(dtype, w.base());
        cpu::force_copy_reserve_bytes(uint64_t{1} << 62);
        const sl_status prepared = h.backend().weight_prepare(h.device(), &t);
        cpu::force_copy_reserve_bytes(0);
        ASSERT_EQ(prepared, SL_OK) << h.error();
        host = second;  // read in place: the new bytes count
        EXPECT_TRUE(bitwise_equal(multiply(2, dtype, host, w.base(), 3), want_second));
    }
}

}  // namespace
}  // namespace suanli::testing
