// Python's str operations on UTF-8 text, as the filters and methods need them.
// Case mapping and whitespace are ASCII-only: "É".lower() stays "É", and
// non-ASCII spaces (U+00A0...) are not stripped. Length and indexing count
// code points, as Python does.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "chat/jinja_builtins.h"
#include "chat/jinja_value.h"

namespace suanli::jinja {

// Python's str.isspace() for ASCII.
bool is_py_space(char c);

// The argument as a string or an integer, or EvalError naming `what`.
const std::string& need_string(const Value& v, std::string_view what);
int64_t need_int(const Value& v, std::string_view what);

// str.strip/lstrip/rstrip: `chars` undefined or none means whitespace.
std::string strip(const std::string& s, const Value& chars, bool left, bool right);
std::string lower(std::string s);
std::string upper(std::string s);
std::string capitalize(std::string s);
std::string title(std::string s);
// str.replace(from, to, count); count < 0 replaces all.
std::string replace(const std::string& s, const std::string& from, const std::string& to, int64_t count,
                    Budget& budget);
// str.split(sep, maxsplit); sep undefined or none splits on runs of whitespace.
List split(const std::string& s, const Value& sep, int64_t maxsplit, Budget& budget);

size_t utf8_length(std::string_view s);
// Each code point as its own string (for loops and list(s): costly, charge for it).
std::vector<std::string> utf8_chars(std::string_view s);
// Where each code point starts, then s.size(): for slicing.
std::vector<size_t> utf8_offsets(std::string_view s);
// The code point at Python index i (negative counts from the end), or "" when
// out of range. No allocation.
std::string_view utf8_at(std::string_view s, int64_t i);

}  // namespace suanli::jinja
