// `suanli <command> [args]`: picks the command and turns its exceptions into messages and
// exit codes: 0 ok, 1 failure at run time (Error and anything unexpected), 2 bad usage.
#include <cstdio>
#include <exception>
#include <iostream>
#include <new>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cli/commands.h"
#include "cli/options.h"
#include "core/error.h"

#ifndef SUANLI_VERSION
#define SUANLI_VERSION "unknown"
#endif

namespace suanli {
namespace {

struct Command {
    std::string_view name;
    std::string_view summary;
    int (*run)(std::span<const std::string_view> args);
};

// A new command: a cmd_<name>.cpp, its declaration in commands.h, and a row here.
constexpr Command kCommands[] = {
    {"run", "generate text from a prompt", cmd_run},
    {"chat", "chat with a model through its chat template", cmd_chat},
    {"serve", "serve a model over HTTP: OpenAI API, continuous batching, web chat page", cmd_serve},
    {"info", "print a GGUF file's metadata and tensors", cmd_info},
    {"quantize", "convert a model's weights to Q8_0, Q4_K_M, ...", cmd_quantize},
    {"convert", "convert a Hugging Face model directory to GGUF (f16, q8_0, q4_k_m, ...)", cmd_convert},
    {"backends", "list the backends, their devices and op coverage", cmd_backends},
    {"bench", "measure prompt and generation speed and memory bandwidth", cmd_bench},
    {"synth", "write a random-weight model with a real shape (TinyLlama, ...) for benchmarks", cmd_synth},
    {"conformance", "check a backend against the reference backend, op by op and on whole models", cmd_conformance},
    {"perplexity", "measure how well a model predicts a text; compare with a base model", cmd_perplexity},
};

constexpr int kExitUsage = 2;

std::string usage() {
    std::string out =
        "usage: suanli <command> [options] [args]\n"
        "       suanli help <command>\n"
        "       suanli --version\n"
        "\n"
        "commands:\n";
    auto row = [&](std::string_view name, std::string_view summary) {
        out += cat("  ", name, std::string(name.size() < 8 ? 8 - name.size() : 1, ' '), summary,
                   "\n");
    };
    for (const Command& c : kCommands) row(c.name, c.summary);
    row("help", "show this help, or a command's ('suanli help run')");
    out += "\nRun 'suanli <command> --help' for a command's options.\n";
    return out;
}

const Command* find_command(std::string_view name) {
    for (const Command& c : kCommands)
        if (c.name == name) return &c;
    return nullptr;
}

int unknown_command(std::string_view name) {
    std::vector<std::string_view> names{"help"};
    for (const Command& c : kCommands) names.push_back(c.name);
    std::string message = cat("suanli: unknown command '", name, "'");
    std::string_view guess = closest_match(name, names);
    if (!guess.empty()) message += cat(", did you mean '", guess, "'?");
    std::fprintf(stderr, "%s\ntry 'suanli --help'\n", message.c_str());
    return kExitUsage;
}

int unknown_option(std::string_view name) {
    std::vector<std::string_view> names{"--help", "--version"};
    std::string message = cat("suanli: unknown option '", name, "'");
    std::string_view guess = closest_match(name, names);
    if (!guess.empty()) message += cat(", did you mean '", guess, "'?");
    std::fprintf(stderr, "%s\ntry 'suanli --help'\n", message.c_str());
    return kExitUsage;
}

int run_command(const Command& cmd, std::span<const std::string_view> args) {
    std::string name(cmd.name);
    try {
        return cmd.run(args);
    } catch (const UsageError& e) {
        std::fprintf(stderr, "suanli %s: %s\ntry 'suanli %s --help'\n", name.c_str(), e.what(),
                     name.c_str());
        return kExitUsage;
    }
}

int dispatch(std::span<const std::string_view> args) {
    if (args.empty() || args[0] == "--help" || args[0] == "-h" ||
        (args[0] == "help" && args.size() == 1)) {
        std::fputs(usage().c_str(), stdout);
        return 0;
    }
    if (args[0] == "--version") {
        std::puts("suanli " SUANLI_VERSION);
        return 0;
    }
    if (args[0] == "help") {  // "suanli help run" is "suanli run --help"
        const Command* cmd = find_command(args[1]);
        if (!cmd) return unknown_command(args[1]);
        const std::string_view help[] = {"--help"};
        return run_command(*cmd, help);
    }
    if (args[0].starts_with('-')) return unknown_option(args[0]);
    const Command* cmd = find_command(args[0]);
    if (!cmd) return unknown_command(args[0]);
    return run_command(*cmd, args.subspan(1));
}

}  // namespace
}  // namespace suanli

int main(int argc, char** argv) {
    int code = 1;
    try {
        std::vector<std::string_view> args(argv + 1, argv + argc);
        code = suanli::dispatch(args);
    } catch (const suanli::Error& e) {
        std::fprintf(stderr, "suanli: error: %s\n", e.what());
        code = 1;
    } catch (const std::bad_alloc&) {
        std::fputs("suanli: error: out of memory\n", stderr);
        code = 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "suanli: internal error: %s\n", e.what());
        code = 1;
    }
    // Output that could not be written (a full disk, a closed pipe) is a failure too.
    std::cout.flush();
    if (std::fflush(stdout) != 0 || std::ferror(stdout) || std::cout.fail()) {
        std::fputs("suanli: error: cannot write to standard output\n", stderr);
        if (code == 0) code = 1;
    }
    return code;
}
