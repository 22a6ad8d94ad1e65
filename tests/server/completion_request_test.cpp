#include "server/api/completion_request.h"

#include <gtest/gtest.h>

#include "server/api/api_error.h"

namespace suanli::api {
namespace {

CompletionRequest chat(std::string_view body) { return parse_completion_request(body, Endpoint::Chat, 42); }
CompletionRequest text(std::string_view body) { return parse_completion_request(body, Endpoint::Completions, 42); }

// The ApiError a body raises: its status, type and parameter.
ApiError error_of(std::string_view body, Endpoint endpoint = Endpoint::Chat) {
    try {
        parse_completion_request(body, endpoint, 42);
    } catch (const ApiError& e) {
        return e;
    }
    ADD_FAILURE() << "no error for " << body;
    return {};
}

TEST(CompletionRequest, ReadsAChatRequest) {
    const auto r = chat(R"({"model": "m", "messages": [{"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "Hi "}, {"type": "text", "text": "there"}]}],
        "max_tokens": 5, "temperature": 0, "stop": ["\n"], "stream": true, "stream_options": {"include_usage": true},
        "seed": 7, "presence_penalty": 0.5, "logprobs": true, "top_logprobs": 3, "user": "ignored"})");
    EXPECT_EQ(r.model, "m");
    ASSERT_EQ(r.messages.size(), 2u);
    EXPECT_EQ(r.messages[1].role, "user");
    EXPECT_EQ(r.messages[1].content, "Hi there");
    EXPECT_EQ(r.generation.max_tokens, 5);
    EXPECT_EQ(r.generation.sampling.temperature, 0.0f);
    EXPECT_EQ(r.generation.sampling.seed, 7u);
    EXPECT_EQ(r.generation.sampling.presence_penalty, 0.5f);
    EXPECT_EQ(r.generation.stop, std::vector<std::string>{"\n"});
    EXPECT_TRUE(r.stream);
    EXPECT_TRUE(r.include_usage);
    EXPECT_EQ(r.generation.top_logprobs, 3);
}

TEST(CompletionRequest, DefaultsFollowOpenAI) {
    const auto c = chat(R"({"model": "m", "messages": [{"role": "user", "content": "x"}]})");
    EXPECT_EQ(c.generation.max_tokens, -1);  // chat: to the end of the turn
    EXPECT_EQ(c.generation.sampling.temperature, 1.0f);
    EXPECT_EQ(c.generation.sampling.top_p, 1.0f);
    EXPECT_EQ(c.generation.top_logprobs, -1);
    EXPECT_FALSE(c.stream);
    const auto t = text(R"({"model": "m", "prompt": "Once", "logprobs": 2, "max_tokens": null})");
    EXPECT_EQ(t.generation.max_tokens, 16);  // completions: 16
    EXPECT_EQ(std::get<std::string>(t.prompt), "Once");
    EXPECT_EQ(t.generation.top_logprobs, 2);
}

TEST(CompletionRequest, PromptMayBeTokenIds) {
    const auto t = text(R"({"model": "m", "prompt": [1, 2, 3]})");
    EXPECT_EQ(std::get<std::vector<int32_t>>(t.prompt), (std::vector<int32_t>{1, 2, 3}));
}

TEST(CompletionRequest, BadBodiesNameTheirProblem) {
    EXPECT_EQ(error_of("{not json").message, "the request body is not valid JSON");
    EXPECT_EQ(error_of("[1]").status, 400);
    EXPECT_EQ(error_of(R"({"messages": [{"role": "user", "content": "x"}]})").param, "model");
    EXPECT_EQ(error_of(R"({"model": 3, "messages": []})").param, "model");
    EXPECT_EQ(error_of(R"({"model": "m", "messages": []})").message, "'messages' must not be empty");
    EXPECT_EQ(error_of(R"({"model": "m", "messages": "hi"})").param, "messages");
    EXPECT_EQ(error_of(R"({"model": "m", "messages": [{"role": "king", "content": "x"}]})").param, "messages[0].role");
    EXPECT_EQ(error_of(R"({"model": "m", "messages": [{"role": "user", "content": 5}]})").param, "messages[0].content");
    EXPECT_EQ(error_of(R"({"model": "m", "messages": [{"role": "user"}]})").param, "messages[0].content");
    EXPECT_EQ(error_of(R"({"model": "m", "messages": [{"role": "user", "content": null}]})").param, "messages[0].content");
    EXPECT_NO_THROW(chat(R"({"model": "m", "messages": [{"role": "assistant", "content": null}, {"role": "user", "content": "x"}]})"));
    const std::string ok_messages = R"("model": "m", "messages": [{"role": "user", "content": "x"}])";
    EXPECT_EQ(error_of("{" + ok_messages + R"(, "max_tokens": "5"})").param, "max_tokens");
    EXPECT_EQ(error_of("{" + ok_messages + R"(, "max_tokens": 0})").param, "max_tokens");
    EXPECT_EQ(error_of("{" + ok_messages + R"(, "max_tokens": 1.5})").param, "max_tokens");
    EXPECT_EQ(error_of("{" + ok_messages + R"(, "temperature": 3})").param, "temperature");
    EXPECT_EQ(error_of("{" + ok_messages + R"(, "top_p": -1})").param, "top_p");
    EXPECT_EQ(error_of("{" + ok_messages + R"(, "stream": "yes"})").param, "stream");
    EXPECT_EQ(error_of("{" + ok_messages + R"(, "stop": [1]})").param, "stop[]");
    EXPECT_EQ(error_of("{" + ok_messages + R"(, "stop": ["a","b","c","d","e"]})").param, "stop");
    EXPECT_EQ(error_of("{" + ok_messages + R"(, "n": 2})").param, "n");
    EXPECT_EQ(error_of("{" + ok_messages + R"(, "top_logprobs": 2})").param, "top_logprobs");
    EXPECT_EQ(error_of("{" + ok_messages + R"(, "seed": 18446744073709551615})").param, "seed");
    EXPECT_EQ(error_of(R"({"model": "m", "prompt": {"a": 1}})", Endpoint::Completions).param, "prompt");
    EXPECT_EQ(error_of(R"({"model": "m", "prompt": [-1]})", Endpoint::Completions).param, "prompt");
    EXPECT_EQ(error_of(R"({"model": "m", "prompt": "x", "logprobs": true})", Endpoint::Completions).param, "logprobs");
}

TEST(CompletionRequest, ErrorJsonHasOpenAIsShape) {
    EXPECT_EQ(error_json(invalid_request("bad \"x\"", "x")),
              R"({"error":{"code":null,"message":"bad \"x\"","param":"x","type":"invalid_request_error"}})");
}

}  // namespace
}  // namespace suanli::api
