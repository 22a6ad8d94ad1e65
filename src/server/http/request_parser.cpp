#include "server/http/request_parser.h"

#include <cstring>
#include <utility>

#include "core/error.h"

namespace suanli::http {
namespace {

// RFC 9110 token characters (method and header names).
bool is_tchar(unsigned char c) {
    if (c >= '0' && c <= '9') return true;
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return true;
    return c != 0 && std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

bool is_token(std::string_view s) {
    if (s.empty()) return false;
    for (unsigned char c : s)
        if (!is_tchar(c)) return false;
    return true;
}

// Field values: visible ASCII, space, tab and obs-text; no other control bytes.
bool is_field_value(std::string_view s) {
    for (unsigned char c : s)
        if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
    return true;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    return out;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// The next line of `head` (without its LF and an optional CR before it).
std::string_view next_line(std::string_view& head) {
    size_t lf = head.find('\n');
    std::string_view line = head.substr(0, lf);
    head.remove_prefix(lf == std::string_view::npos ? head.size() : lf + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return line;
}

}  // namespace

RequestParser::RequestParser(size_t max_header_bytes, size_t max_body_bytes)
    : max_header_bytes_(max_header_bytes), max_body_bytes_(max_body_bytes) {}

void RequestParser::feed(std::string_view bytes) {
    // Drop consumed bytes once they are most of the buffer, so a long keep-alive
    // connection costs memory for its unparsed bytes only.
    if (pos_ > 0 && pos_ >= buf_.size() / 2) {
        buf_.erase(0, pos_);
        scan_ -= pos_;
        pos_ = 0;
    }
    buf_.append(bytes);
}

RequestParser::Status RequestParser::fail(int status, std::string message) {
    error_status_ = status;
    error_message_ = std::move(message);
    return Status::failed;
}

RequestParser::Status RequestParser::next() {
    if (error_status_ != 0) return Status::failed;
    if (!in_body_) {
        // RFC 9112 2.2: ignore empty lines before a request line.
        while (pos_ < buf_.size() && (buf_[pos_] == '\r' || buf_[pos_] == '\n')) ++pos_;
        if (scan_ < pos_) scan_ = pos_;
        // The headers end at an empty line: LF LF or LF CR LF. Resume where the last
        // search stopped, so bytes arriving one at a time cost linear time.
        size_t end = std::string::npos;
        while (scan_ < buf_.size()) {
            const void* hit = std::memchr(buf_.data() + scan_, '\n', buf_.size() - scan_);
            if (hit == nullptr) {
                scan_ = buf_.size();
                break;
            }
            size_t lf = static_cast<const char*>(hit) - buf_.data();
            if (lf + 1 >= buf_.size()) {
                scan_ = lf;
                break;
            }
            if (buf_[lf + 1] == '\n') {
                end = lf + 2;
                break;
            }
            if (buf_[lf + 1] == '\r') {
                if (lf + 2 >= buf_.size()) {
                    scan_ = lf;
                    break;
                }
                if (buf_[lf + 2] == '\n') {
                    end = lf + 3;
                    break;
                }
            }
            scan_ = lf + 1;
        }
        if (end == std::string::npos) {
            if (buffered() > max_header_bytes_) return fail(431, "request headers too large");
            return Status::incomplete;
        }
        if (end - pos_ > max_header_bytes_) return fail(431, "request headers too large");
        std::string_view head(buf_.data() + pos_, end - pos_);
        if (Status s = parse_head(head); s == Status::failed) return s;
        pos_ = end;
        scan_ = end;
        in_body_ = true;
    }
    if (buffered() < body_size_) return Status::incomplete;
    continue_ = false;  // the body is here already
    request_.body.assign(buf_, pos_, body_size_);
    pos_ += body_size_;
    scan_ = pos_;
    in_body_ = false;
    return Status::complete;
}

RequestParser::Status RequestParser::parse_head(std::string_view head) {
    request_ = Request{};
    body_size_ = 0;

    std::string_view line = next_line(head);
    size_t sp1 = line.find(' ');
    size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos) return fail(400, "malformed request line");
    std::string_view method = line.substr(0, sp1);
    std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    std::string_view version = line.substr(sp2 + 1);
    if (!is_token(method)) return fail(400, "malformed request method");
    if (target.empty()) return fail(400, "empty request target");
    for (unsigned char c : target)
        if (c <= 0x20 || c >= 0x7f) return fail(400, "malformed request target");
    if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || !is_digit(version[5]) || version[6] != '.' ||
        !is_digit(version[7]))
        return fail(400, "malformed HTTP version");
    if (version != "HTTP/1.1" && version != "HTTP/1.0")
        return fail(505, cat("HTTP version ", version.substr(5), " is not supported"));
    http10_ = version == "HTTP/1.0";
    request_.method = method;
    request_.target = target;

    bool close = false, keep_alive = false, has_length = false, expect_continue = false;
    while (!head.empty()) {
        line = next_line(head);
        if (line.empty()) break;  // the empty line that ends the headers
        if (line.front() == ' ' || line.front() == '\t') return fail(400, "obsolete header line folding");
        size_t colon = line.find(':');
        if (colon == std::string_view::npos) return fail(400, "malformed header line");
        std::string_view name = line.substr(0, colon);
        std::string_view value = trim(line.substr(colon + 1));
        if (!is_token(name)) return fail(400, "malformed header name");
        if (!is_field_value(value)) return fail(400, cat("malformed value of header ", name));
        std::string key = lower(name);

        if (key == "content-length") {
            if (value.empty()) return fail(400, "empty Content-Length");
            size_t n = 0;
            for (char c : value) {
                if (!is_digit(c)) return fail(400, "malformed Content-Length");
                // Anything past the limit is refused; stop before it can overflow.
                if (n <= max_body_bytes_) n = n * 10 + static_cast<size_t>(c - '0');
            }
            if (has_length && n != body_size_) return fail(400, "conflicting Content-Length headers");
            if (n > max_body_bytes_)
                return fail(413, cat("request body is larger than ", max_body_bytes_, " bytes"));
            has_length = true;
            body_size_ = n;
        } else if (key == "transfer-encoding") {
            if (lower(value) == "chunked") return fail(411, "chunked request bodies are not supported; send Content-Length");
            return fail(501, cat("Transfer-Encoding ", value, " is not supported"));
        } else if (key == "expect") {
            expect_continue = lower(value) == "100-continue";
        } else if (key == "connection") {
            std::string_view rest = value;
            while (!rest.empty()) {
                size_t comma = rest.find(',');
                std::string option = lower(trim(rest.substr(0, comma)));
                rest.remove_prefix(comma == std::string_view::npos ? rest.size() : comma + 1);
                if (option == "close") close = true;
                if (option == "keep-alive") keep_alive = true;
            }
        }
        request_.headers.emplace_back(std::move(key), std::string(value));
    }
    keep_alive_ = !close && (!http10_ || keep_alive);
    continue_ = expect_continue && !http10_ && body_size_ > 0;
    return Status::incomplete;
}

Request RequestParser::take() { return std::move(request_); }

}  // namespace suanli::http
