#include "runtime/generate.h"

#include <chrono>

#include "core/error.h"
#include "runtime/session.h"
#include "tokenizer/tokenizer.h"

namespace suanli {
namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

GenerateResult generate(Session& session, const Tokenizer& tokenizer, std::span<const int32_t> prompt,
                        const GenerateOptions& options, const TextCallback& on_text) {
    if (prompt.empty()) fail("the prompt is empty (no tokens to start from)");
    if (static_cast<int64_t>(prompt.size()) > session.n_ctx())
        fail("the prompt has ", prompt.size(), " tokens, more than the context size ", session.n_ctx());

    GenerateResult result;
    result.prompt_tokens = static_cast<int64_t>(prompt.size());
    Sampler sampler(options.sampling, static_cast<int32_t>(session.model().config().n_vocab));
    for (int32_t t : prompt) sampler.accept(t);

    auto start = std::chrono::steady_clock::now();
    std::span<const float> logits = session.decode(prompt);
    result.prompt_seconds = seconds_since(start);

    start = std::chrono::steady_clock::now();
    Utf8Stream text;
    auto emit = [&](std::string_view s) {
        if (!s.empty() && on_text && !on_text(s)) result.stopped_by_caller = true;
    };
    while (options.max_tokens < 0 || static_cast<int32_t>(result.tokens.size()) < options.max_tokens) {
        const int32_t token = sampler.sample(logits);
        if (!options.ignore_eos && tokenizer.is_end_of_generation(token)) {
            result.stopped_by_eos = true;
            break;
        }
        sampler.accept(token);
        result.tokens.push_back(token);
        emit(text.push(tokenizer.token_to_piece(token)));
        if (result.stopped_by_caller || session.n_past() >= session.n_ctx()) break;
        logits = session.decode(std::span(&token, 1));
    }
    emit(text.finish());
    result.generate_seconds = seconds_since(start);
    return result;
}

}  // namespace suanli
