#include "tokenizer/byte_level.h"

#include <array>
#include <cstdint>

#include "core/utf8.h"

namespace suanli::byte_level {

namespace {

struct Tables {
    std::array<std::string, 256> chars;       // byte -> UTF-8 of its character
    std::array<int16_t, 512> byte_of_cp;      // code point (< 512) -> byte, or -1
};

bool stands_for_itself(int b) {
    return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

const Tables& tables() {
    static const Tables t = [] {
        Tables t;
        t.byte_of_cp.fill(-1);
        int next = 256;
        for (int b = 0; b < 256; ++b) {
            const uint32_t cp = stands_for_itself(b) ? b : next++;
            utf8::append(t.chars[b], cp);
            t.byte_of_cp[cp] = static_cast<int16_t>(b);
        }
        return t;
    }();
    return t;
}

}  // namespace

std::string_view char_of(unsigned char byte) { return tables().chars[byte]; }

std::string encode(std::string_view bytes) {
    const Tables& t = tables();
    std::string out;
    out.reserve(bytes.size() * 2);
    for (char c : bytes) out.append(t.chars[static_cast<unsigned char>(c)]);
    return out;
}

std::string decode(std::string_view text) {
    const Tables& t = tables();
    std::string out;
    out.reserve(text.size());
    for (size_t pos = 0; pos < text.size();) {
        const utf8::Scan r = utf8::scan(text, pos);
        if (r.status == utf8::Status::Valid) {
            const uint32_t cp = utf8::decode(text, pos, r.length);
            if (cp < t.byte_of_cp.size() && t.byte_of_cp[cp] >= 0) {
                out.push_back(static_cast<char>(t.byte_of_cp[cp]));
            } else {
                out.append(text, pos, r.length);
            }
        } else {
            out.append(text, pos, r.length);
        }
        pos += r.length;
    }
    return out;
}

}  // namespace suanli::byte_level
