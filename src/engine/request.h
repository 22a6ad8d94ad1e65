// What a caller asks the engine to generate, and what it hears back.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/sampler.h"

namespace suanli {

struct GenerationParams {
    int32_t max_tokens = -1;  // < 0: until end of generation or the context size
    SamplerParams sampling;
    std::vector<std::string> stop;  // stop sequences; the text ends before the first one found
    int32_t top_logprobs = -1;      // < 0: no log-probabilities; else the chosen token's and this many alternatives
    bool ignore_eos = false;
};

struct TokenLogprob {
    int32_t token = 0;
    float logprob = 0.0f;
};

// One generated token. `text` is what may be shown now: empty while it might
// still be the start of a stop sequence, longer when held-back text is released.
struct TokenEvent {
    int32_t token = 0;
    std::string text;
    TokenLogprob chosen;              // when log-probabilities were asked for
    std::vector<TokenLogprob> top;    // best first
};

enum class FinishReason { Stop, Length, Cancelled, Error };

struct Completion {
    FinishReason reason = FinishReason::Stop;
    std::string text;                // the last of the text, released at the end
    int64_t prompt_tokens = 0;
    int64_t cached_tokens = 0;       // prompt tokens whose KV came from the prefix cache
    int64_t completion_tokens = 0;
    std::string error;               // for FinishReason::Error
};

// Receives a request's tokens and its end, on the engine's thread. on_finish is
// called exactly once; nothing follows it.
class RequestSink {
public:
    virtual ~RequestSink() = default;
    virtual void on_token(const TokenEvent& event) = 0;
    virtual void on_finish(const Completion& completion) = 0;
};

}  // namespace suanli
