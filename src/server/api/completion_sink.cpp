#include "server/api/completion_sink.h"

#include <nlohmann/json.hpp>

#include "server/api/api_error.h"
#include "server/metrics.h"
#include "tokenizer/tokenizer.h"

namespace suanli::api {
namespace {

using nlohmann::json;

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

json bytes_of(const std::string& s) {
    json a = json::array();
    for (unsigned char c : s) a.push_back(static_cast<int>(c));
    return a;
}

const char* reason_text(FinishReason r) { return r == FinishReason::Length ? "length" : "stop"; }

json usage_json(const Completion& c) {
    return {{"prompt_tokens", c.prompt_tokens},
            {"completion_tokens", c.completion_tokens},
            {"total_tokens", c.prompt_tokens + c.completion_tokens},
            {"prompt_tokens_details", {{"cached_tokens", c.cached_tokens}}}};
}

}  // namespace

CompletionSink::CompletionSink(const CompletionRequest& request, std::string model_id, std::string id,
                               std::shared_ptr<http::Responder> responder, const Tokenizer& tokenizer, Metrics& metrics,
                               std::chrono::steady_clock::time_point arrived)
    : endpoint_(request.endpoint),
      stream_(request.stream),
      include_usage_(request.include_usage),
      logprobs_(request.logprobs),
      model_id_(std::move(model_id)),
      id_(std::move(id)),
      created_(std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count()),
      responder_(std::move(responder)),
      tokenizer_(tokenizer),
      metrics_(metrics),
      arrived_(arrived) {}

// One streamed chunk: a text delta, and/or the finish reason, and/or one token's log-probabilities.
std::string CompletionSink::chunk(const std::string& text, const std::string* finish_reason, const Logprob* lp) const {
    json choice = {{"index", 0}, {"finish_reason", finish_reason ? json(*finish_reason) : json(nullptr)}};
    json logprobs = nullptr;
    if (lp && endpoint_ == Endpoint::Chat) {
        json top = json::array();
        for (const auto& [t, v] : lp->top) top.push_back({{"token", t}, {"logprob", v}, {"bytes", bytes_of(t)}});
        logprobs = {{"content", json::array({{{"token", lp->token}, {"logprob", lp->logprob}, {"bytes", bytes_of(lp->token)},
                                              {"top_logprobs", top}}})}};
    } else if (lp) {
        json top = json::object();
        for (const auto& [t, v] : lp->top) top[t] = v;
        logprobs = {{"tokens", {lp->token}}, {"token_logprobs", {lp->logprob}}, {"top_logprobs", {top}},
                    {"text_offset", {lp->text_offset}}};
    }
    choice["logprobs"] = logprobs;
    if (endpoint_ == Endpoint::Chat) {
        json delta = json::object();
        if (!stream_started_) delta["role"] = "assistant";
        if (!text.empty() || !finish_reason) delta["content"] = text;
        choice["delta"] = delta;
    } else {
        choice["text"] = text;
    }
    return dump({{"id", id_},
                 {"object", endpoint_ == Endpoint::Chat ? "chat.completion.chunk" : "text_completion"},
                 {"created", created_},
                 {"model", model_id_},
                 {"system_fingerprint", "suanli"},
                 {"choices", json::array({choice})}});
}

std::string CompletionSink::whole(const Completion& c, const std::string& finish_reason) const {
    json logprobs = nullptr;
    if (logprobs_ && endpoint_ == Endpoint::Chat) {
        json content = json::array();
        for (const Logprob& lp : logprobs_list_) {
            json top = json::array();
            for (const auto& [t, v] : lp.top) top.push_back({{"token", t}, {"logprob", v}, {"bytes", bytes_of(t)}});
            content.push_back({{"token", lp.token}, {"logprob", lp.logprob}, {"bytes", bytes_of(lp.token)}, {"top_logprobs", top}});
        }
        logprobs = {{"content", content}};
    } else if (logprobs_) {
        json tokens = json::array(), values = json::array(), tops = json::array(), offsets = json::array();
        for (const Logprob& lp : logprobs_list_) {
            tokens.push_back(lp.token);
            values.push_back(lp.logprob);
            json top = json::object();
            for (const auto& [t, v] : lp.top) top[t] = v;
            tops.push_back(top);
            offsets.push_back(lp.text_offset);
        }
        logprobs = {{"tokens", tokens}, {"token_logprobs", values}, {"top_logprobs", tops}, {"text_offset", offsets}};
    }
    json choice = {{"index", 0}, {"logprobs", logprobs}, {"finish_reason", finish_reason}};
    if (endpoint_ == Endpoint::Chat)
        choice["message"] = {{"role", "assistant"}, {"content", text_}};
    else
        choice["text"] = text_;
    return dump({{"id", id_},
                 {"object", endpoint_ == Endpoint::Chat ? "chat.completion" : "text_completion"},
                 {"created", created_},
                 {"model", model_id_},
                 {"system_fingerprint", "suanli"},
                 {"choices", json::array({choice})},
                 {"usage", usage_json(c)}});
}

void CompletionSink::send_event(const std::string& payload) {
    if (!stream_started_) {
        responder_->begin_stream(200, "text/event-stream", {{"Cache-Control", "no-cache"}});
        stream_started_ = true;
    }
    responder_->write("data: " + payload + "\n\n");
}

void CompletionSink::on_token(const TokenEvent& ev) {
    const auto now = std::chrono::steady_clock::now();
    if (first_token_) {
        metrics_.time_to_first_token(std::chrono::duration<double>(now - arrived_).count());
        first_token_ = false;
    } else {
        metrics_.inter_token_latency(std::chrono::duration<double>(now - last_token_).count());
    }
    last_token_ = now;

    Logprob* lp = nullptr;
    if (logprobs_) {
        Logprob& l = logprobs_list_.emplace_back();
        l.token = tokenizer_.token_to_piece(ev.token);
        l.logprob = ev.chosen.logprob;
        for (const TokenLogprob& t : ev.top) l.top.emplace_back(tokenizer_.token_to_piece(t.token), t.logprob);
        l.text_offset = text_.size();
        lp = &l;
    }
    text_ += ev.text;
    if (stream_ && (!ev.text.empty() || lp || !stream_started_)) send_event(chunk(ev.text, nullptr, lp));
}

void CompletionSink::on_finish(const Completion& c) {
    const std::string_view endpoint = endpoint_ == Endpoint::Chat ? "/v1/chat/completions" : "/v1/completions";
    metrics_.request_duration(std::chrono::duration<double>(std::chrono::steady_clock::now() - arrived_).count());
    metrics_.tokens(c.prompt_tokens, c.cached_tokens, c.completion_tokens);
    if (c.reason == FinishReason::Cancelled) {  // the client left, or the server is stopping
        metrics_.request_done(endpoint, 499);
        if (stream_started_) {
            responder_->end();
        } else {
            responder_->send(503, "application/json",
                             error_json({503, "server_error", "the request was cancelled: the server is shutting down", {}, {}}));
        }
        return;
    }
    if (c.reason == FinishReason::Error) {
        const bool too_long = c.error.find("context") != std::string::npos;
        ApiError e = too_long ? invalid_request(c.error, endpoint_ == Endpoint::Chat ? "messages" : "prompt", "context_length_exceeded")
                              : ApiError{500, "server_error", c.error, {}, {}};
        metrics_.request_done(endpoint, e.status);
        if (stream_started_) {
            send_event(error_json(e));
            responder_->write("data: [DONE]\n\n");
            responder_->end();
        } else {
            responder_->send(e.status, "application/json", error_json(e));
        }
        return;
    }
    metrics_.request_done(endpoint, 200);
    text_ += c.text;
    const std::string reason = reason_text(c.reason);
    if (!stream_) {
        responder_->send(200, "application/json", whole(c, reason));
        return;
    }
    send_event(chunk(c.text, &reason, nullptr));
    if (include_usage_) {
        send_event(dump({{"id", id_},
                         {"object", endpoint_ == Endpoint::Chat ? "chat.completion.chunk" : "text_completion"},
                         {"created", created_},
                         {"model", model_id_},
                         {"system_fingerprint", "suanli"},
                         {"choices", json::array()},
                         {"usage", usage_json(c)}}));
    }
    responder_->write("data: [DONE]\n\n");
    responder_->end();
}

}  // namespace suanli::api
