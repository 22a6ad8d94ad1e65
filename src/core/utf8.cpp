#include "core/utf8.h"

namespace suanli::utf8 {

namespace {

// For a lead byte: the sequence length and the allowed range of the second
// byte (the later ones are always 80..BF). Length 0: not a lead byte.
struct Lead {
    uint8_t length;
    uint8_t lo, hi;
};

Lead lead_of(uint8_t b) {
    if (b < 0x80) return {1, 0, 0};
    if (b >= 0xC2 && b <= 0xDF) return {2, 0x80, 0xBF};
    if (b == 0xE0) return {3, 0xA0, 0xBF};
    if (b == 0xED) return {3, 0x80, 0x9F};  // no surrogates
    if (b >= 0xE1 && b <= 0xEF) return {3, 0x80, 0xBF};
    if (b == 0xF0) return {4, 0x90, 0xBF};
    if (b >= 0xF1 && b <= 0xF3) return {4, 0x80, 0xBF};
    if (b == 0xF4) return {4, 0x80, 0x8F};  // nothing above U+10FFFF
    return {0, 0, 0};
}

}  // namespace

Scan scan(std::string_view s, size_t pos) {
    const auto b = static_cast<uint8_t>(s[pos]);
    const Lead lead = lead_of(b);
    if (lead.length == 0) return {Status::Invalid, 1};
    if (lead.length == 1) return {Status::Valid, 1};
    size_t n = 1;
    for (; n < lead.length; ++n) {
        if (pos + n >= s.size()) return {Status::Incomplete, n};
        const auto c = static_cast<uint8_t>(s[pos + n]);
        const uint8_t lo = n == 1 ? lead.lo : 0x80;
        const uint8_t hi = n == 1 ? lead.hi : 0xBF;
        if (c < lo || c > hi) return {Status::Invalid, n};
    }
    return {Status::Valid, n};
}

bool is_valid(std::string_view s) {
    for (size_t pos = 0; pos < s.size();) {
        // ASCII runs are the common case.
        if (static_cast<uint8_t>(s[pos]) < 0x80) {
            ++pos;
            continue;
        }
        const Scan r = scan(s, pos);
        if (r.status != Status::Valid) return false;
        pos += r.length;
    }
    return true;
}

uint32_t decode(std::string_view s, size_t pos, size_t length) {
    const auto b0 = static_cast<uint8_t>(s[pos]);
    if (length == 1) return b0;
    uint32_t cp = b0 & (0x7F >> length);
    for (size_t i = 1; i < length; ++i) cp = (cp << 6) | (static_cast<uint8_t>(s[pos + i]) & 0x3F);
    return cp;
}

void append(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
}

}  // namespace suanli::utf8
