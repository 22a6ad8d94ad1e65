// A small HTTP/1.1 server: one event-loop thread owns the sockets; responses may
// be written from any thread through a Responder, so a slow model never blocks
// the loop and a streamed reply (server-sent events) can trickle out token by token.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "server/http/http_message.h"

namespace suanli::http {

// One response, shared between the loop and whoever produces it. Thread-safe.
// A response is either sent whole (send) or streamed (begin_stream, write..., end).
class Responder {
public:
    virtual ~Responder() = default;

    // The whole response, with Content-Length. Ignored if something was already sent.
    virtual void send(int status, std::string_view content_type, std::string body, const Headers& extra = {}) = 0;
    // Starts a streamed response (Transfer-Encoding: chunked).
    virtual void begin_stream(int status, std::string_view content_type, const Headers& extra = {}) = 0;
    // Queues bytes of a streamed response. Returns false once the client is gone.
    virtual bool write(std::string_view data) = 0;
    // Finishes a streamed response.
    virtual void end() = 0;

    // True once the client has disconnected (or the server shut it down).
    virtual bool closed() const = 0;
    // `callback` runs once, on the loop thread, when the client disconnects before the
    // response ended; at once (on the calling thread) if it already has.
    virtual void on_close(std::function<void()> callback) = 0;
};

// Called on the loop thread for each complete request; must not block. It answers
// through `responder`, now or later from another thread.
using Handler = std::function<void(const Request& request, std::shared_ptr<Responder> responder)>;

// The body the server itself sends when it rejects a request before a handler sees
// it (malformed request: 400, headers too large: 431, body too large: 413, ...).
using ErrorBody = std::function<std::string(int status, std::string_view message)>;

struct ServerOptions {
    std::string host = "127.0.0.1";
    uint16_t port = 8080;                 // 0: any free port (see HttpServer::port)
    size_t max_header_bytes = 16 << 10;
    size_t max_body_bytes = 4 << 20;
    size_t max_connections = 1024;        // more are accepted and closed at once with 503
    std::chrono::milliseconds idle_timeout{60000};  // a connection with no request in flight
    // A request must arrive whole (head and body) this long after its first byte, else
    // 408 and close: a client that sends a byte now and then cannot hold a connection.
    std::chrono::milliseconds request_timeout{60000};
    ErrorBody error_body;                 // default: a plain-text message
};

class HttpServer {
public:
    // Binds and listens; throws Error naming the address when that fails
    // ("cannot listen on 127.0.0.1:8080: Address already in use").
    HttpServer(ServerOptions options, Handler handler);
    ~HttpServer();  // shutdown()
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    uint16_t port() const;  // the bound port

    void start();            // runs the event loop on its own thread
    void stop_accepting();   // closes the listening socket; open connections go on
    size_t open_connections() const;
    // Closes every connection (in-flight responders see closed()) and joins the loop.
    void shutdown();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace suanli::http
