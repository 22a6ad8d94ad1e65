// Every model path against what llama.cpp computes (../shared/reference):
// prompt tokens, greedy tokens and logits.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "backends/reference/reference_backend.h"
#include "core/device.h"
#include "core/error.h"
#include "models/model.h"
#include "runtime/session.h"
#include "model_test_util.h"
#include "test_paths.h"
#include "tokenizer/tokenizer.h"

namespace suanli {
namespace {

using nlohmann::json;
using test::argmax;
using test::LoadedModel;

json read_json(const std::string& rel) { return test::read_json(test::shared(rel)); }

std::string hex_to_bytes(const std::string& hex) {
    std::string out;
    for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    return out;
}

// For one reference case: the prompt tokenizes to prompt_ids; each greedy step's
// argmax equals llama.cpp's, and the logits of its top-k ids agree within `tol`.
void check_case(LoadedModel& m, const json& c, const char* steps_key, double tol) {
    const std::string name = c["name"];
    SCOPED_TRACE("case " + name);
    const auto expected_prompt = c["prompt_ids"].get<std::vector<int32_t>>();
    const auto prompt = m.tokenizer->encode(c["prompt"].get<std::string>(), true, true);
    ASSERT_EQ(prompt, expected_prompt);

    const auto generated = c["generated_ids"].get<std::vector<int32_t>>();
    const json& steps = c[steps_key];
    Session session(*m.model, static_cast<int64_t>(prompt.size() + generated.size() + 8));
    std::span<const float> logits = session.decode(prompt);
    std::vector<int32_t> ours;
    double max_diff = 0;
    for (size_t step = 0; step < generated.size(); ++step) {
        for (const json& pair : steps[step]) {
            const double diff = std::abs(logits[pair[0].get<int32_t>()] - pair[1].get<double>());
            max_diff = std::max(max_diff, diff);
            ASSERT_LE(diff, tol) << "step " << step << " token " << pair[0];
        }
        const int32_t token = argmax(logits);
        ASSERT_EQ(token, generated[step]) << "step " << step;
        ours.push_back(token);
        if (step + 1 < generated.size()) logits = session.decode(std::span(&token, 1));
    }
    if (c.contains("generated_bytes_hex")) {
        EXPECT_EQ(m.tokenizer->decode(ours), hex_to_bytes(c["generated_bytes_hex"]));
    }
    ::testing::Test::RecordProperty("max_logit_diff_" + name, std::to_string(max_diff));
}

TEST(Stories260K, GreedyTokensAndTopLogitsMatchLlamaCpp) {
    LoadedModel m(test::shared("models/stories260K.gguf"));
    const json ref = read_json("reference/greedy.json");
    ASSERT_EQ(ref["cases"].size(), 12u);
    for (const json& c : ref["cases"]) check_case(m, c, "top5", 1e-3);
}

TEST(Stories260K, FullLogitVectorsMatchLlamaCpp) {
    LoadedModel m(test::shared("models/stories260K.gguf"));
    const json ref = read_json("reference/logits.json");
    ASSERT_EQ(ref["cases"].size(), 4u);
    for (const json& c : ref["cases"]) {
        SCOPED_TRACE(c["name"].get<std::string>());
        const auto prompt = c["prompt_ids"].get<std::vector<int32_t>>();
        Session session(*m.model, 128);
        const std::span<const float> logits = session.decode(prompt);
        const auto expected = c["last_prompt_token_logits"].get<std::vector<double>>();
        ASSERT_EQ(logits.size(), expected.size());
        for (size_t i = 0; i < expected.size(); ++i) ASSERT_NEAR(logits[i], expected[i], 1e-3) << "logit " << i;
        check_case(m, c, "top5_per_step", 1e-3);
    }
}

TEST(Stories260K, TokenByTokenPromptEqualsOneBatch) {
    LoadedModel m(test::shared("models/stories260K.gguf"));
    const auto prompt = m.tokenizer->encode("Lily wanted to play in the park", true, true);
    Session batch(*m.model, 64), single(*m.model, 64);
    const std::span<const float> batch_logits = batch.decode(prompt);
    const std::vector<float> a(batch_logits.begin(), batch_logits.end());
    std::span<const float> b;
    for (int32_t t : prompt) b = single.decode(std::span(&t, 1));
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], 1e-4);
}

TEST(LlamaTinyRandom, MatchesLlamaCpp) {
    LoadedModel m(test::shared("models/llama-tiny-random.gguf"));
    EXPECT_EQ(m.model->config().n_vocab, 32000);
    const json ref = read_json("reference/llama_tiny.json");
    for (const json& c : ref["cases"]) check_case(m, c, "top10_per_step", 2e-3);
}

TEST(Qwen2TinyRandom, MatchesLlamaCpp) {
    LoadedModel m(test::shared("models/qwen2-tiny-random.gguf"));
    const json ref = read_json("reference/qwen2_tiny.json");
    for (const json& c : ref["cases"]) check_case(m, c, "top10_per_step", 2e-3);
}

TEST(Session, RejectsOutOfRangeTokensAndFullContext) {
    LoadedModel m(test::shared("models/stories260K.gguf"));
    Session session(*m.model, 4);
    const std::vector<int32_t> bad{1, 512};
    EXPECT_THROW(session.decode(bad), Error);
    const std::vector<int32_t> five{1, 2, 3, 4, 5};
    EXPECT_THROW(session.decode(five), Error);
    EXPECT_EQ(session.n_past(), 0);
}

TEST(Session, F16CacheTakesHalfTheBytes) {
    LoadedModel m(test::shared("models/stories260K.gguf"));
    const Session f32(*m.model, 64), f16(*m.model, 64, 512, DType::F16);
    EXPECT_EQ(f32.kv_bytes(), 64 * KvCache::cell_bytes(m.model->config(), DType::F32));
    EXPECT_EQ(f16.kv_bytes() * 2, f32.kv_bytes());
}

}  // namespace
}  // namespace suanli
