// suanli perplexity: how well a model predicts a text, and how far it is from a base model.
#include <cstdio>
#include <optional>

#include "cli/backend_options.h"
#include "cli/cache_type_option.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/options.h"
#include "core/device.h"
#include "models/model.h"
#include "runtime/perplexity.h"
#include "runtime/session.h"
#include "tokenizer/tokenizer.h"

namespace suanli {

int cmd_perplexity(std::span<const std::string_view> args) {
    std::string model_path = default_model_path().string(), text_path, save_path, base_path;
    int32_t ctx = 512, threads = default_thread_count();
    BackendOptions backend;
    OptionParser p("suanli perplexity", "Perplexity of a model on a text file (llama-perplexity's protocol).");
    p.option("-m,--model", &model_path, "PATH", "model file (default: the bundled stories260K)");
    p.option("-f,--file", &text_path, "FILE", "text to score (required)");
    p.option("-c,--ctx-size", &ctx, "N", "tokens per chunk; the second half of each chunk is scored", 4);
    p.option("-t,--threads", &threads, "N", "threads to use", 1, 1024);
    std::string cache_name = "f32";
    add_cache_type_option(p, cache_name);
    p.option("--save-logits", &save_path, "FILE", "save the log-probabilities, to compare other models with");
    p.option("--kl-base", &base_path, "FILE", "compare with a base model's saved log-probabilities: KL divergence, top-token agreement");
    add_model_backend_options(p, backend);
    p.epilog("Each chunk of -c tokens starts from an empty cache with BOS as its first token; the logits at\n"
             "positions c/2 .. c-2 predict the next token. PPL = exp(mean negative log-likelihood).\n\n"
             "Quality of a quantized model:\n"
             "  suanli perplexity -m f16.gguf -f text.txt --save-logits base.logp\n"
             "  suanli perplexity -m q4_0.gguf -f text.txt --kl-base base.logp\n");
    p.parse(args);
    if (p.help_requested()) {
        std::fputs(p.help().c_str(), stdout);
        return 0;
    }
    if (text_path.empty()) throw UsageError("option '-f' is required: the text file to score");
    const DType kv_type = cache_type(cache_name);

    ModelDevices devices(backend, threads);
    const std::unique_ptr<Model> model = devices.load(model_path, ctx);
    const std::unique_ptr<Tokenizer> tokenizer = load_tokenizer(*model);
    std::vector<int32_t> tokens = tokenizer->encode(read_text_file(text_path), /*add_special=*/false, false);
    const int32_t bos = tokenizer->bos() >= 0 ? tokenizer->bos() : 0;
    tokens.insert(tokens.begin(), bos);

    std::optional<SavedLogProbs> base;
    if (!base_path.empty()) base = SavedLogProbs::load(base_path);
    SavedLogProbs saved;
    Session session(*model, ctx, ctx, kv_type);
    std::fprintf(stderr, "%zu tokens, %lld chunks of %d\n", tokens.size(), static_cast<long long>(tokens.size() / ctx), ctx);
    const PerplexityResult r = compute_perplexity(
        session, tokens, bos, {ctx}, save_path.empty() ? nullptr : &saved, base ? &*base : nullptr,
        [](const PerplexityResult& partial) {
            std::fprintf(stderr, "[%zu]%.4f ", partial.running_ppl.size(), partial.running_ppl.back());
            std::fflush(stderr);
        });
    std::fputc('\n', stderr);
    if (!save_path.empty()) saved.save(save_path);

    std::printf("PPL = %.4f +/- %.5f  (%lld chunks, %lld scored tokens)\n", r.ppl, r.ppl_stderr,
                static_cast<long long>(r.n_chunks), static_cast<long long>(r.n_scored));
    if (r.has_base) {
        std::printf("base PPL = %.4f   ratio = %.4f\n", r.base_ppl, r.ppl / r.base_ppl);
        std::printf("KL divergence = %.6f +/- %.6f  (max %.6f)\n", r.kl_mean, r.kl_stderr, r.kl_max);
        std::printf("same top token = %.2f%%\n", 100.0 * r.top1_agreement);
    }
    return 0;
}

}  // namespace suanli
