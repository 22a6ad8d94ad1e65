// Golden renders of real chat templates (tests/chat/templates/, reconstructed
// from the models' tokenizer_config.json). Each expected string is derived by
// hand from the template's logic, not produced by this engine.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "chat/chat_template.h"
#include "core/error.h"

namespace suanli {
namespace {

using jinja::List;
using jinja::Object;
using jinja::TemplateRaised;
using jinja::Value;

ChatTemplate load(const std::string& name) {
    const std::string path = std::string(SUANLI_SOURCE_DIR) + "/tests/chat/templates/" + name;
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error("cannot open " + path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ChatTemplate(ss.str());
}

const std::vector<ChatMessage> kWithSystem = {
    {"system", "You are helpful."}, {"user", "Hi"}, {"assistant", "Hello!"}, {"user", "How are you?"}};
const std::vector<ChatMessage> kNoSystem = {{"user", "Hi"}, {"assistant", "Hello!"}, {"user", "How are you?"}};
const std::vector<ChatMessage> kTwoUsers = {{"user", "Hi"}, {"user", "Anyone?"}};

// The message of the Error that rendering throws; fails the test if none does.
template <class Fn>
std::string raised(Fn&& fn) {
    try {
        fn();
    } catch (const TemplateRaised& e) {
        return e.what();
    }
    ADD_FAILURE() << "expected raise_exception";
    return {};
}

TEST(ChatTemplateGolden, Llama2WithSystemPrompt) {
    const ChatTemplate t = load("llama2.jinja");
    EXPECT_EQ(t.render(kWithSystem, true, "<s>", "</s>"),
              "<s>[INST] <<SYS>>\nYou are helpful.\n<</SYS>>\n\nHi [/INST] Hello! </s><s>[INST] How are you? [/INST]");
}

TEST(ChatTemplateGolden, Llama2WithoutSystemPromptStripsContent) {
    const ChatTemplate t = load("llama2.jinja");
    const std::vector<ChatMessage> messages = {{"user", "  Hi\n"}, {"assistant", "Hello! "}, {"user", "How are you?"}};
    EXPECT_EQ(t.render(messages, true, "<s>", "</s>"), "<s>[INST] Hi [/INST] Hello! </s><s>[INST] How are you? [/INST]");
}

TEST(ChatTemplateGolden, Llama2RaisesOnNonAlternatingRoles) {
    const ChatTemplate t = load("llama2.jinja");
    EXPECT_EQ(raised([&] { t.render(kTwoUsers, true, "<s>", "</s>"); }),
              "Conversation roles must alternate user/assistant/user/assistant/...");
    const std::vector<ChatMessage> assistant_first = {{"assistant", "Hi"}};
    EXPECT_EQ(raised([&] { t.render(assistant_first, true, "<s>", "</s>"); }),
              "Conversation roles must alternate user/assistant/user/assistant/...");
}

TEST(ChatTemplateGolden, Llama3) {
    const ChatTemplate t = load("llama3.jinja");
    EXPECT_EQ(t.render(kWithSystem, true, "<|begin_of_text|>", "<|eot_id|>"),
              "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are helpful.<|eot_id|>"
              "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
              "<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>"
              "<|start_header_id|>user<|end_header_id|>\n\nHow are you?<|eot_id|>"
              "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

TEST(ChatTemplateGolden, Llama3TrimsContentAndHonoursNoGenerationPrompt) {
    const ChatTemplate t = load("llama3.jinja");
    const std::vector<ChatMessage> messages = {{"user", "\n  Hi there \n"}};
    EXPECT_EQ(t.render(messages, false, "<|begin_of_text|>", "<|eot_id|>"),
              "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>");
}

TEST(ChatTemplateGolden, MistralV03WithSystemPromptOnLastUserTurn) {
    const ChatTemplate t = load("mistral.jinja");
    EXPECT_EQ(t.render(kWithSystem, true, "<s>", "</s>"),
              "<s>[INST] Hi[/INST] Hello!</s>[INST] You are helpful.\n\nHow are you?[/INST]");
    EXPECT_EQ(t.render(kNoSystem, true, "<s>", "</s>"), "<s>[INST] Hi[/INST] Hello!</s>[INST] How are you?[/INST]");
}

TEST(ChatTemplateGolden, MistralV03RaisesOnBadRoles) {
    const ChatTemplate t = load("mistral.jinja");
    EXPECT_EQ(raised([&] { t.render(kTwoUsers, true, "<s>", "</s>"); }),
              "After the optional system message, conversation roles must alternate "
              "user/assistant/user/assistant/...");
    const std::vector<ChatMessage> narrator = {{"user", "Hi"}, {"narrator", "Meanwhile..."}};
    EXPECT_EQ(raised([&] { t.render(narrator, true, "<s>", "</s>"); }),
              "Only user and assistant roles are supported, with the exception of an initial optional system "
              "message!");
}

TEST(ChatTemplateGolden, MistralV03ListsToolsBeforeTheLastUserTurn) {
    const ChatTemplate t = load("mistral.jinja");
    Object city;
    city.set("type", "string");
    Object properties;
    properties.set("city", Value(city));
    Object parameters;
    parameters.set("type", "object");
    parameters.set("properties", Value(properties));
    Object function;
    function.set("name", "get_weather");
    function.set("description", "Get the weather");
    function.set("parameters", Value(parameters));
    Object tool;
    tool.set("type", "function");
    tool.set("function", Value(function));
    Object extra;
    extra.set("tools", List{Value(tool)});
    EXPECT_EQ(t.render(kNoSystem, true, "<s>", "</s>", extra),
              "<s>[INST] Hi[/INST] Hello!</s>[AVAILABLE_TOOLS] [{\"type\": \"function\", \"function\": "
              "{\"name\": \"get_weather\", \"description\": \"Get the weather\", \"parameters\": "
              "{\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}}}}}][/AVAILABLE_TOOLS]"
              "[INST] How are you?[/INST]");
}

TEST(ChatTemplateGolden, MistralV03ToolCallsAndResults) {
    const ChatTemplate t = load("mistral.jinja");
    Object user;
    user.set("role", "user");
    user.set("content", "Weather in Paris?");
    Object function;
    function.set("name", "get_weather");
    Object args;
    args.set("city", "Paris");
    function.set("arguments", Value(args));
    Object call;
    call.set("id", "abc123def");
    call.set("function", Value(function));
    Object assistant;
    assistant.set("role", "assistant");
    assistant.set("tool_calls", List{Value(call)});
    Object result;
    result.set("role", "tool");
    result.set("content", "22C");
    result.set("tool_call_id", "abc123def");
    Object globals;
    globals.set("messages", List{Value(user), Value(assistant), Value(result)});
    globals.set("bos_token", "<s>");
    globals.set("eos_token", "</s>");
    EXPECT_EQ(t.render(globals),
              "<s>[INST] Weather in Paris?[/INST][TOOL_CALLS] [{\"name\": \"get_weather\", \"arguments\": "
              "{\"city\": \"Paris\"}, \"id\": \"abc123def\"}]</s>[TOOL_RESULTS] {\"content\": 22C, "
              "\"call_id\": \"abc123def\"}[/TOOL_RESULTS]");
}

TEST(ChatTemplateGolden, MistralV01) {
    const ChatTemplate t = load("mistral_v01.jinja");
    EXPECT_EQ(t.render(kNoSystem, true, "<s>", "</s>"), "<s>[INST] Hi [/INST]Hello!</s>[INST] How are you? [/INST]");
    EXPECT_EQ(raised([&] { t.render(kWithSystem, true, "<s>", "</s>"); }),
              "Conversation roles must alternate user/assistant/user/assistant/...");
}

TEST(ChatTemplateGolden, Qwen2AddsDefaultSystemPrompt) {
    const ChatTemplate t = load("chatml_qwen2.jinja");
    EXPECT_EQ(t.render(kNoSystem, true, "", "<|im_end|>"),
              "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
              "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n"
              "<|im_start|>user\nHow are you?<|im_end|>\n<|im_start|>assistant\n");
}

TEST(ChatTemplateGolden, Qwen2KeepsGivenSystemPrompt) {
    const ChatTemplate t = load("chatml_qwen2.jinja");
    EXPECT_EQ(t.render(kWithSystem, false, "", "<|im_end|>"),
              "<|im_start|>system\nYou are helpful.<|im_end|>\n"
              "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n"
              "<|im_start|>user\nHow are you?<|im_end|>\n");
}

TEST(ChatTemplateGolden, Phi3) {
    const ChatTemplate t = load("phi3.jinja");
    EXPECT_EQ(t.render(kWithSystem, true, "<s>", "<|endoftext|>"),
              "<|system|>\nYou are helpful.<|end|>\n<|user|>\nHi<|end|>\n<|assistant|>\nHello!<|end|>\n"
              "<|user|>\nHow are you?<|end|>\n<|assistant|>\n");
    EXPECT_EQ(t.render(kNoSystem, false, "<s>", "<|endoftext|>"),
              "<|user|>\nHi<|end|>\n<|assistant|>\nHello!<|end|>\n<|user|>\nHow are you?<|end|>\n<|endoftext|>");
}

TEST(ChatTemplateGolden, Gemma) {
    const ChatTemplate t = load("gemma.jinja");
    EXPECT_EQ(t.render(kNoSystem, true, "<bos>", "<eos>"),
              "<bos><start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\nHello!<end_of_turn>\n"
              "<start_of_turn>user\nHow are you?<end_of_turn>\n<start_of_turn>model\n");
}

TEST(ChatTemplateGolden, GemmaRaises) {
    const ChatTemplate t = load("gemma.jinja");
    EXPECT_EQ(raised([&] { t.render(kWithSystem, true, "<bos>", "<eos>"); }), "System role not supported");
    EXPECT_EQ(raised([&] { t.render(kTwoUsers, true, "<bos>", "<eos>"); }),
              "Conversation roles must alternate user/assistant/user/assistant/...");
}

TEST(ChatTemplateGolden, EmptyConversation) {
    EXPECT_EQ(load("chatml_qwen2.jinja").render({}, true, "", ""), "<|im_start|>assistant\n");
    EXPECT_EQ(load("llama3.jinja").render({}, true, "<|begin_of_text|>", ""),
              "<|start_header_id|>assistant<|end_header_id|>\n\n");
}


}  // namespace
}  // namespace suanli
