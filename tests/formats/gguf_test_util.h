// Helpers for the GGUF tests: whole-file reads, byte patches, and the message of
// the Error a parse throws.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "formats/gguf.h"

namespace suanli::test {

inline std::vector<std::byte> read_bytes(const std::filesystem::path& path, size_t max = SIZE_MAX) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot open " + path.string());
    in.seekg(0, std::ios::end);
    const auto size = std::min<size_t>(static_cast<size_t>(in.tellg()), max);
    in.seekg(0);
    std::vector<std::byte> out(size);
    in.read(reinterpret_cast<char*>(out.data()), static_cast<std::streamsize>(size));
    return out;
}

// The message of the Error that parsing throws; "" when it parses. Any other
// exception escapes and fails the test.
inline std::string parse_error(std::span<const std::byte> bytes, std::string name = "test.gguf") {
    try {
        GgufFile::parse(bytes, std::move(name));
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

template <class T>
void poke(std::vector<std::byte>& bytes, size_t at, T value) {
    if (at + sizeof value > bytes.size()) throw std::out_of_range("poke past the end");
    std::memcpy(bytes.data() + at, &value, sizeof value);
}

template <class T>
T peek(std::span<const std::byte> bytes, size_t at) {
    T v;
    std::memcpy(&v, bytes.data() + at, sizeof v);
    return v;
}

// Offset of the first occurrence of `needle` in `bytes`; throws when absent.
inline size_t find_bytes(std::span<const std::byte> bytes, std::string_view needle) {
    const std::string_view hay(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    const size_t at = hay.find(needle);
    if (at == std::string_view::npos) throw std::runtime_error("pattern not found: " + std::string(needle));
    return at;
}

// Whether a message is one of those for a file cut short.
inline bool is_truncation_message(std::string_view msg) {
    for (std::string_view s : {"truncated", "cannot fit", "past the end", "too short"})
        if (msg.find(s) != std::string_view::npos) return true;
    return false;
}

template <class T>
std::span<const std::byte> as_bytes_of(const std::vector<T>& v) {
    return std::as_bytes(std::span<const T>(v));
}

}  // namespace suanli::test
