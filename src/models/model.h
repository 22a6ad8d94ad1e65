// A loaded model: its hyperparameters, its weights on a device, and the graph
// it computes for a batch of tokens.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/device.h"
#include "core/dtype.h"
#include "core/graph.h"
#include "formats/gguf.h"
#include "formats/safetensors.h"
#include "models/model_config.h"

namespace suanli {

// A weight tensor placed on the device.
struct WeightRef {
    std::string name;
    DType type = DType::F32;
    Shape shape;
    uint64_t addr = 0;
    explicit operator bool() const { return !name.empty(); }
};

struct LayerWeights {
    WeightRef attn_norm, wq, wk, wv, wo, bq, bk, bv;
    WeightRef ffn_norm, ffn_gate, ffn_up, ffn_down;
};

struct ModelWeights {
    WeightRef token_embd, output_norm, output;  // output is token_embd when tied
    std::vector<LayerWeights> layers;
};

// Where each layer's K and V cache lives: [head_dim, n_head_kv, n_ctx] of `type`
// (n_ctx cells, shared by the sequences of a batch; see batch_layout.h).
struct KvCacheRefs {
    DType type = DType::F32;
    int64_t n_ctx = 0;
    std::vector<uint64_t> k_addr, v_addr;
};

// The graph for one batch; its inputs are filled from make_batch_inputs().
struct ForwardGraph {
    Graph graph;
    TensorId tokens;     // I32 [n_tokens]
    TensorId positions;  // I32 [n_tokens]
    TensorId mask;       // F32: each sequence's [n_past + n_tokens, n_tokens], 0 where visible, -inf elsewhere
    TensorId kv_ids;     // I32: cells of the sequences gathered for attention (absent if none)
    TensorId outputs;    // I32 [n_outputs]: the columns whose logits are wanted (absent if all)
    TensorId logits;     // F32 [n_vocab, n_outputs]
};

struct BatchLayout;

class Model {
public:
    // Opens a GGUF file, or a Hugging Face directory (config.json and
    // safetensors), and puts its weights on `device` (in place when the device
    // can read host memory). Throws Error naming what is wrong.
    static std::unique_ptr<Model> load(const std::filesystem::path& path, Device& device);

    const ModelConfig& config() const { return config_; }
    const std::filesystem::path& path() const { return path_; }
    // The GGUF file, or null for a Hugging Face directory.
    const GgufFile* gguf() const { return file_ ? &*file_ : nullptr; }
    // The GGUF file; throws Error for a Hugging Face directory.
    const GgufFile& file() const;
    const ModelWeights& weights() const { return weights_; }

    ForwardGraph build_forward(const KvCacheRefs& kv, const BatchLayout& batch) const;

private:
    Model() = default;
    static std::unique_ptr<Model> load_hf(const std::filesystem::path& dir, Device& device);

    std::filesystem::path path_;
    std::optional<GgufFile> file_;
    std::optional<SafetensorsSet> safetensors_;  // Hugging Face weights (mapped)
    ModelConfig config_;
    std::vector<Buffer> weight_buffers_;  // one per mapped file; destroyed before the maps
    ModelWeights weights_;
};

class Tokenizer;
// The model's tokenizer: the GGUF metadata, or tokenizer.json (and
// tokenizer_config.json) of a Hugging Face directory.
std::unique_ptr<Tokenizer> load_tokenizer(const Model& model);

}  // namespace suanli
