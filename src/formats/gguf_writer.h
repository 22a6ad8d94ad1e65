// Building GGUF v3 files: metadata and tensors in, bytes or a file out.
//
// Keys keep the order in which they were first set; tensors the order in which
// they were added. Each tensor's data starts at a multiple of the alignment and
// is padded after, as llama.cpp writes it, so the files read back with any GGUF
// reader. Invalid input (duplicate tensor names, shapes that do not match the
// data, a bad alignment) throws Error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "core/dtype.h"
#include "formats/gguf.h"

namespace suanli {

class GgufWriter {
public:
    // Metadata. Setting a key that is already there replaces its value in place.
    void set_u8(std::string_view key, uint8_t value);
    void set_i8(std::string_view key, int8_t value);
    void set_u16(std::string_view key, uint16_t value);
    void set_i16(std::string_view key, int16_t value);
    void set_u32(std::string_view key, uint32_t value);  // "general.alignment" also sets alignment()
    void set_i32(std::string_view key, int32_t value);
    void set_u64(std::string_view key, uint64_t value);
    void set_i64(std::string_view key, int64_t value);
    void set_f32(std::string_view key, float value);
    void set_f64(std::string_view key, double value);
    void set_bool(std::string_view key, bool value);
    void set_string(std::string_view key, std::string_view value);

    void set_array(std::string_view key, std::span<const uint8_t> values);
    void set_array(std::string_view key, std::span<const int8_t> values);
    void set_array(std::string_view key, std::span<const uint16_t> values);
    void set_array(std::string_view key, std::span<const int16_t> values);
    void set_array(std::string_view key, std::span<const uint32_t> values);
    void set_array(std::string_view key, std::span<const int32_t> values);
    void set_array(std::string_view key, std::span<const uint64_t> values);
    void set_array(std::string_view key, std::span<const int64_t> values);
    void set_array(std::string_view key, std::span<const float> values);
    void set_array(std::string_view key, std::span<const double> values);
    void set_array(std::string_view key, std::span<const bool> values);
    void set_array(std::string_view key, std::span<const std::string> values);
    void set_array(std::string_view key, std::span<const std::string_view> values);

    // Copies a value read from another file (for quantize and convert).
    void set_value(std::string_view key, const GgufValue& value);
    // Removes a key; false when it was not there.
    bool remove(std::string_view key);

    // Power of two; stored as the U32 key "general.alignment". The default is 32.
    void set_alignment(uint32_t alignment);
    uint32_t alignment() const { return alignment_; }

    // ne[0] is the innermost dimension (1 to 4 dimensions, each >= 1, ne[0] a
    // multiple of the type's block size); `data` must be exactly the tensor's bytes.
    void add_tensor(std::string name, DType type, std::vector<int64_t> ne, std::span<const std::byte> data);
    void add_tensor(std::string name, DType type, std::vector<int64_t> ne, std::vector<std::byte>&& data);
    // A tensor whose bytes are produced only while the file is written, one tensor at a
    // time, so a file larger than memory can be written: `fill` gets a zeroed buffer of
    // exactly the tensor's size, once per to_bytes() or write().
    using TensorFill = std::function<void(std::span<std::byte>)>;
    void add_tensor_generated(std::string name, DType type, std::vector<int64_t> ne, TensorFill fill);

    size_t metadata_count() const { return kvs_.size(); }
    size_t tensor_count() const { return tensors_.size(); }

    // The whole file.
    std::vector<std::byte> to_bytes() const;
    // Writes to `path` (through a temporary file renamed at the end). Throws Error.
    void write(const std::filesystem::path& path) const;

private:
    struct Kv {
        std::string key;
        GgufType type;
        std::vector<std::byte> value;  // the encoded value, as it follows the type in the file
    };
    struct Tensor {
        std::string name;
        DType type;
        std::vector<int64_t> ne;
        std::vector<std::byte> data;
        uint64_t size = 0;  // bytes: data.size(), or what `fill` produces
        TensorFill fill;    // set for generated tensors (then `data` is empty)
    };

    void put(std::string_view key, GgufType type, std::vector<std::byte> value);
    template <class T>
    void put_scalar(std::string_view key, GgufType type, T value);
    template <class T>
    void put_array(std::string_view key, GgufType element_type, std::span<const T> values);
    void check_tensor(const std::string& name, DType type, const std::vector<int64_t>& ne, size_t bytes) const;
    // Header, metadata, tensor infos and the padding up to the data section.
    std::vector<std::byte> head() const;

    uint32_t alignment_ = 32;
    std::vector<Kv> kvs_;
    std::vector<Tensor> tensors_;
    std::unordered_set<std::string> tensor_names_;
};

}  // namespace suanli
