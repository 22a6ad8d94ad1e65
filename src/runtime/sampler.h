// Choosing the next token from logits: penalties, truncation, temperature, RNG.
#pragma once

#include <cstdint>
#include <deque>
#include <random>
#include <span>
#include <vector>

namespace suanli {

struct SamplerParams {
    float temperature = 0.8f;     // <= 0: greedy (argmax, lowest id wins ties)
    int32_t top_k = 40;           // <= 0: off
    float top_p = 0.95f;          // >= 1: off
    float min_p = 0.05f;          // <= 0: off
    float repeat_penalty = 1.0f;  // 1: off
    float presence_penalty = 0.0f;   // OpenAI's: subtracted once from a token seen in the window
    float frequency_penalty = 0.0f;  // OpenAI's: subtracted per occurrence in the window
    int32_t repeat_last_n = 64;   // tokens the penalties look back over; 0: none, < 0: all
    uint64_t seed = 0;
};

class Sampler {
public:
    Sampler(const SamplerParams& params, int32_t n_vocab);

    // Picks a token. Same seed, same logits, same accepted history: same token.
    int32_t sample(std::span<const float> logits);
    // Records a token (prompt or generated) for the repetition penalty.
    void accept(int32_t token);
    void reset();

private:
    void apply_repetition_penalty();

    SamplerParams params_;
    int32_t n_vocab_;
    std::mt19937_64 rng_;
    std::deque<int32_t> recent_;
    std::vector<std::pair<float, int32_t>> candidates_;  // reused between calls
    std::vector<int32_t> window_;                        // distinct recent tokens, reused
    std::vector<float> weights_;                         // softmax numerators, reused
};

}  // namespace suanli
