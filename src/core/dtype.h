// Element types of tensors, with the block layouts of GGUF's quantized formats.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace suanli {

// Numeric values are GGUF's ggml_type ids, so a tensor's type in a file maps 1:1.
enum class DType : uint32_t {
    F32 = 0,
    F16 = 1,
    Q4_0 = 2,
    Q4_1 = 3,
    Q5_0 = 6,
    Q5_1 = 7,
    Q8_0 = 8,
    Q8_1 = 9,
    Q2_K = 10,
    Q3_K = 11,
    Q4_K = 12,
    Q5_K = 13,
    Q6_K = 14,
    Q8_K = 15,
    I8 = 24,
    I16 = 25,
    I32 = 26,
    I64 = 27,
    F64 = 28,
    BF16 = 30,
};

struct DTypeTraits {
    std::string_view name;
    int64_t block_elements;  // elements per block (1 for plain types)
    size_t block_bytes;      // bytes per block
};

// Traits of a known type; nullopt for ids this build does not know.
std::optional<DTypeTraits> dtype_traits(uint32_t id);
const DTypeTraits& traits(DType type);

inline std::string_view dtype_name(DType type) { return traits(type).name; }

// Bytes of a row of `n` elements; `n` must be a multiple of the block size.
inline size_t row_bytes(DType type, int64_t n) {
    const DTypeTraits& t = traits(type);
    return static_cast<size_t>(n / t.block_elements) * t.block_bytes;
}

std::optional<DType> dtype_from_name(std::string_view name);

}  // namespace suanli
