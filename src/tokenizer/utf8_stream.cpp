// Utf8Stream: releases only whole characters of streamed token pieces.
//
// Bytes that can never become valid (a stray continuation byte, an interrupted
// sequence) are replaced by U+FFFD as soon as that is known, one U+FFFD per
// maximal subpart, so everything push() and finish() return is valid UTF-8.
// Only a trailing proper prefix of a character is held back.
#include "tokenizer/tokenizer.h"
#include "core/utf8.h"

namespace suanli {

std::string Utf8Stream::push(std::string_view piece) {
    pending_.append(piece);
    std::string out;
    size_t pos = 0;
    while (pos < pending_.size()) {
        const utf8::Scan r = utf8::scan(pending_, pos);
        if (r.status == utf8::Status::Incomplete) break;
        if (r.status == utf8::Status::Valid) {
            out.append(pending_, pos, r.length);
        } else {
            out.append(utf8::kReplacement);
        }
        pos += r.length;
    }
    pending_.erase(0, pos);
    return out;
}

std::string Utf8Stream::finish() {
    std::string out = push({});
    if (!pending_.empty()) out.append(utf8::kReplacement);  // one incomplete character
    pending_.clear();
    return out;
}

}  // namespace suanli
