// libFuzzer target for the HTTP/1.1 request parser (src/server/http).
//
// The first byte picks how the rest is cut into pieces (as bytes arrive from a
// socket); the pieces are fed one by one and every complete request is taken.
// The same bytes fed whole must give the same requests and the same final
// status: a parser that depends on where reads end is a finding, as is a crash,
// a sanitizer report, or an error status outside 400/411/413/431/501/505.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "server/http/request_parser.h"

namespace {

using suanli::http::Request;
using suanli::http::RequestParser;

struct Outcome {
    std::vector<Request> requests;
    std::vector<bool> keep_alive;
    int error = 0;
};

// Small limits, so the 431 and 413 paths are reached by short inputs.
constexpr size_t kMaxHeader = 512;
constexpr size_t kMaxBody = 2048;

void drain(RequestParser& parser, Outcome& out) {
    while (out.error == 0) {
        RequestParser::Status s = parser.next();
        if (s == RequestParser::Status::incomplete) return;
        if (s == RequestParser::Status::failed) {
            out.error = parser.error_status();
            if (parser.error_message().empty()) std::abort();
            return;
        }
        Request r = parser.take();
        if (r.method.empty() || r.target.empty() || r.body.size() > kMaxBody) std::abort();
        for (const auto& [name, value] : r.headers)
            for (char c : name)
                if (c >= 'A' && c <= 'Z') std::abort();  // names must be lower-cased
        (void)r.path();
        (void)r.header("content-length");
        out.keep_alive.push_back(parser.keep_alive());
        out.requests.push_back(std::move(r));
    }
}

bool same(const Request& a, const Request& b) {
    return a.method == b.method && a.target == b.target && a.headers == b.headers && a.body == b.body;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    size_t step = data[0] == 0 ? 1 : data[0];
    std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);

    Outcome split;
    RequestParser a(kMaxHeader, kMaxBody);
    for (size_t at = 0; at < input.size() && split.error == 0; at += step) {
        a.feed(input.substr(at, step));
        drain(a, split);
    }
    if (input.empty()) drain(a, split);

    Outcome whole;
    RequestParser b(kMaxHeader, kMaxBody);
    b.feed(input);
    drain(b, whole);

    switch (whole.error) {
        case 0: case 400: case 411: case 413: case 431: case 501: case 505: break;
        default: std::abort();
    }
    if (split.error != whole.error || split.requests.size() != whole.requests.size() ||
        split.keep_alive != whole.keep_alive)
        std::abort();
    for (size_t i = 0; i < whole.requests.size(); ++i)
        if (!same(split.requests[i], whole.requests[i])) std::abort();
    return 0;
}
