// Writing a string as a JSON string literal, for the places that print JSON by hand.
#pragma once

#include <string>
#include <string_view>

namespace suanli {

// Appends `s` quoted and escaped per RFC 8259; UTF-8 passes through unchanged.
void append_json_string(std::string& out, std::string_view s);

inline std::string json_string(std::string_view s) {
    std::string out;
    append_json_string(out, s);
    return out;
}

}  // namespace suanli
