// The reference backend's C ABI: devices, buffers, handles, and how malformed
// graphs are refused (status plus a message naming the node and op).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "backends/reference/reference_backend.h"
#include "graph_harness.h"

namespace suanli::testing {
namespace {

// EXPECT that `text` (a std::string or C string) contains `part`.
#define EXPECT_CONTAINS(text, part)                                               \
    do {                                                                          \
        const std::string text_ = (text);                                         \
        EXPECT_NE(text_.find(part), std::string::npos) << "in: " << text_;        \
    } while (0)

const sl_backend& be() { return reference_backend(); }

TEST(ReferenceAbi, TableAndDevice) {
    EXPECT_EQ(be().abi_version, SL_BACKEND_ABI_VERSION);
    EXPECT_EQ(be().struct_size, sizeof(sl_backend));
    EXPECT_STREQ(be().name, "reference");
    EXPECT_EQ(be().device_count(), 1);

    sl_device dev = nullptr;
    ASSERT_EQ(be().device_open(0, nullptr, &dev), SL_OK) << be().last_error();
    sl_device_info info{};
    ASSERT_EQ(be().device_info(dev, &info), SL_OK);
    EXPECT_STREQ(info.name, "reference");
    EXPECT_STREQ(info.description, "plain C++ loops (the oracle)");
    EXPECT_GT(info.memory_total, 0u);
    be().device_close(dev);

    EXPECT_EQ(be().device_open(1, nullptr, &dev), SL_ERR_INVALID_ARGUMENT);
    EXPECT_CONTAINS(std::string(be().last_error()), "device index 1");
    sl_device_config bad{sizeof(sl_device_config), -2};
    EXPECT_EQ(be().device_open(0, &bad, &dev), SL_ERR_INVALID_ARGUMENT);
    // A closed or foreign handle is refused, not dereferenced.
    EXPECT_EQ(be().device_info(reinterpret_cast<sl_device>(&info), &info), SL_ERR_INVALID_ARGUMENT);
    EXPECT_CONTAINS(std::string(be().last_error()), "device_info");
}

TEST(ReferenceAbi, BuffersAreBoundsChecked) {
    sl_device dev = nullptr;
    ASSERT_EQ(be().device_open(0, nullptr, &dev), SL_OK);
    sl_buffer buf = nullptr;
    uint64_t base = 0;
    ASSERT_EQ(be().buffer_alloc(dev, 100, &buf, &base), SL_OK);
    EXPECT_EQ(base % 64, 0u);

    std::vector<unsigned char> data(100), back(100);
    for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<unsigned char>(i * 7);
    ASSERT_EQ(be().buffer_write(buf, 0, data.data(), 100), SL_OK);
    ASSERT_EQ(be().buffer_read(buf, 0, back.data(), 100), SL_OK);
    EXPECT_EQ(data, back);
    ASSERT_EQ(be().buffer_read(buf, 90, back.data(), 10), SL_OK);
    EXPECT_EQ(back[0], data[90]);
    EXPECT_EQ(be().buffer_write(buf, 100, data.data(), 0), SL_OK);

    EXPECT_EQ(be().buffer_write(buf, 91, data.data(), 10), SL_ERR_INVALID_ARGUMENT);
    EXPECT_CONTAINS(std::string(be().last_error()), "outside the buffer of 100 bytes");
    EXPECT_EQ(be().buffer_read(buf, std::numeric_limits<uint64_t>::max(), back.data(), 2), SL_ERR_INVALID_ARGUMENT);
    be().buffer_free(buf);
    EXPECT_EQ(be().buffer_read(buf, 0, back.data(), 1), SL_ERR_INVALID_ARGUMENT);  // freed handle
    EXPECT_CONTAINS(std::string(be().last_error()), "not a live buffer");
    be().buffer_free(nullptr);

    EXPECT_EQ(be().buffer_alloc(dev, std::numeric_limits<uint64_t>::max() / 2, &buf, &base), SL_ERR_OUT_OF_MEMORY);
    be().device_close(dev);
}

TEST(ReferenceAbi, HostMemoryIsWrappedReadOnly) {
    sl_device dev = nullptr;
    ASSERT_EQ(be().device_open(0, nullptr, &dev), SL_OK);
    std::vector<float> host{1.0f, 2.0f, 3.0f, 4.0f};
    sl_buffer buf = nullptr;
    uint64_t base = 0;
    ASSERT_EQ(be().buffer_from_host(dev, host.data(), 16, &buf, &base), SL_OK);
    EXPECT_EQ(base, reinterpret_cast<uint64_t>(host.data()));
    host[2] = 30.0f;  // no copy: the buffer sees the caller's memory
    float back[4];
    ASSERT_EQ(be().buffer_read(buf, 0, back, 16), SL_OK);
    EXPECT_EQ(back[2], 30.0f);
    EXPECT_EQ(be().buffer_write(buf, 0, back, 4), SL_ERR_INVALID_ARGUMENT);

    // A graph reads the wrapped memory, but may not write into it.
    std::vector<sl_tensor> t(2);
    t[0] = GraphHarness::blank(SL_DTYPE_F32, {4, 1, 1, 1});
    t[0].addr = base;
    t[1] = GraphHarness::blank(SL_DTYPE_F32, {4, 1, 1, 1});
    t[1].op = SL_OP_SCALE;
    t[1].src[0] = 0;
    t[1].params[0] = fbits(2.0f);
    t[1].addr = base;  // in place, into read-only memory
    const sl_graph g{t.data(), 2};
    EXPECT_EQ(be().graph_compute(dev, &g), SL_ERR_INVALID_ARGUMENT);
    EXPECT_CONTAINS(std::string(be().last_error()), "read-only");
    EXPECT_EQ(host[0], 1.0f);

    sl_buffer out = nullptr;
    uint64_t out_base = 0;
    ASSERT_EQ(be().buffer_alloc(dev, 16, &out, &out_base), SL_OK);
    t[1].addr = out_base;
    ASSERT_EQ(be().graph_compute(dev, &g), SL_OK) << be().last_error();
    ASSERT_EQ(be().buffer_read(out, 0, back, 16), SL_OK);
    EXPECT_EQ(back[2], 60.0f);

    // A tensor outside every buffer.
    t[1].addr = out_base + 8;
    EXPECT_EQ(be().graph_compute(dev, &g), SL_ERR_INVALID_ARGUMENT);
    EXPECT_CONTAINS(std::string(be().last_error()), "node 1 (SCALE)");
    EXPECT_CONTAINS(std::string(be().last_error()), "no buffer");

    be().buffer_free(out);
    be().buffer_free(buf);
    be().device_close(dev);
}

TEST(ReferenceAbi, NewBuffersArePoisonedWithNaN) {
    sl_device dev = nullptr;
    ASSERT_EQ(be().device_open(0, nullptr, &dev), SL_OK);
    sl_buffer buf = nullptr;
    uint64_t base = 0;
    ASSERT_EQ(be().buffer_alloc(dev, 8, &buf, &base), SL_OK);
    float back[2];
    ASSERT_EQ(be().buffer_read(buf, 0, back, 8), SL_OK);
    EXPECT_TRUE(std::isnan(back[0]) && std::isnan(back[1]));
    be().buffer_free(buf);
    be().device_close(dev);
}

// ---- malformed graphs ----

TEST(ReferenceGraphErrors, OperandMustComeBeforeTheNode) {
    GraphHarness h(be());
    const int x = h.leaf(SL_DTYPE_F32, {4, 1, 1, 1}, {1, 2, 3, 4});
    const int s = h.node(SL_OP_SCALE, {4, 1, 1, 1}, {x}, {fbits(2.0f)});
    h[s].src[0] = s;  // itself
    EXPECT_EQ(h.supports(s), 0);
    EXPECT_CONTAINS(h.error(), "node 1 (SCALE)");
    EXPECT_EQ(h.run(), SL_ERR_INVALID_ARGUMENT);
    EXPECT_CONTAINS(h.error(), "node 1 (SCALE): src[0] = 1 is not an earlier tensor");
    h[s].src[0] = 7;
    EXPECT_EQ(h.run(), SL_ERR_INVALID_ARGUMENT);
    h[s].src[0] = x;
    h[s].src[1] = x;  // SCALE takes one operand
    EXPECT_EQ(h.run(), SL_ERR_INVALID_ARGUMENT);
    EXPECT_CONTAINS(h.error(), "src[1]");
    h[s].src[1] = -1;
    EXPECT_EQ(h.supports(s), 1);
    EXPECT_EQ(h.run(), SL_OK) << h.error();
}

TEST(ReferenceGraphErrors, MulMatInnerDimensionsMustAgree) {
    GraphHarness h(be());
    const int a = h.leaf(SL_DTYPE_F32, {32, 4, 1, 1}, std::vector<float>(128, 1.0f));
    const int b = h.leaf(SL_DTYPE_F32, {16, 2, 1, 1}, std::vector<float>(32, 1.0f));
    const int out = h.node(SL_OP_MUL_MAT, {4, 2, 1, 1}, {a, b});
    EXPECT_EQ(h.supports(out), 0);
    EXPECT_EQ(h.run(), SL_ERR_INVALID_ARGUMENT);
    EXPECT_CONTAINS(h.error(), "node 2 (MUL_MAT): inner dimensions differ");
}

TEST(ReferenceGraphErrors, GetRowsIdOutOfRangeWritesNothing) {
    GraphHarness h(be());
    const int table = h.leaf(SL_DTYPE_Q8_0, {32, 4, 1, 1}, random_floats(128, 3));
    const int ids = h.leaf_i32({2, 1, 1, 1}, {1, 4});
    const int out = h.node(SL_OP_GET_ROWS, {32, 2, 1, 1}, {table, ids});
    EXPECT_EQ(h.supports(out), 1);  // the ids' values are only known when it runs
    EXPECT_EQ(h.run(), SL_ERR_INVALID_ARGUMENT);
    EXPECT_CONTAINS(h.error(), "node 2 (GET_ROWS): ids[1, 0, 0] = 4 is outside the table's rows [0, 4)");
    for (float v : h.values(out)) EXPECT_TRUE(std::isnan(v));
    h.leaf_i32({1, 1, 1, 1}, {0});  // unused leaf: harmless
    EXPECT_EQ(h.run(), SL_ERR_INVALID_ARGUMENT);
}

TEST(ReferenceGraphErrors, AMalformedNodeStopsTheWholeGraphBeforeAnyRuns) {
    GraphHarness h(be());
    const int x = h.leaf(SL_DTYPE_F32, {4, 2, 1, 1}, std::vector<float>(8, 1.0f));
    const int first = h.node(SL_OP_SILU, {4, 2, 1, 1}, {x});
    const int bad = h.node(SL_OP_ADD, {4, 2, 1, 1}, {first, h.leaf(SL_DTYPE_F32, {3, 1, 1, 1}, {1, 2, 3})});
    EXPECT_EQ(h.run(), SL_ERR_INVALID_ARGUMENT);
    EXPECT_CONTAINS(h.error(), "node 3 (ADD): b [3, 1, 1, 1] does not broadcast");
    (void)bad;
    for (float v : h.values(first)) EXPECT_TRUE(std::isnan(v)) << "node 1 must not have run";
}

TEST(ReferenceGraphErrors, UnsupportedTypesAndModes) {
    GraphHarness h(be());
    const int ai = h.leaf_i32({4, 2, 1, 1}, std::vector<int32_t>(8, 1));
    const int b = h.leaf(SL_DTYPE_F32, {4, 3, 1, 1}, std::vector<float>(12, 1.0f));
    const int mm = h.node(SL_OP_MUL_MAT, {2, 3, 1, 1}, {ai, b});
    EXPECT_EQ(h.supports(mm), 0);
    EXPECT_CONTAINS(h.error(), "MUL_MAT");
    EXPECT_EQ(h.run(), SL_ERR_UNSUPPORTED);

    GraphHarness r(be());
    const int x = r.leaf(SL_DTYPE_F32, {4, 1, 2, 1}, std::vector<float>(8, 1.0f));
    const int pos = r.leaf_i32({2, 1, 1, 1}, {0, 1});
    const int rope = r.node(SL_OP_ROPE, {4, 1, 2, 1}, {x, pos}, {4, 1, fbits(10000.0f), fbits(1.0f)});
    EXPECT_EQ(r.run(), SL_ERR_UNSUPPORTED);
    EXPECT_CONTAINS(r.error(), "node 2 (ROPE): rope mode 1");
    r[rope].params[1] = SL_ROPE_HALVES;
    r[rope].params[0] = 5;  // odd n_rot
    EXPECT_EQ(r.run(), SL_ERR_INVALID_ARGUMENT);
    r[rope].params[0] = 4;
    EXPECT_EQ(r.run(), SL_OK) << r.error();
    r[rope].op = 99;
    EXPECT_EQ(r.run(), SL_ERR_UNSUPPORTED);
    EXPECT_CONTAINS(r.error(), "op code 99");
}

TEST(ReferenceGraphErrors, AttentionHeadsMustGroup) {
    GraphHarness h(be());
    const int q = h.leaf(SL_DTYPE_F32, {8, 3, 1, 1}, std::vector<float>(24, 1.0f));
    const int k = h.leaf(SL_DTYPE_F16, {8, 2, 4, 1}, std::vector<float>(64, 1.0f));
    const int v = h.leaf(SL_DTYPE_F16, {8, 2, 4, 1}, std::vector<float>(64, 1.0f));
    const int at = h.node(SL_OP_ATTENTION, {8, 3, 1, 1}, {q, k, v, -1}, {fbits(1.0f)});
    EXPECT_EQ(h.run(), SL_ERR_INVALID_ARGUMENT);
    EXPECT_CONTAINS(h.error(), "node 3 (ATTENTION): Hq = 3 is not a multiple of Hkv = 2");
    h[at].src[2] = -1;  // v is required
    EXPECT_EQ(h.supports(at), 0);
    EXPECT_CONTAINS(h.error(), "src[2] is missing");
}

TEST(ReferenceGraphErrors, OutputMustBeDenseF32) {
    GraphHarness h(be());
    const int x = h.leaf(SL_DTYPE_F32, {4, 2, 1, 1}, std::vector<float>(8, 1.0f));
    const int y = h.node(SL_OP_SILU, {4, 2, 1, 1}, {x});
    h[y].nb[1] = 32;
    EXPECT_EQ(h.supports(y), 0);
    EXPECT_CONTAINS(h.error(), "not contiguous");
    h[y].nb[1] = 16;
    h[y].ne[1] = 3;
    EXPECT_EQ(h.supports(y), 0);
    EXPECT_CONTAINS(h.error(), "output has shape [4, 3, 1, 1]; expected [4, 2, 1, 1]");
}

TEST(ReferenceGraphErrors, SupportsOpRangeAndLeaves) {
    GraphHarness h(be());
    const int x = h.leaf(SL_DTYPE_F32, {4, 1, 1, 1}, {1, 2, 3, 4});
    EXPECT_EQ(h.supports(x), 1);  // a leaf needs nothing
    EXPECT_EQ(h.supports(5), 0);
    EXPECT_CONTAINS(h.error(), "node 5 is out of range");
    EXPECT_EQ(be().supports_op(h.device(), nullptr, 0), 0);
    EXPECT_EQ(be().graph_compute(h.device(), nullptr), SL_ERR_INVALID_ARGUMENT);
}

}  // namespace
}  // namespace suanli::testing
