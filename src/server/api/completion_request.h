// A /v1/chat/completions or /v1/completions request body, checked and turned
// into what the engine needs. Anything malformed throws ApiError (400) naming
// the parameter; parameters OpenAI defines but suanli ignores are accepted.
#pragma once

#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "chat/chat_template.h"
#include "engine/request.h"

namespace suanli::api {

enum class Endpoint { Chat, Completions };

struct CompletionRequest {
    Endpoint endpoint = Endpoint::Chat;
    std::string model;
    std::vector<ChatMessage> messages;   // chat
    std::variant<std::string, std::vector<int32_t>> prompt;  // completions: text or token ids
    bool stream = false;
    bool include_usage = false;          // stream_options.include_usage
    bool logprobs = false;
    GenerationParams generation;
};

// `default_seed` seeds requests that give none.
CompletionRequest parse_completion_request(std::string_view body, Endpoint endpoint, uint64_t default_seed);

}  // namespace suanli::api
