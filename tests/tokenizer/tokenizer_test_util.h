// Shared helpers of the tokenizer tests: reading files, loading tokenizers once.
#pragma once

#include <cstdint>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "formats/gguf.h"
#include "test_paths.h"
#include "tokenizer/tokenizer.h"

namespace suanli::test {

inline std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot open " + path.string());
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// The tokenizer of a shared GGUF (path relative to the shared folder), loaded once.
inline const Tokenizer& shared_tokenizer(const std::string& rel) {
    static std::map<std::string, std::unique_ptr<Tokenizer>> cache;
    auto& slot = cache[rel];
    if (!slot) {
        const GgufFile file = GgufFile::open(shared(rel));
        slot = Tokenizer::from_gguf(file);
    }
    return *slot;
}

inline std::string ids_to_string(const std::vector<int32_t>& ids) {
    std::string s;
    for (int32_t id : ids) s += " " + std::to_string(id);
    return s;
}

// Printable form of a test string for failure messages.
inline std::string escaped(const std::string& s) {
    std::string out;
    for (unsigned char c : s) {
        if (c == '\n') out += "\\n";
        else if (c == '\t') out += "\\t";
        else if (c == '\r') out += "\\r";
        else out.push_back(static_cast<char>(c));
    }
    return "\"" + out + "\"";
}

inline std::string hex_to_bytes(const std::string& hex) {
    std::string out;
    for (size_t i = 0; i + 1 < hex.size(); i += 2) {
        out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    }
    return out;
}

}  // namespace suanli::test
