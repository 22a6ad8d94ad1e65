// Prompt-processing and generation speed of a model, llama-bench style.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace suanli {

class Model;

struct BenchTest {
    std::string name;       // "pp512", "tg128"
    int64_t n_prompt = 0;   // tokens evaluated in one batch
    int64_t n_gen = 0;      // tokens evaluated one at a time
};

struct BenchResult {
    BenchTest test;
    std::vector<double> tokens_per_s;  // one per repetition
    double mean = 0, stddev = 0;
    double gb_per_s = 0;               // bytes read per second (weights, plus KV cache for generation)
};

// Bytes of weights a forward pass of one token reads (the embedding table contributes one row).
uint64_t weight_bytes_per_token(const Model& model);

// Runs `test` `repetitions` times on a fresh context each time (after one warm-up run).
BenchResult run_bench(const Model& model, const BenchTest& test, int32_t repetitions);

}  // namespace suanli
