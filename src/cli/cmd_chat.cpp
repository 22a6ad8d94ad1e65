// suanli chat: an interactive conversation through the model's chat template.
// Lines come from stdin (a "> " prompt on stderr when it is a terminal), replies
// stream to stdout. The conversation logic lives in runtime/chat_session.h.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "cli/backend_options.h"
#include "cli/cache_type_option.h"
#include "cli/commands.h"
#include "cli/chat_template_options.h"
#include "cli/common.h"
#include "cli/options.h"
#include "cli/sampling_options.h"
#include "core/device.h"
#include "models/model.h"
#include "runtime/chat_session.h"
#include "runtime/session.h"
#include "tokenizer/tokenizer.h"

namespace suanli {
namespace {

constexpr int kExitInterrupted = 130;  // 128 + SIGINT, as a shell reports Ctrl-C

// Ctrl-C: the first stops the reply being generated (or, at the prompt, ends the
// program); a second one before the reply has stopped ends the program at once.
std::atomic<bool> g_interrupted{false};
static_assert(std::atomic<bool>::is_always_lock_free);

extern "C" void on_sigint(int) {
    if (g_interrupted.exchange(true)) {
        ::signal(SIGINT, SIG_DFL);
        ::raise(SIGINT);
    }
}

// Installs on_sigint without SA_RESTART (so a read at the prompt returns EINTR)
// and puts the previous handler back when the command ends, however it ends.
class SigintGuard {
public:
    SigintGuard() {
        struct sigaction sa {};
        sa.sa_handler = on_sigint;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = 0;
        installed_ = ::sigaction(SIGINT, &sa, &old_) == 0;
    }
    ~SigintGuard() {
        if (installed_) ::sigaction(SIGINT, &old_, nullptr);
    }
    SigintGuard(const SigintGuard&) = delete;
    SigintGuard& operator=(const SigintGuard&) = delete;

private:
    struct sigaction old_ {};
    bool installed_ = false;
};

enum class ReadStatus { Line, End, Interrupted };

// One line of input without its newline; a line ending in '\' continues on the next.
ReadStatus read_input(std::string& out, bool tty) {
    out.clear();
    char* buf = nullptr;
    size_t cap = 0;
    ReadStatus status = ReadStatus::End;
    for (;;) {
        errno = 0;
        const ssize_t n = ::getline(&buf, &cap, stdin);
        if (n < 0) {
            status = errno == EINTR ? ReadStatus::Interrupted : (out.empty() ? ReadStatus::End : ReadStatus::Line);
            std::clearerr(stdin);
            break;
        }
        std::string_view line(buf, static_cast<size_t>(n));
        if (line.ends_with('\n')) line.remove_suffix(1);
        if (line.ends_with('\r')) line.remove_suffix(1);
        if (line.ends_with('\\')) {
            out.append(line.substr(0, line.size() - 1)).push_back('\n');
            if (tty) std::fputs(". ", stderr);
            continue;
        }
        out.append(line);
        status = ReadStatus::Line;
        break;
    }
    std::free(buf);
    return status;
}

constexpr const char* kCommandHelp =
    "  /reset   start a new conversation (the system prompt stays)\n"
    "  /exit    end the chat (so does end of input, Ctrl-D)\n"
    "  /help    this list\n"
    "A line ending in '\\' continues on the next. Ctrl-C stops a reply; at the prompt it ends the chat.\n";

}  // namespace

int cmd_chat(std::span<const std::string_view> args) {
    std::string model_path = default_model_path().string();
    std::string system_prompt;
    ChatTemplateOptions template_options;
    BackendOptions backend;
    int32_t threads = default_thread_count();
    int32_t ctx_size = 0;
    GenerateOptions gen;

    OptionParser p("suanli chat", "Chat with a model through its chat template: lines from stdin, replies to stdout.");
    p.option("-m,--model", &model_path, "PATH", "GGUF model file or Hugging Face model directory (default: the bundled stories260K)");
    p.option("--system", &system_prompt, "TEXT", "system message at the start of the conversation");
    add_chat_template_options(p, template_options);
    p.option("-n,--n-predict", &gen.max_tokens, "N", "most tokens per reply; -1 = until end of turn or a full context", -1);
    p.option("-c,--ctx-size", &ctx_size, "N", "context size in tokens (default: the model's, at most 4096)", 0);
    p.option("-t,--threads", &threads, "N", "threads to use", 1, 1024);
    std::string cache_name = "f32";
    add_cache_type_option(p, cache_name);
    add_sampling_options(p, gen.sampling);
    add_model_backend_options(p, backend);
    p.epilog(cat("Commands, typed at the prompt:\n", kCommandHelp,
                 "\nExamples:\n  suanli chat -m model.gguf\n  suanli chat -m model.gguf --system \"Answer briefly.\" --temp 0\n"
                 "  echo \"Hello\" | suanli chat -m model.gguf -n 64\n"));
    p.parse(args);
    if (p.help_requested()) {
        std::fputs(p.help().c_str(), stdout);
        return 0;
    }
    finish_sampling_options(p, gen.sampling);
    const DType kv_type = cache_type(cache_name);

    ModelDevices devices(backend, threads);
    const std::unique_ptr<Model> model = devices.load(model_path, ctx_size > 0 ? ctx_size : 4096);
    const std::unique_ptr<Tokenizer> tokenizer = load_tokenizer(*model);
    const int64_t n_ctx = ctx_size > 0 ? ctx_size : std::min<int64_t>(model->config().n_ctx_train, 4096);

    LoadedChatTemplate choice = load_chat_template(*model, *tokenizer, template_options, system_prompt);

    Session session(*model, n_ctx, 512, kv_type);
    ChatSession chat(session, *tokenizer, std::move(choice.chat_template), system_prompt);

    const bool tty = ::isatty(STDIN_FILENO) == 1;
    if (tty)
        std::fprintf(stderr, "chat with %s (%s, context %lld tokens). /help for commands, /exit or Ctrl-D to end.\n",
                     model->path().filename().string().c_str(), choice.origin.c_str(), static_cast<long long>(n_ctx));

    SigintGuard sigint;
    int64_t n_replies = 0, n_prompt_decoded = 0, n_prompt_reused = 0, n_generated = 0;
    double prompt_seconds = 0, generate_seconds = 0;
    int code = 0;
    std::string line;
    for (;;) {
        g_interrupted = false;
        if (tty) std::fputs("> ", stderr);
        const ReadStatus status = read_input(line, tty);
        if (status == ReadStatus::Interrupted) {
            if (tty) std::fputc('\n', stderr);
            code = kExitInterrupted;
            break;
        }
        if (status == ReadStatus::End) {
            if (tty) std::fputc('\n', stderr);
            break;
        }
        if (line.find_first_not_of(" \t\n") == std::string::npos) continue;
        if (line.starts_with('/')) {
            const std::string_view command = std::string_view(line).substr(0, line.find_first_of(" \t"));
            if (command == "/exit" || command == "/quit") break;
            if (command == "/reset") {
                chat.reset();
                if (tty) std::fputs("(new conversation)\n", stderr);
                continue;
            }
            if (command == "/help") {
                std::fputs(kCommandHelp, stderr);
                continue;
            }
            std::fprintf(stderr, "unknown command '%.*s'; /help lists them\n", static_cast<int>(command.size()),
                         command.data());
            continue;
        }

        auto on_text = [](std::string_view text) {
            std::fwrite(text.data(), 1, text.size(), stdout);
            std::fflush(stdout);
            return !g_interrupted.load();
        };
        ChatTurn turn;
        try {
            turn = chat.reply(line, gen, on_text);
        } catch (const ContextFullError& e) {
            std::fprintf(stderr, "note: %s; starting a new conversation (raise the context with -c)\n", e.what());
            chat.reset();
            try {
                turn = chat.reply(line, gen, on_text);
            } catch (const ContextFullError& again) {
                std::fprintf(stderr, "error: this message does not fit the context: %s\n", again.what());
                continue;
            }
        }
        std::fputc('\n', stdout);
        std::fflush(stdout);
        ++n_replies;
        n_prompt_decoded += turn.prompt_tokens - turn.reused_tokens;
        n_prompt_reused += turn.reused_tokens;
        n_generated += static_cast<int64_t>(turn.tokens.size());
        prompt_seconds += turn.prompt_seconds;
        generate_seconds += turn.generate_seconds;
        if (turn.stopped_by_caller) std::fputs("(reply stopped)\n", stderr);
        if (turn.context_full) {
            std::fprintf(stderr, "note: the context is full (%lld tokens); starting a new conversation (raise it with -c)\n",
                         static_cast<long long>(n_ctx));
            chat.reset();
        }
    }

    std::fprintf(stderr,
                 "chat: %lld replies | prompt: %lld tokens decoded (%lld reused), %.1f tokens/s | generated: %lld tokens, "
                 "%.1f tokens/s | seed %llu\n",
                 static_cast<long long>(n_replies), static_cast<long long>(n_prompt_decoded),
                 static_cast<long long>(n_prompt_reused), prompt_seconds > 0 ? n_prompt_decoded / prompt_seconds : 0.0,
                 static_cast<long long>(n_generated), generate_seconds > 0 ? n_generated / generate_seconds : 0.0,
                 static_cast<unsigned long long>(gen.sampling.seed));
    return code;
}

}  // namespace suanli
