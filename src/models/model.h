// A loaded model: its hyperparameters, its weights on a device, and the graph
// it computes for a batch of tokens.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/device.h"
#include "core/dtype.h"
#include "core/graph.h"
#include "formats/gguf.h"
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

// Where each layer's K and V cache lives: [head_dim, n_head_kv, n_ctx] of `type`.
struct KvCacheRefs {
    DType type = DType::F32;
    int64_t n_ctx = 0;
    std::vector<uint64_t> k_addr, v_addr;
};

// The graph for `n_tokens` new tokens at positions n_past.. of one sequence.
struct ForwardGraph {
    Graph graph;
    TensorId tokens;     // I32 [n_tokens]
    TensorId positions;  // I32 [n_tokens]
    TensorId mask;       // F32 [n_past + n_tokens, n_tokens]: 0 where visible, -inf elsewhere
    TensorId logits;     // F32 [n_vocab, n_tokens], or [n_vocab, 1] for the last token only
};

class Model {
public:
    // Opens a GGUF model and puts its weights on `device` (in place when the
    // device can read host memory). Throws Error naming what is wrong.
    static std::unique_ptr<Model> load(const std::filesystem::path& path, Device& device);

    const ModelConfig& config() const { return config_; }
    const GgufFile& file() const { return file_; }
    const ModelWeights& weights() const { return weights_; }

    ForwardGraph build_forward(const KvCacheRefs& kv, int64_t n_past, int64_t n_tokens, bool all_logits) const;

private:
    Model(GgufFile file, ModelConfig config) : file_(std::move(file)), config_(std::move(config)) {}

    GgufFile file_;
    ModelConfig config_;
    Buffer weight_buffer_;
    ModelWeights weights_;
};

}  // namespace suanli
