// GPT-2's byte-level alphabet (bytes_to_unicode): every byte is written as one
// printable character, so byte-level BPE vocabularies can store any byte string
// as text. Printable Latin-1 bytes stand for themselves; the other 68 bytes map
// to U+0100 onwards, in byte order (space becomes 'Ġ', newline 'Ċ').
#pragma once

#include <string>
#include <string_view>

namespace suanli::byte_level {

// The UTF-8 of the character that stands for `byte`.
std::string_view char_of(unsigned char byte);

// Bytes to their characters.
std::string encode(std::string_view bytes);

// Characters back to bytes. Characters outside the alphabet (or ill-formed
// UTF-8) are kept as they are, so nothing is lost.
std::string decode(std::string_view text);

}  // namespace suanli::byte_level
