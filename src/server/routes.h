// The server's endpoints: which request goes where, authentication, and the
// OpenAI-style error for everything that does not fit.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "server/http/http_server.h"
#include "server/worker.h"

namespace suanli {

class ChatTemplate;
class Engine;
class Metrics;
class Tokenizer;

struct RouteConfig {
    std::string model_id;  // the name clients use in "model"
    std::string api_key;   // empty: no authentication
};

class Routes {
public:
    Routes(Engine& engine, const Tokenizer& tokenizer, const ChatTemplate& chat_template, Metrics& metrics,
           RouteConfig config);

    // The http::Handler: runs on the HTTP loop thread and does not block.
    void handle(const http::Request& request, std::shared_ptr<http::Responder> responder);

    // From now on /health says 503 and completions are refused with 503.
    void start_draining() { draining_ = true; }

private:
    void completion(const http::Request& request, const std::shared_ptr<http::Responder>& responder, bool chat,
                    std::chrono::steady_clock::time_point arrived);

    Engine& engine_;
    const Tokenizer& tokenizer_;
    const ChatTemplate& template_;
    Metrics& metrics_;
    RouteConfig config_;
    std::atomic<bool> draining_{false};
    std::atomic<uint64_t> next_id_{1};
    Worker worker_;  // last: destroyed first, while what its jobs use still exists
};

}  // namespace suanli
