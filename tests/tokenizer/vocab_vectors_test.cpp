// llama.cpp's tokenizer test vectors (made with Hugging Face tokenizers):
// every string of NAME.gguf.inp must encode to the ids of NAME.gguf.out.
#include <gtest/gtest.h>

#include "tokenizer_test_util.h"

namespace suanli::test {
namespace {

struct Case {
    std::string text;
    std::vector<int32_t> ids;
};

std::vector<Case> read_cases(const std::string& vocab) {
    const std::string inp = read_file(shared("vocab/" + vocab + ".inp"));
    const std::string out = read_file(shared("vocab/" + vocab + ".out"));
    const std::string sep = "\n__ggml_vocab_test__\n";

    std::vector<Case> cases;
    for (size_t pos = 0; pos < inp.size();) {
        const size_t end = inp.find(sep, pos);
        if (end == std::string::npos) throw std::runtime_error(vocab + ".inp: no separator after the last string");
        cases.push_back({inp.substr(pos, end - pos), {}});
        pos = end + sep.size();
    }
    std::istringstream lines(out);
    std::string line;
    for (Case& c : cases) {
        if (!std::getline(lines, line)) throw std::runtime_error(vocab + ".out: fewer lines than strings");
        std::istringstream ids(line);
        for (int32_t id; ids >> id;) c.ids.push_back(id);
    }
    return cases;
}

class VocabVectors : public testing::TestWithParam<std::string> {};

TEST_P(VocabVectors, EncodeMatchesExactly) {
    const Tokenizer& tok = shared_tokenizer("vocab/" + GetParam());
    const std::vector<Case> cases = read_cases(GetParam());
    ASSERT_EQ(cases.size(), 46u);
    int failures = 0;
    for (const Case& c : cases) {
        const std::vector<int32_t> got = tok.encode(c.text, false, false);
        if (got != c.ids) {
            ++failures;
            ADD_FAILURE() << "input " << escaped(c.text) << "\n  expected" << ids_to_string(c.ids)
                          << "\n  got     " << ids_to_string(got);
        }
    }
    EXPECT_EQ(failures, 0);
}

// decode(encode(s)) gives s back. A SentencePiece vocabulary with
// add_space_prefix puts one space before non-empty text; decoding keeps it
// (llama.cpp's detokenize strips exactly that space), so the check is " " + s.
TEST_P(VocabVectors, DecodeInvertsEncode) {
    const Tokenizer& tok = shared_tokenizer("vocab/" + GetParam());
    const bool space_prefix = tok.kind() == "llama";
    for (const Case& c : read_cases(GetParam())) {
        const std::string expected = space_prefix && !c.text.empty() ? " " + c.text : c.text;
        EXPECT_EQ(tok.decode(tok.encode(c.text, false, false)), expected) << "input " << escaped(c.text);
        // The reference ids decode to the same text.
        EXPECT_EQ(tok.decode(c.ids), expected) << "input " << escaped(c.text);
    }
}

INSTANTIATE_TEST_SUITE_P(Vocabs, VocabVectors,
                         testing::Values("ggml-vocab-llama-spm.gguf", "ggml-vocab-phi-3.gguf",
                                         "ggml-vocab-gpt-2.gguf"),
                         [](const testing::TestParamInfo<std::string>& info) {
                             std::string name = info.param.substr(11);  // after "ggml-vocab-"
                             name = name.substr(0, name.find('.'));
                             for (char& ch : name) {
                                 if (ch == '-') ch = '_';
                             }
                             return name;
                         });

}  // namespace
}  // namespace suanli::test
