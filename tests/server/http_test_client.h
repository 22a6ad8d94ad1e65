// A blocking loopback HTTP client for the server tests. Every read has a
// deadline, so a server bug fails a test instead of hanging it.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "server/http/unique_fd.h"

namespace suanli::http::testing {

struct Response {
    int status = 0;
    std::string head;  // status line and headers
    std::string body;  // decoded when chunked
    bool complete = false;
};

class TestClient {
public:
    static constexpr auto kTimeout = std::chrono::seconds(5);

    // receive_buffer > 0 shrinks the socket's receive buffer (before connecting, so
    // the TCP window follows): a client that does not read then stalls the server sooner.
    explicit TestClient(uint16_t port, int receive_buffer = 0) : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
        if (receive_buffer > 0)
            ::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(port);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        connected_ = ::connect(fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    }

    bool connected() const { return connected_; }
    int fd() const { return fd_.get(); }
    void close() { fd_.reset(); }

    bool send(std::string_view data) {
        while (!data.empty()) {
            ssize_t n = ::send(fd_.get(), data.data(), data.size(), MSG_NOSIGNAL);
            if (n <= 0) return false;
            data.remove_prefix(static_cast<size_t>(n));
        }
        return true;
    }

    // Reads until buffered input holds `n` bytes; false on EOF, error or timeout.
    bool fill(size_t n) {
        auto deadline = std::chrono::steady_clock::now() + kTimeout;
        while (buf_.size() < n) {
            if (!read_some(deadline)) return false;
        }
        return true;
    }

    // Reads up to and including `marker`; returns it all, or "" on EOF/timeout.
    std::string read_until(std::string_view marker) {
        auto deadline = std::chrono::steady_clock::now() + kTimeout;
        size_t at;
        while ((at = buf_.find(marker)) == std::string::npos) {
            if (!read_some(deadline)) return "";
        }
        std::string out = buf_.substr(0, at + marker.size());
        buf_.erase(0, at + marker.size());
        return out;
    }

    // The status line and headers of the next response.
    Response read_head() {
        Response r;
        r.head = read_until("\r\n\r\n");
        if (r.head.size() > 12) r.status = std::atoi(r.head.c_str() + 9);
        return r;
    }

    // The next chunk of a chunked body into `data` ("" for the last one); false on failure.
    bool read_chunk(std::string& data) {
        std::string size_line = read_until("\r\n");
        if (size_line.empty()) return false;
        size_t n = std::strtoul(size_line.c_str(), nullptr, 16);
        if (!fill(n + 2)) return false;
        data = buf_.substr(0, n);
        buf_.erase(0, n + 2);
        return true;
    }

    // A whole response: Content-Length or chunked body.
    Response read_response() {
        Response r = read_head();
        if (r.status == 0) return r;
        if (r.head.find("Transfer-Encoding: chunked") != std::string::npos) {
            std::string chunk;
            while (read_chunk(chunk)) {
                if (chunk.empty()) {
                    r.complete = true;
                    return r;
                }
                r.body += chunk;
            }
            return r;
        }
        size_t at = r.head.find("Content-Length: ");
        size_t n = at == std::string::npos ? 0 : std::strtoul(r.head.c_str() + at + 16, nullptr, 10);
        if (!fill(n)) return r;
        r.body = buf_.substr(0, n);
        buf_.erase(0, n);
        r.complete = true;
        return r;
    }

    // True when the server closes the connection (EOF or reset) before the deadline.
    bool wait_closed() {
        auto deadline = std::chrono::steady_clock::now() + kTimeout;
        while (read_some(deadline)) {
        }
        return eof_;
    }

private:
    bool read_some(std::chrono::steady_clock::time_point deadline) {
        if (eof_) return false;
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return false;
        pollfd p{fd_.get(), POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
        char tmp[64 << 10];
        ssize_t n = ::recv(fd_.get(), tmp, sizeof tmp, 0);
        if (n <= 0) {
            eof_ = true;
            return false;
        }
        buf_.append(tmp, static_cast<size_t>(n));
        return true;
    }

    UniqueFd fd_;
    bool connected_ = false;
    bool eof_ = false;
    std::string buf_;
};

}  // namespace suanli::http::testing
