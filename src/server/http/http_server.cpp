// The event loop: one thread polls the listener, an eventfd and every connection.
// Handlers run on it and answer through a ResponderImpl, which queues bytes in
// the Outbox from any thread and wakes the loop; the loop alone touches sockets.
// A connection handles one request at a time (pipelined ones wait, parsed, in
// its buffer) and is watched for POLLRDHUP throughout, so a client that leaves,
// even by a half-close, cancels its request in flight through on_close.
#include "server/http/http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "core/error.h"
#include "server/http/request_parser.h"
#include "server/http/responder_impl.h"
#include "server/http/unique_fd.h"

namespace suanli::http {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// How long a connection being closed after an error keeps discarding what the client
// still sends, so that closing with unread input (a TCP reset) does not destroy the reply.
constexpr auto kLinger = 2s;
constexpr size_t kReadBudget = 256 << 10;  // per connection per loop turn: fairness
constexpr size_t kMaxRejected = 64;        // 503 connections still being answered

std::string default_error_body(int status, std::string_view message) { return cat(message, "\n"); }

std::string_view error_content_type(std::string_view body) {
    return body.starts_with('{') ? "application/json" : "text/plain; charset=utf-8";
}

UniqueFd listen_on(const std::string& host, uint16_t port) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    addrinfo* found = nullptr;
    std::string service = std::to_string(port);
    std::string where = cat(host, ":", port);
    if (int rc = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &found); rc != 0)
        fail("cannot listen on ", where, ": ", ::gai_strerror(rc));
    std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> list(found, ::freeaddrinfo);
    int last_error = EADDRNOTAVAIL;
    for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
        UniqueFd fd(::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol));
        if (!fd) {
            last_error = errno;
            continue;
        }
        int one = 1;
        ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (::bind(fd.get(), a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd.get(), SOMAXCONN) == 0) return fd;
        last_error = errno;
    }
    fail("cannot listen on ", where, ": ", std::strerror(last_error));
}

uint16_t bound_port(int fd) {
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return 0;
    if (addr.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
    return ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
}

bool would_block(int err) { return err == EAGAIN || err == EWOULDBLOCK || err == EINTR; }

}  // namespace

// One client connection; owned and touched only by the loop thread.
struct Connection {
    Connection(uint64_t id, UniqueFd fd, const ServerOptions& options)
        : id(id), fd(std::move(fd)), parser(options.max_header_bytes, options.max_body_bytes) {}

    uint64_t id;
    UniqueFd fd;
    RequestParser parser;
    std::string out;  // bytes the socket has not taken yet, from out_pos on
    size_t out_pos = 0;
    std::shared_ptr<ResponderImpl> current;  // the request in flight, answered or not
    std::shared_ptr<std::atomic<size_t>> backlog = std::make_shared<std::atomic<size_t>>(0);
    bool close_after_write = false;          // no more requests: close once `out` is sent
    bool draining = false;                   // write side shut; discarding input until EOF
    bool rejected = false;                   // over max_connections: only a 503 goes out
    Clock::time_point last_activity = Clock::now();
    Clock::time_point drain_deadline;
    // While part of a request has arrived and no request is in flight: when it must be whole.
    std::optional<Clock::time_point> request_deadline;

    size_t pending() const { return out.size() - out_pos; }
};

// Bytes the loop itself sends (error replies, 100 Continue), counted like a responder's.
static void append(Connection& c, std::string_view bytes) {
    c.backlog->fetch_add(bytes.size());
    c.out += bytes;
}

struct HttpServer::Impl {
    Impl(ServerOptions opts, Handler h) : options(std::move(opts)), handler(std::move(h)) {
        if (!options.error_body) options.error_body = default_error_body;
        listener = listen_on(options.host, options.port);
        port = bound_port(listener.get());
    }

    ServerOptions options;
    Handler handler;
    std::shared_ptr<Outbox> outbox = std::make_shared<Outbox>();
    UniqueFd listener;
    uint16_t port = 0;
    std::thread thread;
    std::atomic<bool> stopping{false};
    std::atomic<size_t> open{0};

    // stop_accepting() from another thread waits here until the loop closed the listener.
    std::mutex control_mutex;
    std::condition_variable control_cv;
    bool stop_accept_requested = false;
    bool listener_closed = false;

