// Perplexity of a model on a text, with llama.cpp's llama-perplexity protocol,
// and the distribution statistics that compare a model with a base model.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <vector>

namespace suanli {

class Session;

struct PerplexityOptions {
    int64_t ctx = 512;  // tokens per chunk; the second half of each chunk is scored
};

// The base model's log-probabilities at every scored position (for --kl-base).
struct SavedLogProbs {
    int64_t n_vocab = 0;
    std::vector<int32_t> targets;  // the token each position predicts
    std::vector<uint16_t> logp;    // F16 log-softmax, n_vocab per position
    void save(const std::filesystem::path& path) const;
    static SavedLogProbs load(const std::filesystem::path& path);
};

struct PerplexityResult {
    int64_t n_chunks = 0;
    int64_t n_scored = 0;
    double ppl = 0, ppl_stderr = 0;
    std::vector<double> running_ppl;  // after each chunk
    // Filled when compared with a base: mean KL(base || this), top-token agreement, base PPL.
    bool has_base = false;
    double kl_mean = 0, kl_stderr = 0, kl_max = 0, top1_agreement = 0, base_ppl = 0;
};

// Tokens: the whole text with BOS first. Chunk c covers tokens [c*ctx, (c+1)*ctx) with its first
// token replaced by `bos`, evaluated from an empty cache; logits at positions ctx/2 .. ctx-2
// predict the next token. `on_chunk` (if set) is called after each chunk.
PerplexityResult compute_perplexity(Session& session, std::span<const int32_t> tokens, int32_t bos,
                                    const PerplexityOptions& options, SavedLogProbs* save,
                                    const SavedLogProbs* base,
                                    const std::function<void(const PerplexityResult&)>& on_chunk = {});

}  // namespace suanli
