// Answers one completion request as the engine generates it: server-sent events
// chunk by chunk when streaming, else one JSON object at the end, in the shape
// of OpenAI's chat.completion / text_completion objects.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "engine/request.h"
#include "server/api/completion_request.h"
#include "server/http/http_server.h"

namespace suanli {
class Metrics;
class Tokenizer;
}  // namespace suanli

namespace suanli::api {

class CompletionSink : public RequestSink {
public:
    CompletionSink(const CompletionRequest& request, std::string model_id, std::string id,
                   std::shared_ptr<http::Responder> responder, const Tokenizer& tokenizer, Metrics& metrics,
                   std::chrono::steady_clock::time_point arrived);

    void on_token(const TokenEvent& event) override;
    void on_finish(const Completion& completion) override;

private:
    struct Logprob;
    std::string chunk(const std::string& text, const std::string* finish_reason, const Logprob* logprob) const;
    std::string whole(const Completion& c, const std::string& finish_reason) const;
    void send_event(const std::string& json);

    Endpoint endpoint_;
    bool stream_, include_usage_, logprobs_;
    std::string model_id_, id_;
    int64_t created_;
    std::shared_ptr<http::Responder> responder_;
    const Tokenizer& tokenizer_;
    Metrics& metrics_;
    std::chrono::steady_clock::time_point arrived_, last_token_;
    bool first_token_ = true;
    bool stream_started_ = false;

    std::string text_;  // everything shown so far (non-streamed replies, text offsets)
    struct Logprob {
        std::string token;
        float logprob;
        std::vector<std::pair<std::string, float>> top;
        size_t text_offset;
    };
    std::vector<Logprob> logprobs_list_;
};

}  // namespace suanli::api
