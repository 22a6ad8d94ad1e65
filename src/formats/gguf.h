// Reading GGUF files (v2 and v3): metadata key/values and tensor descriptions.
//
// The file is memory-mapped; strings, arrays and tensor data are views into the
// map and live as long as the GgufFile. Every field is validated while parsing,
// so a damaged or hostile file throws Error with a one-line message naming what
// is wrong and at which byte offset, never crashes or allocates absurd sizes.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/dtype.h"

namespace suanli {

class MappedFile;

enum class GgufType : uint32_t {
    U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, BOOL = 7,
    STRING = 8, ARRAY = 9, U64 = 10, I64 = 11, F64 = 12,
};

std::string_view gguf_type_name(GgufType type);

// One metadata value. Scalars are held decoded; arrays stay views into the file.
struct GgufValue {
    GgufType type = GgufType::U8;
    // Scalars (the one matching `type` is set; integers also fill `as_i64`/`as_u64`).
    uint64_t as_u64 = 0;
    int64_t as_i64 = 0;
    double as_f64 = 0;
    bool as_bool = false;
    std::string_view as_string;
    // Arrays: element type, count and, for fixed-size elements, the raw bytes.
    GgufType array_type = GgufType::U8;
    uint64_t array_size = 0;
    std::span<const std::byte> array_bytes;        // fixed-size element arrays
    std::vector<std::string_view> array_strings;   // string arrays
};

struct GgufKeyValue {
    std::string_view key;
    GgufValue value;
};

struct GgufTensorInfo {
    std::string_view name;
    DType type = DType::F32;
    int n_dims = 0;
    std::array<int64_t, 4> ne{1, 1, 1, 1};  // ne[0] is the innermost (contiguous) dimension
    uint64_t offset = 0;                    // from the start of the file
    uint64_t size = 0;                      // bytes
    int64_t elements() const { return ne[0] * ne[1] * ne[2] * ne[3]; }
};

class GgufFile {
public:
    // Maps and parses the file. Throws Error("<path>: <what> at offset N").
    static GgufFile open(const std::filesystem::path& path);
    // Parses bytes owned by the caller (tests, fuzzing); `name` prefixes errors.
    static GgufFile parse(std::span<const std::byte> bytes, std::string name);

    GgufFile(GgufFile&&) noexcept;
    GgufFile& operator=(GgufFile&&) noexcept;
    ~GgufFile();

    const std::string& name() const { return name_; }
    uint32_t version() const { return version_; }
    uint64_t alignment() const { return alignment_; }
    uint64_t file_size() const { return bytes_.size(); }
    // The whole file, e.g. to hand the mapped weights to a backend without a copy.
    std::span<const std::byte> bytes() const { return bytes_; }

    const std::vector<GgufKeyValue>& metadata() const { return metadata_; }
    const GgufValue* find(std::string_view key) const;

    // Typed lookups. Missing key: nullopt. Present with the wrong type: Error naming the key.
    // Integer getters accept any integer type whose value fits.
    std::optional<std::string_view> get_string(std::string_view key) const;
    std::optional<uint64_t> get_uint(std::string_view key) const;
    std::optional<int64_t> get_int(std::string_view key) const;
    std::optional<double> get_float(std::string_view key) const;  // F32 or F64
    std::optional<bool> get_bool(std::string_view key) const;
    std::optional<std::vector<std::string_view>> get_string_array(std::string_view key) const;
    std::optional<std::vector<float>> get_f32_array(std::string_view key) const;
    std::optional<std::vector<int32_t>> get_i32_array(std::string_view key) const;

    const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
    const GgufTensorInfo* find_tensor(std::string_view name) const;
    std::span<const std::byte> tensor_data(const GgufTensorInfo& info) const;

private:
    GgufFile() = default;
    void parse_all();

    std::string name_;
    std::unique_ptr<MappedFile> map_;  // null when parsing caller-owned bytes
    std::span<const std::byte> bytes_;
    uint32_t version_ = 0;
    uint64_t alignment_ = 32;
    std::vector<GgufKeyValue> metadata_;
    std::vector<GgufTensorInfo> tensors_;
};

}  // namespace suanli
