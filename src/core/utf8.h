// UTF-8 scanning by the Unicode standard's well-formedness table (Table 3-7),
// shared by the tokenizers, Utf8Stream and the chat template engine.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace suanli::utf8 {

enum class Status { Valid, Incomplete, Invalid };

// What starts at s[pos] (pos < s.size()):
//  Valid:      a well-formed character of `length` bytes;
//  Incomplete: the rest of `s` (`length` bytes) is a proper prefix of a well-formed character;
//  Invalid:    `length` bytes (at least 1) form a "maximal subpart" of an ill-formed
//              sequence, the unit that one U+FFFD replaces (as Python and ICU do).
struct Scan {
    Status status;
    size_t length;
};
Scan scan(std::string_view s, size_t pos);

// True when all of `s` is well-formed UTF-8.
bool is_valid(std::string_view s);

// The code point of the well-formed character at s[pos] of `length` bytes.
uint32_t decode(std::string_view s, size_t pos, size_t length);

void append(std::string& out, uint32_t codepoint);

inline constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

}  // namespace suanli::utf8
