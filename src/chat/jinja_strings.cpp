#include "chat/jinja_strings.h"

#include <algorithm>

namespace suanli::jinja {

namespace {

bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
char to_lower(char c) { return is_upper(c) ? static_cast<char>(c - 'A' + 'a') : c; }
char to_upper(char c) { return is_lower(c) ? static_cast<char>(c - 'a' + 'A') : c; }

}  // namespace

bool is_py_space(char c) {
    return c == ' ' || (c >= '\t' && c <= '\r') || (c >= '\x1c' && c <= '\x1f');
}

const std::string& need_string(const Value& v, std::string_view what) {
    if (!v.is_string()) eval_fail(what, " needs a string, not ", type_name(v));
    return v.as_string();
}

int64_t need_int(const Value& v, std::string_view what) {
    if (!v.is_int() && !v.is_bool()) eval_fail(what, " needs an integer, not ", type_name(v));
    return v.as_int();
}

std::string strip(const std::string& s, const Value& chars, bool left, bool right) {
    auto strippable = [&](char c) {
        if (chars.is_undefined() || chars.is_none()) return is_py_space(c);
        return need_string(chars, "strip").find(c) != std::string::npos;
    };
    size_t begin = 0;
    size_t end = s.size();
    if (left) {
        while (begin < end && strippable(s[begin])) ++begin;
    }
    if (right) {
        while (end > begin && strippable(s[end - 1])) --end;
    }
    return s.substr(begin, end - begin);
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), to_lower);
    return s;
}

std::string upper(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), to_upper);
    return s;
}

std::string capitalize(std::string s) {
    for (size_t i = 0; i < s.size(); ++i) s[i] = i == 0 ? to_upper(s[i]) : to_lower(s[i]);
    return s;
}

std::string title(std::string s) {
    bool previous_cased = false;
    for (char& c : s) {
        const bool cased = is_lower(c) || is_upper(c);
        if (cased) c = previous_cased ? to_lower(c) : to_upper(c);
        previous_cased = cased;
    }
    return s;
}

std::string replace(const std::string& s, const std::string& from, const std::string& to, int64_t count,
                    Budget& budget) {
    std::string out;
    size_t pos = 0;
    int64_t done = 0;
    while (count < 0 || done < count) {
        size_t at;
        if (from.empty()) {
            // Python inserts `to` before every character and at the end.
            if (pos > s.size()) break;
            at = pos;
        } else {
            at = s.find(from, pos);
            if (at == std::string::npos) break;
        }
        out.append(s, pos, at - pos);
        out += to;
        Budget::check_string_limit(out.size());
        budget.charge(1 + static_cast<int64_t>((at - pos + to.size()) / 64));
        ++done;
        if (from.empty()) {
            if (at < s.size()) out.push_back(s[at]);
            pos = at + 1;
        } else {
            pos = at + from.size();
        }
    }
    if (pos < s.size()) out.append(s, pos, std::string::npos);
    budget.check_string(out.size());
    return out;
}

List split(const std::string& s, const Value& sep, int64_t maxsplit, Budget& budget) {
    List out;
    if (sep.is_undefined() || sep.is_none()) {
        size_t i = 0;
        while (true) {
            while (i < s.size() && is_py_space(s[i])) ++i;
            if (i >= s.size()) break;
            if (maxsplit >= 0 && static_cast<int64_t>(out.size()) >= maxsplit) {
                size_t end = s.size();
                while (end > i && is_py_space(s[end - 1])) --end;
                out.emplace_back(s.substr(i, end - i));
                break;
            }
            const size_t start = i;
            while (i < s.size() && !is_py_space(s[i])) ++i;
            out.emplace_back(s.substr(start, i - start));
            Budget::check_list_limit(out.size());
            budget.charge(1);
        }
        return out;
    }
    const std::string& by = need_string(sep, "split");
    if (by.empty()) eval_fail("split got an empty separator");
    size_t pos = 0;
    while (maxsplit < 0 || static_cast<int64_t>(out.size()) < maxsplit) {
        const size_t at = s.find(by, pos);
        if (at == std::string::npos) break;
        out.emplace_back(s.substr(pos, at - pos));
        Budget::check_list_limit(out.size());
        budget.charge(1);
        pos = at + by.size();
    }
    out.emplace_back(s.substr(pos));
    return out;
}

// A code point starts at every byte that is not a continuation byte, and at
// byte 0 whatever it is (so invalid UTF-8 still splits consistently).
size_t utf8_length(std::string_view s) {
    size_t n = !s.empty() && (static_cast<unsigned char>(s[0]) & 0xC0) == 0x80 ? 1 : 0;
    for (const char c : s) {
        if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
    }
    return n;
}


std::vector<std::string> utf8_chars(std::string_view s) {
    std::vector<std::string> out;
    for (size_t i = 0; i < s.size();) {
        size_t j = i + 1;
        while (j < s.size() && (static_cast<unsigned char>(s[j]) & 0xC0) == 0x80) ++j;
        out.emplace_back(s.substr(i, j - i));
        i = j;
    }
    return out;
}

std::vector<size_t> utf8_offsets(std::string_view s) {
    std::vector<size_t> out;
    for (size_t i = 0; i < s.size(); ++i) {
        if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80 || i == 0) out.push_back(i);
    }
    out.push_back(s.size());
    return out;
}

std::string_view utf8_at(std::string_view s, int64_t i) {
    if (i < 0) i += static_cast<int64_t>(utf8_length(s));
    if (i < 0) return {};
    int64_t index = -1;
    for (size_t pos = 0; pos < s.size(); ++pos) {
        if ((static_cast<unsigned char>(s[pos]) & 0xC0) == 0x80 && pos != 0) continue;
        if (++index == i) {
            size_t end = pos + 1;
            while (end < s.size() && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) ++end;
            return s.substr(pos, end - pos);
        }
    }
    return {};
}

}  // namespace suanli::jinja
