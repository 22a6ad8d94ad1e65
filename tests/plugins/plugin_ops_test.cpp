// The example plugin, loaded with load_backend_plugin, against the reference
// backend: the same small graphs on both, every output within a tight tolerance,
// sentinels intact. Not the conformance suite: a smoke test per op and dtype.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <vector>

#include "backends/graph_harness.h"
#include "backends/plugin.h"
#include "backends/reference/reference_backend.h"

namespace suanli::testing {
namespace {

const sl_backend& example() { return load_backend_plugin(EXAMPLE_PLUGIN); }

int64_t count(const Ne& ne) { return ne[0] * ne[1] * ne[2] * ne[3]; }

// Builds the same graph on both backends (the returned nodes are compared), runs both.
using Build = std::function<std::vector<int>(GraphHarness&)>;

void expect_same(const Build& build, double tol) {
    GraphHarness ref(reference_backend()), ex(example());
    const std::vector<int> ref_nodes = build(ref), ex_nodes = build(ex);
    ref.run_ok();
    ex.run_ok();
    EXPECT_TRUE(ex.guards_intact());
    for (size_t n = 0; n < ref_nodes.size(); ++n) {
        const std::vector<float> want = ref.values(ref_nodes[n]), got = ex.values(ex_nodes[n]);
        ASSERT_EQ(got.size(), want.size());
        for (size_t i = 0; i < got.size(); ++i) {
            if (got[i] == want[i]) continue;  // also infinities of the same sign
            ASSERT_FALSE(std::isnan(got[i])) << "node " << ex_nodes[n] << " element " << i;
            ASSERT_NEAR(got[i], want[i], tol * (1.0 + std::fabs(want[i]))) << "node " << ex_nodes[n] << " element " << i;
        }
    }
}

class ExampleWeights : public ::testing::TestWithParam<sl_dtype> {};

TEST_P(ExampleWeights, GetRows) {
    expect_same([](GraphHarness& h) {
        const int table = h.leaf(GetParam(), {64, 10, 1, 1}, random_floats(640, 1));
        const int ids = h.leaf_i32({3, 2, 1, 1}, {9, 0, 4, 4, 7, 1});
        return std::vector{h.node(SL_OP_GET_ROWS, {64, 3, 2, 1}, {table, ids})};
    }, 0.0);
}

TEST_P(ExampleWeights, MulMatWithBroadcastBatches) {
    expect_same([](GraphHarness& h) {
        const int a = h.leaf(GetParam(), {64, 5, 2, 1}, random_floats(640, 2));
        const int b = h.leaf(SL_DTYPE_F32, {64, 3, 4, 1}, random_floats(768, 3));
        return std::vector{h.node(SL_OP_MUL_MAT, {5, 3, 4, 1}, {a, b})};
    }, 1e-5);
}

TEST_P(ExampleWeights, MulMatWithTransposedB) {
    expect_same([](GraphHarness& h) {
        const int a = h.leaf(GetParam(), {32, 4, 1, 1}, random_floats(128, 4));
        const int p = h.leaf(SL_DTYPE_F32, {3, 32, 1, 1}, random_floats(96, 5));
        const int b = h.view(p, {32, 3, 1, 1}, {12, 4, 384, 384}, 0);
        return std::vector{h.node(SL_OP_MUL_MAT, {4, 3, 1, 1}, {a, b})};
    }, 1e-5);
}

INSTANTIATE_TEST_SUITE_P(Types, ExampleWeights,
                         ::testing::Values(SL_DTYPE_F32, SL_DTYPE_F16, SL_DTYPE_BF16, SL_DTYPE_Q8_0, SL_DTYPE_Q4_0),
                         [](const auto& info) { return std::string(dtype_name(static_cast<DType>(info.param))); });

TEST(ExamplePlugin, ElementwiseOpsWithBroadcastAndViews) {
    expect_same([](GraphHarness& h) {
        const Ne an{6, 4, 3, 2}, bn{3, 2, 1, 2};
        const int a = h.leaf(SL_DTYPE_F32, an, random_floats(count(an), 6));
        const int b = h.leaf(SL_DTYPE_F32, bn, random_floats(count(bn), 7));
        const int p = h.leaf(SL_DTYPE_F32, {10, 4, 1, 1}, random_floats(40, 8));
        const int x = h.view(p, {6, 3, 1, 1}, {4, 40, 120, 120}, 48);     // a slice
        const int xt = h.view(p, {4, 10, 1, 1}, {40, 4, 160, 160}, 0);    // the transpose
        return std::vector{h.node(SL_OP_ADD, an, {a, b}), h.node(SL_OP_MUL, an, {a, b}),
                           h.node(SL_OP_SCALE, {6, 3, 1, 1}, {x}, {fbits(-2.5f)}),
                           h.node(SL_OP_SILU, {6, 3, 1, 1}, {x}),
                           h.node(SL_OP_RMS_NORM, {4, 10, 1, 1}, {xt}, {fbits(1e-5f)})};
    }, 1e-6);
}

TEST(ExamplePlugin, RopeBothModes) {
    expect_same([](GraphHarness& h) {
        const int x = h.leaf(SL_DTYPE_F32, {8, 3, 4, 1}, random_floats(96, 9));
        const int pos = h.leaf_i32({4, 1, 1, 1}, {0, 5, 17, 300});
        return std::vector{
            h.node(SL_OP_ROPE, {8, 3, 4, 1}, {x, pos}, {6, SL_ROPE_ADJACENT, fbits(10000.0f), fbits(1.0f)}),
            h.node(SL_OP_ROPE, {8, 3, 4, 1}, {x, pos}, {8, SL_ROPE_HALVES, fbits(500000.0f), fbits(0.25f)})};
    }, 1e-4);
}

class ExampleKv : public ::testing::TestWithParam<sl_dtype> {};

TEST_P(ExampleKv, AttentionWithGroupsMaskAndUnwrittenSlots) {
    expect_same([](GraphHarness& h) {
        const int64_t D = 16, Hq = 4, Hkv = 2, T = 3, S = 6;
        const int q = h.leaf(SL_DTYPE_F32, {D, Hq, T, 1}, random_floats(D * Hq * T, 10));
        std::vector<float> kv = random_floats(D * Hkv * S, 11), vv = random_floats(D * Hkv * S, 12);
        // Slot 5 is never visible: NaN there must not leak into any output.
        for (int64_t i = 5 * D * Hkv; i < S * D * Hkv; ++i) kv[i] = vv[i] = std::numeric_limits<float>::quiet_NaN();
        const int k = h.leaf(GetParam(), {D, Hkv, S, 1}, kv);
        const int v = h.leaf(GetParam(), {D, Hkv, S, 1}, vv);
        const float inf = std::numeric_limits<float>::infinity();
        std::vector<float> mask(S * T, -inf);           // query 0 sees nothing: zeros
        for (int j = 0; j < 3; ++j) mask[S * 1 + j] = 0.0f;  // query 1 sees 0..2
        for (int j = 0; j < 5; ++j) mask[S * 2 + j] = j == 1 ? -0.5f : 0.0f;
        const int m = h.leaf(SL_DTYPE_F32, {S, T, 1, 1}, mask);
        return std::vector{h.node(SL_OP_ATTENTION, {D, Hq, T, 1}, {q, k, v, m}, {fbits(0.25f)})};
    }, 1e-5);
}

TEST_P(ExampleKv, AttentionWithoutMask) {
    expect_same([](GraphHarness& h) {
        const int q = h.leaf(SL_DTYPE_F32, {8, 2, 2, 1}, random_floats(32, 13));
        const int k = h.leaf(GetParam(), {8, 1, 5, 1}, random_floats(40, 14));
        const int v = h.leaf(GetParam(), {8, 1, 5, 1}, random_floats(40, 15));
        return std::vector{h.node(SL_OP_ATTENTION, {8, 2, 2, 1}, {q, k, v, -1}, {fbits(0.35f)})};
    }, 1e-5);
}

INSTANTIATE_TEST_SUITE_P(Types, ExampleKv, ::testing::Values(SL_DTYPE_F32, SL_DTYPE_F16),
                         [](const auto& info) { return std::string(dtype_name(static_cast<DType>(info.param))); });

TEST(ExamplePlugin, CopyConvertsIntoStridedViews) {
    for (const sl_dtype from : {SL_DTYPE_F32, SL_DTYPE_F16, SL_DTYPE_BF16})
        for (const sl_dtype to : {SL_DTYPE_F32, SL_DTYPE_F16, SL_DTYPE_BF16}) {
            SCOPED_TRACE(std::string(dtype_name(static_cast<DType>(from))) + " > " +
                         std::string(dtype_name(static_cast<DType>(to))));
            expect_same([&](GraphHarness& h) {
                std::vector<float> values = random_floats(24, 16);
                values[3] = 1e-6f;     // subnormal in F16
                values[4] = 70000.0f;  // beyond F16's range
                const int src = h.leaf(from, {6, 4, 1, 1}, values);
                const int dst_base = h.leaf(to, {4, 6, 1, 1}, std::vector<float>(24, 0.0f));
                const int64_t e = to == SL_DTYPE_F32 ? 4 : 2;
                const int dst = h.view(dst_base, {6, 4, 1, 1}, {4 * e, e, 24 * e, 24 * e}, 0);  // transposed
                h.copy(src, dst);
                return std::vector{dst_base};
            }, 0.0);
        }
}

TEST(ExamplePlugin, IdOutOfRangeIsAnInvalidArgumentAndWritesNothing) {
    GraphHarness h(example());
    const int table = h.leaf(SL_DTYPE_F32, {4, 3, 1, 1}, random_floats(12, 17));
    const int ids = h.leaf_i32({2, 1, 1, 1}, {1, 3});
    const int out = h.node(SL_OP_GET_ROWS, {4, 2, 1, 1}, {table, ids});
    EXPECT_EQ(h.run(), SL_ERR_INVALID_ARGUMENT);
    EXPECT_NE(h.error().find("outside [0, 3)"), std::string::npos) << h.error();
    for (float v : h.values(out)) EXPECT_TRUE(std::isnan(v));  // still the NaN poison
}

TEST(ExamplePlugin, KQuantsAreHonestlyUnsupported) {
    GraphHarness h(example());
    const int a = h.leaf(SL_DTYPE_F32, {256, 2, 1, 1}, random_floats(512, 18));
    h[a].dtype = SL_DTYPE_Q4_K;  // same bytes reinterpreted: a Q4_K [256, 2] fits in them
    h[a].nb[0] = 144;
    h[a].nb[1] = 144;
    h[a].nb[2] = h[a].nb[3] = 288;
    const int b = h.leaf(SL_DTYPE_F32, {256, 1, 1, 1}, random_floats(256, 19));
    const int out = h.node(SL_OP_MUL_MAT, {2, 1, 1, 1}, {a, b});
    EXPECT_EQ(h.supports(out), 0);
    EXPECT_EQ(h.run(), SL_ERR_UNSUPPORTED);
    EXPECT_NE(h.error().find("Q4_K"), std::string::npos) << h.error();
}

TEST(ExamplePlugin, MalformedGraphsAreRefusedBeforeAnythingRuns) {
    GraphHarness h(example());
    const int a = h.leaf(SL_DTYPE_F32, {4, 1, 1, 1}, random_floats(4, 20));
    const int first = h.node(SL_OP_SCALE, {4, 1, 1, 1}, {a}, {fbits(2.0f)});
    const int bad = h.node(SL_OP_ADD, {4, 1, 1, 1}, {a, 5});  // src[1] is not an earlier tensor
    EXPECT_EQ(h.supports(first), 1);
    EXPECT_EQ(h.supports(bad), 0);
    EXPECT_EQ(h.run(), SL_ERR_INVALID_ARGUMENT);
    EXPECT_TRUE(std::isnan(h.values(first)[0]));  // the valid first node did not run either
    h[bad].src[1] = a;
    h[bad].ne[0] = 3;  // output shape differs from a's
    EXPECT_EQ(h.run(), SL_ERR_INVALID_ARGUMENT);
    h[bad].ne[0] = 4;
    h[bad].addr = 64;  // an address in no buffer of the backend
    EXPECT_EQ(h.run(), SL_ERR_INVALID_ARGUMENT);
    EXPECT_NE(h.error().find("no buffer"), std::string::npos) << h.error();
}

TEST(ExamplePlugin, HandlesAndBuffers) {
    const sl_backend& b = example();
    sl_device device = nullptr;
    EXPECT_EQ(b.device_open(1, nullptr, &device), SL_ERR_INVALID_ARGUMENT);
    ASSERT_EQ(b.device_open(0, nullptr, &device), SL_OK) << b.last_error();
    sl_device_info info{};
    ASSERT_EQ(b.device_info(device, &info), SL_OK);
    EXPECT_STREQ(info.name, "example-cpu");
    sl_buffer buffer = nullptr;
    uint64_t base = 0;
    ASSERT_EQ(b.buffer_alloc(device, 100, &buffer, &base), SL_OK);
    EXPECT_EQ(base % 64, 0u);
    const char text[] = "hello";
    EXPECT_EQ(b.buffer_write(buffer, 95, text, 6), SL_ERR_INVALID_ARGUMENT);  // past the end
    EXPECT_EQ(b.buffer_write(buffer, 94, text, 6), SL_OK);
    char back[6] = {};
    EXPECT_EQ(b.buffer_read(buffer, 94, back, 6), SL_OK);
    EXPECT_STREQ(back, "hello");
    const float host[4] = {1, 2, 3, 4};
    sl_buffer wrapped = nullptr;
    ASSERT_EQ(b.buffer_from_host(device, host, sizeof host, &wrapped, &base), SL_OK);
    EXPECT_EQ(base, reinterpret_cast<uint64_t>(host));
    EXPECT_EQ(b.buffer_write(wrapped, 0, text, 4), SL_ERR_INVALID_ARGUMENT);  // read-only
    b.buffer_free(wrapped);
    b.buffer_free(buffer);
    EXPECT_EQ(b.buffer_read(buffer, 0, back, 1), SL_ERR_INVALID_ARGUMENT);  // stale handle
    EXPECT_NE(std::string(b.last_error()).find("not a live buffer"), std::string::npos);
    b.device_close(device);
    EXPECT_EQ(b.device_info(device, &info), SL_ERR_INVALID_ARGUMENT);
}

}  // namespace
}  // namespace suanli::testing
