// Quantizing a GGUF model file: F32/F16/BF16 tensors in, the types a mix
// (quant_mix.h) chooses out. Metadata is copied, general.file_type and
// general.quantization_version are set, and the file is written atomically.
//
// Memory: the input is memory-mapped, and each tensor is converted while the
// file is written, so the peak is about the largest output tensor (plus the
// mapped input pages of the tensor being converted).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <vector>

#include "core/dtype.h"
#include "quantize/quant_mix.h"

namespace suanli {

// Converts `rows` rows of `row_len` elements from `from` (any type dequantize_row
// reads) to `to` (any type quantize_row writes) into `out` (exactly rows * row_bytes(to,
// row_len) bytes, else Error), rows split across `threads` threads.
void convert_rows(DType from, DType to, const std::byte* src, int64_t row_len, int64_t rows, int threads,
                  std::span<std::byte> out);

struct TensorDone {
    size_t index = 0;  // 0-based
    size_t count = 0;  // tensors in the file
    const TensorPlan* plan = nullptr;
    std::vector<int64_t> ne;
    uint64_t bytes_in = 0, bytes_out = 0;
};

struct QuantizeReport {
    std::vector<TensorPlan> plans;
    size_t quantized = 0;      // tensors converted (plans with quantize = true)
    size_t fallbacks = 0;      // of those, how many got a fallback type
    uint64_t bytes_in = 0;     // tensor data, before
    uint64_t bytes_out = 0;    // and after
    uint64_t elements = 0;     // in all tensors
    uint64_t file_bytes_in = 0;
    double bits_per_weight_out() const { return elements ? 8.0 * static_cast<double>(bytes_out) / static_cast<double>(elements) : 0; }
    double bits_per_weight_in() const { return elements ? 8.0 * static_cast<double>(bytes_in) / static_cast<double>(elements) : 0; }
};

// Reads `in`, writes `out` (through a temporary file renamed at the end). Calls
// `on_tensor` after each tensor, while the file is being written. Throws Error
// (unreadable input, a tensor type it cannot read, an unwritable output).
QuantizeReport quantize_file(const std::filesystem::path& in, const std::filesystem::path& out, const QuantType& type,
                             int threads, const std::function<void(const TensorDone&)>& on_tensor = {});

}  // namespace suanli
