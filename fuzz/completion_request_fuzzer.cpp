// libFuzzer target for OpenAI request bodies (src/server/api/completion_request.cpp):
// any bytes as a chat or a completions body must either parse or throw ApiError
// with a 4xx status; a crash, a sanitizer report or another exception is a finding.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "server/api/api_error.h"
#include "server/api/completion_request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace suanli::api;
    if (size == 0) return 0;
    const Endpoint endpoint = data[0] & 1 ? Endpoint::Chat : Endpoint::Completions;
    const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
    try {
        const CompletionRequest r = parse_completion_request(body, endpoint, 1);
        if (endpoint == Endpoint::Chat && r.messages.empty()) std::abort();  // parsed chat requests have messages
        if (r.generation.max_tokens == 0 || r.generation.stop.size() > 4) std::abort();
    } catch (const ApiError& e) {
        if (e.status < 400 || e.status >= 500 || e.message.empty()) std::abort();
    }
    return 0;
}
