// Small hand-made vocabularies: the merge order rules and the load errors.
#include <gtest/gtest.h>

#include "core/error.h"
#include "formats/gguf_writer.h"
#include "tokenizer/tokenizer.h"

namespace suanli {
namespace {

const std::string kSp = "\xE2\x96\x81";  // ▁

std::unique_ptr<Tokenizer> load(const GgufWriter& w) {
    const std::vector<std::byte> bytes = w.to_bytes();
    const GgufFile file = GgufFile::parse(bytes, "synthetic.gguf");
    return Tokenizer::from_gguf(file);
}

GgufWriter spm_writer(const std::vector<std::string>& tokens, const std::vector<float>& scores,
                      const std::vector<int32_t>& types) {
    GgufWriter w;
    w.set_string("tokenizer.ggml.model", "llama");
    w.set_array("tokenizer.ggml.tokens", std::span<const std::string>(tokens));
    w.set_array("tokenizer.ggml.scores", std::span<const float>(scores));
    w.set_array("tokenizer.ggml.token_type", std::span<const int32_t>(types));
    return w;
}

std::string error_of(const GgufWriter& w) {
    try {
        load(w);
    } catch (const Error& e) {
        return e.what();
    }
    return "(no error)";
}

TEST(SyntheticSpm, HighestScoreMergesFirstAndTiesGoLeft) {
    //                                   0        1      2       3     4    5    6            7     8
    const std::vector<std::string> t = {"<unk>", "<s>", "</s>", kSp, "a", "b", kSp + "a", "ab", "ba"};
    const std::vector<float> scores = {0, 0, 0, -9, -9, -9, -1, -2, -0.5f};
    const std::vector<int32_t> types = {2, 3, 3, 1, 1, 1, 1, 1, 1};
    auto tok = load(spm_writer(t, scores, types));
    // ▁ a b a: "ba" (-0.5) beats "▁a" (-1) and "ab" (-2); then ▁+a.
    EXPECT_EQ(tok->encode("aba", false, false), (std::vector<int32_t>{6, 8}));
    // No byte tokens: an unknown character is one UNK (SentencePiece without byte fallback).
    EXPECT_EQ(tok->encode("a\xC3\xA9", false, false), (std::vector<int32_t>{6, 0}));
    EXPECT_EQ(tok->encode("a", true, false), (std::vector<int32_t>{1, 6}));  // defaults: BOS 1, add_bos
    EXPECT_EQ(tok->bos(), 1);
    EXPECT_EQ(tok->eos(), 2);

    // Equal scores: the leftmost pair merges first. ▁ a b a b has "ab", "ba",
    // "ab" tied: a+b at 1 wins (not b+a at 2, which would give ▁a ba b), then
    // a+b at 3; "▁ab" is no token, so ▁ stays alone.
    const std::vector<float> tied = {0, 0, 0, -9, -9, -9, -5, -1, -1};
    auto tok2 = load(spm_writer(t, tied, types));
    EXPECT_EQ(tok2->encode("abab", false, false), (std::vector<int32_t>{3, 7, 7}));
}

TEST(SyntheticSpm, NoSpacePrefixWhenTheVocabularySaysSo) {
    const std::vector<std::string> t = {"<unk>", "<s>", "</s>", kSp, "a", kSp + "a"};
    GgufWriter w = spm_writer(t, {0, 0, 0, -1, -1, -1}, {2, 3, 3, 1, 1, 1});
    w.set_bool("tokenizer.ggml.add_space_prefix", false);
    w.set_bool("tokenizer.ggml.add_bos_token", false);
    w.set_bool("tokenizer.ggml.add_eos_token", true);
    auto tok = load(w);
    EXPECT_EQ(tok->encode("a a", true, false), (std::vector<int32_t>{4, 5, 2}));
    EXPECT_FALSE(tok->add_bos());
}

TEST(SyntheticBpe, LowestRankMergesFirst) {
    std::vector<std::string> t = {"a", "b", "c", "ab", "bc", "abc"};
    GgufWriter w;
    w.set_string("tokenizer.ggml.model", "gpt2");
    w.set_string("tokenizer.ggml.pre", "gpt-2");
    w.set_array("tokenizer.ggml.tokens", std::span<const std::string>(t));
    std::vector<std::string> merges = {"b c", "a b", "a bc"};
    w.set_array("tokenizer.ggml.merges", std::span<const std::string>(merges));
    auto tok = load(w);
    EXPECT_EQ(tok->encode("abc", false, false), (std::vector<int32_t>{5}));  // b+c, then a+bc
    EXPECT_EQ(tok->encode("ab", false, false), (std::vector<int32_t>{3}));
    // "ab c" would need merge "ab c", which has no rank: a+b loses to b+c.
    merges = {"b c", "a b"};
    w.set_array("tokenizer.ggml.merges", std::span<const std::string>(merges));
    EXPECT_EQ(load(w)->encode("abc", false, false), (std::vector<int32_t>{0, 4}));
    EXPECT_EQ(load(w)->bos(), -1);
    EXPECT_FALSE(load(w)->add_bos());
}

TEST(SyntheticErrors, NameWhatIsWrong) {
    const std::vector<std::string> t = {"<unk>", "a"};
    GgufWriter w;
    w.set_array("tokenizer.ggml.tokens", std::span<const std::string>(t));
    EXPECT_NE(error_of(w).find("tokenizer.ggml.model"), std::string::npos) << error_of(w);

    w.set_string("tokenizer.ggml.model", "bert");
    EXPECT_NE(error_of(w).find("'bert'"), std::string::npos) << error_of(w);

    w.set_string("tokenizer.ggml.model", "gpt2");
    EXPECT_NE(error_of(w).find("tokenizer.ggml.merges"), std::string::npos) << error_of(w);

    const std::vector<std::string> merges = {"a a"};
    w.set_array("tokenizer.ggml.merges", std::span<const std::string>(merges));
    w.set_string("tokenizer.ggml.pre", "mystery");
    const std::string e = error_of(w);
    EXPECT_NE(e.find("'mystery'"), std::string::npos) << e;
    EXPECT_NE(e.find("synthetic.gguf"), std::string::npos) << e;

    w.set_string("tokenizer.ggml.model", "llama");
    const std::vector<float> scores = {0};
    w.set_array("tokenizer.ggml.scores", std::span<const float>(scores));
    EXPECT_NE(error_of(w).find("tokenizer.ggml.scores"), std::string::npos) << error_of(w);

    GgufWriter no_tokens;
    no_tokens.set_string("tokenizer.ggml.model", "llama");
    EXPECT_NE(error_of(no_tokens).find("tokenizer.ggml.tokens"), std::string::npos) << error_of(no_tokens);

    GgufWriter no_bos;  // gpt2 asks for BOS but has none
    no_bos.set_string("tokenizer.ggml.model", "gpt2");
    no_bos.set_array("tokenizer.ggml.tokens", std::span<const std::string>(t));
    no_bos.set_array("tokenizer.ggml.merges", std::span<const std::string>(merges));
    no_bos.set_bool("tokenizer.ggml.add_bos_token", true);
    EXPECT_NE(error_of(no_bos).find("BOS"), std::string::npos) << error_of(no_bos);
}

}  // namespace
}  // namespace suanli
