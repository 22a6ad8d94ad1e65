// An incremental HTTP/1.1 request parser: feed bytes as they arrive, take
// complete requests out one at a time (keep-alive and pipelining come free:
// what follows one request stays buffered for the next).
//
// Bodies are Content-Length only. A request with Transfer-Encoding is refused
// (chunked: 411 Length Required, anything else: 501), as RFC 9112 allows; every
// client the server targets sends Content-Length. Once next() reports failed,
// the parser stays failed: the server answers error_status() and closes.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

#include "server/http/http_message.h"

namespace suanli::http {

class RequestParser {
public:
    enum class Status { incomplete, complete, failed };

    // Headers (request line included) over max_header_bytes: 431; a body whose
    // Content-Length is over max_body_bytes: 413, decided before it arrives.
    RequestParser(size_t max_header_bytes, size_t max_body_bytes);

    void feed(std::string_view bytes);
    // Tries to complete the next request from the bytes fed so far.
    Status next();
    // The request next() just completed (moved out).
    Request take();
    // Whether the connection may carry another request after this one
    // (HTTP/1.1 unless "Connection: close"; HTTP/1.0 only with "keep-alive").
    bool keep_alive() const { return keep_alive_; }
    bool http10() const { return http10_; }
    // True once per request whose body is still to come and whose client asked
    // "Expect: 100-continue": the server then sends "100 Continue" (curl waits for it).
    bool take_continue() { return std::exchange(continue_, false); }

    // After failed: 400, 411, 413, 431, 501 or 505, and why.
    int error_status() const { return error_status_; }
    const std::string& error_message() const { return error_message_; }

    // Bytes fed and not yet consumed by a complete request.
    size_t buffered() const { return buf_.size() - pos_; }

private:
    Status fail(int status, std::string message);
    Status parse_head(std::string_view head);

    size_t max_header_bytes_;
    size_t max_body_bytes_;
    std::string buf_;
    size_t pos_ = 0;   // start of unconsumed bytes in buf_
    size_t scan_ = 0;  // where the search for the end of the headers resumes
    bool in_body_ = false;
    size_t body_size_ = 0;
    Request request_;
    bool keep_alive_ = true;
    bool http10_ = false;
    bool continue_ = false;
    int error_status_ = 0;
    std::string error_message_;
};

}  // namespace suanli::http
