// Perplexity against llama-perplexity's numbers on stories260K (../shared/reference/ppl.json).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "backends/reference/reference_backend.h"
#include "core/device.h"
#include "core/error.h"
#include "models/model.h"
#include "runtime/perplexity.h"
#include "runtime/session.h"
#include "test_paths.h"
#include "tokenizer/tokenizer.h"

namespace suanli {
namespace {

struct Fixture {
    Device device{reference_backend(), 0, 2};
    std::unique_ptr<Model> model = Model::load(test::shared("models/stories260K.gguf"), device);
    std::unique_ptr<Tokenizer> tokenizer = Tokenizer::from_gguf(model->file());
    std::vector<int32_t> tokens;
    Fixture() {
        std::ifstream in(test::shared("reference/ppl_text.txt"), std::ios::binary);
        const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
        tokens = tokenizer->encode(text, false, false);
        tokens.insert(tokens.begin(), tokenizer->bos());
    }
};

TEST(Perplexity, MatchesLlamaPerplexityOnStories260K) {
    Fixture f;
    std::ifstream in(test::shared("reference/ppl.json"));
    const nlohmann::json ref = nlohmann::json::parse(in);
    ASSERT_EQ(static_cast<int64_t>(f.tokens.size()), ref["text_tokens_with_bos"].get<int64_t>());

    Session session(*f.model, 128, 128);
    const PerplexityResult r = compute_perplexity(session, f.tokens, f.tokenizer->bos(), {128}, nullptr, nullptr);
    EXPECT_EQ(r.n_chunks, 31);
    EXPECT_EQ(r.n_scored, ref["scored_tokens"].get<int64_t>());
    const double expected = ref["also_with_f32_kv_cache"]["final_ppl"].get<double>();
    EXPECT_NEAR(r.ppl, expected, expected * 1e-3);  // issue: within 0.1%
    EXPECT_NEAR(r.ppl, ref["independent_check"]["numpy_float64_ppl"].get<double>(), 2e-4);
    EXPECT_NEAR(r.ppl_stderr, ref["also_with_f32_kv_cache"]["final_ppl_stderr"].get<double>(), 2e-3);
    const auto running = ref["also_with_f32_kv_cache"]["running_ppl_after_each_chunk"].get<std::vector<double>>();
    ASSERT_EQ(r.running_ppl.size(), running.size());
    for (size_t i = 0; i < running.size(); ++i) EXPECT_NEAR(r.running_ppl[i], running[i], 1.5e-4) << "chunk " << i;
}

TEST(Perplexity, KlAgainstItselfIsZeroAndSavedLogitsRoundTrip) {
    Fixture f;
    Session session(*f.model, 64, 64);
    const std::span<const int32_t> text(f.tokens.data(), 64 * 6);
    SavedLogProbs saved;
    const PerplexityResult a = compute_perplexity(session, text, f.tokenizer->bos(), {64}, &saved, nullptr);
    const auto path = std::filesystem::temp_directory_path() / ("suanli-logp-" + std::to_string(::getpid()));
    saved.save(path);
    const SavedLogProbs base = SavedLogProbs::load(path);
    std::filesystem::remove(path);
    const PerplexityResult b = compute_perplexity(session, text, f.tokenizer->bos(), {64}, nullptr, &base);
    ASSERT_TRUE(b.has_base);
    EXPECT_LT(b.kl_mean, 1e-4);  // only F16 rounding of the stored log-probabilities
    EXPECT_EQ(b.top1_agreement, 1.0);
    EXPECT_NEAR(b.base_ppl, a.ppl, a.ppl * 1e-3);
    // A different context length scores other positions: refused.
    EXPECT_THROW(compute_perplexity(session, text, f.tokenizer->bos(), {32}, nullptr, &base), Error);
}

TEST(Perplexity, TooShortTextIsAnError) {
    Fixture f;
    Session session(*f.model, 128, 128);
    EXPECT_THROW(compute_perplexity(session, std::span(f.tokens.data(), 100), 1, {128}, nullptr, nullptr), Error);
}

}  // namespace
}  // namespace suanli
