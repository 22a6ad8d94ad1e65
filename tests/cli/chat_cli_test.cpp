// `suanli chat` as a user drives it through a pipe: replies, commands, template errors.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "run_process.h"
#include "test_paths.h"

namespace suanli::test {
namespace {

// A scratch file that is removed at the end of the test.
struct TempFile {
    std::filesystem::path path;
    explicit TempFile(const std::string& bytes) {
        path = std::filesystem::temp_directory_path() /
               ("suanli-chat-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".jinja");
        std::ofstream(path, std::ios::binary) << bytes;
    }
    ~TempFile() { std::filesystem::remove(path); }
    static inline int counter = 0;
};

const char* kChatml =
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + "
    "'<|im_end|>\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}\n";

std::string model() { return shared("models/stories260K.gguf").string(); }

ProcessResult chat(const std::string& input, std::vector<std::string> extra = {}) {
    static const TempFile chatml(kChatml);
    std::vector<std::string> args{suanli_binary().string(), "chat", "-m", model(), "--temp", "0", "-n", "16",
                                  "--chat-template", chatml.path.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_process(std::move(args), input);
}

TEST(Chat, TwoRepliesAndResetGivesAFreshConversation) {
    const ProcessResult hello = chat("Hello\n");
    ASSERT_EQ(hello.exit_code, 0) << hello.err;
    ASSERT_GT(hello.out.size(), 1u);
    EXPECT_EQ(hello.out.back(), '\n');
    EXPECT_EQ(hello.err.find("> "), std::string::npos) << "no prompt when stdin is a pipe";
    EXPECT_NE(hello.err.find("chat: 1 replies"), std::string::npos) << hello.err;
    const ProcessResult hi = chat("Hi\n");
    ASSERT_EQ(hi.exit_code, 0) << hi.err;

    const ProcessResult both = chat("Hello\n/reset\nHi\n/exit\n");
    ASSERT_EQ(both.exit_code, 0) << both.err;
    EXPECT_EQ(both.out, hello.out + hi.out);
    EXPECT_NE(both.err.find("chat: 2 replies"), std::string::npos) << both.err;

    const ProcessResult twice = chat("Hello\n/reset\nHello\n");
    ASSERT_EQ(twice.exit_code, 0) << twice.err;
    EXPECT_EQ(twice.out, hello.out + hello.out);
}

TEST(Chat, SecondTurnContinuesTheConversation) {
    const ProcessResult r = chat("Hello\nWhat next?\n");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("chat: 2 replies"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("(0 reused)"), std::string::npos) << "the second turn reuses the first: " << r.err;
}

TEST(Chat, ExitStopsReadingAndBlankLinesAreSkipped) {
    const ProcessResult hello = chat("Hello\n");
    const ProcessResult r = chat("\n  \nHello\n/exit\nHi\n");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, hello.out);
}

TEST(Chat, UnknownCommandIsANoteAndHelpListsCommands) {
    const ProcessResult r = chat("/frobnicate\n/help\n");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "");
    EXPECT_NE(r.err.find("unknown command '/frobnicate'"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("/reset"), std::string::npos) << r.err;
}

TEST(Chat, BrokenTemplateIsAnErrorNamingIt) {
    const TempFile broken("{% for message in messages %}{{ message['content'] }}\n");
    const ProcessResult r = run_process(
        {suanli_binary().string(), "chat", "-m", model(), "--chat-template", broken.path.string()}, "Hello\n");
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find(broken.path.string()), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("chat template"), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "");

    // A template that raises for this conversation fails before the first turn.
    const TempFile raises("{{ raise_exception('System role not supported') }}");
    const ProcessResult s = run_process({suanli_binary().string(), "chat", "-m", model(), "--chat-template",
                                         raises.path.string(), "--system", "x"},
                                        "Hello\n");
    EXPECT_EQ(s.exit_code, 1) << s.err;
    EXPECT_NE(s.err.find("System role not supported"), std::string::npos) << s.err;
}

TEST(Chat, WithoutATemplateFallsBackToChatml) {
    const ProcessResult r = run_process({suanli_binary().string(), "chat", "-m", model(), "--temp", "0", "-n", "4"}, "Hi\n");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("using ChatML"), std::string::npos) << r.err;

    const ProcessResult named = run_process(
        {suanli_binary().string(), "chat", "-m", model(), "--temp", "0", "-n", "4", "--chat-template-name", "llama2"},
        "Hi\n");
    ASSERT_EQ(named.exit_code, 0) << named.err;
    EXPECT_EQ(named.err.find("using ChatML"), std::string::npos) << named.err;

    const ProcessResult unknown =
        run_process({suanli_binary().string(), "chat", "-m", model(), "--chat-template-name", "nope"}, "Hi\n");
    EXPECT_EQ(unknown.exit_code, 2) << unknown.err;
    EXPECT_NE(unknown.err.find("chatml"), std::string::npos) << unknown.err;
}

TEST(Chat, Help) {
    const ProcessResult r = run_process({suanli_binary().string(), "chat", "--help"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    for (const char* s : {"suanli chat", "--chat-template", "--system", "--temp", "/reset", "/exit", "--backend"})
        EXPECT_NE(r.out.find(s), std::string::npos) << s;
    const ProcessResult top = run_process({suanli_binary().string(), "--help"});
    EXPECT_NE(top.out.find("chat "), std::string::npos);
}

}  // namespace
}  // namespace suanli::test
