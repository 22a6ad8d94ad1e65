#include "server/api/api_error.h"

#include <nlohmann/json.hpp>

namespace suanli::api {

ApiError invalid_request(std::string message, std::string param, std::string code) {
    return {400, "invalid_request_error", std::move(message), std::move(code), std::move(param)};
}

std::string error_json(const ApiError& e) {
    using nlohmann::json;
    json error = {{"message", e.message},
                  {"type", e.type},
                  {"param", e.param.empty() ? json(nullptr) : json(e.param)},
                  {"code", e.code.empty() ? json(nullptr) : json(e.code)}};
    return json{{"error", error}}.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace suanli::api
