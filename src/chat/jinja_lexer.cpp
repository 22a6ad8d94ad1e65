#include "chat/jinja_lexer.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "core/utf8.h"

namespace suanli::jinja {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_name_char(char c) { return is_name_start(c) || is_digit(c); }

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Template text with "\r\n" turned into "\n", as Jinja does for data.
std::string normalize_newlines(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') continue;
        out.push_back(s[i]);
    }
    return out;
}

class Lexer {
public:
    explicit Lexer(std::string_view src) : src_(src) {
        line_starts_.push_back(0);
        for (size_t i = 0; i < src_.size(); ++i) {
            if (src_[i] == '\n') line_starts_.push_back(i + 1);
        }
    }

    std::vector<Token> run() {
        size_t pos = 0;
        size_t text_start = 0;
        while (true) {
            const size_t tag = find_tag(pos);
            if (tag == std::string_view::npos) {
                emit_text(text_start, src_.size(), false, false);
                break;
            }
            const char kind = src_[tag + 1];
            const char control = tag + 2 < src_.size() ? src_[tag + 2] : '\0';
            const bool explicit_control = control == '-' || control == '+';
            emit_text(text_start, tag, control == '-', kind != '{' && control != '+');
            const size_t body = tag + 2 + (explicit_control ? 1 : 0);
            size_t after = 0;
            char close_control = '\0';
            if (kind == '#') {
                const size_t end = src_.find("#}", body);
                if (end == std::string_view::npos) fail_at(tag, "unclosed comment '{#'");
                if (end > body && (src_[end - 1] == '-' || src_[end - 1] == '+')) close_control = src_[end - 1];
                after = end + 2;
            } else {
                after = lex_tag(tag, body, kind == '{', close_control);
            }
            pos = after;
            if (close_control == '-') {
                while (pos < src_.size() && is_space(src_[pos])) ++pos;
            } else if (close_control != '+' && kind != '{') {
                // trim_blocks: the first newline after a block or comment goes.
                if (pos < src_.size() && src_[pos] == '\n') ++pos;
                else if (pos + 1 < src_.size() && src_[pos] == '\r' && src_[pos + 1] == '\n') pos += 2;
            }
            text_start = pos;
        }
        push(Tok::End, src_.size());
        return std::move(tokens_);
    }

private:
    size_t find_tag(size_t from) const {
        while (true) {
            const size_t at = src_.find('{', from);
            if (at == std::string_view::npos || at + 1 >= src_.size()) return std::string_view::npos;
            const char next = src_[at + 1];
            if (next == '{' || next == '%' || next == '#') return at;
            from = at + 1;
        }
    }

    // Emits src_[begin, end) as text. strip_right: a "{%-" follows, drop trailing
    // whitespace. lstrip: lstrip_blocks, drop spaces and tabs between the line's
    // start and the block tag when nothing else is on that line before it.
    void emit_text(size_t begin, size_t end, bool strip_right, bool lstrip) {
        if (strip_right) {
            while (end > begin && is_space(src_[end - 1])) --end;
        } else if (lstrip) {
            size_t line_start = end;
            while (line_start > begin && (src_[line_start - 1] == ' ' || src_[line_start - 1] == '\t')) --line_start;
            if (line_start == 0 || src_[line_start - 1] == '\n') end = line_start;
        }
        if (end > begin) {
            push(Tok::Text, begin);
            tokens_.back().text = normalize_newlines(src_.substr(begin, end - begin));
        }
    }

    // Lexes the tokens of a {{ }} or {% %} tag whose contents start at `pos`;
    // returns the offset just past its closing delimiter.
    size_t lex_tag(size_t tag, size_t pos, bool variable, char& close_control) {
        push(variable ? Tok::VarBegin : Tok::BlockBegin, tag);
        const char* close = variable ? "}}" : "%}";
        int depth = 0;  // open brackets: a "}}" inside a dict literal closes nothing
        while (true) {
            while (pos < src_.size() && is_space(src_[pos])) ++pos;
            if (pos >= src_.size()) fail_at(tag, variable ? "unclosed tag '{{'" : "unclosed tag '{%'");
            if (depth == 0) {
                for (const char c : {'-', '+', '\0'}) {
                    const size_t at = pos + (c ? 1 : 0);
                    if ((c == '\0' || src_[pos] == c) && src_.compare(at, 2, close) == 0) {
                        if (c == '+' && variable) continue;
                        push(variable ? Tok::VarEnd : Tok::BlockEnd, pos);
                        close_control = c;
                        return at + 2;
                    }
                }
            }
            const char c = src_[pos];
            if (is_name_start(c)) {
                const size_t start = pos;
                while (pos < src_.size() && is_name_char(src_[pos])) ++pos;
                push(Tok::Name, start);
                tokens_.back().text = std::string(src_.substr(start, pos - start));
            } else if (is_digit(c)) {
                pos = lex_number(pos);
            } else if (c == '\'' || c == '"') {
                pos = lex_string(pos);
            } else {
                static constexpr const char* kTwo[] = {"//", "**", "==", "!=", "<=", ">="};
                size_t len = 0;
                for (const char* op : kTwo) {
                    if (src_.compare(pos, 2, op) == 0) len = 2;
                }
                if (len == 0 && std::strchr("+-*/%~<>=.,:|()[]{}", c) && c != '\0') len = 1;
                if (len == 0) fail_at(pos, cat("unexpected character '", c, "'"));
                if (c == '(' || c == '[' || c == '{') ++depth;
                if ((c == ')' || c == ']' || c == '}') && depth > 0) --depth;
                push(Tok::Op, pos);
                tokens_.back().text = std::string(src_.substr(pos, len));
                pos += len;
            }
        }
    }

