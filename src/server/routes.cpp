#include "server/routes.h"

#include <chrono>
#include <nlohmann/json.hpp>
#include <random>

#include "core/error.h"
#include "engine/engine.h"
#include "runtime/chat_session.h"
#include "server/api/api_error.h"
#include "server/api/completion_request.h"
#include "server/api/completion_sink.h"
#include "server/metrics.h"
#include "server/web/web_assets.h"
#include "tokenizer/tokenizer.h"

namespace suanli {
namespace {

using api::ApiError;
using nlohmann::json;

// Compares in time independent of where the strings differ.
bool same_secret(std::string_view a, std::string_view b) {
    unsigned char diff = a.size() == b.size() ? 0 : 1;
    for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i % (b.empty() ? 1 : b.size())]);
    return diff == 0 && !b.empty();
}

// The endpoint label of the metrics: known paths only, so odd URLs cannot grow the label set.
std::string_view endpoint_label(std::string_view path) {
    for (std::string_view known : {"/", "/health", "/metrics", "/v1/models", "/v1/chat/completions", "/v1/completions"})
        if (path == known) return known;
    return "other";
}

}  // namespace

Routes::Routes(Engine& engine, const Tokenizer& tokenizer, const ChatTemplate& chat_template, Metrics& metrics,
               RouteConfig config)
    : engine_(engine), tokenizer_(tokenizer), template_(chat_template), metrics_(metrics), config_(std::move(config)) {}

void Routes::handle(const http::Request& req, std::shared_ptr<http::Responder> responder) {
    const std::string_view path = req.path();
    auto reply_error = [&](const ApiError& e) {
        metrics_.request_done(endpoint_label(path), e.status);
        responder->send(e.status, "application/json", api::error_json(e));
    };
    auto reply_json = [&](const json& j, int status = 200) {
        metrics_.request_done(endpoint_label(path), status);
        responder->send(status, "application/json", j.dump());
    };
    auto allow = [&](std::string_view method) {  // HEAD goes wherever GET does; the HTTP layer drops the body
        if (req.method == method || (method == "GET" && req.method == "HEAD")) return true;
        const ApiError e{405, "invalid_request_error", cat("use ", method, " for ", path), {}, {}};
        metrics_.request_done(endpoint_label(path), e.status);
        responder->send(e.status, "application/json", api::error_json(e),
                        {{"Allow", method == "GET" ? "GET, HEAD" : std::string(method)}});
        return false;
    };
    try {
        if (path == "/" || path == "/index.html") {
            if (!allow("GET")) return;
            metrics_.request_done("/", 200);
            responder->send(200, "text/html; charset=utf-8", std::string(web::index_html()));
            return;
        }
        if (path == "/health") {
            if (!allow("GET")) return;
            return reply_json({{"status", draining_ ? "shutting down" : "ok"}}, draining_ ? 503 : 200);
        }
        if (path == "/metrics") {
            if (!allow("GET")) return;
            metrics_.request_done(endpoint_label(path), 200);
            responder->send(200, "text/plain; version=0.0.4", metrics_.render(engine_.stats()));
            return;
        }
        if (!path.starts_with("/v1/")) return reply_error({404, "invalid_request_error", cat("no such endpoint: ", path), {}, {}});

        if (!config_.api_key.empty()) {
            const std::string* auth = req.header("authorization");
            const std::string_view given = auth && auth->starts_with("Bearer ") ? std::string_view(*auth).substr(7) : "";
            if (!same_secret(given, config_.api_key))
                return reply_error({401, "authentication_error",
                                    auth ? "the API key is not valid" : "an API key is required (Authorization: Bearer KEY)",
                                    "invalid_api_key", {}});
        }
        if (path == "/v1/models") {
            if (!allow("GET")) return;
            return reply_json({{"object", "list"},
                               {"data", json::array({{{"id", config_.model_id}, {"object", "model"}, {"created", 0},
                                                      {"owned_by", "suanli"}}})}});
        }
        if (path == "/v1/chat/completions" || path == "/v1/completions") {
            if (!allow("POST")) return;
            // Parsing and tokenizing can take a while for a large body: off the HTTP loop.
            const bool chat = path == "/v1/chat/completions";
            worker_.post([this, req, responder, chat, arrived = std::chrono::steady_clock::now()] {
                try {
                    completion(req, responder, chat, arrived);
                } catch (const ApiError& e) {
                    metrics_.request_done(endpoint_label(req.path()), e.status);
                    responder->send(e.status, "application/json", api::error_json(e));
                } catch (const std::exception& e) {
                    metrics_.request_done(endpoint_label(req.path()), 500);
                    responder->send(500, "application/json", api::error_json({500, "server_error", e.what(), {}, {}}));
                }
            });
            return;
        }
        reply_error({404, "invalid_request_error", cat("no such endpoint: ", path), {}, {}});
    } catch (const ApiError& e) {
        reply_error(e);
    } catch (const std::exception& e) {
        reply_error({500, "server_error", e.what(), {}, {}});
    }
}

