// Converting a Hugging Face model directory (config.json, safetensors,
// tokenizer.json) to a GGUF file that llama.cpp loads, as convert_hf_to_gguf.py
// writes it: llama.cpp's tensor names and metadata keys, Q/K rows permuted for
// adjacent-pair RoPE (llama; Qwen2 keeps HF's order, llama.cpp runs it with NEOX
// RoPE), norms and biases in F32, the tokenizer as tokenizer.ggml.*.
//
// Quantized types go through the `suanli quantize` machinery: the model is first
// written as F32 next to OUT, then quantize_file() writes OUT from it with
// llama.cpp's per-tensor mix, and the F32 file is removed.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/dtype.h"
#include "quantize/quant_mix.h"

namespace suanli {

class GgufWriter;

struct ConvertType {
    std::string name;                // as given: "f16", "q4_k_m"
    DType base = DType::F32;         // weight matrices (F32, F16, BF16) before any quantization
    uint32_t file_type = 0;          // general.file_type (LLAMA_FTYPE_*)
    std::optional<QuantType> quant;  // set for the quantized types
};

// f32, f16, bf16 and every type `suanli quantize` knows (any case); nullopt otherwise.
std::optional<ConvertType> find_convert_type(std::string_view name);
// "f32, f16, bf16, q8_0, ...", for messages.
std::string convert_type_names();

struct ConvertedTensor {
    size_t index = 0, count = 0;     // 0-based, of `count`
    std::string hf_name, gguf_name;
    DType from = DType::F32, to = DType::F32;
    std::vector<int64_t> ne;         // GGUF order, innermost first
    bool permuted = false;           // Q/K rows reordered for adjacent-pair RoPE
    std::string stage;               // "convert" (F32/F16/BF16 pass) or "quantize"
};

struct ConvertOptions {
    ConvertType type = *find_convert_type("f32");
    int threads = 1;
    std::function<void(const ConvertedTensor&)> on_tensor;  // after each tensor is written
};

struct ConvertReport {
    std::string architecture;
    size_t tensors = 0;
    bool tied_output = false;        // no output.weight: llama.cpp reuses token_embd
    uint64_t elements = 0;
    uint64_t file_bytes = 0;
    int32_t n_vocab = 0;
    size_t padded_tokens = 0;        // [PADn] tokens added up to the embedding's rows
};

// Builds the writer for `dir` with tensors of type `base` (F32, F16 or BF16),
// generated while the file is written. Throws Error naming the file at fault.
GgufWriter hf_to_gguf_writer(const std::filesystem::path& dir, DType base, uint32_t file_type, int threads,
                             ConvertReport& report, const std::function<void(const ConvertedTensor&)>& on_tensor);

// Converts `dir` to `out` (written through a temporary file renamed at the end).
ConvertReport convert_hf_to_gguf(const std::filesystem::path& dir, const std::filesystem::path& out,
                                 const ConvertOptions& options);

}  // namespace suanli