    size_t lex_number(size_t pos) {
        const size_t start = pos;
        std::string digits;
        auto take_digits = [&] {
            while (pos < src_.size() && (is_digit(src_[pos]) || (src_[pos] == '_' && pos + 1 < src_.size() &&
                                                                  is_digit(src_[pos + 1])))) {
                if (src_[pos] != '_') digits.push_back(src_[pos]);
                ++pos;
            }
        };
        take_digits();
        bool is_float = false;
        if (pos + 1 < src_.size() && src_[pos] == '.' && is_digit(src_[pos + 1])) {
            is_float = true;
            digits.push_back('.');
            ++pos;
            take_digits();
        }
        if (pos < src_.size() && (src_[pos] == 'e' || src_[pos] == 'E')) {
            size_t p = pos + 1;
            if (p < src_.size() && (src_[p] == '+' || src_[p] == '-')) ++p;
            if (p < src_.size() && is_digit(src_[p])) {
                is_float = true;
                digits.push_back('e');
                digits.append(src_.substr(pos + 1, p - pos - 1));
                pos = p;
                take_digits();
            }
        }
        if (is_float) {
            push(Tok::Float, start);
            tokens_.back().float_value = std::strtod(digits.c_str(), nullptr);
        } else {
            push(Tok::Int, start);
            int64_t v = 0;
            for (const char d : digits) {
                if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, d - '0', &v)) {
                    fail_at(start, "integer literal too large");
                }
            }
            tokens_.back().int_value = v;
        }
        return pos;
    }

    size_t lex_string(size_t pos) {
        const size_t start = pos;
        const char quote = src_[pos++];
        std::string out;
        while (true) {
            if (pos >= src_.size()) fail_at(start, "unclosed string literal");
            const char c = src_[pos++];
            if (c == quote) break;
            if (c != '\\') {
                out.push_back(c);
                continue;
            }
            if (pos >= src_.size()) fail_at(start, "unclosed string literal");
            const char e = src_[pos++];
            switch (e) {
                case 'n': out.push_back('\n'); break;
                case 't': out.push_back('\t'); break;
                case 'r': out.push_back('\r'); break;
                case '0': out.push_back('\0'); break;
                case 'a': out.push_back('\a'); break;
                case 'b': out.push_back('\b'); break;
                case 'f': out.push_back('\f'); break;
                case 'v': out.push_back('\v'); break;
                case '\\': case '\'': case '"': out.push_back(e); break;
                case '\n': break;  // line continuation
                case 'x': case 'u': case 'U': {
                    const int n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
                    uint32_t cp = 0;
                    for (int i = 0; i < n; ++i) {
                        const int h = pos < src_.size() ? hex_digit(src_[pos]) : -1;
                        if (h < 0) fail_at(pos - 2 - i, cat("bad \\", e, " escape in string literal"));
                        cp = cp * 16 + static_cast<uint32_t>(h);
                        ++pos;
                    }
                    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) fail_at(start, "bad code point in string literal");
                    utf8::append(out, cp);
                    break;
                }
                default:  // Python keeps unknown escapes as they are
                    out.push_back('\\');
                    out.push_back(e);
            }
        }
        push(Tok::String, start);
        tokens_.back().text = normalize_newlines(out);
        return pos;
    }

    void push(Tok kind, size_t offset) {
        Token t;
        t.kind = kind;
        locate(offset, t.line, t.column);
        tokens_.push_back(std::move(t));
    }

    void locate(size_t offset, int& line, int& column) const {
        const auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
        const size_t index = static_cast<size_t>(it - line_starts_.begin()) - 1;
        line = static_cast<int>(index) + 1;
        column = static_cast<int>(offset - line_starts_[index]) + 1;
    }

    [[noreturn]] void fail_at(size_t offset, const std::string& what) const {
        int line = 0;
        int column = 0;
        locate(offset, line, column);
        fail("chat template: ", what, " at ", position(line, column));
    }

    std::string_view src_;
    std::vector<size_t> line_starts_;
    std::vector<Token> tokens_;
};

}  // namespace

std::string position(int line, int column) { return cat("line ", line, ", column ", column); }

std::vector<Token> tokenize(std::string_view source) {
    // keep_trailing_newline off: one final newline is not part of the output.
    if (source.ends_with("\r\n")) source.remove_suffix(2);
    else if (source.ends_with('\n')) source.remove_suffix(1);
    return Lexer(source).run();
}

}  // namespace suanli::jinja
