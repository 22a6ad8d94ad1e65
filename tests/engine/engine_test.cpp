// The engine against itself: batching, chunked prefill and the prefix cache must
// not change a greedy request's tokens.
#include "engine/engine.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

#include "backends/cpu/cpu_backend.h"
#include "core/device.h"
#include "models/model.h"
#include "test_paths.h"
#include "tokenizer/tokenizer.h"

namespace suanli {
namespace {

struct Collect : RequestSink {
    std::mutex mutex;
    std::condition_variable cv;
    std::vector<int32_t> tokens;
    std::string text;
    bool done = false;
    Completion completion;

    void on_token(const TokenEvent& e) override {
        std::lock_guard lock(mutex);
        tokens.push_back(e.token);
        text += e.text;
    }
    void on_finish(const Completion& c) override {
        std::lock_guard lock(mutex);
        completion = c;
        text += c.text;
        done = true;
        cv.notify_all();
    }
    void wait() {
        std::unique_lock lock(mutex);
        ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(60), [&] { return done; }));
    }
};

struct Fixture : ::testing::Test {
    Device device{cpu_backend(), 0, 2};
    std::unique_ptr<Model> model = Model::load(test::source_dir() / "models/stories260K.gguf", device);
    std::unique_ptr<Tokenizer> tokenizer = load_tokenizer(*model);

    GenerationParams greedy(int32_t n) {
        GenerationParams p;
        p.max_tokens = n;
        p.sampling.temperature = 0.0f;
        return p;
    }
    std::vector<int32_t> prompt(const std::string& text) { return tokenizer->encode(text, true, false); }

    std::shared_ptr<Collect> run(Engine& engine, const std::string& text, int32_t n) {
        auto sink = std::make_shared<Collect>();
        EXPECT_EQ(engine.submit(prompt(text), greedy(n), sink), SubmitStatus::Accepted);
        return sink;
    }
};

const std::vector<std::string> kPrompts = {
    "Once upon a time", "The little dog", "Lily and Ben went to the park and saw a big red ball", "One day",
    "Tom had a toy car.", "The sun was shining and the birds were singing in the tall green trees near the house",
    "Once upon a time there was", "Sara"};

// Each prompt alone, then all of them in one engine with small steps (chunked prefill next to
// decoding) and small blocks (scattered cells): the same greedy tokens.
void expect_batched_equal_solo(Fixture& f, DType kv_type) {
    std::vector<std::vector<int32_t>> solo;
    {
        Engine engine(*f.model, *f.tokenizer, {.parallel = 1, .ctx_size = 256, .kv_type = kv_type});
        for (const auto& p : kPrompts) {
            auto s = f.run(engine, p, 40);
            s->wait();
            EXPECT_EQ(s->completion.reason, FinishReason::Length);
            solo.push_back(s->tokens);
        }
    }
    Engine engine(*f.model, *f.tokenizer,
                  {.parallel = 8, .ctx_size = 256, .block_size = 4, .step_tokens = 7, .kv_type = kv_type});
    std::vector<std::shared_ptr<Collect>> sinks;
    for (const auto& p : kPrompts) sinks.push_back(f.run(engine, p, 40));
    for (size_t i = 0; i < sinks.size(); ++i) {
        sinks[i]->wait();
        EXPECT_EQ(sinks[i]->tokens, solo[i]) << kPrompts[i];
    }
    EXPECT_TRUE(engine.wait_idle(std::chrono::steady_clock::now() + std::chrono::seconds(5)));
    EXPECT_EQ(engine.stats().kv_blocks_used, 0);
}

TEST_F(Fixture, BatchedGreedyRequestsEqualTheirSoloRuns) { expect_batched_equal_solo(*this, DType::F32); }

TEST_F(Fixture, WithAnF16CacheToo) {
    expect_batched_equal_solo(*this, DType::F16);
    const Engine f32(*model, *tokenizer, {.parallel = 2, .ctx_size = 64}),
        f16(*model, *tokenizer, {.parallel = 2, .ctx_size = 64, .kv_type = DType::F16});
    EXPECT_EQ(f16.stats().kv_bytes * 2, f32.stats().kv_bytes);
}

TEST_F(Fixture, PrefixCacheReusesBlocksAndGivesTheSameTokens) {
    Engine engine(*model, *tokenizer, {.parallel = 2, .ctx_size = 256, .block_size = 4});
    const std::string p = "Lily and Ben went to the park and saw a big red ball";
    auto first = run(engine, p, 20);
    first->wait();
    EXPECT_EQ(first->completion.cached_tokens, 0);
    auto second = run(engine, p, 20);
    second->wait();
    EXPECT_GT(second->completion.cached_tokens, 0);
    EXPECT_EQ(second->tokens, first->tokens);
    EXPECT_EQ(second->text, first->text);
}

TEST_F(Fixture, StopSequenceEndsTheReplyBeforeIt) {
    Engine engine(*model, *tokenizer, {.parallel = 1, .ctx_size = 256});
    auto full = run(engine, "Once upon a time", 30);
    full->wait();
    ASSERT_GT(full->text.size(), 12u);
    const std::string stop = full->text.substr(8, 3);
    auto sink = std::make_shared<Collect>();
    GenerationParams params = greedy(30);
    params.stop = {stop};
    engine.submit(prompt("Once upon a time"), params, sink);
    sink->wait();
    EXPECT_EQ(sink->completion.reason, FinishReason::Stop);
    EXPECT_EQ(sink->text, full->text.substr(0, full->text.find(stop)));
}

TEST_F(Fixture, FullQueueRefusesAndCancelEnds) {
    Engine engine(*model, *tokenizer, {.parallel = 1, .ctx_size = 512, .queue = 1});
    auto a = run(engine, "Once upon a time", 400);  // runs
    std::vector<std::shared_ptr<Collect>> queued;
    int refused = 0;
    for (int i = 0; i < 4; ++i) {
        auto s = std::make_shared<Collect>();
        uint64_t id = 0;
        const SubmitStatus st = engine.submit(prompt("One day"), greedy(5), s, &id);
        if (st == SubmitStatus::QueueFull) ++refused;
        else queued.push_back(s);
    }
    EXPECT_GE(refused, 2);
    engine.cancel_all();
    a->wait();
    EXPECT_EQ(a->completion.reason, FinishReason::Cancelled);
    for (auto& s : queued) s->wait();
    EXPECT_TRUE(engine.wait_idle(std::chrono::steady_clock::now() + std::chrono::seconds(5)));
    EXPECT_EQ(engine.stats().kv_blocks_used, 0);
}

TEST_F(Fixture, PromptLongerThanTheContextIsAnError) {
    Engine engine(*model, *tokenizer, {.parallel = 1, .ctx_size = 8});
    auto s = run(engine, "Lily and Ben went to the park and saw a big red ball", 4);
    s->wait();
    EXPECT_EQ(s->completion.reason, FinishReason::Error);
    EXPECT_NE(s->completion.error.find("context"), std::string::npos);
}

}  // namespace
}  // namespace suanli
