// An error answered to an API client: an HTTP status and OpenAI's error object
// {"error": {"message", "type", "param", "code"}}.
#pragma once

#include <string>

namespace suanli::api {

struct ApiError {
    int status = 400;
    std::string type = "invalid_request_error";
    std::string message;
    std::string code;   // empty: null
    std::string param;  // empty: null
};

// 400 invalid_request_error, naming the parameter at fault.
ApiError invalid_request(std::string message, std::string param = {}, std::string code = {});

// The error object as JSON.
std::string error_json(const ApiError& error);

}  // namespace suanli::api
