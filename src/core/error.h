// The error type for bad input from outside (files, options, requests).
// Code inside the engine throws it; the CLI, the server and the C ABI catch it
// at their boundary and turn it into a message and an exit code or status.
#pragma once

#include <concepts>
#include <stdexcept>
#include <string>
#include <string_view>

namespace suanli {

class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

namespace detail {
inline void append(std::string& out, std::string_view s) { out.append(s); }
inline void append(std::string& out, const char* s) { out.append(s); }
inline void append(std::string& out, char c) { out.push_back(c); }
template <std::integral T>
void append(std::string& out, T v) { out.append(std::to_string(v)); }
void append(std::string& out, double v);
}  // namespace detail

// Concatenates strings and numbers: cat("tensor ", name, " has ", n, " dims").
template <class... Parts>
std::string cat(const Parts&... parts) {
    std::string out;
    (detail::append(out, parts), ...);
    return out;
}

template <class... Parts>
[[noreturn]] void fail(const Parts&... parts) {
    throw Error(cat(parts...));
}

}  // namespace suanli
