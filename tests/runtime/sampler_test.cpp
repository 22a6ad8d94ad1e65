#include "runtime/sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/error.h"

namespace suanli {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

// Truncation off, temperature 1: plain softmax sampling.
SamplerParams plain(uint64_t seed = 1) {
    SamplerParams p;
    p.temperature = 1.0f;
    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    p.seed = seed;
    return p;
}

SamplerParams greedy() {
    SamplerParams p = plain();
    p.temperature = 0.0f;
    return p;
}

std::vector<double> softmax(const std::vector<float>& logits, double temp = 1.0) {
    double mx = -HUGE_VAL;
    for (float l : logits) mx = std::max(mx, double(l));
    std::vector<double> p(logits.size());
    double sum = 0;
    for (size_t i = 0; i < logits.size(); ++i) sum += p[i] = std::exp((logits[i] - mx) / temp);
    for (double& x : p) x /= sum;
    return p;
}

std::vector<int> histogram(Sampler& s, const std::vector<float>& logits, int draws) {
    std::vector<int> counts(logits.size());
    for (int i = 0; i < draws; ++i) ++counts.at(static_cast<size_t>(s.sample(logits)));
    return counts;
}

TEST(Sampler, GreedyPicksArgmax) {
    Sampler s(greedy(), 5);
    EXPECT_EQ(s.sample(std::vector<float>{0.1f, 2.0f, -1.0f, 1.9f, 0.0f}), 1);
    EXPECT_EQ(s.sample(std::vector<float>{-5.0f, -4.0f, -3.0f, -2.0f, -1.0f}), 4);
}

TEST(Sampler, GreedyLowestIdWinsTies) {
    Sampler s(greedy(), 5);
    EXPECT_EQ(s.sample(std::vector<float>{0.0f, 3.0f, 1.0f, 3.0f, 3.0f}), 1);
    EXPECT_EQ(s.sample(std::vector<float>{1.0f, 1.0f, 1.0f, 1.0f, 1.0f}), 0);
}

TEST(Sampler, NegativeTemperatureIsGreedy) {
    SamplerParams p = plain();
    p.temperature = -1.0f;
    Sampler s(p, 4);
    for (int i = 0; i < 20; ++i) EXPECT_EQ(s.sample(std::vector<float>{1, 2, 3, 2.9f}), 2);
}

TEST(Sampler, NanAndInfinityDoNotBreakIt) {
    const float nan = std::numeric_limits<float>::quiet_NaN();
    std::vector<float> logits{nan, -kInf, 1.0f, nan, 0.5f};
    Sampler g(greedy(), 5);
    EXPECT_EQ(g.sample(logits), 2);
    Sampler s(plain(), 5);
    for (int i = 0; i < 200; ++i) {
        int32_t t = s.sample(logits);
        EXPECT_TRUE(t == 2 || t == 4) << t;
    }
    // +inf wins outright; all-impossible falls back to the lowest id.
    EXPECT_EQ(s.sample(std::vector<float>{0, kInf, 3, nan, 1}), 1);
    EXPECT_EQ(s.sample(std::vector<float>{nan, nan, -kInf, nan, -kInf}), 0);
    EXPECT_EQ(g.sample(std::vector<float>{nan, nan, -kInf, nan, -kInf}), 0);
    SamplerParams hot = plain();
    hot.temperature = kInf;
    Sampler h(hot, 5);
    for (int i = 0; i < 100; ++i) EXPECT_NE(h.sample(logits), 1);
}

TEST(Sampler, SameSeedSameSequence) {
    std::vector<float> logits(1000);
    for (size_t i = 0; i < logits.size(); ++i) logits[i] = std::sin(float(i) * 0.37f) * 3.0f;
    SamplerParams p;  // the defaults: top-k, top-p and min-p all on
    p.seed = 42;
    Sampler a(p, 1000), b(p, 1000);
    std::vector<int32_t> first;
    for (int i = 0; i < 200; ++i) {
        int32_t t = a.sample(logits);
        EXPECT_EQ(t, b.sample(logits));
        first.push_back(t);
    }
    a.reset();
    for (int i = 0; i < 200; ++i) EXPECT_EQ(a.sample(logits), first[size_t(i)]);

    p.seed = 43;
    Sampler c(p, 1000);
    int differ = 0;
    for (int i = 0; i < 200; ++i) differ += c.sample(logits) != first[size_t(i)];
    EXPECT_GT(differ, 20);
}

TEST(Sampler, TopKOneEqualsGreedy) {
    SamplerParams p = plain(7);
    p.top_k = 1;
    p.temperature = 5.0f;
    Sampler s(p, 6), g(greedy(), 6);
    std::vector<float> logits{0.5f, 1.0f, 1.0f, 0.99f, -2.0f, 0.0f};
    for (int i = 0; i < 100; ++i) EXPECT_EQ(s.sample(logits), g.sample(logits));
    EXPECT_EQ(s.sample(logits), 1);
}

TEST(Sampler, TopKKeepsOnlyTheBest) {
    SamplerParams p = plain(3);
    p.top_k = 3;
    p.temperature = 100.0f;  // nearly uniform over what is kept
    std::vector<float> logits{0.0f, 5.0f, 1.0f, 4.0f, 2.0f, 3.0f, 4.5f};
    Sampler s(p, 7);
    std::vector<int> counts = histogram(s, logits, 3000);
    for (int id : {0, 2, 4, 5}) EXPECT_EQ(counts[size_t(id)], 0) << id;
    for (int id : {1, 3, 6}) EXPECT_GT(counts[size_t(id)], 800) << id;
}

TEST(Sampler, TopPTinyKeepsOnlyTheBest) {
    SamplerParams p = plain(5);
    p.top_p = 1e-6f;
    p.temperature = 10.0f;
    std::vector<float> logits{1.0f, 1.2f, 3.0f, 2.9f, 0.0f};
    Sampler s(p, 5);
    for (int i = 0; i < 200; ++i) EXPECT_EQ(s.sample(logits), 2);
}

TEST(Sampler, TopPKeepsSmallestSetReachingP) {
    // Probabilities 0.5, 0.3, 0.2 (by id 2, 0, 1): top-p 0.7 needs the first two.
    std::vector<float> logits{std::log(0.3f), std::log(0.2f), std::log(0.5f)};
    SamplerParams p = plain(9);
    p.top_p = 0.7f;
    Sampler s(p, 3);
    std::vector<int> counts = histogram(s, logits, 4000);
    EXPECT_EQ(counts[1], 0);
    EXPECT_GT(counts[0], 1000);
    EXPECT_GT(counts[2], 2000);
    // Top-p over a large vocabulary without top-k (the incremental sort).
    std::vector<float> big(150000, 0.0f);
    for (size_t i = 0; i < 100; ++i) big[i * 1000 + 7] = 20.0f;  // 100 tokens hold ~all the mass
    p.top_p = 0.495f;  // 49.5 of the 100 equal tokens: the smallest set is 50
    Sampler b(p, int32_t(big.size()));
    for (int i = 0; i < 300; ++i) {
        int32_t t = b.sample(big);
        ASSERT_EQ(t % 1000, 7);
        ASSERT_LT(t, 50 * 1000);  // ties sort by id, so the kept half is the lower ids
    }
}

TEST(Sampler, MinPDropsUnlikelyTokens) {
    // p relative to the best: 1, 0.5, 0.1, 0.01
    std::vector<float> logits{0.0f, std::log(0.5f), std::log(0.1f), std::log(0.01f)};
    SamplerParams p = plain(11);
    p.min_p = 0.2f;
    Sampler s(p, 4);
    std::vector<int> counts = histogram(s, logits, 3000);
    EXPECT_EQ(counts[2], 0);
    EXPECT_EQ(counts[3], 0);
    EXPECT_GT(counts[0], 1500);
    EXPECT_GT(counts[1], 700);
    // min-p above 1 would drop everything; the best stays.
    p.min_p = 2.0f;
    Sampler t(p, 4);
    for (int i = 0; i < 50; ++i) EXPECT_EQ(t.sample(logits), 0);
}

TEST(Sampler, RepetitionPenaltyChangesTheChoice) {
    std::vector<float> logits{2.0f, 1.5f, -1.0f, -1.2f};
    SamplerParams p = greedy();
    p.repeat_penalty = 1.5f;
    p.repeat_last_n = 4;
    Sampler s(p, 4);
    EXPECT_EQ(s.sample(logits), 0);
    s.accept(0);  // 2.0 / 1.5 = 1.33 < 1.5
    EXPECT_EQ(s.sample(logits), 1);
    s.accept(0);  // a repeat in the window is penalised once, not twice
    s.accept(1);  // 1.5 / 1.5 = 1.0 < 1.33
    EXPECT_EQ(s.sample(logits), 0);

    // Negative logits are multiplied: -1.0 * 1.5 = -1.5 < -1.2.
    std::vector<float> neg{-1.0f, -1.2f, -5.0f, -5.0f};
    Sampler n(p, 4);
    EXPECT_EQ(n.sample(neg), 0);
    n.accept(0);
    EXPECT_EQ(n.sample(neg), 1);

    // Tokens that left the window are no longer penalised.
    for (int32_t t : {2, 3, 2, 3}) n.accept(t);
    EXPECT_EQ(n.sample(neg), 0);
    n.reset();
    EXPECT_EQ(s.sample(logits), 0);
}

TEST(Sampler, EmpiricalDistributionMatchesSoftmax) {
    std::vector<float> logits{1.0f, 0.0f, 2.0f, -1.0f, 0.5f, 1.5f, -3.0f, 0.2f};
    const int draws = 20000;
    Sampler s(plain(2024), int32_t(logits.size()));
    std::vector<int> counts = histogram(s, logits, draws);
    std::vector<double> expect = softmax(logits);
    for (size_t i = 0; i < logits.size(); ++i) {
        double mean = draws * expect[i];
        double sigma = std::sqrt(draws * expect[i] * (1 - expect[i]));
        EXPECT_NEAR(counts[i], mean, 4 * sigma + 1) << "token " << i;
    }
}

TEST(Sampler, LowTemperatureSharpens) {
    std::vector<float> logits{1.0f, 0.0f, 2.0f, -1.0f, 0.5f};
    const int draws = 20000;
    SamplerParams p = plain(77);
    p.temperature = 0.5f;
    Sampler s(p, int32_t(logits.size()));
    std::vector<int> counts = histogram(s, logits, draws);
    std::vector<double> expect = softmax(logits, 0.5);
    std::vector<double> at_one = softmax(logits, 1.0);
    EXPECT_GT(expect[2], at_one[2] + 0.2);  // the test itself is meaningful
    for (size_t i = 0; i < logits.size(); ++i) {
        double sigma = std::sqrt(draws * expect[i] * (1 - expect[i]));
        EXPECT_NEAR(counts[i], draws * expect[i], 4 * sigma + 1) << "token " << i;
    }
}

TEST(Sampler, RejectsBadInput) {
    EXPECT_THROW(Sampler(plain(), 0), Error);
    SamplerParams bad = plain();
    bad.repeat_penalty = 0.0f;
    EXPECT_THROW(Sampler(bad, 4), Error);
    Sampler s(plain(), 4);
    EXPECT_THROW(s.sample(std::vector<float>{1, 2, 3}), Error);
    EXPECT_THROW(s.accept(4), Error);
    EXPECT_THROW(s.accept(-1), Error);
}

TEST(Sampler, LargeVocabularyWithDefaults) {
    std::vector<float> logits(151936);
    for (size_t i = 0; i < logits.size(); ++i)
        logits[i] = float((i * 2654435761u) % 10007) / 1000.0f;
    SamplerParams p;
    p.seed = 1;
    p.repeat_penalty = 1.1f;
    Sampler s(p, int32_t(logits.size()));
    Sampler g(greedy(), int32_t(logits.size()));
    int32_t best = g.sample(logits);
    for (int i = 0; i < 100; ++i) {
        int32_t t = s.sample(logits);
        ASSERT_GE(logits[size_t(t)], logits[size_t(best)] - 3.0f);  // min-p 0.05 ~ log 3.0
        s.accept(t);
    }
}

// The tokens a plain full-sort implementation of the chain could return, with a little
// slack on top-p for rounding (the sampler sums in a different order).
std::vector<bool> reference_allowed(std::vector<float> logits, const SamplerParams& p) {
    std::vector<std::pair<float, int32_t>> c;
    for (size_t i = 0; i < logits.size(); ++i) {
        float l = std::isnan(logits[i]) ? -kInf : std::min(logits[i], 3.4e38f);
        c.push_back({l, int32_t(i)});
    }
    std::sort(c.begin(), c.end(), [](auto& a, auto& b) {
        return a.first > b.first || (a.first == b.first && a.second < b.second);
    });
    size_t n = c.size();
    if (p.top_k > 0) n = std::min(n, size_t(p.top_k));
    float mx = c[0].first;
    if (p.top_p < 1.0f) {
        double total = 0, cum = 0;
        for (size_t i = 0; i < n; ++i) total += std::exp(double(c[i].first) - mx);
        size_t keep = 0;
        while (keep < n && cum < double(p.top_p) * total * (1 + 1e-5))
            cum += std::exp(double(c[keep++].first) - mx);
        n = std::max<size_t>(keep, 1);
    }
    std::vector<bool> allowed(logits.size());
    for (size_t i = 0; i < n; ++i)
        if (p.min_p <= 0 || i == 0 || c[i].first >= mx + std::log(p.min_p) - 1e-4f)
            allowed[size_t(c[i].second)] = c[i].first > -kInf || i == 0;
    return allowed;
}

TEST(Sampler, RandomChainsAgreeWithAFullSortReference) {
    std::mt19937_64 rng(123);
    auto uniform = [&] { return double(rng() >> 11) * 0x1.0p-53; };
    for (int round = 0; round < 300; ++round) {
        size_t n = 1 + rng() % (round % 3 == 0 ? 5000 : 60);
        std::vector<float> logits(n);
        for (float& l : logits) {
            double u = uniform();
            l = u < 0.02 ? std::numeric_limits<float>::quiet_NaN()
                : u < 0.04 ? -kInf
                : u < 0.3 ? float(int(uniform() * 4))  // ties
                          : float(uniform() * 12 - 6);
        }
        SamplerParams p;
        p.seed = rng();
        p.temperature = float(0.1 + uniform() * 2);
        p.top_k = rng() % 2 ? int32_t(rng() % (n + 5)) : 0;
        p.top_p = rng() % 2 ? float(uniform()) : 1.0f;
        p.min_p = rng() % 2 ? float(uniform() * 0.5) : 0.0f;
        std::vector<bool> allowed = reference_allowed(logits, p);
        Sampler s(p, int32_t(n));
        for (int i = 0; i < 50; ++i) {
            int32_t t = s.sample(logits);
            ASSERT_TRUE(t >= 0 && size_t(t) < n);
            ASSERT_TRUE(allowed[size_t(t)]) << "round " << round << " token " << t << " logit "
                                            << logits[size_t(t)] << " n " << n << " k "
                                            << p.top_k << " p " << p.top_p << " min_p "
                                            << p.min_p;
        }
    }
}

}  // namespace
}  // namespace suanli
