// A minimal safetensors writer for tests: tensors in, file bytes out, and a
// scratch directory that is removed at the end of the test.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

namespace suanli::test {

struct StTensor {
    std::string name;
    std::string dtype = "F32";
    std::vector<int64_t> shape;
    std::vector<std::byte> data;
};

inline std::vector<std::byte> f32_bytes(std::span<const float> v) {
    std::vector<std::byte> out(v.size() * 4);
    std::memcpy(out.data(), v.data(), out.size());
    return out;
}

// The header text, padded with spaces to a multiple of 8 as Hugging Face does.
inline std::string safetensors_header(const std::vector<StTensor>& tensors, bool metadata = true) {
    nlohmann::ordered_json h;
    if (metadata) h["__metadata__"] = {{"format", "pt"}};
    uint64_t offset = 0;
    for (const StTensor& t : tensors) {
        h[t.name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {offset, offset + t.data.size()}}};
        offset += t.data.size();
    }
    std::string text = h.dump();
    while (text.size() % 8) text.push_back(' ');
    return text;
}

// A file from a header text and data bytes (for damaged headers).
inline std::vector<std::byte> safetensors_raw(const std::string& header, std::span<const std::byte> data,
                                             uint64_t length_field) {
    std::vector<std::byte> out(8);
    for (int i = 0; i < 8; ++i) out[i] = static_cast<std::byte>((length_field >> (8 * i)) & 0xff);
    for (char c : header) out.push_back(static_cast<std::byte>(c));
    out.insert(out.end(), data.begin(), data.end());
    return out;
}

inline std::vector<std::byte> safetensors_bytes(const std::vector<StTensor>& tensors) {
    const std::string header = safetensors_header(tensors);
    std::vector<std::byte> data;
    for (const StTensor& t : tensors) data.insert(data.end(), t.data.begin(), t.data.end());
    return safetensors_raw(header, data, header.size());
}

inline void write_file(const std::filesystem::path& path, std::span<const std::byte> bytes) {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

inline std::vector<std::byte> read_file_bytes(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<std::byte> out(chars.size());
    std::memcpy(out.data(), chars.data(), chars.size());
    return out;
}

inline void write_file(const std::filesystem::path& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
}

struct TempDir {
    std::filesystem::path path;
    TempDir() {
        path = std::filesystem::temp_directory_path() /
               ("suanli-hf-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
        std::filesystem::remove_all(path);
        std::filesystem::create_directories(path);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    static inline int counter = 0;
};

}  // namespace suanli::test
