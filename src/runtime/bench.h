// Prompt-processing and generation speed of a model, llama-bench style.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/dtype.h"

namespace suanli {

class Model;

struct BenchTest {
    std::string name;       // "pp512", "tg128", "tg128 @ d1024"
    int64_t n_prompt = 0;   // tokens evaluated in one batch
    int64_t n_gen = 0;      // tokens evaluated one at a time
    int64_t n_depth = 0;    // tokens already in the context when the timing starts (evaluated untimed)
    DType kv_type = DType::F32;  // the KV cache's elements
};

// The test's name as llama-bench writes it: "pp512", "tg128", "tg128 @ d1024".
std::string bench_test_name(const BenchTest& test);

struct BenchResult {
    BenchTest test;
    std::vector<double> tokens_per_s;  // one per repetition
    double mean = 0, stddev = 0;
    double gb_per_s = 0;               // bytes read per second (weights, plus KV cache for generation)
    // With a bandwidth probe: its rate measured just before each repetition, their
    // median, and the median over repetitions of (that repetition's GB/s) / (that rate).
    std::vector<double> bandwidth_gb_per_s;
    double bandwidth_median_gb_per_s = 0;
    double bandwidth_share = 0;
};

// Bytes of weights a forward pass of one token reads (the embedding table contributes one row).
uint64_t weight_bytes_per_token(const Model& model);

// Runs `test` `repetitions` times on a fresh context each time (after one warm-up run),
// filled with test.n_depth tokens before each timing.
// A shared machine's memory bandwidth drifts within seconds, so the roofline is
// measured next to each sample: `bandwidth_probe`, when given, is called (and
// returns GB/s) just before every repetition.
BenchResult run_bench(const Model& model, const BenchTest& test, int32_t repetitions,
                      const std::function<double()>& bandwidth_probe = {});

}  // namespace suanli
