// Each op of the reference backend against a direct double-precision computation,
// with strided inputs, broadcasting, and sentinels around every tensor.
#include <gtest/gtest.h>

#include <cmath>
#include <ostream>
#include <vector>

#include "backends/reference/reference_backend.h"
#include "core/fp16.h"
#include "graph_harness.h"

namespace suanli::testing {
namespace {

void expect_close(const std::vector<float>& got, const std::vector<double>& want, double tol) {
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i)
        EXPECT_NEAR(got[i], want[i], tol * (1.0 + std::fabs(want[i]))) << "element " << i;
}

int64_t count(const Ne& ne) { return ne[0] * ne[1] * ne[2] * ne[3]; }

// ---- ADD / MUL ----

TEST(ReferenceOps, AddBroadcastsByRepetition) {
    GraphHarness h(reference_backend());
    const Ne an{6, 4, 3, 2}, bn{3, 2, 1, 2};
    const int a = h.leaf(SL_DTYPE_F32, an, random_floats(count(an), 1));
    const int b = h.leaf(SL_DTYPE_F32, bn, random_floats(count(bn), 2));
    const int out = h.node(SL_OP_ADD, an, {a, b});
    h.run_ok();
    const auto av = h.values(a), bv = h.values(b);
    std::vector<double> want(count(an));
    for (int64_t i3 = 0; i3 < an[3]; ++i3)
        for (int64_t i2 = 0; i2 < an[2]; ++i2)
            for (int64_t i1 = 0; i1 < an[1]; ++i1)
                for (int64_t i0 = 0; i0 < an[0]; ++i0)
                    want[flat(an, i0, i1, i2, i3)] = static_cast<double>(av[flat(an, i0, i1, i2, i3)]) +
                                                     bv[flat(bn, i0 % 3, i1 % 2, 0, i3 % 2)];
    expect_close(h.values(out), want, 1e-7);
    EXPECT_TRUE(h.guards_intact());
}

TEST(ReferenceOps, MulOfTransposedViewAndStridedBroadcast) {
    GraphHarness h(reference_backend());
    // a = the transpose of a [5, 7] leaf: a[i0, i1] = P[i1, i0].
    const int p = h.leaf(SL_DTYPE_F32, {5, 7, 1, 1}, random_floats(35, 3));
    const int a = h.view(p, {7, 5, 1, 1}, {20, 4, 140, 140}, 0);
    // b = every other element of a [14] leaf, shape [7, 1].
    const int q = h.leaf(SL_DTYPE_F32, {14, 1, 1, 1}, random_floats(14, 4));
    const int b = h.view(q, {7, 1, 1, 1}, {8, 56, 56, 56}, 4);
    const int out = h.node(SL_OP_MUL, {7, 5, 1, 1}, {a, b});
    h.run_ok();
    const auto pv = h.values(p), qv = h.values(q);
    std::vector<double> want(35);
    for (int64_t i1 = 0; i1 < 5; ++i1)
        for (int64_t i0 = 0; i0 < 7; ++i0)
            want[flat({7, 5, 1, 1}, i0, i1)] = static_cast<double>(pv[i1 + 5 * i0]) * qv[1 + 2 * i0];
    expect_close(h.values(out), want, 1e-7);
    EXPECT_TRUE(h.guards_intact());
}

// ---- SCALE / SILU / RMS_NORM ----

TEST(ReferenceOps, ScaleAndSiluOfASlice) {
    GraphHarness h(reference_backend());
    const int p = h.leaf(SL_DTYPE_F32, {10, 4, 1, 1}, random_floats(40, 5));
    // Columns 2..7 of rows 1..3.
    const int x = h.view(p, {6, 3, 1, 1}, {4, 40, 120, 120}, 40 + 8);
    const int s = h.node(SL_OP_SCALE, {6, 3, 1, 1}, {x}, {fbits(-2.5f)});
    const int y = h.node(SL_OP_SILU, {6, 3, 1, 1}, {x});
    h.run_ok();
    const auto pv = h.values(p);
    std::vector<double> ws(18), wy(18);
    for (int64_t i1 = 0; i1 < 3; ++i1)
        for (int64_t i0 = 0; i0 < 6; ++i0) {
            const double v = pv[(i1 + 1) * 10 + i0 + 2];
            ws[i1 * 6 + i0] = -2.5 * v;
            wy[i1 * 6 + i0] = v / (1.0 + std::exp(-v));
        }
    expect_close(h.values(s), ws, 1e-7);
    expect_close(h.values(y), wy, 1e-6);
    EXPECT_TRUE(h.guards_intact());
}

TEST(ReferenceOps, RmsNormOfStridedRows) {
    GraphHarness h(reference_backend());
    // Rows of 16 elements, every second row of a [16, 6] leaf.
    const int p = h.leaf(SL_DTYPE_F32, {16, 6, 1, 1}, random_floats(96, 6));
    const int x = h.view(p, {16, 3, 1, 1}, {4, 128, 384, 384}, 0);
    const float eps = 1e-5f;
    const int out = h.node(SL_OP_RMS_NORM, {16, 3, 1, 1}, {x}, {fbits(eps)});
    h.run_ok();
    const auto pv = h.values(p);
    std::vector<double> want(48);
    for (int64_t r = 0; r < 3; ++r) {
        double ss = 0;
        for (int64_t i = 0; i < 16; ++i) ss += static_cast<double>(pv[2 * r * 16 + i]) * pv[2 * r * 16 + i];
        const double inv = 1.0 / std::sqrt(ss / 16 + eps);
        for (int64_t i = 0; i < 16; ++i) want[r * 16 + i] = pv[2 * r * 16 + i] * inv;
    }
    expect_close(h.values(out), want, 1e-6);
    EXPECT_TRUE(h.guards_intact());
}

// ---- ROPE ----

struct RopeCase {
    int32_t mode;
    int32_t n_rot;
};

void PrintTo(const RopeCase& c, std::ostream* os) { *os << "mode " << c.mode << " n_rot " << c.n_rot; }

class ReferenceRope : public ::testing::TestWithParam<RopeCase> {};

TEST_P(ReferenceRope, RotatesPairsAndCopiesTheRest) {
    const auto [mode, n_rot] = GetParam();
    const int64_t D = 12, H = 3, T = 4;
    const float base = 10000.0f, fscale = 0.5f;
    GraphHarness h(reference_backend());
    // x is a [D, H, T] view whose heads are interleaved differently: the leaf is [D, T, H].
    const int p = h.leaf(SL_DTYPE_F32, {D, T, H, 1}, random_floats(D * H * T, 7));
    const int x = h.view(p, {D, H, T, 1}, {4, 4 * D * T, 4 * D, 4 * D * H * T}, 0);
    const std::vector<int32_t> positions{0, 1, 17, 100};
    const int pos = h.leaf_i32({T, 1, 1, 1}, positions);
    const int out =
        h.node(SL_OP_ROPE, {D, H, T, 1}, {x, pos}, {n_rot, mode, fbits(base), fbits(fscale)});
    h.run_ok();
    const auto pv = h.values(p);
    std::vector<double> want(D * H * T);
    for (int64_t t = 0; t < T; ++t)
        for (int64_t hh = 0; hh < H; ++hh) {
            const float* row = &pv[flat({D, T, H, 1}, 0, t, hh)];
            double* w = &want[flat({D, H, T, 1}, 0, hh, t)];
            for (int64_t i = 0; i < D; ++i) w[i] = row[i];
            for (int64_t i = 0; i < n_rot / 2; ++i) {
                const double theta = positions[t] * fscale * std::pow(base, -2.0 * i / n_rot);
                const int64_t ia = mode == SL_ROPE_ADJACENT ? 2 * i : i;
                const int64_t ib = mode == SL_ROPE_ADJACENT ? 2 * i + 1 : i + n_rot / 2;
                w[ia] = row[ia] * std::cos(theta) - row[ib] * std::sin(theta);
                w[ib] = row[ia] * std::sin(theta) + row[ib] * std::cos(theta);
            }
        }
    expect_close(h.values(out), want, 2e-5);
    EXPECT_TRUE(h.guards_intact());
}

INSTANTIATE_TEST_SUITE_P(Modes, ReferenceRope,
                         ::testing::Values(RopeCase{SL_ROPE_ADJACENT, 12}, RopeCase{SL_ROPE_ADJACENT, 8},
                                           RopeCase{SL_ROPE_HALVES, 12}, RopeCase{SL_ROPE_HALVES, 8}),
                         [](const auto& info) {
                             return std::string(info.param.mode == SL_ROPE_ADJACENT ? "Adjacent" : "Halves") +
                                    "Rot" + std::to_string(info.param.n_rot);
                         });

// ---- GET_ROWS ----

class ReferenceGetRows : public ::testing::TestWithParam<sl_dtype> {};

TEST_P(ReferenceGetRows, GathersRowsAsF32) {
    const sl_dtype type = GetParam();
    const int64_t E = 64, R = 5;
    GraphHarness h(reference_backend());
    const int table = h.leaf(type, {E, R, 1, 1}, random_floats(E * R, 8));
    const std::vector<int32_t> ids{4, 0, 2, 2, 1, 4};
    const int id = h.leaf_i32({3, 2, 1, 1}, ids);
    const int out = h.node(SL_OP_GET_ROWS, {E, 3, 2, 1}, {table, id});
    h.run_ok();
    // The table's stored values (after its own rounding/quantization), row by row.
    const auto tv = h.values(table);
    std::vector<double> want(E * 6);
    for (int64_t n = 0; n < 6; ++n)
        for (int64_t e = 0; e < E; ++e) want[n * E + e] = tv[ids[n] * E + e];
    expect_close(h.values(out), want, 0);
    EXPECT_TRUE(h.guards_intact());
}

INSTANTIATE_TEST_SUITE_P(Types, ReferenceGetRows,
                         ::testing::Values(SL_DTYPE_F32, SL_DTYPE_F16, SL_DTYPE_BF16, SL_DTYPE_Q8_0, SL_DTYPE_Q4_0),
                         [](const auto& info) { return std::string(dtype_name(static_cast<DType>(info.param))); });

// ---- COPY ----

TEST(ReferenceOps, CopyF32IntoAStridedF16View) {
    GraphHarness h(reference_backend());
    const int src = h.leaf(SL_DTYPE_F32, {4, 3, 1, 1}, random_floats(12, 9));
    // Destination: elements (1 + 2 i0, 2 i1) of an [8, 6] F16 tensor of zeros.
    const int big = h.leaf(SL_DTYPE_F16, {8, 6, 1, 1}, std::vector<float>(48, 0.0f));
    const int dst = h.view(big, {4, 3, 1, 1}, {4, 32, 96, 96}, 2);
    h.copy(src, dst);
    h.run_ok();
    const auto sv = h.values(src);
    std::vector<double> want(48, 0.0);
    for (int64_t i1 = 0; i1 < 3; ++i1)
        for (int64_t i0 = 0; i0 < 4; ++i0)
            want[(2 * i1) * 8 + 1 + 2 * i0] = f16_to_f32(f32_to_f16(sv[i1 * 4 + i0]));
    expect_close(h.values(big), want, 0);
    EXPECT_TRUE(h.guards_intact());
}

TEST(ReferenceOps, CopyTransposedF16IntoDenseF32AndBF16) {
    GraphHarness h(reference_backend());
    const int p = h.leaf(SL_DTYPE_F16, {3, 5, 1, 1}, random_floats(15, 10));
    const int src = h.view(p, {5, 3, 1, 1}, {6, 2, 30, 30}, 0);  // transpose
    const int d32 = h.leaf(SL_DTYPE_F32, {5, 3, 1, 1}, std::vector<float>(15, 0.0f));
    const int d16 = h.leaf(SL_DTYPE_BF16, {5, 3, 1, 1}, std::vector<float>(15, 0.0f));
    h.copy(src, d32);
    h.copy(src, d16);
    h.run_ok();
    const auto pv = h.values(p);
    std::vector<double> w32(15), wbf(15);
    for (int64_t i1 = 0; i1 < 3; ++i1)
        for (int64_t i0 = 0; i0 < 5; ++i0) {
            w32[i1 * 5 + i0] = pv[i0 * 3 + i1];
            wbf[i1 * 5 + i0] = bf16_to_f32(f32_to_bf16(pv[i0 * 3 + i1]));
        }
    expect_close(h.values(d32), w32, 0);
    expect_close(h.values(d16), wbf, 0);
    EXPECT_TRUE(h.guards_intact());
}

}  // namespace
}  // namespace suanli::testing
