// suanli run: generate text from a prompt, streaming it to stdout.
#include <chrono>
#include <cstdio>

#include "cli/backend_options.h"
#include "cli/cache_type_option.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/options.h"
#include "cli/sampling_options.h"
#include "core/device.h"
#include "models/model.h"
#include "runtime/generate.h"
#include "runtime/session.h"
#include "tokenizer/tokenizer.h"

namespace suanli {

int cmd_run(std::span<const std::string_view> args) {
    std::string model_path = default_model_path().string();
    std::string prompt = "Once upon a time";
    std::string prompt_file;
    BackendOptions backend;
    int32_t threads = default_thread_count();
    int32_t ctx_size = 0;
    bool ignore_eos = false, no_echo = false;
    GenerateOptions gen;

    OptionParser p("suanli run", "Generate text from a prompt and stream it to stdout.");
    p.option("-m,--model", &model_path, "PATH", "GGUF model file or Hugging Face model directory (default: the bundled stories260K)");
    p.option("-p,--prompt", &prompt, "TEXT", "prompt to continue");
    p.option("-f,--file", &prompt_file, "FILE", "read the prompt from FILE instead");
    p.option("-n,--n-predict", &gen.max_tokens, "N", "tokens to generate; -1 = until end of text or a full context", -1);
    p.option("-c,--ctx-size", &ctx_size, "N", "context size in tokens (default: the model's, at most 4096)", 0);
    p.option("-t,--threads", &threads, "N", "threads to use", 1, 1024);
    std::string cache_name = "f32";
    add_cache_type_option(p, cache_name);
    add_sampling_options(p, gen.sampling);
    p.flag("--ignore-eos", &ignore_eos, "keep generating past the end-of-text token");
    p.flag("--no-echo", &no_echo, "print only the generated text, not the prompt");
    add_model_backend_options(p, backend);
    p.epilog("Examples:\n  suanli run -p \"Once upon a time\" -n 128\n  suanli run -m model.gguf -f prompt.txt --temp 0\n");
    p.parse(args);
    if (p.help_requested()) {
        std::fputs(p.help().c_str(), stdout);
        return 0;
    }
    finish_sampling_options(p, gen.sampling);
    const DType kv_type = cache_type(cache_name);
    gen.ignore_eos = ignore_eos;
    if (!prompt_file.empty()) prompt = read_text_file(prompt_file);

    ModelDevices devices(backend, threads);
    const std::unique_ptr<Model> model = devices.load(model_path, ctx_size > 0 ? ctx_size : 4096);
    const std::unique_ptr<Tokenizer> tokenizer = load_tokenizer(*model);
    const int64_t n_ctx = ctx_size > 0 ? ctx_size : std::min<int64_t>(model->config().n_ctx_train, 4096);
    Session session(*model, n_ctx, 512, kv_type);

    const std::vector<int32_t> tokens = tokenizer->encode(prompt, /*add_special=*/true, /*parse_special=*/true);
    if (static_cast<int64_t>(tokens.size()) >= n_ctx)
        fail("the prompt is ", tokens.size(), " tokens; the context holds ", n_ctx, " (raise it with -c)");
    if (!no_echo) {
        std::fputs(prompt.c_str(), stdout);
        std::fflush(stdout);
    }
    const GenerateResult r = generate(session, *tokenizer, tokens, gen, [](std::string_view text) {
        std::fwrite(text.data(), 1, text.size(), stdout);
        std::fflush(stdout);
        return true;
    });
    std::fputc('\n', stdout);
    std::fflush(stdout);  // the text ends before the stats line, also when both streams share a pipe

    const double n_gen = static_cast<double>(r.tokens.size());
    std::fprintf(stderr, "prompt: %lld tokens, %.1f tokens/s | generated: %zu tokens, %.1f tokens/s | seed %llu\n",
                 static_cast<long long>(r.prompt_tokens), r.prompt_seconds > 0 ? r.prompt_tokens / r.prompt_seconds : 0.0,
                 r.tokens.size(), r.generate_seconds > 0 ? n_gen / r.generate_seconds : 0.0,
                 static_cast<unsigned long long>(gen.sampling.seed));
    return 0;
}

}  // namespace suanli
