#include "server/http/responder_impl.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "core/error.h"

namespace suanli::http {
namespace {

// Header names and values from a handler must not smuggle in a line break.
std::string_view one_line(std::string_view s) { return s.substr(0, s.find_first_of("\r\n")); }

std::string hex(size_t n) {
    static const char digits[] = "0123456789abcdef";
    std::string out;
    do {
        out.insert(out.begin(), digits[n & 15]);
        n >>= 4;
    } while (n != 0);
    return out;
}

}  // namespace

Outbox::Outbox() : wake_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    if (!wake_) fail("cannot create eventfd: ", std::strerror(errno));
}

bool Outbox::push(Item item) {
    {
        std::lock_guard lock(mutex_);
        if (!open_) return false;
        items_.push_back(std::move(item));
    }
    wake();
    return true;
}

std::vector<Outbox::Item> Outbox::take() {
    std::lock_guard lock(mutex_);
    return std::exchange(items_, {});
}

void Outbox::close() {
    std::lock_guard lock(mutex_);
    open_ = false;
    items_.clear();
}

void Outbox::wake() const {
    uint64_t one = 1;
    // EAGAIN means the counter is already nonzero: the loop will wake anyway.
    [[maybe_unused]] ssize_t n = ::write(wake_.get(), &one, sizeof one);
}

void Outbox::clear_wake() const {
    uint64_t count;
    [[maybe_unused]] ssize_t n = ::read(wake_.get(), &count, sizeof count);
}

ResponderImpl::ResponderImpl(std::shared_ptr<Outbox> outbox, Context context)
    : outbox_(std::move(outbox)), context_(context) {}

std::string ResponderImpl::head(int status, std::string_view content_type, const Headers& extra, bool close) const {
    std::string out = cat("HTTP/1.1 ", status, " ", reason_phrase(status), "\r\n");
    if (!content_type.empty()) out += cat("Content-Type: ", one_line(content_type), "\r\n");
    for (const auto& [name, value] : extra) out += cat(one_line(name), ": ", one_line(value), "\r\n");
    if (close)
        out += "Connection: close\r\n";
    else if (context_.http10)
        out += "Connection: keep-alive\r\n";  // an HTTP/1.0 client assumes close otherwise
    return out;
}

void ResponderImpl::queue(std::string bytes, bool last, bool close) {
    context_.backlog->fetch_add(bytes.size());
    outbox_->push({context_.connection, std::move(bytes), last, close});
}

std::function<void()> ResponderImpl::finish_locked() {
    state_ = State::ended;
    return std::exchange(on_close_, nullptr);
}

void ResponderImpl::send(int status, std::string_view content_type, std::string body, const Headers& extra) {
    std::function<void()> dropped;
    std::lock_guard lock(mutex_);
    if (state_ != State::idle || closed_) return;
    dropped = finish_locked();
    std::string out = head(status, content_type, extra, !context_.keep_alive);
    out += cat("Content-Length: ", body.size(), "\r\n\r\n");
    if (!context_.head) out += body;
    queue(std::move(out), true, !context_.keep_alive);
}

void ResponderImpl::begin_stream(int status, std::string_view content_type, const Headers& extra) {
    std::lock_guard lock(mutex_);
    if (state_ != State::idle || closed_) return;
    state_ = State::streaming;
    // HTTP/1.0 has no chunked encoding: the body then ends when the connection does.
    chunked_ = !context_.http10;
    std::string out = head(status, content_type, extra, !chunked_ || !context_.keep_alive);
    if (chunked_) out += "Transfer-Encoding: chunked\r\n";
    out += "\r\n";
    queue(std::move(out));
}

bool ResponderImpl::write(std::string_view data) {
    std::lock_guard lock(mutex_);
    if (closed_ || state_ != State::streaming) return false;
    if (data.empty() || context_.head) return true;  // an empty chunk would end the body
    if (context_.backlog->load() >= kMaxPendingOutput) {
        // The client reads slower than we write: give up on it. The loop closes the
        // connection and runs on_close; until then closed() is already true.
        closed_ = true;
        outbox_->push({context_.connection, "", false, false, true});
        return false;
    }
    std::string out;
    if (chunked_) {
        out.reserve(data.size() + 20);
        out += hex(data.size());
        out += "\r\n";
        out += data;
        out += "\r\n";
    } else {
        out = data;
    }
    queue(std::move(out));
    return !closed_;
}

void ResponderImpl::end() {
    std::function<void()> dropped;
    std::lock_guard lock(mutex_);
    // Once closed the response cannot end: on_close still runs (or has run).
    if (state_ != State::streaming || closed_) return;
    dropped = finish_locked();
    bool close = !chunked_ || !context_.keep_alive;
    queue(chunked_ && !context_.head ? "0\r\n\r\n" : "", true, close);
}

void ResponderImpl::fail_with(int status, std::string body) {
    std::unique_lock lock(mutex_);
    if (state_ == State::idle) {
        lock.unlock();
        std::string_view type = body.starts_with('{') ? "application/json" : "text/plain; charset=utf-8";
        send(status, type, std::move(body), {});
        return;
    }
    if (state_ == State::streaming) {
        // Cut the stream off without its final chunk: the client sees an incomplete body.
        std::function<void()> dropped = finish_locked();
        queue("", true, true);
        lock.unlock();
    }
}

void ResponderImpl::on_close(std::function<void()> callback) {
    std::unique_lock lock(mutex_);
    if (cancelled_) {
        lock.unlock();
        callback();
        return;
    }
    if (state_ == State::ended) return;  // it can no longer be cut short
    on_close_ = std::move(callback);
}

void ResponderImpl::mark_closed() {
    std::function<void()> callback;
    {
        std::lock_guard lock(mutex_);
        if (loop_closed_) return;
        loop_closed_ = true;
        closed_ = true;
        if (state_ != State::ended) {
            cancelled_ = true;
            callback = std::exchange(on_close_, nullptr);
        }
    }
    if (callback) callback();
}

}  // namespace suanli::http
