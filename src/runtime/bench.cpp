#include "runtime/bench.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>

#include "models/model.h"
#include "runtime/kv_cache.h"
#include "runtime/session.h"

namespace suanli {
namespace {

uint64_t weight_bytes(const WeightRef& w) {
    return row_bytes(w.type, w.shape.ne[0]) * static_cast<uint64_t>(w.shape.ne[1] * w.shape.ne[2] * w.shape.ne[3]);
}

// Tokens of the depth evaluated per batch, as a server fills a context.
constexpr int64_t kDepthBatch = 512;

// Seconds for one run of the test from a context holding test.n_depth tokens.
double time_once(const Model& model, const BenchTest& test, std::mt19937& rng) {
    const int64_t n_vocab = model.config().n_vocab;
    std::uniform_int_distribution<int32_t> token(0, static_cast<int32_t>(n_vocab - 1));
    Session session(model, std::max<int64_t>(1, test.n_depth + test.n_prompt + test.n_gen), 512, test.kv_type);
    for (int64_t done = 0; done < test.n_depth;) {
        std::vector<int32_t> batch(static_cast<size_t>(std::min(kDepthBatch, test.n_depth - done)));
        for (int32_t& t : batch) t = token(rng);
        session.decode(batch);
        done += static_cast<int64_t>(batch.size());
    }
    const auto start = std::chrono::steady_clock::now();
    if (test.n_prompt > 0) {
        std::vector<int32_t> prompt(static_cast<size_t>(test.n_prompt));
        for (int32_t& t : prompt) t = token(rng);
        session.decode(prompt);
    }
    for (int64_t i = 0; i < test.n_gen; ++i) {
        const int32_t t = token(rng);
        session.decode(std::span(&t, 1));
    }
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const size_t m = v.size() / 2;
    return v.empty() ? 0 : v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

}  // namespace

std::string bench_test_name(const BenchTest& test) {
    std::string name = test.n_prompt > 0 ? "pp" + std::to_string(test.n_prompt) : "";
    if (test.n_gen > 0) name += (name.empty() ? "tg" : "+tg") + std::to_string(test.n_gen);
    if (test.n_depth > 0) name += " @ d" + std::to_string(test.n_depth);
    return name;
}

uint64_t weight_bytes_per_token(const Model& model) {
    const ModelWeights& w = model.weights();
    uint64_t total = row_bytes(w.token_embd.type, w.token_embd.shape.ne[0]) + weight_bytes(w.output_norm) +
                     weight_bytes(w.output);
    for (const LayerWeights& l : w.layers)
        for (const WeightRef* r : {&l.attn_norm, &l.wq, &l.wk, &l.wv, &l.wo, &l.bq, &l.bk, &l.bv, &l.ffn_norm,
                                   &l.ffn_gate, &l.ffn_up, &l.ffn_down})
            if (*r) total += weight_bytes(*r);
    return total;
}

BenchResult run_bench(const Model& model, const BenchTest& test, int32_t repetitions,
                      const std::function<double()>& bandwidth_probe) {
    std::mt19937 rng(1234);
    BenchResult r;
    r.test = test;
    time_once(model, {test.name, std::min<int64_t>(test.n_prompt, 8), std::min<int64_t>(test.n_gen, 2), 0, test.kv_type},
              rng);
    const double tokens = static_cast<double>(test.n_prompt + test.n_gen);
    std::vector<double> seconds;
    for (int32_t i = 0; i < repetitions; ++i) {
        if (bandwidth_probe) r.bandwidth_gb_per_s.push_back(bandwidth_probe());
        const double s = time_once(model, test, rng);
        seconds.push_back(s);
        r.tokens_per_s.push_back(tokens / s);
    }
    for (double v : r.tokens_per_s) r.mean += v / static_cast<double>(repetitions);
    for (double v : r.tokens_per_s) r.stddev += (v - r.mean) * (v - r.mean);
    r.stddev = repetitions > 1 ? std::sqrt(r.stddev / (repetitions - 1)) : 0;

    // Generation re-reads every weight per token, and the KV cache up to its position
    // (the depth included); a prompt batch reads the weights once.
    const auto kv_per_position = static_cast<double>(KvCache::cell_bytes(model.config(), test.kv_type));
    const double weights = static_cast<double>(weight_bytes_per_token(model));
    double bytes = test.n_prompt > 0 ? weights : 0;
    for (int64_t i = 0; i < test.n_gen; ++i)
        bytes += weights + kv_per_position * static_cast<double>(test.n_depth + test.n_prompt + i + 1);
    double seconds_sum = 0;
    for (double s : seconds) seconds_sum += s;
    r.gb_per_s = bytes * repetitions / seconds_sum / 1e9;
    if (!r.bandwidth_gb_per_s.empty()) {
        std::vector<double> shares;
        for (size_t i = 0; i < seconds.size(); ++i) shares.push_back(bytes / seconds[i] / 1e9 / r.bandwidth_gb_per_s[i]);
        r.bandwidth_share = median(shares);
        r.bandwidth_median_gb_per_s = median(r.bandwidth_gb_per_s);
    }
    return r;
}

}  // namespace suanli
