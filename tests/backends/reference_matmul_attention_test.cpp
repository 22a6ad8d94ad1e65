// MUL_MAT and ATTENTION of the reference backend against double-precision sums.
#include <gtest/gtest.h>

#include <cmath>
#include <ostream>
#include <limits>
#include <vector>

#include "backends/reference/reference_backend.h"
#include "graph_harness.h"

namespace suanli::testing {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

// ---- MUL_MAT ----

struct MatMulCase {
    sl_dtype a_type;
    int64_t a2, b2, a3, b3;
};

void PrintTo(const MatMulCase& c, std::ostream* os) {
    *os << dtype_name(static_cast<DType>(c.a_type)) << " A2=" << c.a2 << " B2=" << c.b2 << " A3=" << c.a3
        << " B3=" << c.b3;
}

class ReferenceMulMat : public ::testing::TestWithParam<MatMulCase> {};

TEST_P(ReferenceMulMat, MatchesDoubleSumWithBroadcastBatches) {
    const MatMulCase c = GetParam();
    const int64_t K = 96, M = 5, N = 3;
    GraphHarness h(reference_backend());
    const Ne an{K, M, c.a2, c.a3};
    const int a = h.leaf(c.a_type, an, random_floats(K * M * c.a2 * c.a3, 11));
    // B is the transpose of an [N, K, B2, B3] leaf: columns are strided.
    const int bt = h.leaf(SL_DTYPE_F32, {N, K, c.b2, c.b3}, random_floats(N * K * c.b2 * c.b3, 12));
    const int b = h.view(bt, {K, N, c.b2, c.b3}, {4 * N, 4, 4 * N * K, 4 * N * K * c.b2}, 0);
    const Ne on{M, N, c.b2, c.b3};
    const int out = h.node(SL_OP_MUL_MAT, on, {a, b});
    h.run_ok();

    const auto av = h.values(a), bv = h.values(b), got = h.values(out);
    const Ne bn{K, N, c.b2, c.b3};
    for (int64_t i3 = 0; i3 < c.b3; ++i3)
        for (int64_t i2 = 0; i2 < c.b2; ++i2)
            for (int64_t n = 0; n < N; ++n)
                for (int64_t m = 0; m < M; ++m) {
                    double sum = 0, mag = 0;
                    for (int64_t k = 0; k < K; ++k) {
                        const double p = static_cast<double>(av[flat(an, k, m, i2 / (c.b2 / c.a2), i3 / (c.b3 / c.a3))]) *
                                         bv[flat(bn, k, n, i2, i3)];
                        sum += p;
                        mag += std::fabs(p);
                    }
                    EXPECT_NEAR(got[flat(on, m, n, i2, i3)], sum, 1e-6 * mag + 1e-7)
                        << "m " << m << " n " << n << " i2 " << i2 << " i3 " << i3;
                }
    EXPECT_TRUE(h.guards_intact());
}

INSTANTIATE_TEST_SUITE_P(
    Types, ReferenceMulMat,
    ::testing::Values(MatMulCase{SL_DTYPE_F32, 1, 3, 1, 1}, MatMulCase{SL_DTYPE_F16, 1, 3, 1, 1},
                      MatMulCase{SL_DTYPE_BF16, 1, 3, 1, 1}, MatMulCase{SL_DTYPE_Q8_0, 1, 3, 1, 1},
                      MatMulCase{SL_DTYPE_Q4_0, 1, 3, 1, 1}, MatMulCase{SL_DTYPE_F32, 2, 4, 1, 2},
                      MatMulCase{SL_DTYPE_Q8_0, 2, 2, 2, 2}, MatMulCase{SL_DTYPE_Q4_0, 1, 1, 1, 3}),
    [](const auto& info) {
        const MatMulCase& c = info.param;
        return std::string(dtype_name(static_cast<DType>(c.a_type))) + "_A" + std::to_string(c.a2) +
               "x" + std::to_string(c.a3) + "_B" + std::to_string(c.b2) + "x" + std::to_string(c.b3);
    });

// ---- ATTENTION ----

struct AttentionCase {
    sl_dtype kv_type;
    bool mask;
};

void PrintTo(const AttentionCase& c, std::ostream* os) {
    *os << "kv " << dtype_name(static_cast<DType>(c.kv_type)) << (c.mask ? " masked" : " no mask");
}

class ReferenceAttention : public ::testing::TestWithParam<AttentionCase> {};

// GQA with Hq = 4, Hkv = 2; k and v are strided views of a [D, S_max, Hkv] cache.
// With the mask: causal after 2 past tokens; query 3 sees nothing (zeros); key 5 is
// masked for every query and holds NaN, which must not leak into any output.
TEST_P(ReferenceAttention, MatchesSoftmaxInDouble) {
    const auto [kv_type, use_mask] = GetParam();
    const int64_t D = 8, Hq = 4, Hkv = 2, T = 4, Smax = 9;
    const int64_t S = use_mask ? 6 : 5;
    const float scale = 1.0f / std::sqrt(static_cast<float>(D));
    GraphHarness h(reference_backend());

    const int q = h.leaf(SL_DTYPE_F32, {D, Hq, T, 1}, random_floats(D * Hq * T, 21));
    auto cache = [&](uint32_t seed) {
        std::vector<float> v = random_floats(D * Smax * Hkv, seed);
        for (int64_t g = 0; g < Hkv; ++g)
            for (int64_t d = 0; d < D; ++d) v[flat({D, Smax, Hkv, 1}, d, 5, g)] = std::nanf("");
        return v;
    };
    const int kc = h.leaf(kv_type, {D, Smax, Hkv, 1}, cache(22));
    const int vc = h.leaf(kv_type, {D, Smax, Hkv, 1}, cache(23));
    const int64_t es = kv_type == SL_DTYPE_F32 ? 4 : 2;
    const Ne kvn{D, Hkv, S, 1}, kvb{es, es * D * Smax, es * D, es * D * Smax * Hkv};
    const int k = h.view(kc, kvn, kvb, 0);
    const int v = h.view(vc, kvn, kvb, 0);

    std::vector<float> maskv(S * T, 0.0f);
    for (int64_t t = 0; t < T; ++t)
        for (int64_t j = 0; j < S; ++j)
            if (j > 2 + t || j == 5 || t == 3) maskv[t * S + j] = -kInf;
    const int mask = use_mask ? h.leaf(SL_DTYPE_F32, {S, T, 1, 1}, maskv) : -1;
    const int out = h.node(SL_OP_ATTENTION, {D, Hq, T, 1}, {q, k, v, mask}, {fbits(scale)});
    h.run_ok();

    const auto qv = h.values(q), kv = h.values(k), vv = h.values(v), got = h.values(out);
    for (int64_t t = 0; t < T; ++t)
        for (int64_t hh = 0; hh < Hq; ++hh) {
            const int64_t g = hh / (Hq / Hkv);
            std::vector<double> s(S);
            double mx = -INFINITY;
            for (int64_t j = 0; j < S; ++j) {
                const double m = use_mask ? maskv[t * S + j] : 0.0;
                if (m == -INFINITY) {
                    s[j] = -INFINITY;
                    continue;
                }
                double dot = 0;
                for (int64_t d = 0; d < D; ++d)
                    dot += static_cast<double>(qv[flat({D, Hq, T, 1}, d, hh, t)]) * kv[flat(kvn, d, g, j)];
                s[j] = scale * dot + m;
                mx = std::max(mx, s[j]);
            }
            double sum = 0;
            for (int64_t j = 0; j < S; ++j) sum += s[j] == -INFINITY ? 0.0 : std::exp(s[j] - mx);
            for (int64_t d = 0; d < D; ++d) {
                double want = 0;
                if (mx != -INFINITY)
                    for (int64_t j = 0; j < S; ++j)
                        if (s[j] != -INFINITY) want += std::exp(s[j] - mx) / sum * vv[flat(kvn, d, g, j)];
                const float gv = got[flat({D, Hq, T, 1}, d, hh, t)];
                if (use_mask && t == 3) {
                    EXPECT_EQ(gv, 0.0f) << "a fully masked query gives zeros";
                } else {
                    EXPECT_NEAR(gv, want, 2e-6) << "t " << t << " h " << hh << " d " << d;
                }
            }
        }
    EXPECT_TRUE(h.guards_intact());
}

INSTANTIATE_TEST_SUITE_P(Cases, ReferenceAttention,
                         ::testing::Values(AttentionCase{SL_DTYPE_F32, true}, AttentionCase{SL_DTYPE_F16, true},
                                           AttentionCase{SL_DTYPE_F16, false}),
                         [](const auto& info) {
                             return std::string(info.param.kv_type == SL_DTYPE_F32 ? "F32" : "F16") +
                                    (info.param.mask ? "Masked" : "NoMask");
                         });

// ---- threads ----

// A mul_mat and an attention large enough to be split across threads give the
// same bits as a single thread.
TEST(ReferenceThreads, ResultsDoNotDependOnThreadCount) {
    auto run = [](int32_t n_threads) {
        GraphHarness h(reference_backend(), n_threads);
        const int64_t K = 256, M = 64, N = 20;
        const int a = h.leaf(SL_DTYPE_Q8_0, {K, M, 1, 1}, random_floats(K * M, 31));
        const int b = h.leaf(SL_DTYPE_F32, {K, N, 1, 1}, random_floats(K * N, 32));
        const int mm = h.node(SL_OP_MUL_MAT, {M, N, 1, 1}, {a, b});
        const int64_t D = 64, Hq = 8, Hkv = 2, T = 16, S = 32;
        const int q = h.leaf(SL_DTYPE_F32, {D, Hq, T, 1}, random_floats(D * Hq * T, 33));
        const int k = h.leaf(SL_DTYPE_F16, {D, Hkv, S, 1}, random_floats(D * Hkv * S, 34));
        const int v = h.leaf(SL_DTYPE_F16, {D, Hkv, S, 1}, random_floats(D * Hkv * S, 35));
        const int at = h.node(SL_OP_ATTENTION, {D, Hq, T, 1}, {q, k, v, -1}, {fbits(0.125f)});
        EXPECT_EQ(h.run(), SL_OK) << h.error();
        std::vector<float> r = h.values(mm);
        const std::vector<float> r2 = h.values(at);
        r.insert(r.end(), r2.begin(), r2.end());
        return r;
    };
    const std::vector<float> one = run(1), three = run(3);
    ASSERT_EQ(one.size(), three.size());
    for (size_t i = 0; i < one.size(); ++i) ASSERT_EQ(one[i], three[i]) << i;
}

}  // namespace
}  // namespace suanli::testing
