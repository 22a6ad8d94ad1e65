// Prompt ids and decoded generations recorded from llama.cpp (../shared/reference).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tokenizer_test_util.h"

namespace suanli::test {
namespace {

nlohmann::json read_json(const std::string& rel) { return nlohmann::json::parse(read_file(shared(rel))); }

struct Reference {
    const char* json;
    const char* model;
    size_t n_cases;
};

void PrintTo(const Reference& r, std::ostream* os) { *os << r.json; }

class ReferencePrompts : public testing::TestWithParam<Reference> {};

// llama_tokenize(add_special=true, parse_special=true), as llama-simple.
TEST_P(ReferencePrompts, PromptIdsMatch) {
    const Tokenizer& tok = shared_tokenizer(GetParam().model);
    const nlohmann::json ref = read_json(GetParam().json);
    ASSERT_EQ(ref["cases"].size(), GetParam().n_cases);
    for (const auto& c : ref["cases"]) {
        const std::string prompt = c["prompt"];
        const auto expected = c["prompt_ids"].get<std::vector<int32_t>>();
        const std::vector<int32_t> got = tok.encode(prompt, true, true);
        EXPECT_EQ(got, expected) << c["name"] << ": " << escaped(prompt) << "\n  expected" << ids_to_string(expected)
                                 << "\n  got     " << ids_to_string(got);
    }
}

// The generated ids decode to exactly the recorded bytes (possibly ill-formed
// UTF-8), and streamed through Utf8Stream to the recorded text.
TEST_P(ReferencePrompts, GeneratedIdsDecode) {
    const Tokenizer& tok = shared_tokenizer(GetParam().model);
    const nlohmann::json ref = read_json(GetParam().json);
    for (const auto& c : ref["cases"]) {
        const auto ids = c["generated_ids"].get<std::vector<int32_t>>();
        const std::string bytes = hex_to_bytes(c["generated_bytes_hex"]);
        EXPECT_EQ(tok.decode(ids), bytes) << c["name"];

        Utf8Stream stream;
        std::string text;
        for (int32_t id : ids) text += stream.push(tok.token_to_piece(id));
        text += stream.finish();
        EXPECT_EQ(text, c["generated_text"].get<std::string>()) << c["name"];
    }
}

INSTANTIATE_TEST_SUITE_P(Models, ReferencePrompts,
                         testing::Values(Reference{"reference/greedy.json", "models/stories260K.gguf", 12},
                                         Reference{"reference/qwen2_tiny.json", "models/qwen2-tiny-random.gguf", 3},
                                         Reference{"reference/llama_tiny.json", "models/llama-tiny-random.gguf", 3}),
                         [](const testing::TestParamInfo<Reference>& info) {
                             std::string name = info.param.json;
                             name = name.substr(10, name.find('.') - 10);  // after "reference/"
                             return name;
                         });

TEST(ReferencePrompts, StoriesByteFallbackCase) {
    const Tokenizer& tok = shared_tokenizer("models/stories260K.gguf");
    // "—" and "é" are vocabulary tokens; 🍎 (F0 9F 8D 8E) falls back to <0xF0> <0x9F> <0x8D> <0x8E>.
    const std::vector<int32_t> ids = tok.encode("Tom had 3 apples—and a café 🍎!", true, true);
    const std::vector<int32_t> expected = {1,   274, 287, 381, 410, 472, 261, 339, 305, 419, 481, 412,
                                           264, 261, 280, 412, 431, 485, 410, 243, 162, 144, 145, 443};
    EXPECT_EQ(ids, expected);
    EXPECT_EQ(tok.token_text(243), "<0xF0>");
    EXPECT_EQ(tok.token_to_piece(243), "\xF0");
    EXPECT_EQ(tok.decode(ids), " Tom had 3 apples—and a café 🍎!");  // BOS gives "", space prefix stays
}

TEST(ReferencePrompts, EmptyPromptIsBosOnly) {
    const Tokenizer& tok = shared_tokenizer("models/stories260K.gguf");
    EXPECT_EQ(tok.encode("", true, true), std::vector<int32_t>{1});
    EXPECT_TRUE(tok.encode("", false, false).empty());
    const Tokenizer& qwen = shared_tokenizer("models/qwen2-tiny-random.gguf");
    EXPECT_TRUE(qwen.encode("", true, true).empty());  // gpt2 vocab without add_bos_token: no BOS
}

}  // namespace
}  // namespace suanli::test
