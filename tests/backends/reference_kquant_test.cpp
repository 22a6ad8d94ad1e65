// GET_ROWS and MUL_MAT of the reference backend with K-quant weights (Q4_K, Q5_K,
// Q6_K): rows of whole 256-element super-blocks, dequantized exactly as
// dequantize_row does, against a double-precision computation.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "backends/reference/reference_backend.h"
#include "graph_harness.h"

namespace suanli::testing {
namespace {

class ReferenceKQuant : public ::testing::TestWithParam<sl_dtype> {};

TEST_P(ReferenceKQuant, GetRowsGathersDequantizedRows) {
    const sl_dtype type = GetParam();
    const int64_t E = 512, R = 6;  // two super-blocks per row
    GraphHarness h(reference_backend());
    const int table = h.leaf(type, {E, R, 1, 1}, random_floats(E * R, 21));
    const std::vector<int32_t> ids{5, 0, 3, 3, 1};
    const int id = h.leaf_i32({5, 1, 1, 1}, ids);
    const int out = h.node(SL_OP_GET_ROWS, {E, 5, 1, 1}, {table, id});
    EXPECT_EQ(h.supports(out), 1) << h.error();
    h.run_ok();
    const auto tv = h.values(table);  // the table as stored, dequantized by quant.h
    const auto got = h.values(out);
    for (int64_t n = 0; n < 5; ++n)
        for (int64_t e = 0; e < E; ++e) ASSERT_EQ(got[n * E + e], tv[ids[n] * E + e]) << n << ", " << e;
    EXPECT_TRUE(h.guards_intact());
}

TEST_P(ReferenceKQuant, MulMatDotsDequantizedRows) {
    const sl_dtype type = GetParam();
    const int64_t K = 768, M = 5, N = 3;
    GraphHarness h(reference_backend(), 2);
    const int a = h.leaf(type, {K, M, 1, 1}, random_floats(K * M, 31));
    const int b = h.leaf(SL_DTYPE_F32, {K, N, 1, 1}, random_floats(K * N, 32));
    const int out = h.node(SL_OP_MUL_MAT, {M, N, 1, 1}, {a, b});
    EXPECT_EQ(h.supports(out), 1) << h.error();
    h.run_ok();
    const auto av = h.values(a), bv = h.values(b), got = h.values(out);
    for (int64_t n = 0; n < N; ++n)
        for (int64_t m = 0; m < M; ++m) {
            double want = 0, mag = 0;
            for (int64_t k = 0; k < K; ++k) {
                want += static_cast<double>(av[m * K + k]) * bv[n * K + k];
                mag += std::fabs(static_cast<double>(av[m * K + k]) * bv[n * K + k]);
            }
            EXPECT_NEAR(got[n * M + m], want, 1e-5 * mag + 1e-6) << m << ", " << n;
        }
    EXPECT_TRUE(h.guards_intact());
}

TEST_P(ReferenceKQuant, RowsOfPartialSuperBlocksAreInvalid) {
    const sl_dtype type = GetParam();
    GraphHarness h(reference_backend());
    // 128 elements: not a whole super-block. The leaf is built as F32 bytes and relabelled,
    // since quantize_row refuses the shape too.
    const int a = h.leaf(SL_DTYPE_F32, {128, 2, 1, 1}, random_floats(256, 3));
    h[a].dtype = type;
    const int b = h.leaf(SL_DTYPE_F32, {128, 1, 1, 1}, random_floats(128, 4));
    const int out = h.node(SL_OP_MUL_MAT, {2, 1, 1, 1}, {a, b});
    EXPECT_EQ(h.supports(out), 0);
    EXPECT_NE(h.error().find("not a multiple of its block size 256"), std::string::npos) << h.error();
}

INSTANTIATE_TEST_SUITE_P(Types, ReferenceKQuant, ::testing::Values(SL_DTYPE_Q4_K, SL_DTYPE_Q5_K, SL_DTYPE_Q6_K),
                         [](const auto& info) { return std::string(dtype_name(static_cast<DType>(info.param))); });

}  // namespace
}  // namespace suanli::testing
