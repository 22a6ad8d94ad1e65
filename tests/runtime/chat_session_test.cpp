// ChatSession on stories260K with the reference backend: incremental evaluation of a
// conversation gives what evaluating the whole rendered prompt from scratch gives.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <cstdio>
#include <fstream>

#include "backends/reference/reference_backend.h"
#include "chat/chat_template.h"
#include "core/device.h"
#include "core/error.h"
#include "models/model.h"
#include "runtime/chat_session.h"
#include "runtime/session.h"
#include "test_paths.h"
#include "tokenizer/tokenizer.h"

namespace suanli {
namespace {

struct Fixture {
    Device device{reference_backend(), 0, 2};
    std::unique_ptr<Model> model = Model::load(test::shared("models/stories260K.gguf"), device);
    std::unique_ptr<Tokenizer> tokenizer = load_tokenizer(*model);
};

ChatTemplate chatml() { return ChatTemplate(std::string(*builtin_chat_template("chatml"))); }

GenerateOptions greedy(int32_t n) {
    GenerateOptions o;
    o.max_tokens = n;
    o.sampling.temperature = 0;
    return o;
}

std::vector<float> copy(std::span<const float> s) { return {s.begin(), s.end()}; }

TEST(ChatSession, IncrementalEvaluationEqualsEvaluatingFromScratch) {
    Fixture f;
    Session session(*f.model, 512);
    ChatSession chat(session, *f.tokenizer, chatml(), "You tell stories.");
    const ChatTurn first = chat.reply("Hello", greedy(12), nullptr);
    EXPECT_EQ(first.reused_tokens, 0);
    ASSERT_FALSE(first.tokens.empty());

    // The next prompt shares a prefix with what the session holds.
    chat.add({"user", "Tell me about a cat"});
    const std::vector<int32_t> prompt = chat.prompt_tokens();
    const int64_t held = static_cast<int64_t>(chat.evaluated().size());
    int64_t reused = 0;
    const std::vector<float> incremental = copy(chat.evaluate(prompt, &reused));
    EXPECT_GT(reused, 0);
    EXPECT_LE(reused, held);
    EXPECT_LT(reused, static_cast<int64_t>(prompt.size()));
    EXPECT_EQ(session.n_past(), static_cast<int64_t>(prompt.size()));
    ASSERT_TRUE(std::equal(chat.evaluated().begin(), chat.evaluated().end(), prompt.begin(), prompt.end()));

    Session fresh(*f.model, 512);
    const std::vector<float> scratch = copy(fresh.decode(prompt));
    ASSERT_EQ(incremental.size(), scratch.size());
    float max_diff = 0;
    for (size_t i = 0; i < scratch.size(); ++i) max_diff = std::max(max_diff, std::abs(incremental[i] - scratch[i]));
    // The reference backend computes each token's row the same way whatever the batch.
    EXPECT_EQ(max_diff, 0.0f) << "reused " << reused << " of " << held << " held tokens";
    RecordProperty("max_abs_logit_diff", std::to_string(max_diff));
    std::printf("incremental vs scratch: reused %lld of %lld held, max |logit diff| %g\n",
                static_cast<long long>(reused), static_cast<long long>(held), max_diff);

    // Evaluating the same prompt again decodes only its last token.
    const std::vector<float> again = copy(chat.evaluate(prompt, &reused));
    EXPECT_EQ(reused, static_cast<int64_t>(prompt.size()) - 1);
    for (size_t i = 0; i < scratch.size(); ++i) ASSERT_EQ(again[i], scratch[i]);

    // A prompt that departs from what the session holds part-way: the session is
    // cut back to the shared prefix, and the logits are still those from scratch.
    std::vector<int32_t> edited(prompt.begin(), prompt.end() - 6);
    for (int32_t t : f.tokenizer->encode(" a dog and a bird", false, false)) edited.push_back(t);
    const std::vector<float> cut = copy(chat.evaluate(edited, &reused));
    EXPECT_EQ(reused, static_cast<int64_t>(prompt.size()) - 6);
    EXPECT_EQ(session.n_past(), static_cast<int64_t>(edited.size()));
    Session fresh2(*f.model, 512);
    const std::vector<float> scratch2 = copy(fresh2.decode(edited));
    for (size_t i = 0; i < scratch2.size(); ++i) ASSERT_EQ(cut[i], scratch2[i]) << "logit " << i;
}

TEST(ChatSession, SecondTurnGivesTheTokensOfAFreshEvaluation) {
    Fixture f;
    Session session(*f.model, 512);
    ChatSession chat(session, *f.tokenizer, chatml());
    const ChatTurn one = chat.reply("Hello", greedy(10), nullptr);
    const ChatTurn two = chat.reply("What happened next?", greedy(10), nullptr);
    EXPECT_GT(two.reused_tokens, 0);

    // The same history given at once, to a fresh session: same second reply.
    Session other(*f.model, 512);
    ChatSession replay(other, *f.tokenizer, chatml());
    replay.add({"user", "Hello"});
    replay.add({"assistant", one.text});
    const ChatTurn two_again = replay.reply("What happened next?", greedy(10), nullptr);
    EXPECT_EQ(two_again.reused_tokens, 0);
    EXPECT_EQ(two_again.tokens, two.tokens);
    EXPECT_EQ(two_again.text, two.text);
    ASSERT_EQ(chat.messages().size(), 4u);
    EXPECT_EQ(chat.messages()[3].role, "assistant");
    EXPECT_EQ(chat.messages()[3].content, two.text);
}

TEST(ChatSession, ResetRepeatsAFreshConversationEvenWhenSampling) {
    Fixture f;
    Session session(*f.model, 512);
    ChatSession chat(session, *f.tokenizer, chatml(), "Be brief.");
    GenerateOptions sampled;
    sampled.max_tokens = 12;
    sampled.sampling.temperature = 0.9f;
    sampled.sampling.seed = 42;
    const ChatTurn a = chat.reply("Hello", sampled, nullptr);
    chat.reply("More", sampled, nullptr);
    chat.reset();
    ASSERT_EQ(chat.messages().size(), 1u);  // the system prompt stays
    EXPECT_EQ(session.n_past(), 0);
    const ChatTurn b = chat.reply("Hello", sampled, nullptr);
    EXPECT_EQ(b.reused_tokens, 0);
    EXPECT_EQ(a.tokens, b.tokens);
}

TEST(ChatSession, CallerStopsTheReplyAndItIsKept) {
    Fixture f;
    Session session(*f.model, 512);
    ChatSession chat(session, *f.tokenizer, chatml());
    int calls = 0;
    const ChatTurn t = chat.reply("Hello", greedy(50), [&](std::string_view) { return ++calls < 3; });
    EXPECT_TRUE(t.stopped_by_caller);
    EXPECT_EQ(calls, 3);
    EXPECT_EQ(chat.messages().back().content, t.text);
}

TEST(ChatSession, BosIsAddedOnceWhetherOrNotTheTemplateWritesIt) {
    Fixture f;
    ASSERT_TRUE(f.tokenizer->add_bos());
    const int32_t bos = f.tokenizer->bos();
    Session session(*f.model, 256);
    for (const char* source : {"{% for m in messages %}{{ m['content'] }}{% endfor %}",
                               "{{ bos_token }}{% for m in messages %}{{ m['content'] }}{% endfor %}"}) {
        ChatSession chat(session, *f.tokenizer, ChatTemplate(source));
        chat.add({"user", "Hello"});
        const std::vector<int32_t> tokens = chat.prompt_tokens();
        ASSERT_GE(tokens.size(), 2u) << source;
        EXPECT_EQ(tokens[0], bos) << source;
        EXPECT_NE(tokens[1], bos) << source;
    }
}

TEST(ChatSession, ConversationLongerThanTheContextIsRefusedAndHistoryKept) {
    Fixture f;
    Session session(*f.model, 64);  // "Hi" in ChatML is about 40 tokens here
    ChatSession chat(session, *f.tokenizer, chatml());
    EXPECT_THROW(chat.reply(std::string(400, 'a'), greedy(4), nullptr), ContextFullError);
    EXPECT_TRUE(chat.messages().empty());
    // A reply that fills the context stops there.
    const ChatTurn t = chat.reply("Hi", greedy(-1), nullptr);
    if (!t.stopped_by_eos) {
        EXPECT_TRUE(t.context_full);
        EXPECT_EQ(session.n_past(), session.n_ctx());
    }
}

TEST(ChatTemplates, BuiltinsParseAndRender) {
    const std::vector<ChatMessage> messages{{"user", "Hi"}, {"assistant", "Hello"}, {"user", "Bye"}};
    ASSERT_GE(chat_template_names().size(), 3u);
    for (std::string_view name : chat_template_names()) {
        const ChatTemplate t{std::string(*builtin_chat_template(name))};
        const std::string out = t.render(messages, true, "<s>", "</s>");
        EXPECT_NE(out.find("Bye"), std::string::npos) << name;
    }
    EXPECT_FALSE(builtin_chat_template("nope"));
    EXPECT_EQ(ChatTemplate(std::string(*builtin_chat_template("chatml"))).render(messages, true, "", ""),
              "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello<|im_end|>\n"
              "<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n");
}

TEST(ChatTemplates, FromAHuggingFaceDirectory) {
    const auto dir = std::filesystem::temp_directory_path() / ("suanli-chat-hf-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    auto write = [&](const char* name, const std::string& text) { std::ofstream(dir / name) << text; };

    EXPECT_FALSE(hf_chat_template(dir));  // no config at all
    write("tokenizer_config.json", R"({"bos_token": "<s>"})");
    EXPECT_FALSE(hf_chat_template(dir));
    write("tokenizer_config.json", R"({"chat_template": "{{ messages[0]['content'] }}"})");
    EXPECT_EQ(hf_chat_template(dir), "{{ messages[0]['content'] }}");
    write("tokenizer_config.json",
          R"({"chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D"}]})");
    EXPECT_EQ(hf_chat_template(dir), "D");
    write("tokenizer_config.json", R"({"chat_template": [{"name": "tool_use", "template": "T"}]})");
    EXPECT_THROW(hf_chat_template(dir), Error);
    write("tokenizer_config.json", R"({"chat_template": 5})");
    EXPECT_THROW(hf_chat_template(dir), Error);
    write("chat_template.jinja", "J");  // the separate file wins
    EXPECT_EQ(hf_chat_template(dir), "J");
    std::filesystem::remove_all(dir);

    Fixture f;
    EXPECT_FALSE(model_chat_template(*f.model));  // stories260K carries none
}

}  // namespace
}  // namespace suanli