    std::map<uint64_t, std::unique_ptr<Connection>> connections;
    uint64_t next_id = 1;
    size_t rejected = 0;

    void run();
    void close_all();
    void accept_all();
    void close_listener();
    Connection* find(uint64_t id) {
        auto it = connections.find(id);
        return it == connections.end() ? nullptr : it->second.get();
    }
    void close_connection(uint64_t id);
    // Each of these returns false when it closed the connection (`c` is then gone).
    bool on_readable(Connection& c);
    bool advance(Connection& c);
    bool flush(Connection& c);
    bool drain_outbox();
    void dispatch(Connection& c);
    void queue_error(Connection& c, int status, std::string_view message);
    std::string error_body(int status, std::string_view message) const;  // never throws
    int poll_timeout(Clock::time_point now) const;
    void expire(Clock::time_point now);
};

void HttpServer::Impl::close_listener() {
    listener.reset();
    {
        std::lock_guard lock(control_mutex);
        listener_closed = true;
    }
    control_cv.notify_all();
}

void HttpServer::Impl::close_connection(uint64_t id) {
    auto it = connections.find(id);
    if (it == connections.end()) return;
    std::unique_ptr<Connection> c = std::move(it->second);
    connections.erase(it);
    if (c->rejected)
        --rejected;
    else
        --open;
    c->fd.reset();
    if (c->current) {
        // The callback cancels work in flight; whatever it throws must not end the loop.
        try {
            c->current->mark_closed();
        } catch (...) {
        }
    }
}

void HttpServer::Impl::close_all() {
    outbox->close();  // responders' writes fail from here on
    while (!connections.empty()) close_connection(connections.begin()->first);
    close_listener();
}

std::string HttpServer::Impl::error_body(int status, std::string_view message) const {
    try {
        return options.error_body(status, message);
    } catch (...) {
        return default_error_body(status, message);
    }
}

void HttpServer::Impl::queue_error(Connection& c, int status, std::string_view message) {
    std::string body = error_body(status, message);
    append(c, cat("HTTP/1.1 ", status, " ", reason_phrase(status), "\r\nContent-Type: ", error_content_type(body),
                  "\r\nContent-Length: ", body.size(), "\r\nConnection: close\r\n\r\n", body));
    c.close_after_write = true;
}

void HttpServer::Impl::dispatch(Connection& c) {
    Request request = c.parser.take();
    ResponderImpl::Context context{c.id, c.parser.keep_alive(), c.parser.http10(), request.method == "HEAD",
                                   c.backlog};
    auto responder = std::make_shared<ResponderImpl>(outbox, context);
    c.current = responder;
    // A handler's exception becomes a 500 (or cuts its stream off); it never leaves the loop.
    try {
        handler(request, responder);
    } catch (const Error& e) {
        responder->fail_with(500, error_body(500, e.what()));
    } catch (const std::exception& e) {
        responder->fail_with(500, error_body(500, cat("internal error: ", e.what())));
    } catch (...) {
        responder->fail_with(500, error_body(500, "internal error"));
    }
}

bool HttpServer::Impl::advance(Connection& c) {
    while (!c.current && !c.close_after_write && !c.draining) {
        RequestParser::Status status = c.parser.next();
        if (status == RequestParser::Status::incomplete) {
            if (c.parser.take_continue()) append(c, "HTTP/1.1 100 Continue\r\n\r\n");
            break;
        }
        if (status == RequestParser::Status::failed) {
            queue_error(c, c.parser.error_status(), c.parser.error_message());
            break;
        }
        dispatch(c);
    }
    // The clock of a request starts at its first byte the loop sees with none in flight.
    if (c.current || c.close_after_write || c.draining || c.parser.buffered() == 0)
        c.request_deadline.reset();
    else if (!c.request_deadline)
        c.request_deadline = Clock::now() + options.request_timeout;
    return flush(c);
}

