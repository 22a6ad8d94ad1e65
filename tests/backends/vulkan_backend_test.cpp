// The vulkan backend through its C ABI: a clear error without a device; then,
// where a Vulkan device exists (lavapipe counts), buffers at odd offsets, bad
// ids, honest supports_op, both mul_mat paths (mat-vec and tiled) for every
// weight dtype, and the shared-memory reduction kernels (subgroups disabled)
// against the reference backend. The full op matrix is `suanli conformance
// --backend vulkan`; these are the cases most likely to break first.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "backends/reference/reference_backend.h"
#include "backends/vulkan/vk_backend.h"
#include "graph_harness.h"

namespace suanli::testing {
namespace {

using Build = std::function<int(GraphHarness&)>;
constexpr float kInf = std::numeric_limits<float>::infinity();

bool have_device() { return vulkan_backend().device_count() > 0; }

#define REQUIRE_VULKAN_DEVICE() \
    if (!have_device()) GTEST_SKIP() << "no Vulkan device on this machine"

std::vector<float> run_on(const sl_backend& backend, const Build& build) {
    GraphHarness h(backend, 1);
    const int out = build(h);
    const sl_status s = h.run();
    EXPECT_EQ(s, SL_OK) << h.error();
    EXPECT_TRUE(h.guards_intact()) << backend.name << " wrote past a tensor";
    return h.values(out);
}

double nmse(const std::vector<float>& got, const std::vector<float>& want) {
    EXPECT_EQ(got.size(), want.size());
    double err = 0, ref = 0;
    for (size_t i = 0; i < got.size() && i < want.size(); ++i) {
        if (!std::isfinite(want[i])) continue;
        if (!std::isfinite(got[i])) return kInf;
        const double d = static_cast<double>(got[i]) - want[i];
        err += d * d;
        ref += static_cast<double>(want[i]) * want[i];
    }
    return ref > 0 ? err / ref : err;
}

void expect_matches_reference(const Build& build, double tol, const std::string& what) {
    const std::vector<float> want = run_on(reference_backend(), build);
    const std::vector<float> got = run_on(vulkan_backend(), build);
    EXPECT_LE(nmse(got, want), tol) << what;
}

TEST(VulkanAbi, OpeningWithoutADeviceIsAClearError) {
    const sl_backend& be = vulkan_backend();
    EXPECT_STREQ(be.name, "vulkan");
    EXPECT_EQ(be.abi_version, SL_BACKEND_ABI_VERSION);
    sl_device device = nullptr;
    const sl_device_config config{sizeof(sl_device_config), 1};
    const int32_t n = be.device_count();
    ASSERT_GE(n, 0);
    // One past the last device: there is none, so it fails, with a message.
    const sl_status s = be.device_open(n, &config, &device);
    EXPECT_NE(s, SL_OK);
    EXPECT_EQ(device, nullptr);
    if (n == 0) {
        EXPECT_EQ(s, SL_ERR_DEVICE);
        EXPECT_NE(std::string(be.last_error()).find("no Vulkan device found"), std::string::npos) << be.last_error();
    } else {
        EXPECT_EQ(s, SL_ERR_INVALID_ARGUMENT) << be.last_error();
    }
}

TEST(VulkanAbi, BuffersRoundTripAtOddOffsets) {
    REQUIRE_VULKAN_DEVICE();
    const sl_backend& be = vulkan_backend();
    sl_device device = nullptr;
    ASSERT_EQ(be.device_open(0, nullptr, &device), SL_OK) << be.last_error();
    sl_device_info info{};
    ASSERT_EQ(be.device_info(device, &info), SL_OK) << be.last_error();
    EXPECT_GT(std::string(info.name).size(), 0u);
    sl_buffer buffer = nullptr;
    uint64_t base = 0;
    ASSERT_EQ(be.buffer_alloc(device, 1001, &buffer, &base), SL_OK) << be.last_error();
    std::vector<unsigned char> in(1001), out(1001, 0);
    for (size_t i = 0; i < in.size(); ++i) in[i] = static_cast<unsigned char>(i * 7 + 3);
    ASSERT_EQ(be.buffer_write(buffer, 0, in.data(), in.size()), SL_OK) << be.last_error();
    const unsigned char patch[5] = {1, 2, 3, 4, 5};
    ASSERT_EQ(be.buffer_write(buffer, 13, patch, 5), SL_OK) << be.last_error();
    for (int i = 0; i < 5; ++i) in[13 + i] = patch[i];
    ASSERT_EQ(be.buffer_read(buffer, 0, out.data(), out.size()), SL_OK) << be.last_error();
    EXPECT_EQ(in, out);
    EXPECT_EQ(be.buffer_read(buffer, 1000, out.data(), 2), SL_ERR_INVALID_ARGUMENT);
    be.buffer_free(buffer);
    EXPECT_EQ(be.buffer_read(buffer, 0, out.data(), 1), SL_ERR_INVALID_ARGUMENT);  // stale handle: an error
    be.device_close(device);
}

TEST(VulkanAbi, RejectsIdsOutsideTheTable) {
    REQUIRE_VULKAN_DEVICE();
    GraphHarness h(vulkan_backend());
    const int table = h.leaf(SL_DTYPE_F32, {4, 3, 1, 1}, random_floats(12, 1));
    const int ids = h.leaf_i32({2, 1, 1, 1}, {1, 5});
    h.node(SL_OP_GET_ROWS, {4, 2, 1, 1}, {table, ids});
    EXPECT_EQ(h.run(), SL_ERR_INVALID_ARGUMENT);
    EXPECT_NE(h.error().find("id 5"), std::string::npos) << h.error();
    EXPECT_TRUE(h.guards_intact());
}

TEST(VulkanAbi, SupportsOpAnswersForUnknownOpsAndMisalignedTensors) {
    REQUIRE_VULKAN_DEVICE();
    GraphHarness h(vulkan_backend());
    const int a = h.leaf(SL_DTYPE_F32, {8, 1, 1, 1}, random_floats(8, 2));
    const int s = h.node(SL_OP_SCALE, {8, 1, 1, 1}, {a}, {fbits(2.0f)});
    EXPECT_EQ(h.supports(s), 1) << h.error();
    h[s].op = 99;
    EXPECT_EQ(h.supports(s), 0);
    h[s].op = SL_OP_SCALE;
    h[a].nb[1] = 6;  // F32 rows 2 bytes apart cannot be read as words
    h[a].ne[1] = 1;
    h[a].nb[0] = 2;
    EXPECT_EQ(h.supports(s), 0);
}

Build mul_mat(sl_dtype type, int64_t K, int64_t M, int64_t N) {
    return [=](GraphHarness& h) {
        const int a = h.leaf(type, {K, M, 1, 1}, random_floats(static_cast<size_t>(K * M), 3));
        const int b = h.leaf(SL_DTYPE_F32, {K, N, 1, 1}, random_floats(static_cast<size_t>(K * N), 4));
        return h.node(SL_OP_MUL_MAT, {M, N, 1, 1}, {a, b});
    };
}

TEST(VulkanOps, MulMatBothPathsEveryWeightType) {
    REQUIRE_VULKAN_DEVICE();
    for (sl_dtype t : {SL_DTYPE_F32, SL_DTYPE_F16, SL_DTYPE_BF16, SL_DTYPE_Q8_0, SL_DTYPE_Q4_0, SL_DTYPE_Q4_K,
                       SL_DTYPE_Q5_K, SL_DTYPE_Q6_K})
        for (int64_t N : {1, 37}) {
            const std::string what = std::string(dtype_name(static_cast<DType>(t))) + " N=" + std::to_string(N);
            expect_matches_reference(mul_mat(t, 512, 45, N), 5e-4, what);
        }
}

// The mat-vec kernel's wide loads and their fallbacks: A rows starting one
// block (or one element) into their tensor, so not 4- or 16-byte aligned where
// the block size allows; for Q4_K/Q5_K (16-byte multiples) also 4 bytes in,
// which reads the blocks shifted (the reference reads the same bytes; rows it
// finds non-finite are not compared); B columns 4 bytes past a 16-byte
// boundary; plain K not a multiple of the unit; two columns.
TEST(VulkanOps, MatVecAtUnalignedOffsets) {
    REQUIRE_VULKAN_DEVICE();
    for (sl_dtype t : {SL_DTYPE_F32, SL_DTYPE_F16, SL_DTYPE_BF16, SL_DTYPE_Q8_0, SL_DTYPE_Q4_0, SL_DTYPE_Q4_K,
                       SL_DTYPE_Q5_K, SL_DTYPE_Q6_K}) {
        const DTypeTraits& tr = traits(static_cast<DType>(t));
        std::vector<size_t> offsets = {tr.block_bytes};
        if (tr.block_bytes % 16 == 0) offsets.push_back(4);
        for (size_t offset : offsets)
            for (int64_t N : {1, 2}) {
                const int64_t K = tr.block_elements == 1 ? 523 : 512, M = 13;
                const std::string what = std::string(tr.name) + " at +" + std::to_string(offset) + " N=" + std::to_string(N);
                expect_matches_reference(
                    [=](GraphHarness& h) {
                        const int64_t Kb = K + tr.block_elements, Kc = K + 1;
                        const auto rb = static_cast<int64_t>(row_bytes(static_cast<DType>(t), Kb));
                        const int base = h.leaf(t, {Kb, M, 1, 1}, random_floats(static_cast<size_t>(Kb * M), 9));
                        const int64_t e = tr.block_elements == 1 ? static_cast<int64_t>(tr.block_bytes) : 0;
                        const int a = h.view(base, {K, M, 1, 1}, {e, rb, rb * M, rb * M}, offset);
                        const int bb = h.leaf(SL_DTYPE_F32, {Kc, N, 1, 1}, random_floats(static_cast<size_t>(Kc * N), 10));
                        const int b = h.view(bb, {K, N, 1, 1}, {4, Kc * 4, Kc * 4 * N, Kc * 4 * N}, 4);
                        return h.node(SL_OP_MUL_MAT, {M, N, 1, 1}, {a, b});
                    },
                    5e-4, what);
            }
    }
}

// A contiguous COPY within one dtype goes by words: at 16-byte aligned ends,
// at 4-byte aligned ones, and (F16 at 2 mod 4) by elements.
TEST(VulkanOps, ContiguousCopyWithinOneType) {
    REQUIRE_VULKAN_DEVICE();
    for (sl_dtype t : {SL_DTYPE_F32, SL_DTYPE_F16})
        for (size_t offset : {size_t{0}, size_t{4}, size_t{2}}) {
            if (t == SL_DTYPE_F32 && offset == 2) continue;
            const std::string what = std::string(dtype_name(static_cast<DType>(t))) + " at +" + std::to_string(offset);
            expect_matches_reference(
                [=](GraphHarness& h) {
                    const int src = h.leaf(t, {1030, 3, 1, 1}, random_floats(1030 * 3, 11));
                    const int dst_base = h.leaf(t, {1040, 3, 1, 1}, std::vector<float>(1040 * 3, 0.0f));
                    const int64_t es = t == SL_DTYPE_F32 ? 4 : 2;
                    const int dst = h.view(dst_base, {1030, 3, 1, 1}, {es, 1030 * es, 3090 * es, 3090 * es}, offset);
                    return h.copy(src, dst);
                },
                1e-7, what);
        }
}

TEST(VulkanOps, GetRowsEveryWeightType) {
    REQUIRE_VULKAN_DEVICE();
    for (sl_dtype t : {SL_DTYPE_F32, SL_DTYPE_F16, SL_DTYPE_BF16, SL_DTYPE_Q8_0, SL_DTYPE_Q4_0, SL_DTYPE_Q4_K,
                       SL_DTYPE_Q5_K, SL_DTYPE_Q6_K})
        expect_matches_reference(
            [t](GraphHarness& h) {
                const int table = h.leaf(t, {256, 5, 1, 1}, random_floats(256 * 5, 5));
                const int ids = h.leaf_i32({3, 1, 1, 1}, {4, 0, 2});
                return h.node(SL_OP_GET_ROWS, {256, 3, 1, 1}, {table, ids});
            },
            1e-7, std::string(dtype_name(static_cast<DType>(t))));
}

// The kernels that reduce across a workgroup, built without subgroup operations.
TEST(VulkanOps, SharedMemoryReductionsMatchTheReference) {
    REQUIRE_VULKAN_DEVICE();
    setenv("SUANLI_VULKAN_NO_SUBGROUPS", "1", 1);
    expect_matches_reference(mul_mat(SL_DTYPE_Q4_K, 768, 19, 1), 5e-4, "mat-vec");
    expect_matches_reference(
        [](GraphHarness& h) {
            const int x = h.leaf(SL_DTYPE_F32, {300, 7, 1, 1}, random_floats(2100, 6));
            return h.node(SL_OP_RMS_NORM, {300, 7, 1, 1}, {x}, {fbits(1e-5f)});
        },
        1e-7, "rms_norm");
    expect_matches_reference(
        [](GraphHarness& h) {
            const int q = h.leaf(SL_DTYPE_F32, {64, 4, 3, 1}, random_floats(64 * 12, 7));
            const int k = h.leaf(SL_DTYPE_F16, {64, 2, 70, 1}, random_floats(64 * 140, 8));
            const int v = h.leaf(SL_DTYPE_F16, {64, 2, 70, 1}, random_floats(64 * 140, 9));
            std::vector<float> mask(70 * 3);
            for (int t = 0; t < 3; ++t)
                for (int j = 0; j < 70; ++j) mask[static_cast<size_t>(t * 70 + j)] = j <= 60 + t ? 0.0f : -kInf;
            const int m = h.leaf(SL_DTYPE_F32, {70, 3, 1, 1}, mask);
            return h.node(SL_OP_ATTENTION, {64, 4, 3, 1}, {q, k, v, m}, {fbits(0.125f)});
        },
        5e-4, "attention");
    unsetenv("SUANLI_VULKAN_NO_SUBGROUPS");
}

}  // namespace
}  // namespace suanli::testing
