// The Responder the server hands to handlers: formats the status line, headers
// and chunks, and queues the bytes in the Outbox for the loop thread to send.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "server/http/http_server.h"
#include "server/http/unique_fd.h"

namespace suanli::http {

// A client that stops reading while a stream goes on is cut off once this much of
// its output waits (queued, or buffered by the loop), so one slow
// reader cannot make the server hoard memory. A single send() may be larger.
inline constexpr size_t kMaxPendingOutput = 8 << 20;

// Bytes on their way from any thread to the loop, which owns the sockets.
class Outbox {
public:
    struct Item {
        uint64_t connection;
        std::string bytes;
        bool last = false;   // the response is complete
        bool close = false;  // close the connection after these bytes
        bool abort = false;  // close the connection now, unsent bytes and all
    };

    Outbox();  // throws Error when no eventfd can be made
    // Queues `item` and wakes the loop; false once the server has shut down.
    bool push(Item item);
    std::vector<Item> take();
    void close();          // refuses every later push
    void wake() const;     // wakes the loop (also for stop_accepting and shutdown)
    void clear_wake() const;
    int wake_fd() const { return wake_.get(); }

private:
    std::mutex mutex_;
    std::vector<Item> items_;
    bool open_ = true;
    UniqueFd wake_;
};

class ResponderImpl final : public Responder {
public:
    struct Context {
        uint64_t connection;
        bool keep_alive;
        bool http10;
        bool head;  // a HEAD request: headers only
        // Bytes of this connection queued and not yet taken by the socket: the
        // responder adds, the loop subtracts what send() took.
        std::shared_ptr<std::atomic<size_t>> backlog;
    };
    ResponderImpl(std::shared_ptr<Outbox> outbox, Context context);

    void send(int status, std::string_view content_type, std::string body, const Headers& extra) override;
    void begin_stream(int status, std::string_view content_type, const Headers& extra) override;
    bool write(std::string_view data) override;
    void end() override;
    bool closed() const override { return closed_.load(); }
    void on_close(std::function<void()> callback) override;

    // Loop side: the client is gone (or the server closed it). Runs the on_close
    // callback here if the response had not ended.
    void mark_closed();
    // A handler threw: 500 if nothing was sent, else the stream is cut off.
    void fail_with(int status, std::string body);

private:
    enum class State { idle, streaming, ended };
    std::string head(int status, std::string_view content_type, const Headers& extra, bool close) const;
    // Ends the response under the lock; the callback is dropped outside it.
    std::function<void()> finish_locked();
    void queue(std::string bytes, bool last = false, bool close = false);

    std::shared_ptr<Outbox> outbox_;
    Context context_;
    mutable std::mutex mutex_;
    State state_ = State::idle;
    bool chunked_ = true;
    bool cancelled_ = false;     // closed before the response ended
    bool loop_closed_ = false;   // mark_closed ran
    std::atomic<bool> closed_{false};
    std::function<void()> on_close_;
};

}  // namespace suanli::http
