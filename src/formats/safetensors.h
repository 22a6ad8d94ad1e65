// Reading safetensors files (Hugging Face's weight format) and sharded sets of them.
//
// A file is 8 bytes of little-endian header length N, N bytes of JSON
// ({name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}),
// then the tensor data, offsets relative to the byte after the header. The
// file is memory-mapped and every field is validated: a damaged file throws
// Error with one line naming the file and the problem.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/dtype.h"

namespace suanli {

class MappedFile;

struct SafetensorsTensor {
    std::string name;
    DType type = DType::F32;       // F32, F16 or BF16
    std::vector<int64_t> shape;    // outermost first, as in the file (PyTorch order)
    uint64_t offset = 0;           // from the start of the file
    uint64_t size = 0;             // bytes
};

class SafetensorsFile {
public:
    // Maps and parses the file. Throws Error("<path>: <what>").
    static SafetensorsFile open(const std::filesystem::path& path);
    // Parses bytes owned by the caller (tests, fuzzing); `name` prefixes errors.
    static SafetensorsFile parse(std::span<const std::byte> bytes, std::string name);

    SafetensorsFile(SafetensorsFile&&) noexcept;
    SafetensorsFile& operator=(SafetensorsFile&&) noexcept;
    ~SafetensorsFile();

    const std::string& name() const { return name_; }
    std::span<const std::byte> bytes() const { return bytes_; }
    const std::vector<SafetensorsTensor>& tensors() const { return tensors_; }
    const SafetensorsTensor* find(std::string_view name) const;
    std::span<const std::byte> tensor_data(const SafetensorsTensor& t) const { return bytes_.subspan(t.offset, t.size); }

private:
    SafetensorsFile() = default;
    void parse_all();

    std::string name_;
    std::unique_ptr<MappedFile> map_;
    std::span<const std::byte> bytes_;
    std::vector<SafetensorsTensor> tensors_;  // sorted by name
};

// The weights of a Hugging Face model directory: model.safetensors, or the
// shards that model.safetensors.index.json names (each opened once).
class SafetensorsSet {
public:
    static SafetensorsSet open_dir(const std::filesystem::path& dir);

    struct Found {
        size_t file = 0;  // index into files()
        const SafetensorsTensor* tensor = nullptr;
        explicit operator bool() const { return tensor != nullptr; }
    };
    // Looks the tensor up in the shard the index names (or the only file).
    Found find(std::string_view name) const;
    const std::vector<SafetensorsFile>& files() const { return files_; }
    // What to name in an error about a tensor that is missing: the index, or the one file.
    const std::string& source_name() const { return where_.empty() ? files_[0].name() : index_name_; }

private:
    std::vector<SafetensorsFile> files_;
    std::map<std::string, size_t, std::less<>> where_;  // tensor -> file, when sharded
    std::string index_name_;
};

}  // namespace suanli
