// The text generation loop: evaluate a prompt, then sample and feed back tokens.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string_view>
#include <vector>

#include "runtime/sampler.h"

namespace suanli {

class Session;
class Tokenizer;

struct GenerateOptions {
    int32_t max_tokens = 256;  // < 0: until end of generation or a full context
    SamplerParams sampling;
    bool ignore_eos = false;   // keep going past end-of-generation tokens
};

struct GenerateResult {
    std::vector<int32_t> tokens;  // generated, not counting the prompt
    int64_t prompt_tokens = 0;
    double prompt_seconds = 0;
    double generate_seconds = 0;  // from the first sampled token to the last
    bool stopped_by_eos = false;
    bool stopped_by_caller = false;
};

// Streams whole UTF-8 text as it is generated; `on_text` returns false to stop.
using TextCallback = std::function<bool(std::string_view text)>;

GenerateResult generate(Session& session, const Tokenizer& tokenizer, std::span<const int32_t> prompt,
                        const GenerateOptions& options, const TextCallback& on_text);

}  // namespace suanli
