// The `suanli` binary's dispatcher: help, version, unknown commands and exit codes.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "run_process.h"
#include "test_paths.h"

namespace suanli::test {
namespace {

ProcessResult suanli(std::vector<std::string> args) {
    args.insert(args.begin(), suanli_binary().string());
    return run_process(std::move(args));
}

void expect_lists_commands(const ProcessResult& r) {
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("usage: suanli <command>"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\n  run "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\n  info "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("generate text"), std::string::npos) << r.out;
    EXPECT_EQ(r.err, "");
}

TEST(Cli, HelpListsCommands) {
    expect_lists_commands(suanli({"--help"}));
    expect_lists_commands(suanli({"-h"}));
    expect_lists_commands(suanli({"help"}));
    expect_lists_commands(suanli({}));
}

TEST(Cli, Version) {
    ProcessResult r = suanli({"--version"});
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_EQ(r.out, "suanli 0.1.0\n");
    EXPECT_EQ(r.err, "");
}

TEST(Cli, UnknownCommand) {
    ProcessResult r = suanli({"foo"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err.rfind("suanli: unknown command 'foo'\n", 0), 0u) << r.err;
}

TEST(Cli, UnknownCommandSuggestsTheClosest) {
    ProcessResult r = suanli({"rnu", "model.gguf"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.err.rfind("suanli: unknown command 'rnu', did you mean 'run'?\n", 0), 0u) << r.err;
    r = suanli({"help", "ifno"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.err.rfind("suanli: unknown command 'ifno', did you mean 'info'?\n", 0), 0u) << r.err;
}

TEST(Cli, UnknownTopLevelOption) {
    ProcessResult r = suanli({"--verison"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.err.rfind("suanli: unknown option '--verison', did you mean '--version'?\n", 0), 0u)
        << r.err;
}

TEST(Cli, CommandsAreDispatched) {
    // Whatever a command does with no arguments, it is reached: no "unknown command", and
    // the exit code is one of the three the dispatcher documents.
    for (const char* cmd : {"run", "info"}) {
        ProcessResult r = suanli({cmd});
        EXPECT_EQ(r.err.find("unknown command"), std::string::npos) << r.err;
        EXPECT_TRUE(r.exit_code == 0 || r.exit_code == 1 || r.exit_code == 2) << r.exit_code;
        if (r.exit_code == 1) {
            EXPECT_EQ(r.err.rfind("suanli: error: ", 0), 0u) << r.err;
        } else if (r.exit_code == 2) {
            EXPECT_EQ(r.err.rfind(std::string("suanli ") + cmd + ": ", 0), 0u) << r.err;
        }
    }
}

TEST(RunProcess, CapturesBothStreamsStdinAndExitCode) {
    ProcessResult r = run_process({"sh", "-c", "cat; echo oops >&2; exit 3"}, "from stdin\n");
    EXPECT_EQ(r.exit_code, 3);
    EXPECT_EQ(r.out, "from stdin\n");
    EXPECT_EQ(r.err, "oops\n");
}

TEST(RunProcess, LargeOutputOnBothStreamsDoesNotDeadlock) {
    // More than a pipe buffer on each stream, and a large stdin.
    std::string input(1 << 20, 'x');
    ProcessResult r = run_process(
        {"sh", "-c", "head -c 300000 /dev/zero >&2; cat; head -c 300000 /dev/zero >&2"}, input);
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_EQ(r.out.size(), input.size());
    EXPECT_EQ(r.err.size(), 600000u);
}

TEST(RunProcess, ChildThatIgnoresStdin) {
    std::string input(1 << 20, 'x');
    ProcessResult r = run_process({"sh", "-c", "exec 0<&-; echo done"}, input);
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_EQ(r.out, "done\n");
}

TEST(RunProcess, SignalsAndMissingPrograms) {
    EXPECT_EQ(run_process({"sh", "-c", "kill -TERM $$"}).exit_code, 128 + 15);
    EXPECT_THROW(run_process({"/nonexistent/program"}), std::system_error);
    ProcessResult r = run_process({"sleep", "10"}, "", std::chrono::milliseconds(200));
    EXPECT_EQ(r.exit_code, 128 + 9);
}

}  // namespace
}  // namespace suanli::test
