// An HTTP/1.1 request as the server hands it to a handler.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace suanli::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Request {
    std::string method;   // "GET", "POST", ...
    std::string target;   // as sent: path and query, e.g. "/v1/models?x=1"
    Headers headers;      // names lower-cased, values trimmed, in arrival order
    std::string body;     // the whole body (Content-Length bytes)

    std::string_view path() const;  // target without the query
    // The first header named `name` (lower case), or null.
    const std::string* header(std::string_view name) const;
};

// The standard reason phrase of `status` ("Not Found"), or "Unknown".
std::string_view reason_phrase(int status);

}  // namespace suanli::http