bool HttpServer::Impl::flush(Connection& c) {
    while (c.pending() > 0) {
        ssize_t n = ::send(c.fd.get(), c.out.data() + c.out_pos, c.pending(), MSG_NOSIGNAL);
        if (n > 0) {
            c.out_pos += static_cast<size_t>(n);
            c.backlog->fetch_sub(static_cast<size_t>(n));
            c.last_activity = Clock::now();
        } else if (n < 0 && would_block(errno)) {
            break;
        } else {
            close_connection(c.id);
            return false;
        }
    }
    if (c.pending() == 0) {
        c.out.clear();
        c.out_pos = 0;
        if (c.close_after_write && !c.current && !c.draining) {
            // Shut our side and read what the client still sends until it closes too.
            ::shutdown(c.fd.get(), SHUT_WR);
            c.draining = true;
            c.drain_deadline = Clock::now() + std::min<Clock::duration>(kLinger, options.idle_timeout);
        }
    } else if (c.out_pos >= (1 << 20) && c.out_pos >= c.out.size() / 2) {
        c.out.erase(0, c.out_pos);
        c.out_pos = 0;
    }
    return true;
}

bool HttpServer::Impl::on_readable(Connection& c) {
    char buffer[16 << 10];
    size_t total = 0;
    bool eof = false;
    while (total < kReadBudget) {
        ssize_t n = ::recv(c.fd.get(), buffer, sizeof buffer, 0);
        if (n > 0) {
            total += static_cast<size_t>(n);
            c.last_activity = Clock::now();
            if (!c.draining) c.parser.feed(std::string_view(buffer, static_cast<size_t>(n)));
            continue;
        }
        if (n < 0 && would_block(errno)) break;
        eof = true;
        break;
    }
    // Requests that arrived with the FIN still reach the handler (which then sees
    // on_close): a client that sends and leaves at once is told apart from none.
    if (!c.draining && !advance(c)) return false;
    if (eof) {
        // EOF or an error: the client is gone (a half-close counts too).
        close_connection(c.id);
        return false;
    }
    return true;
}

bool HttpServer::Impl::drain_outbox() {
    bool any = false;
    for (std::vector<Outbox::Item> items = outbox->take(); !items.empty(); items = outbox->take()) {
        any = true;
        for (Outbox::Item& item : items) {
            Connection* c = find(item.connection);
            if (c == nullptr) continue;  // closed meanwhile
            if (item.abort) {
                close_connection(c->id);
                continue;
            }
            c->out += item.bytes;
            if (item.last) {
                c->current.reset();
                if (item.close) c->close_after_write = true;
                if (!advance(*c)) continue;  // the next pipelined request, if any
            } else if (!flush(*c)) {
                continue;
            }
        }
    }
    return any;
}