void Routes::completion(const http::Request& req, const std::shared_ptr<http::Responder>& responder, bool chat,
                        std::chrono::steady_clock::time_point arrived) {
    if (responder->closed()) return;  // the client left while this waited
    const std::string_view endpoint = chat ? "/v1/chat/completions" : "/v1/completions";
    thread_local std::mt19937_64 seeds{std::random_device{}()};
    api::CompletionRequest r =
        api::parse_completion_request(req.body, chat ? api::Endpoint::Chat : api::Endpoint::Completions, seeds());
    if (r.model != config_.model_id)
        throw ApiError{404, "invalid_request_error", cat("the model '", r.model, "' does not exist; this server has '", config_.model_id, "'"),
                       "model_not_found", "model"};
    if (draining_) throw ApiError{503, "server_error", "the server is shutting down", {}, {}};

    std::vector<int32_t> prompt;
    if (chat) {
        try {
            prompt = chat_prompt_tokens(template_, tokenizer_, r.messages);
        } catch (const Error& e) {  // the template refused the conversation (raise_exception)
            throw api::invalid_request(cat("chat template: ", e.what()), "messages");
        }
    } else if (const auto* text = std::get_if<std::string>(&r.prompt)) {
        prompt = tokenizer_.encode(*text, /*add_special=*/true, /*parse_special=*/false);
    } else {
        prompt = std::get<std::vector<int32_t>>(r.prompt);
        for (int32_t t : prompt)
            if (t >= tokenizer_.n_vocab()) throw api::invalid_request(cat("prompt token id ", t, " is outside the vocabulary"), "prompt");
    }
    if (prompt.empty()) throw api::invalid_request("the prompt is empty", chat ? "messages" : "prompt");
    const int64_t ctx = engine_.options().ctx_size;
    if (static_cast<int64_t>(prompt.size()) >= ctx)
        throw api::invalid_request(cat("the prompt is ", prompt.size(), " tokens; this server's context holds ", ctx,
                                       " (prompt and reply together)"),
                                   chat ? "messages" : "prompt", "context_length_exceeded");

    const uint64_t n = next_id_++;
    auto sink = std::make_shared<api::CompletionSink>(r, config_.model_id, cat(chat ? "chatcmpl-" : "cmpl-", n), responder,
                                                      tokenizer_, metrics_, arrived);
    uint64_t id = 0;
    switch (engine_.submit(std::move(prompt), r.generation, sink, &id)) {
        case SubmitStatus::Accepted: break;
        case SubmitStatus::QueueFull:
            metrics_.request_done(endpoint, 429);
            responder->send(429, "application/json",
                            api::error_json({429, "rate_limit_error", "the server is busy: its request queue is full; retry later",
                                             "queue_full", {}}),
                            {{"Retry-After", "1"}});
            return;
        case SubmitStatus::ShuttingDown: throw ApiError{503, "server_error", "the server is shutting down", {}, {}};
    }
    // A client that leaves cancels its request, which frees its KV blocks.
    responder->on_close([&engine = engine_, id] { engine.cancel(id); });
}

}  // namespace suanli
