// Splits a Jinja template into text and the tokens inside {{ }} and {% %}.
//
// Whitespace follows what Hugging Face renders chat templates with:
// trim_blocks and lstrip_blocks on, keep_trailing_newline off, plus the
// explicit controls {%- -%} {{- -}} {#- -#} and {%+ +%}. Comments vanish here.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace suanli::jinja {

enum class Tok : uint8_t {
    Text,        // literal template text (whitespace control already applied)
    VarBegin,    // {{
    VarEnd,      // }}
    BlockBegin,  // {%
    BlockEnd,    // %}
    Name,        // identifiers and keywords (and, or, not, in, is, if, else, true...)
    String,      // string literal, escapes decoded
    Int,
    Float,
    Op,          // punctuation and operators: + - * / // % ** ~ == != < > <= >= = . , : | ( ) [ ] { }
    End,
};

struct Token {
    Tok kind = Tok::End;
    std::string text;  // Text, Name, String (decoded), Op
    int64_t int_value = 0;
    double float_value = 0.0;
    int line = 1;
    int column = 1;
};

// Throws Error naming the line and column on an unclosed tag, comment or string,
// or on a character that starts no token.
std::vector<Token> tokenize(std::string_view source);

// "line 3, column 7", for error messages.
std::string position(int line, int column);

}  // namespace suanli::jinja
