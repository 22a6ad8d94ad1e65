// Which type each tensor of a model gets when it is quantized to a named TYPE
// ("Q4_K_M", "Q8_0", ...), following llama.cpp's llama_tensor_get_type:
//
// - Only weight matrices are quantized: names ending in "weight" with 2 or more
//   dimensions (norms, biases and other 1-D tensors keep their type).
// - output.weight (token_embd.weight when the model has no output.weight, as the
//   two are tied) gets Q6_K in every quantized mix except Q8_0.
// - Q4_K_M / Q5_K_M give attn_v and ffn_down Q6_K in the layers where
//   use_more_bits(i, n) holds: the first n/8, the last n/8 and every third in between.
// - Q4_K_S (also spelled Q4_K here) gives attn_v of layers 0-3 and ffn_down of the
//   first n/8 layers Q5_K; Q5_K_S (Q5_K) is Q5_K throughout. (llama-quantize reads a
//   bare "Q4_K" as Q4_K_M; suanli takes the name literally: mostly Q4_K.)
// - A row length that is not a whole number of blocks of the chosen type falls back
//   to Q8_0 (llama.cpp uses Q5_0/Q5_1/IQ4_NL for the 4- and 5-bit K types, which
//   suanli does not have; Q8_0 errs on the side of quality), and to F16 when the row
//   is not a multiple of 32 either.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/dtype.h"
#include "formats/gguf.h"

namespace suanli {

struct QuantType {
    std::string_view name;  // as the user types it (matched case-insensitively)
    DType base;             // the type of most weight matrices
    uint32_t file_type;     // llama.cpp's LLAMA_FTYPE_*, stored as general.file_type
    enum Mix { kUniform, kSmall, kMedium } mix;  // the _S and _M rules of llama.cpp
};

// Every TYPE `suanli quantize` accepts, in the order --help lists them.
std::span<const QuantType> quant_types();
std::optional<QuantType> find_quant_type(std::string_view name);
// "Q8_0, Q4_0, ...", for messages.
std::string quant_type_names();

// llama.cpp's use_more_bits: layer i of n gets more bits in the _M mixes.
bool use_more_bits(int64_t i, int64_t n);

struct TensorPlan {
    std::string name;
    DType from = DType::F32;
    DType to = DType::F32;
    bool quantize = false;  // false: copied unchanged
    std::string note;       // why `to` is not the mix's choice (a fallback), or empty
};

// The output type of every tensor of `file`, in file order. Throws Error when a
// tensor is not F32, F16 or BF16 (already quantized, or integer), naming it.
std::vector<TensorPlan> plan_quantization(const GgufFile& file, const QuantType& type);

}  // namespace suanli
