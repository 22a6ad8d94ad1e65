// The cpu backend against the reference backend: every op and weight dtype on
// random inputs (NMSE bounds per op), decode (N = 1) and prompt (N > 1) shapes,
// odd sizes, strided inputs; every ISA path the host has (forced in turn); and
// the same bits for 1, 2 and 3 threads.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <ostream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/kernels.h"
#include "backends/cpu/thread_pool.h"
#include "backends/reference/reference_backend.h"
#include "graph_harness.h"

namespace suanli::testing {
namespace {

using cpu::Isa;
using Build = std::function<int(GraphHarness&)>;  // builds a graph, returns the tensor to compare

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr Isa kIsas[] = {Isa::Scalar, Isa::Avx2, Isa::Avx512, Isa::Neon, Isa::NeonDot};

// Runs the graph on a fresh device of `backend` and returns the output values.
std::vector<float> run_on(const sl_backend& backend, int threads, const Build& build) {
    GraphHarness h(backend, threads);
    const int out = build(h);
    const sl_status s = h.run();
    EXPECT_EQ(s, SL_OK) << h.error();
    EXPECT_TRUE(h.guards_intact()) << backend.name << " wrote past a tensor";
    return h.values(out);
}

// The cpu backend with kernel path `isa`.
std::vector<float> run_cpu(Isa isa, int threads, const Build& build) {
    EXPECT_TRUE(cpu::force_isa(isa));
    std::vector<float> v = run_on(cpu_backend(), threads, build);
    cpu::clear_forced_isa();
    return v;
}

// Normalized mean squared error of `got` against `want`; NaN or Inf anywhere gives infinity.
double nmse(const std::vector<float>& got, const std::vector<float>& want) {
    EXPECT_EQ(got.size(), want.size());
    double err = 0, ref = 0;
    for (size_t i = 0; i < got.size() && i < want.size(); ++i) {
        if (!std::isfinite(got[i])) return kInf;
        const double d = static_cast<double>(got[i]) - want[i];
        err += d * d;
        ref += static_cast<double>(want[i]) * want[i];
    }
    return ref > 0 ? err / ref : err;
}

bool bitwise_equal(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// The cpu backend on every supported path and 1-3 threads, each within `tol` of the reference.
void expect_matches_reference(const Build& build, double tol, const std::string& what) {
    const std::vector<float> want = run_on(reference_backend(), 1, build);
    for (Isa isa : kIsas) {
        if (!cpu::isa_supported(isa)) continue;
        const std::vector<float> got = run_cpu(isa, 2, build);
        EXPECT_LE(nmse(got, want), tol) << what << " on " << cpu::isa_name(isa);
        EXPECT_TRUE(bitwise_equal(run_cpu(isa, 1, build), got)) << what << " on " << cpu::isa_name(isa) << ": 1 vs 2 threads";
        EXPECT_TRUE(bitwise_equal(run_cpu(isa, 3, build), got)) << what << " on " << cpu::isa_name(isa) << ": 3 vs 2 threads";
    }
}

// ---- MUL_MAT, per ISA path and weight dtype ----

struct MatMulParam {
    Isa isa;
    sl_dtype dtype;
};

void PrintTo(const MatMulParam& p, std::ostream* os) {
    *os << cpu::isa_name(p.isa) << "_" << dtype_name(static_cast<DType>(p.dtype));
}

class CpuMulMat : public ::testing::TestWithParam<MatMulParam> {
protected:
    void SetUp() override {
        if (!cpu::isa_supported(GetParam().isa)) GTEST_SKIP() << cpu::isa_name(GetParam().isa) << " is not available here";
    }

    // A [K, M, A2, A3] of the dtype times B [K, N, B2, B3]; `layout` 0: B dense,
    // 1: B transposed (nb[0] = 4N), 2: B rows padded (nb[1] = 4(K + 8)).
    static Build matmul(sl_dtype dtype, int64_t K, int64_t M, int64_t N, int layout = 0, Ne ab = {1, 1, 1, 1}) {
        return [=](GraphHarness& h) {
            const int64_t A2 = ab[0], A3 = ab[1], B2 = ab[2], B3 = ab[3];
            const int a = h.leaf(dtype, {K, M, A2, A3}, random_floats(static_cast<size_t>(K * M * A2 * A3), 7));
            int b;
            const size_t nb = static_cast<size_t>(K * N * B2 * B3);
            if (layout == 1) {
                const int bt = h.leaf(SL_DTYPE_F32, {N, K, B2, B3}, random_floats(nb, 8));
                b = h.view(bt, {K, N, B2, B3}, {4 * N, 4, 4 * N * K, 4 * N * K * B2}, 0);
            } else if (layout == 2) {
                const int bp = h.leaf(SL_DTYPE_F32, {K + 8, N, B2, B3}, random_floats(static_cast<size_t>((K + 8) * N * B2 * B3), 8));
                b = h.view(bp, {K, N, B2, B3}, {4, 4 * (K + 8), 4 * (K + 8) * N, 4 * (K + 8) * N * B2}, 16);
            } else {
                b = h.leaf(SL_DTYPE_F32, {K, N, B2, B3}, random_floats(nb, 8));
            }
            return h.node(SL_OP_MUL_MAT, {M, N, B2, B3}, {a, b});
        };
    }
};

bool is_k_quant(sl_dtype d) { return d == SL_DTYPE_Q4_K || d == SL_DTYPE_Q5_K || d == SL_DTYPE_Q6_K; }

TEST_P(CpuMulMat, MatchesReferenceAndScalarPath) {
    const auto [isa, dtype] = GetParam();
    const bool k_quant = is_k_quant(dtype);
    const bool quant = dtype == SL_DTYPE_Q8_0 || dtype == SL_DTYPE_Q4_0 || k_quant;
    struct Shape {
        int64_t K, M, N;
        int layout;
        Ne batch;
    };
    // K-quant rows are whole 256-element super-blocks.
    std::vector<Shape> shapes = k_quant ? std::vector<Shape>{
        {256, 37, 1, 0, {1, 1, 1, 1}},  {512, 37, 7, 0, {1, 1, 1, 1}},  {768, 33, 1, 1, {1, 1, 1, 1}},
        {256, 33, 6, 1, {1, 1, 1, 1}},  {512, 21, 3, 2, {1, 1, 1, 1}},  {256, 5, 3, 0, {2, 1, 4, 3}},
        {2048, 17, 2, 0, {1, 1, 1, 1}}, {256, 19, 17, 0, {1, 1, 1, 1}}, {512, 11, 9, 1, {1, 1, 1, 1}},
    } : std::vector<Shape>{
        {96, 37, 1, 0, {1, 1, 1, 1}},   {96, 37, 7, 0, {1, 1, 1, 1}},   {256, 64, 4, 0, {1, 1, 1, 1}},
        {32, 9, 5, 0, {1, 1, 1, 1}},    {160, 33, 1, 1, {1, 1, 1, 1}},  {160, 33, 6, 1, {1, 1, 1, 1}},
        {64, 21, 3, 2, {1, 1, 1, 1}},   {64, 5, 3, 0, {2, 1, 4, 3}},    {1024, 17, 2, 0, {1, 1, 1, 1}},
        // More columns than one tile holds (4 float, 8 quantized): full tiles and a remainder.
        {128, 19, 17, 0, {1, 1, 1, 1}}, {64, 11, 9, 1, {1, 1, 1, 1}},
    };
    if (!quant) {
        for (int64_t K : {1, 7, 37, 45}) {
            shapes.push_back({K, 13, 1, 0, {1, 1, 1, 1}});
            shapes.push_back({K, 13, 5, 1, {1, 1, 1, 1}});
        }
    }
    for (const Shape& s : shapes) {
        const std::string what = "K=" + std::to_string(s.K) + " M=" + std::to_string(s.M) + " N=" + std::to_string(s.N) +
                                 " layout=" + std::to_string(s.layout) + " B2=" + std::to_string(s.batch[2]);
        const Build build = matmul(dtype, s.K, s.M, s.N, s.layout, s.batch);
        const std::vector<float> want = run_on(reference_backend(), 1, build);
        const std::vector<float> got = run_cpu(isa, 2, build);
        // Quantized weights: B is quantized to 8 bits, allowed within the mul_mat tolerance.
        // Float weights: only the summation order differs.
        EXPECT_LE(nmse(got, want), quant ? 5e-4 : 1e-9) << what;
        // The same integers on every path: only the float summation order differs from scalar.
        if (isa != Isa::Scalar) {
            const std::vector<float> scalar = run_cpu(Isa::Scalar, 1, build);
            EXPECT_LE(nmse(got, scalar), 1e-10) << what;
            // NEON reduces each block to one int32 and scales it as scalar does: the same bits.
            if (quant && (isa == Isa::Neon || isa == Isa::NeonDot)) {
                EXPECT_TRUE(bitwise_equal(got, scalar)) << what;
            }
        }
    }
}

TEST_P(CpuMulMat, SameBitsOn1_2_3Threads) {
    const auto [isa, dtype] = GetParam();
    for (int64_t N : {1, 6}) {
        const Build build = matmul(dtype, 256, N == 1 ? 999 : 301, N);
        const std::vector<float> one = run_cpu(isa, 1, build);
        EXPECT_TRUE(bitwise_equal(run_cpu(isa, 2, build), one)) << "N=" << N << " 2 threads";
        EXPECT_TRUE(bitwise_equal(run_cpu(isa, 3, build), one)) << "N=" << N << " 3 threads";
    }
}

// Column c of a matmul has the same bits whether the matmul has 1 column or 13
// (full tiles of every kind, and a remainder), on 1 or 2 threads: a server may
// batch a request with others and still promise the tokens it gives alone.
TEST_P(CpuMulMat, ColumnBitsIndependentOfColumnCount) {
    const auto [isa, dtype] = GetParam();
    // 17 blocks for Q8_0/Q4_0 (an odd last block), 2 super-blocks for the K-quants.
    const int64_t K = is_k_quant(dtype) ? 512 : 544, M = 37, N = 13;
    const std::vector<float> a = random_floats(static_cast<size_t>(K * M), 7);
    const std::vector<float> b = random_floats(static_cast<size_t>(K * N), 8);
    auto matmul_of = [&](int64_t first, int64_t n) -> Build {
        return [=](GraphHarness& h) {
            const int wa = h.leaf(dtype, {K, M, 1, 1}, a);
            const int wb = h.leaf(SL_DTYPE_F32, {K, n, 1, 1},
                                  std::vector<float>(b.begin() + first * K, b.begin() + (first + n) * K));
            return h.node(SL_OP_MUL_MAT, {M, n, 1, 1}, {wa, wb});
        };
    };
    const std::vector<float> all = run_cpu(isa, 2, matmul_of(0, N));
    EXPECT_TRUE(bitwise_equal(run_cpu(isa, 1, matmul_of(0, N)), all)) << "1 vs 2 threads";
    for (int64_t c = 0; c < N; ++c) {
        const std::vector<float> want(all.begin() + c * M, all.begin() + (c + 1) * M);
        for (int threads : {1, 2})
            EXPECT_TRUE(bitwise_equal(run_cpu(isa, threads, matmul_of(c, 1)), want))
                << "column " << c << " alone vs in " << N << " columns, " << threads << " threads";
    }
}

std::vector<MatMulParam> all_matmul_params() {
    std::vector<MatMulParam> out;
    for (Isa isa : kIsas)
        for (sl_dtype d : {SL_DTYPE_F32, SL_DTYPE_F16, SL_DTYPE_BF16, SL_DTYPE_Q8_0, SL_DTYPE_Q4_0, SL_DTYPE_Q4_K,
                           SL_DTYPE_Q5_K, SL_DTYPE_Q6_K})
            out.push_back({isa, d});
    return out;
}

INSTANTIATE_TEST_SUITE_P(AllPaths, CpuMulMat, ::testing::ValuesIn(all_matmul_params()),
                         [](const ::testing::TestParamInfo<MatMulParam>& i) {
                             return std::string(cpu::isa_name(i.param.isa)) + "_" +
                                    std::string(dtype_name(static_cast<DType>(i.param.dtype)));
                         });

// ---- the other ops ----

TEST(CpuOps, AddAndMulBroadcastOverStridedInput) {
    for (sl_op op : {SL_OP_ADD, SL_OP_MUL}) {
        expect_matches_reference([op](GraphHarness& h) {
            const int p = h.leaf(SL_DTYPE_F32, {12, 6, 4, 2}, random_floats(12 * 6 * 4 * 2, 1));
            const int a = h.view(p, {10, 6, 4, 2}, {4, 48, 288, 1152}, 8);
            const int b = h.leaf(SL_DTYPE_F32, {5, 3, 1, 2}, random_floats(5 * 3 * 2, 2));
            return h.node(op, {10, 6, 4, 2}, {a, b});
        }, 0, op == SL_OP_ADD ? "add" : "mul");
    }
}

TEST(CpuOps, ScaleSiluRmsNorm) {
    expect_matches_reference([](GraphHarness& h) {
        const int x = h.leaf(SL_DTYPE_F32, {300, 70, 1, 1}, random_floats(300 * 70, 3));
        return h.node(SL_OP_SCALE, {300, 70, 1, 1}, {x}, {fbits(0.37f)});
    }, 0, "scale");
    expect_matches_reference([](GraphHarness& h) {
        const int x = h.leaf(SL_DTYPE_F32, {300, 70, 1, 1}, random_floats(300 * 70, 4));
        return h.node(SL_OP_SILU, {300, 70, 1, 1}, {x});
    }, 1e-12, "silu");
    expect_matches_reference([](GraphHarness& h) {
        const int p = h.leaf(SL_DTYPE_F32, {260, 70, 2, 1}, random_floats(260 * 70 * 2, 5));
        const int x = h.view(p, {257, 70, 2, 1}, {4, 1040, 1040 * 70, 1040 * 140}, 4);
        return h.node(SL_OP_RMS_NORM, {257, 70, 2, 1}, {x}, {fbits(1e-5f)});
    }, 1e-12, "rms_norm");
}

TEST(CpuOps, RopeBothModesPartialRotation) {
    for (int32_t mode : {SL_ROPE_ADJACENT, SL_ROPE_HALVES}) {
        for (int32_t n_rot : {64, 32}) {
            expect_matches_reference([=](GraphHarness& h) {
                const int64_t D = 64, H = 6, T = 40;
                const int x = h.leaf(SL_DTYPE_F32, {D, H, T, 1}, random_floats(D * H * T, 6));
                std::vector<int32_t> pos(T);
                for (int64_t t = 0; t < T; ++t) pos[t] = static_cast<int32_t>(3 * t + 100);
                const int p = h.leaf_i32({T, 1, 1, 1}, pos);
                return h.node(SL_OP_ROPE, {D, H, T, 1}, {x, p}, {n_rot, mode, fbits(10000.0f), fbits(1.0f)});
            }, 1e-12, "rope mode " + std::to_string(mode) + " n_rot " + std::to_string(n_rot));
        }
    }
}

// The cpu backend computes a graph's ROPE angles once per positions and parameters and
// keeps them for the next ROPE nodes: a chain that changes the positions, then the base,
// then neither, must still match the reference.
TEST(CpuOps, RopeNodesWithOtherPositionsOrBasesInOneGraph) {
    expect_matches_reference([](GraphHarness& h) {
        const int64_t D = 32, H = 3, T = 5;
        const int x = h.leaf(SL_DTYPE_F32, {D, H, T, 1}, random_floats(D * H * T, 9));
        const int p1 = h.leaf_i32({T, 1, 1, 1}, {0, 1, 2, 3, 4});
        const int p2 = h.leaf_i32({T, 1, 1, 1}, {7, 9, 11, 13, 15});
        const auto rope = [&](int in, int pos, float base) {
            return h.node(SL_OP_ROPE, {D, H, T, 1}, {in, pos}, {32, SL_ROPE_ADJACENT, fbits(base), fbits(1.0f)});
        };
        return rope(rope(rope(rope(x, p1, 10000.0f), p2, 10000.0f), p2, 500.0f), p2, 500.0f);
    }, 1e-12, "rope chain");
}

// q [D, Hq, T]; k and v [D, Hkv, S] as strided views of a [D, S, Hkv] cache of
// `kv` dtype whose last 3 slots hold NaN and are masked for every query; a causal
// mask; and optionally one query row that sees no key at all.
Build attention(sl_dtype kv, int64_t D, int64_t Hq, int64_t Hkv, int64_t T, int64_t S, bool empty_row) {
    return [=](GraphHarness& h) {
        const int q = h.leaf(SL_DTYPE_F32, {D, Hq, T, 1}, random_floats(D * Hq * T, 9));
        std::vector<float> kc = random_floats(D * S * Hkv, 10), vc = random_floats(D * S * Hkv, 11);
        for (int64_t g = 0; g < Hkv; ++g)
            for (int64_t j = S - 3; j < S; ++j)
                for (int64_t d = 0; d < D; ++d) kc[(g * S + j) * D + d] = vc[(g * S + j) * D + d] = std::nanf("");
        const int kb = h.leaf(kv, {D, S, Hkv, 1}, kc), vb = h.leaf(kv, {D, S, Hkv, 1}, vc);
        const int64_t es = kv == SL_DTYPE_F16 ? 2 : 4;
        const Ne nb{es, es * D * S, es * D, es * D * S * Hkv};
        const int k = h.view(kb, {D, Hkv, S, 1}, nb, 0), v = h.view(vb, {D, Hkv, S, 1}, nb, 0);
        std::vector<float> mask(S * T);
        for (int64_t t = 0; t < T; ++t)
            for (int64_t j = 0; j < S; ++j) {
                const bool visible = j < S - 3 && j <= S - 3 - T + t && !(empty_row && t == 1);
                mask[t * S + j] = visible ? 0.1f * static_cast<float>(j % 3) : -kInf;
            }
        const int m = h.leaf(SL_DTYPE_F32, {S, T, 1, 1}, mask);
        return h.node(SL_OP_ATTENTION, {D, Hq, T, 1}, {q, k, v, m}, {fbits(1.0f / std::sqrt(static_cast<float>(D)))});
    };
}

TEST(CpuOps, AttentionF32AndF16KvWithGqaMaskAndEmptyRow) {
    for (sl_dtype kv : {SL_DTYPE_F32, SL_DTYPE_F16}) {
        const std::string name = kv == SL_DTYPE_F16 ? "F16" : "F32";
        expect_matches_reference(attention(kv, 64, 8, 2, 5, 150, true), 1e-8, "prompt attention kv " + name);
        expect_matches_reference(attention(kv, 32, 4, 4, 1, 70, false), 1e-8, "decode attention kv " + name);
        // TinyLlama's heads: 8 query heads per KV head, keys staged inside each head's unit.
        expect_matches_reference(attention(kv, 64, 32, 4, 1, 150, false), 1e-8, "decode attention GQA 8 kv " + name);
        // D not a multiple of 8 (a masked tail on every vector path), 3 query heads per KV head.
        expect_matches_reference(attention(kv, 36, 6, 2, 3, 75, false), 1e-8, "attention D 36 kv " + name);
    }
    // No mask at all.
    expect_matches_reference([](GraphHarness& h) {
        const int q = h.leaf(SL_DTYPE_F32, {16, 4, 3, 1}, random_floats(16 * 4 * 3, 12));
        const int k = h.leaf(SL_DTYPE_F32, {16, 2, 100, 1}, random_floats(16 * 2 * 100, 13));
        const int v = h.leaf(SL_DTYPE_F32, {16, 2, 100, 1}, random_floats(16 * 2 * 100, 14));
        return h.node(SL_OP_ATTENTION, {16, 4, 3, 1}, {q, k, v}, {fbits(0.25f)});
    }, 1e-8, "attention without mask");
}

// One query's attention has the same bits alone as in a batch of positions, and
// whichever query heads it shares its KV head with (12 here: a group of 8 and
// one of 4 on the AVX-512 path), on every path, with F32 or F16 keys and values:
// one position reads the key rows as they are (attention_direct; F16 rows
// converted a block at a time), a batch of them the transposed keys.
TEST(CpuOps, AttentionRowBitsIndependentOfBatchAndHeads) {
    const int64_t D = 80, Hq = 12, T = 4, S = 150;  // D: a 16-wide tail
    const std::vector<float> q = random_floats(D * Hq * T, 21), k = random_floats(D * S, 22), v = random_floats(D * S, 23);
    std::vector<float> mask(S * T);
    for (int64_t t = 0; t < T; ++t)
        for (int64_t j = 0; j < S; ++j) mask[t * S + j] = j <= S - T + t ? 0.05f * static_cast<float>(j % 5) : -kInf;
    // Heads [h0, h0 + nh) at positions [t0, t0 + nt).
    auto build = [&](sl_dtype kv, int64_t h0, int64_t nh, int64_t t0, int64_t nt) -> Build {
        return [=, &q, &k, &v, &mask](GraphHarness& h) {
            std::vector<float> qs, ms;
            for (int64_t t = t0; t < t0 + nt; ++t) {
                qs.insert(qs.end(), q.begin() + (t * Hq + h0) * D, q.begin() + (t * Hq + h0 + nh) * D);
                ms.insert(ms.end(), mask.begin() + t * S, mask.begin() + (t + 1) * S);
            }
            const int qq = h.leaf(SL_DTYPE_F32, {D, nh, nt, 1}, qs);
            const int kk = h.leaf(kv, {D, 1, S, 1}, k), vv = h.leaf(kv, {D, 1, S, 1}, v);
            const int mm = h.leaf(SL_DTYPE_F32, {S, nt, 1, 1}, ms);
            return h.node(SL_OP_ATTENTION, {D, nh, nt, 1}, {qq, kk, vv, mm}, {fbits(0.11f)});
        };
    };
    for (sl_dtype kv : {SL_DTYPE_F32, SL_DTYPE_F16})
        for (Isa isa : kIsas) {
            if (!cpu::isa_supported(isa)) continue;
            SCOPED_TRACE(std::string(cpu::isa_name(isa)) + (kv == SL_DTYPE_F16 ? ", F16 K/V" : ", F32 K/V"));
            const std::vector<float> all = run_cpu(isa, 2, build(kv, 0, Hq, 0, T));
            for (int64_t t = 0; t < T; ++t) {
                for (int64_t head : {0, 7, 8, 11}) {
                    const std::vector<float> alone = run_cpu(isa, 1, build(kv, head, 1, t, 1));
                    const std::vector<float> want(all.begin() + (t * Hq + head) * D,
                                                  all.begin() + (t * Hq + head + 1) * D);
                    EXPECT_TRUE(bitwise_equal(alone, want)) << "head " << head << ", position " << t;
                }
                const std::vector<float> heads = run_cpu(isa, 2, build(kv, 0, Hq, t, 1));
                const std::vector<float> want(all.begin() + t * Hq * D, all.begin() + (t + 1) * Hq * D);
                EXPECT_TRUE(bitwise_equal(heads, want)) << "all heads, position " << t;
            }
        }
}

TEST(CpuOps, GetRowsEveryWeightDtype) {
    for (sl_dtype d : {SL_DTYPE_F32, SL_DTYPE_F16, SL_DTYPE_BF16, SL_DTYPE_Q8_0, SL_DTYPE_Q4_0}) {
        expect_matches_reference([d](GraphHarness& h) {
            const int table = h.leaf(d, {64, 10, 1, 1}, random_floats(640, 15));
            const int ids = h.leaf_i32({3, 2, 1, 1}, {9, 0, 4, 4, 7, 1});
            return h.node(SL_OP_GET_ROWS, {64, 3, 2, 1}, {table, ids});
        }, 0, std::string("get_rows ") + std::string(dtype_name(static_cast<DType>(d))));
    }
}

TEST(CpuOps, CopyBetweenFloatTypesAndStrides) {
    for (sl_dtype from : {SL_DTYPE_F32, SL_DTYPE_F16, SL_DTYPE_BF16}) {
        for (sl_dtype to : {SL_DTYPE_F32, SL_DTYPE_F16, SL_DTYPE_BF16}) {
            expect_matches_reference([=](GraphHarness& h) {
                const int p = h.leaf(from, {6, 5, 1, 1}, random_floats(30, 16));
                const int64_t es = from == SL_DTYPE_F32 ? 4 : 2;
                const int src = h.view(p, {5, 6, 1, 1}, {6 * es, es, 30 * es, 30 * es}, 0);  // transposed
                const int64_t ds = to == SL_DTYPE_F32 ? 4 : 2;
                const int big = h.leaf(to, {8, 7, 1, 1}, std::vector<float>(56, 0.5f));
                const int dst = h.view(big, {5, 6, 1, 1}, {ds, 8 * ds, 56 * ds, 56 * ds}, static_cast<size_t>(8 * ds + ds));
                h.copy(src, dst);
                return big;
            }, 0, "copy");
        }
    }
}

// ---- the thread pool ----

// A path's vector activation quantizers give the portable code's bytes, sums
// included, also for zero blocks, huge values, infinities and NaN.
TEST(CpuQuantizeAct, EveryPathGivesThePortableBytes) {
    std::vector<float> x = random_floats(256 * 6, 3);
    for (size_t i = 0; i < x.size(); ++i) x[i] *= static_cast<float>(1 + i % 7) * 3.7f;
    std::fill(x.begin(), x.begin() + 256, 0.0f);  // a zero super-block
    x[300] = 3e38f;
    x[700] = std::numeric_limits<float>::quiet_NaN();
    x[1000] = -kInf;
    x[1300] = 0.5f;  // ties to even after scaling are likely somewhere in the rest
    const int64_t nb = static_cast<int64_t>(x.size()) / 32, nk = nb / 8;
    std::vector<cpu::BlockQ8A> want_a(static_cast<size_t>(nb)), got_a(want_a.size());
    std::vector<int32_t> want_s(want_a.size()), got_s(want_a.size());
    std::vector<cpu::BlockQ8K> want_k(static_cast<size_t>(nk)), got_k(want_k.size());
    cpu::quantize_act(x.data(), want_a.data(), nb, want_s.data());
    cpu::quantize_act_k(x.data(), want_k.data(), nk);
    for (Isa isa : kIsas) {
        if (!cpu::isa_supported(isa)) continue;
        const cpu::Kernels& k = cpu::kernels_for(isa);
        cpu::quantize_act(k, x.data(), got_a.data(), nb, got_s.data());
        cpu::quantize_act_k(k, x.data(), got_k.data(), nk);
        EXPECT_EQ(std::memcmp(got_a.data(), want_a.data(), got_a.size() * sizeof(cpu::BlockQ8A)), 0) << cpu::isa_name(isa);
        EXPECT_EQ(got_s, want_s) << cpu::isa_name(isa);
        EXPECT_EQ(std::memcmp(got_k.data(), want_k.data(), got_k.size() * sizeof(cpu::BlockQ8K)), 0) << cpu::isa_name(isa);
    }
}

// A path's key transpose (attention) is an exact copy: rows a stride apart into
// 16-float lines, zeros for absent rows, any D (whole tiles and a tail), any n
// (on AVX2 rows 0-7 and 8-15 are separate tiles), nothing written past a line's 16.
TEST(CpuTranspose16, EveryPathCopiesEachElementToItsLine) {
    for (Isa isa : kIsas) {
        if (!cpu::isa_supported(isa) || !cpu::kernels_for(isa).transpose16) continue;
        for (int64_t D : {64, 40, 13, 7})
            for (int n : {16, 12, 8, 5, 1}) {
                const int64_t stride = D + 3, line = 20;
                const std::vector<float> rows = random_floats(static_cast<size_t>(16 * stride), 5);
                std::vector<float> got(static_cast<size_t>(D * line), -1.0f);
                cpu::kernels_for(isa).transpose16(rows.data(), stride, n, D, got.data(), line);
                for (int64_t d = 0; d < D; ++d)
                    for (int i = 0; i < line; ++i)
                        ASSERT_EQ(got[static_cast<size_t>(d * line + i)],
                                  i >= 16 ? -1.0f : i < n ? rows[static_cast<size_t>(i * stride + d)] : 0.0f)
                            << cpu::isa_name(isa) << " D=" << D << " n=" << n << " d=" << d << " i=" << i;
            }
    }
}

// A path's SILU kernel against x / (1 + e^-x) in double, over whole vectors
// and a tail: no overflow for large |x|, about 0 (not x e^-87) far below -87,
// infinities and NaN as the formula gives them, nothing written past n.
TEST(CpuSilu, EveryPathHandlesLargeValuesInfinitiesAndNaN) {
    const std::vector<float> x = {-3e38f, -1e10f, -100.0f, -87.5f, -87.0f, -86.0f, -30.0f, -10.0f, -1.0f, -1e-3f, -0.0f,
                                  0.0f,   1e-3f,  1.0f,    10.0f,  30.0f,  87.5f,  100.0f, 3e38f,  kInf,  -kInf,  std::nanf("")};
    for (Isa isa : kIsas) {
        if (!cpu::isa_supported(isa) || !cpu::kernels_for(isa).silu) continue;
        std::vector<float> y(x.size() + 1, 7.0f);
        cpu::kernels_for(isa).silu(x.data(), y.data(), static_cast<int64_t>(x.size()));
        for (size_t i = 0; i < x.size(); ++i) {
            const double xd = x[i], want = xd / (1.0 + std::exp(-xd));
            if (std::isnan(want))
                EXPECT_TRUE(std::isnan(y[i])) << cpu::isa_name(isa) << " x=" << x[i] << ": " << y[i];
            else if (std::isinf(want))
                EXPECT_EQ(y[i], want) << cpu::isa_name(isa) << " x=" << x[i];
            else
                EXPECT_NEAR(y[i], want, 1e-6 * std::fabs(want) + 1e-35) << cpu::isa_name(isa) << " x=" << x[i];
        }
        EXPECT_EQ(y.back(), 7.0f) << cpu::isa_name(isa) << " wrote past n";
    }
}

// A path's ADD, MUL and SCALE row kernels give the plain float operation's bits, over whole
// vectors and every tail length, in place too, and write nothing past n; its sum of squares
// is the double sum of the float squares, in some order.
TEST(CpuRowKernels, EveryPathMatchesThePlainLoops) {
    for (Isa isa : kIsas) {
        const cpu::Kernels& k = cpu::kernels_for(isa);
        if (!cpu::isa_supported(isa) || !k.add) continue;
        ASSERT_TRUE(k.mul && k.scale && k.sum_squares) << cpu::isa_name(isa);
        for (int64_t n : {1, 3, 7, 8, 15, 16, 17, 31, 32, 33, 100, 2048}) {
            const std::vector<float> a = random_floats(static_cast<size_t>(n), 11), b = random_floats(static_cast<size_t>(n), 12);
            std::vector<float> o(static_cast<size_t>(n) + 1, 7.0f);
            const auto same_bits = [&](const char* what, auto want) {
                for (int64_t i = 0; i < n; ++i)
                    ASSERT_EQ(o[static_cast<size_t>(i)], want(i)) << cpu::isa_name(isa) << " " << what << " n=" << n << " i=" << i;
                ASSERT_EQ(o.back(), 7.0f) << cpu::isa_name(isa) << " " << what << " wrote past n=" << n;
            };
            k.add(a.data(), b.data(), o.data(), n);
            same_bits("add", [&](int64_t i) { return a[static_cast<size_t>(i)] + b[static_cast<size_t>(i)]; });
            k.mul(a.data(), b.data(), o.data(), n);
            same_bits("mul", [&](int64_t i) { return a[static_cast<size_t>(i)] * b[static_cast<size_t>(i)]; });
            k.scale(a.data(), 0.37f, o.data(), n);
            same_bits("scale", [&](int64_t i) { return a[static_cast<size_t>(i)] * 0.37f; });
            std::copy(a.begin(), a.end(), o.begin());
            k.mul(o.data(), b.data(), o.data(), n);  // in place
            same_bits("mul in place", [&](int64_t i) { return a[static_cast<size_t>(i)] * b[static_cast<size_t>(i)]; });

            double want = 0.0;
            for (float x : a) want += static_cast<double>(x * x);
            EXPECT_NEAR(k.sum_squares(a.data(), n), want, 1e-12 * want) << cpu::isa_name(isa) << " n=" << n;
        }
    }
}

TEST(CpuThreadPool, EveryChunkRunsOnceOverManyJobs) {
    cpu::ThreadPool pool(3);
    std::vector<int> hits(1000);
    for (int job = 0; job < 2000; ++job) {
        const int64_t n = 1 + job % 37;
        pool.run_chunks(n, [&](int64_t c) { ++hits[static_cast<size_t>(c)]; });
    }
    int64_t total = 0;
    for (int job = 0; job < 2000; ++job) total += 1 + job % 37;
    int64_t sum = 0;
    for (int h : hits) sum += h;
    EXPECT_EQ(sum, total);
    // Ranges of parallel_for cover [0, count) exactly once.
    std::vector<int> seen(777);
    pool.parallel_for(777, 10, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) ++seen[static_cast<size_t>(i)];
    });
    for (int v : seen) ASSERT_EQ(v, 1);
}

// parallel_for_balanced: every item exactly once, in pieces of one grain up to an eighth of
// the count, also when one piece is slow and the other threads take over the rest of its range.
TEST(CpuThreadPool, BalancedRangesCoverEveryItemOnce) {
    for (int threads : {1, 2, 3}) {
        cpu::ThreadPool pool(threads);
        for (int64_t count : {1, 2, 3, 7, 64, 1000})
            for (int64_t grain : {1, 3, 16})
                for (int64_t min_items : {1, 10}) {
                    std::vector<std::atomic<int>> seen(static_cast<size_t>(count));
                    std::atomic<bool> too_big{false};
                    pool.parallel_for_balanced(count, min_items, grain, [&](int64_t b, int64_t e) {
                        if (e - b > std::max(grain, count / 8) || b >= e) too_big = true;
                        if (b == 0) std::this_thread::sleep_for(std::chrono::milliseconds(count == 1000 ? 5 : 0));
                        for (int64_t i = b; i < e; ++i) ++seen[static_cast<size_t>(i)];
                    });
                    EXPECT_FALSE(too_big) << threads << " threads, count " << count << ", grain " << grain;
                    for (int64_t i = 0; i < count; ++i)
                        ASSERT_EQ(seen[static_cast<size_t>(i)], 1) << threads << " threads, count " << count << ", item " << i;
                }
    }
}

// A prefetch hint only moves bytes into caches: jobs after it (and during it) still run every
// item exactly once, hints to workers that do not exist are ignored, and an unread hint does
// not keep the pool from shutting down.
TEST(CpuThreadPool, PrefetchHintsLeaveJobsIntact) {
    std::vector<char> bytes(1 << 20, 1);
    for (int threads : {1, 2, 3}) {
        cpu::ThreadPool pool(threads);
        for (int round = 0; round < 20; ++round) {
            for (int w = -1; w <= threads; ++w) pool.prefetch_hint(w, bytes.data() + 4096 * w + 4096, bytes.size() / 2);
            std::vector<std::atomic<int>> seen(500);
            pool.parallel_for_balanced(500, 1, 1, [&](int64_t b, int64_t e) {
                for (int64_t i = b; i < e; ++i) ++seen[static_cast<size_t>(i)];
            });
            for (auto& v : seen) ASSERT_EQ(v, 1) << threads << " threads, round " << round;
        }
        pool.prefetch_hint(1, bytes.data(), bytes.size());
    }
}

TEST(CpuThreadPool, RethrowsAndSurvivesImmediateShutdown) {
    cpu::ThreadPool pool(2);
    EXPECT_THROW(pool.run_chunks(8, [](int64_t c) {
        if (c == 5) throw std::runtime_error("chunk 5");
    }), std::runtime_error);
    int ran = 0;
    pool.run_chunks(1, [&](int64_t) { ++ran; });
    EXPECT_EQ(ran, 1);
    for (int i = 0; i < 200; ++i) cpu::ThreadPool quick(1 + i % 4);  // built and torn down at once
}

// ---- the ABI around the ops ----

TEST(CpuAbi, RejectsBadIdsAndReportsUnsupportedTypes) {
    GraphHarness h(cpu_backend(), 2);
    const int table = h.leaf(SL_DTYPE_F32, {4, 3, 1, 1}, random_floats(12, 1));
    const int ids = h.leaf_i32({2, 1, 1, 1}, {1, 3});
    h.node(SL_OP_GET_ROWS, {4, 2, 1, 1}, {table, ids});
    EXPECT_EQ(h.run(), SL_ERR_INVALID_ARGUMENT);
    EXPECT_NE(h.error().find("outside the table"), std::string::npos) << h.error();

    GraphHarness k(cpu_backend(), 1);
    // A Q2_K weight, outside the standard's weight types: Q8_0 bytes retyped, never read.
    const int a = k.leaf(SL_DTYPE_Q8_0, {256, 2, 1, 1}, std::vector<float>(512, 0.0f));
    k[a] = GraphHarness::blank(static_cast<sl_dtype>(DType::Q2_K), {256, 2, 1, 1});
    const int b = k.leaf(SL_DTYPE_F32, {256, 1, 1, 1}, random_floats(256, 2));
    const int mm = k.node(SL_OP_MUL_MAT, {2, 1, 1, 1}, {a, b});
    EXPECT_EQ(k.supports(mm), 0);
    EXPECT_EQ(k.run(), SL_ERR_UNSUPPORTED);
}

// graph_compute checks again only what differs from the last graph (GraphCheckCache): what
// changed, what reads what changed, and everything once a buffer comes or goes.
TEST(CpuAbi, ChecksAgainWhatDiffersFromTheLastGraph) {
    const sl_backend& be = cpu_backend();
    sl_device dev = nullptr;
    const sl_device_config config{sizeof(sl_device_config), 2};
    ASSERT_EQ(be.device_open(0, &config, &dev), SL_OK);
    sl_buffer buf = nullptr;
    uint64_t base = 0;
    ASSERT_EQ(be.buffer_alloc(dev, 64, &buf, &base), SL_OK);
    const float in[4] = {1, 2, 3, 4};
    ASSERT_EQ(be.buffer_write(buf, 0, in, sizeof in), SL_OK);
    std::vector<sl_tensor> t(2);
    t[0] = GraphHarness::blank(SL_DTYPE_F32, {4, 1, 1, 1});
    t[0].addr = base;
    t[1] = GraphHarness::blank(SL_DTYPE_F32, {4, 1, 1, 1});
    t[1].op = SL_OP_SCALE;
    t[1].src[0] = 0;
    t[1].params[0] = fbits(2.0f);
    t[1].addr = base + 32;
    const sl_graph g{t.data(), 2};
    auto output = [&] {
        float out[4] = {};
        EXPECT_EQ(be.buffer_read(buf, 32, out, sizeof out), SL_OK);
        return std::vector<float>(out, out + 4);
    };
    ASSERT_EQ(be.graph_compute(dev, &g), SL_OK) << be.last_error();
    EXPECT_EQ(output(), (std::vector<float>{2, 4, 6, 8}));

    // The same graph, checked before: it runs, on the inputs of now.
    const float again[4] = {5, 6, 7, 8};
    ASSERT_EQ(be.buffer_write(buf, 0, again, sizeof again), SL_OK);
    ASSERT_EQ(be.graph_compute(dev, &g), SL_OK) << be.last_error();
    EXPECT_EQ(output(), (std::vector<float>{10, 12, 14, 16}));

    // A node that changed: its bytes now run past the buffer.
    t[1].addr = base + 56;
    EXPECT_EQ(be.graph_compute(dev, &g), SL_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(be.last_error()).find("no buffer"), std::string::npos) << be.last_error();
    t[1].addr = base + 32;
    ASSERT_EQ(be.graph_compute(dev, &g), SL_OK) << be.last_error();

    // A node that did not change, reading one that did: the operand's shape no longer fits.
    t[0].ne[0] = 8;
    t[0].nb[1] = t[0].nb[2] = t[0].nb[3] = 32;
    EXPECT_EQ(be.graph_compute(dev, &g), SL_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(be.last_error()).find("node 1 (SCALE)"), std::string::npos) << be.last_error();
    t[0] = GraphHarness::blank(SL_DTYPE_F32, {4, 1, 1, 1});
    t[0].addr = base;
    ASSERT_EQ(be.graph_compute(dev, &g), SL_OK) << be.last_error();

    // Nothing changed but the buffer is gone.
    be.buffer_free(buf);
    EXPECT_EQ(be.graph_compute(dev, &g), SL_ERR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(be.last_error()).find("no buffer"), std::string::npos) << be.last_error();
    be.device_close(dev);
}

TEST(CpuAbi, DeviceInfoNamesThePath) {
    sl_device d = nullptr;
    const sl_device_config config{sizeof(sl_device_config), 3};
    ASSERT_EQ(cpu_backend().device_open(0, &config, &d), SL_OK);
    sl_device_info info{};
    ASSERT_EQ(cpu_backend().device_info(d, &info), SL_OK);
    EXPECT_STREQ(info.name, "cpu");
    EXPECT_NE(std::string(info.description).find(cpu::isa_name(cpu::selected_isa())), std::string::npos);
    EXPECT_NE(std::string(info.description).find("3 threads"), std::string::npos);
    cpu_backend().device_close(d);
    EXPECT_EQ(cpu_backend().device_info(d, &info), SL_ERR_INVALID_ARGUMENT);
}

}  // namespace
}  // namespace suanli::testing
