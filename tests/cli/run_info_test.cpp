// `suanli run` and `suanli info` as a user runs them: output, messages and exit codes.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "formats/safetensors_test_util.h"
#include "run_process.h"
#include "test_paths.h"

namespace suanli::test {
namespace {

ProcessResult suanli(std::vector<std::string> args) {
    args.insert(args.begin(), suanli_binary().string());
    return run_process(std::move(args));
}

std::string model() { return shared("models/stories260K.gguf").string(); }

nlohmann::json reference_case(const std::string& name) {
    std::ifstream in(shared("reference/greedy.json"));
    const nlohmann::json all = nlohmann::json::parse(in);
    for (const auto& c : all["cases"])
        if (c["name"] == name) return c;
    throw std::runtime_error("no reference case " + name);
}

// A scratch file that is removed at the end of the test.
struct TempFile {
    std::filesystem::path path;
    explicit TempFile(const std::string& bytes) {
        path = std::filesystem::temp_directory_path() /
               ("suanli-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
        std::ofstream(path, std::ios::binary) << bytes;
    }
    ~TempFile() { std::filesystem::remove(path); }
    static inline int counter = 0;
};

std::string file_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(Run, GreedyOutputEqualsLlamaCpp) {
    const auto c = reference_case("once_upon");
    ProcessResult r = suanli({"run", "-m", model(), "-p", c["prompt"], "--temp", "0", "-n", "64", "--no-echo"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, c["generated_text"].get<std::string>() + "\n");
    EXPECT_NE(r.err.find("prompt: 5 tokens"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("generated: 64 tokens"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("tokens/s"), std::string::npos) << r.err;
}

TEST(Run, EchoesThePromptByDefault) {
    ProcessResult r = suanli({"run", "-m", model(), "-p", "The cat", "--temp", "0", "-n", "8"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out.rfind("The cat", 0), 0u) << r.out;
}

TEST(Run, PromptFromFileEqualsPromptOption) {
    const auto c = reference_case("dog_bird_long");
    TempFile prompt(c["prompt"].get<std::string>());
    ProcessResult r = suanli({"run", "-m", model(), "-f", prompt.path.string(), "--temp", "0", "-n", "64", "--no-echo"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, c["generated_text"].get<std::string>() + "\n");
}

TEST(Run, WithoutModelUsesTheBundledOne) {
    const auto c = reference_case("once_upon");
    ProcessResult r = suanli({"run", "-p", "Once upon a time", "--temp", "0", "-n", "64", "--no-echo"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, c["generated_text"].get<std::string>() + "\n");
}

TEST(Run, SameSeedSameTextAndSamplingIsNotGreedy) {
    const std::vector<std::string> args{"run", "-m", model(), "-n", "48", "--no-echo", "--temp", "1.0", "--seed"};
    auto with_seed = [&](const char* seed) {
        auto a = args;
        a.push_back(seed);
        ProcessResult r = suanli(a);
        EXPECT_EQ(r.exit_code, 0) << r.err;
        EXPECT_NE(r.err.find(std::string("seed ") + seed), std::string::npos) << r.err;
        return r.out;
    };
    const std::string first = with_seed("7");
    EXPECT_EQ(first, with_seed("7"));
    // Three other seeds: at least one differs (the chance that all equal is negligible at temp 1).
    const bool any_differs = with_seed("8") != first || with_seed("9") != first || with_seed("10") != first;
    EXPECT_TRUE(any_differs);
}

TEST(Run, HelpDescribesEveryOption) {
    ProcessResult r = suanli({"run", "--help"});
    ASSERT_EQ(r.exit_code, 0);
    for (const char* opt : {"--model", "--prompt", "--file", "--n-predict", "--threads", "--temp", "--top-k", "--top-p",
                            "--min-p", "--repeat-penalty", "--seed", "--ignore-eos", "--ctx-size"})
        EXPECT_NE(r.out.find(opt), std::string::npos) << opt;
}

TEST(Run, BadOptionsNameTheOptionAndExit2) {
    struct Case {
        std::vector<std::string> args;
        std::string message;
    };
    const std::vector<Case> cases{
        {{"run", "--tmep", "1"}, "unknown option '--tmep', did you mean '--temp'?"},
        {{"run", "-n", "abc"}, "option '-n' expects an integer, got 'abc'"},
        {{"run", "--temp", "-1"}, "option '--temp'"},
        {{"run", "--top-p", "2"}, "option '--top-p'"},
        {{"run", "-t", "0"}, "option '-t'"},
        {{"run", "--ignore-eos=yes"}, "--ignore-eos"},
        {{"run", "-m"}, "option '-m' needs a value"},
    };
    for (const Case& c : cases) {
        ProcessResult r = suanli(c.args);
        EXPECT_EQ(r.exit_code, 2) << c.args[1];
        EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
        EXPECT_EQ(r.out, "");
    }
}

TEST(Run, MissingModelFileIsAClearError) {
    ProcessResult r = suanli({"run", "-m", "/nonexistent/model.gguf"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.err, "suanli: error: cannot open /nonexistent/model.gguf: No such file or directory\n");
}

TEST(Run, DamagedModelFilesAreClearErrors) {
    const std::string good = file_bytes(model());
    std::string bad_magic = good;
    bad_magic[0] = 'X';
    const TempFile truncated(good.substr(0, 5000)), magic(bad_magic), data_cut(good.substr(0, good.size() - 100));
    struct Case {
        const TempFile& file;
        std::string message;
    };
    for (const Case& c : {Case{truncated, "truncated"}, Case{magic, "bad magic"}, Case{data_cut, "past the end of the file"}}) {
        ProcessResult r = suanli({"run", "-m", c.file.path.string(), "-n", "4"});
        EXPECT_EQ(r.exit_code, 1);
        EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one line: " << r.err;
    }
}

TEST(Run, F16CacheGivesLlamaCppsGreedyTextAndBadTypesAreUsageErrors) {
    // llama.cpp's greedy ids are the same with an F16 cache (../shared/reference/README.md).
    const auto c = reference_case("once_upon");
    ProcessResult r = suanli({"run", "-m", model(), "-p", c["prompt"], "--temp", "0", "-n", "64", "--no-echo",
                              "--cache-type", "f16"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, c["generated_text"].get<std::string>() + "\n");
    for (const char* cmd : {"run", "chat", "bench", "serve"}) {
        r = suanli({cmd, "--cache-type", "q4_0"});
        EXPECT_EQ(r.exit_code, 2) << cmd;
        EXPECT_NE(r.err.find("--cache-type: expected f32 or f16, got 'q4_0'"), std::string::npos) << cmd << ": " << r.err;
    }
}

TEST(Run, PromptLongerThanTheContextIsAClearError) {
    ProcessResult r = suanli({"run", "-m", model(), "-c", "8", "-p", "Once upon a time there was a dog and a cat"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("the context holds 8"), std::string::npos) << r.err;
}

TEST(Info, DescribesTheModel) {
    ProcessResult r = suanli({"info", model()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    for (const char* s : {"architecture:    llama", "layers:          5", "embedding:       64",
                          "heads:           8 (KV heads 4, head size 8)", "tensors:         48 (F32 x48)",
                          "tokenizer:       llama, 512 tokens"})
        EXPECT_NE(r.out.find(s), std::string::npos) << s << "\n" << r.out;
}

TEST(Info, AllListsMetadataAndTensors) {
    ProcessResult r = suanli({"info", "--all", shared("models/qwen2-tiny-random.gguf").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("architecture:    qwen2"), std::string::npos);
    EXPECT_NE(r.out.find("tokenizer:       gpt2 (pre-tokenizer gpt-2), 50257 tokens"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("blk.0.attn_q.bias"), std::string::npos);
    EXPECT_NE(r.out.find("qwen2.rope.freq_base"), std::string::npos);
}

TEST(Info, DescribesAHuggingFaceDirectory) {
    ProcessResult r = suanli({"info", "--all", shared("models/stories260K-hf").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    for (const char* s : {"(Hugging Face, 1 safetensors file,", "architecture:    llama", "layers:          5",
                          "heads:           8 (KV heads 4, head size 8)", "split-half pairs",
                          "tensors:         47 (F32 x47)", "tokenizer:       llama, 512 tokens"})
        EXPECT_NE(r.out.find(s), std::string::npos) << s << "\n" << r.out;
    // --all lists every tensor, its shape as the file writes it (outermost first).
    const size_t at = r.out.find("\n  model.layers.4.self_attn.k_proj.weight ");
    ASSERT_NE(at, std::string::npos) << r.out;
    const std::string line = r.out.substr(at + 1, r.out.find('\n', at + 1) - at - 1);
    EXPECT_NE(line.find(" F32 "), std::string::npos) << line;
    EXPECT_NE(line.find(" 32 x 64 "), std::string::npos) << line;
}

TEST(Info, HuggingFaceDirectoryProblems) {
    // No config.json: the error names it.
    TempDir empty;
    ProcessResult r = suanli({"info", empty.path.string()});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("config.json"), std::string::npos) << r.err;

    // A tokenizer that cannot be used is reported and the rest still described.
    TempDir dir;
    for (const char* f : {"config.json", "model.safetensors"})
        std::filesystem::copy_file(shared("models/stories260K-hf") / f, dir.path / f);
    write_file(dir.path / "tokenizer.json", "{\"model\": ");
    r = suanli({"info", dir.path.string()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("tensors:         47"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("tokenizer:       unusable (") , std::string::npos) << r.out;
}

TEST(Info, UsageErrorsAndDamagedFiles) {
    ProcessResult r = suanli({"info"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("MODEL"), std::string::npos) << r.err;
    const TempFile garbage("this is not a model file at all");
    r = suanli({"info", garbage.path.string()});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("bad magic"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace suanli::test