void HttpServer::Impl::accept_all() {
    while (listener) {
        UniqueFd fd(::accept4(listener.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
        if (!fd) return;  // EAGAIN, or out of descriptors: try again next turn
        int one = 1;
        // Streamed tokens are small writes that must leave at once.
        ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        bool over = open.load() >= options.max_connections;
        if (over && rejected >= kMaxRejected) continue;  // too busy even to say so
        auto c = std::make_unique<Connection>(next_id++, std::move(fd), options);
        Connection& ref = *c;
        connections.emplace(c->id, std::move(c));
        if (over) {
            ref.rejected = true;
            ++rejected;
            queue_error(ref, 503, "too many connections");
            flush(ref);
        } else {
            ++open;
        }
    }
}

int HttpServer::Impl::poll_timeout(Clock::time_point now) const {
    if (connections.empty()) return -1;
    Clock::time_point next = Clock::time_point::max();
    for (const auto& [id, c] : connections) {
        if (c->draining)
            next = std::min(next, c->drain_deadline);
        else if (!c->current)
            next = std::min(next, c->last_activity + options.idle_timeout);
        if (c->request_deadline) next = std::min(next, *c->request_deadline);
    }
    if (next == Clock::time_point::max()) return -1;
    auto ms = std::chrono::ceil<std::chrono::milliseconds>(next - now).count();
    return static_cast<int>(std::clamp<int64_t>(ms, 0, 60000));
}

void HttpServer::Impl::expire(Clock::time_point now) {
    std::vector<uint64_t> late;  // answered after the loop: flush may close (erase) one
    for (const auto& [id, c] : connections)
        if (c->request_deadline && now >= *c->request_deadline) late.push_back(id);
    for (uint64_t id : late) {
        Connection& c = *connections.at(id);
        c.request_deadline.reset();
        queue_error(c, 408, "the request did not arrive in time");
        flush(c);
    }
    std::vector<uint64_t> expired;
    for (const auto& [id, c] : connections) {
        if (c->draining ? now >= c->drain_deadline : !c->current && now - c->last_activity >= options.idle_timeout)
            expired.push_back(id);
    }
    for (uint64_t id : expired) close_connection(id);
}

void HttpServer::Impl::run() {
    std::vector<pollfd> fds;
    std::vector<uint64_t> ids;
    while (!stopping.load()) {
        bool stop_accept;
        {
            std::lock_guard lock(control_mutex);
            stop_accept = stop_accept_requested;
        }
        if (stop_accept && listener) close_listener();
        drain_outbox();

        fds.clear();
        ids.clear();
        fds.push_back({outbox->wake_fd(), POLLIN, 0});
        if (listener) fds.push_back({listener.get(), POLLIN, 0});
        size_t first = fds.size();
        size_t read_cap = options.max_header_bytes + options.max_body_bytes + (64 << 10);
        for (const auto& [id, c] : connections) {
            // Always ask for RDHUP: a client that leaves must be seen even while we are
            // not reading (pipelined input piled up, or an error reply waiting).
            short events = POLLRDHUP;
            if (c->draining || (!c->close_after_write && c->parser.buffered() < read_cap)) events |= POLLIN;
            if (c->pending() > 0) events |= POLLOUT;
            fds.push_back({c->fd.get(), events, 0});
            ids.push_back(id);
        }
        int ready = ::poll(fds.data(), fds.size(), poll_timeout(Clock::now()));
        if (ready < 0 && errno != EINTR) break;  // cannot happen with valid descriptors
        if (fds[0].revents != 0) outbox->clear_wake();
        if (listener && fds.size() > 1 && fds[1].fd == listener.get() && fds[1].revents != 0) accept_all();

        for (size_t i = first; i < fds.size() && ready > 0; ++i) {
            short revents = fds[i].revents;
            if (revents == 0) continue;
            Connection* c = find(ids[i - first]);
            if (c == nullptr) continue;
            if (revents & POLLERR) {
                close_connection(c->id);
                continue;
            }
            if (fds[i].events & POLLIN) {
                if ((revents & (POLLIN | POLLHUP | POLLRDHUP)) && !on_readable(*c)) continue;
            } else if (revents & (POLLHUP | POLLRDHUP)) {
                close_connection(c->id);
                continue;
            }
            if ((revents & POLLOUT) && !flush(*c)) continue;
        }
        expire(Clock::now());
    }
    close_all();
}

HttpServer::HttpServer(ServerOptions options, Handler handler)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler))) {}

HttpServer::~HttpServer() { shutdown(); }

uint16_t HttpServer::port() const { return impl_->port; }

void HttpServer::start() {
    if (impl_->thread.joinable() || impl_->stopping) return;
    impl_->thread = std::thread([impl = impl_.get()] {
        // Nothing may escape the loop thread (that would end the process): on an
        // exception here (out of memory, say) every connection is closed instead.
        try {
            impl->run();
        } catch (const std::exception& e) {
            std::fprintf(stderr, "suanli: the HTTP server stopped: %s\n", e.what());
            impl->close_all();
        } catch (...) {
            impl->close_all();
        }
    });
}

void HttpServer::stop_accepting() {
    if (!impl_->thread.joinable() || std::this_thread::get_id() == impl_->thread.get_id()) {
        impl_->close_listener();
        return;
    }
    std::unique_lock lock(impl_->control_mutex);
    impl_->stop_accept_requested = true;
    impl_->outbox->wake();
    impl_->control_cv.wait(lock, [&] { return impl_->listener_closed; });
}

size_t HttpServer::open_connections() const { return impl_->open.load(); }

void HttpServer::shutdown() {
    impl_->stopping = true;
    // From a handler or callback (the loop thread): the loop ends after this turn,
    // and the destructor, on another thread, joins it.
    if (std::this_thread::get_id() == impl_->thread.get_id()) return;
    if (impl_->thread.joinable()) {
        impl_->outbox->wake();
        impl_->thread.join();
    } else {
        impl_->close_all();
    }
}

}  // namespace suanli::http
