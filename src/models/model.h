// A loaded model: its hyperparameters, its weights on a device, and the graph
// it computes for a batch of tokens.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
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

// A weight tensor: where its bytes are on the host, and where on its device.
struct WeightRef {
    std::string name;
    DType type = DType::F32;
    Shape shape;
    uint64_t addr = 0;                 // on the device of its layer's stage
    std::span<const std::byte> host;   // in the mapped file, or converted at load
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

// Which devices run the model. Without `offload`, `main` runs everything. With it,
// the first `offload_layers` layers (-1: all) run on `offload` and the rest on
// `main`; the embedding goes with the first layer, the output with the last.
struct DevicePlan {
    static constexpr int32_t kAll = -1;
    static constexpr int32_t kAuto = -2;  // as many as fit in `offload`'s free memory
    Device* main = nullptr;
    Device* offload = nullptr;
    int32_t offload_layers = kAll;
    int64_t context = 0;  // for kAuto: KV cells each offloaded layer must have room for
};

// A run of layers on one device, [first_layer, end_layer).
struct Stage {
    Device* device = nullptr;
    int32_t first_layer = 0, end_layer = 0;
};

// The graph of one stage for one batch; its inputs are filled from make_batch_inputs().
struct ForwardGraph {
    Graph graph;
    TensorId tokens;     // I32 [n_tokens]
    TensorId positions;  // I32 [n_tokens]
    TensorId mask;       // F32: each sequence's [n_past + n_tokens, n_tokens], 0 where visible, -inf elsewhere
    TensorId kv_ids;     // I32: cells of the sequences gathered for attention (absent if none)
    TensorId outputs;    // I32 [n_outputs]: the columns whose logits are wanted (absent if all)
    TensorId hidden_in;  // F32 [n_embd, n_tokens]: the previous stage's output (absent in the first stage)
    TensorId rope_cos, rope_sin, rope_neg_sin;  // F32 [n_rot/2, 1, n_tokens] when rope_uses_tables()
    TensorId result;     // the last stage: F32 logits [n_vocab, n_outputs]; others: the hidden state [n_embd, n_tokens]
};

struct BatchLayout;

class Model {
public:
    // Opens a GGUF file, or a Hugging Face directory (config.json and
    // safetensors), and puts its weights on `device` (in place when the device
    // can read host memory). Throws Error naming what is wrong.
    static std::unique_ptr<Model> load(const std::filesystem::path& path, Device& device);
    // The same, over one or two devices (partial offload).
    static std::unique_ptr<Model> load(const std::filesystem::path& path, const DevicePlan& plan);

    const ModelConfig& config() const { return config_; }
    const std::filesystem::path& path() const { return path_; }
    // The GGUF file, or null for a Hugging Face directory.
    const GgufFile* gguf() const { return file_ ? &*file_ : nullptr; }
    // The GGUF file; throws Error for a Hugging Face directory.
    const GgufFile& file() const;
    const ModelWeights& weights() const { return weights_; }
    // The devices in layer order; one stage unless layers were offloaded.
    const std::vector<Stage>& stages() const { return stages_; }
    Device& layer_device(int64_t layer) const;
    // "22 of 22 layers on vulkan (llvmpipe), the rest on cpu": where the layers went.
    std::string placement_text() const;

    // The graph of stage `stage` for `batch`.
    ForwardGraph build_forward(const KvCacheRefs& kv, const BatchLayout& batch, size_t stage = 0) const;

private:
    Model() = default;
    void load_hf(const std::filesystem::path& dir);
    void place(const DevicePlan& plan);
    int32_t layers_that_fit(const DevicePlan& plan) const;

    std::filesystem::path path_;
    std::optional<GgufFile> file_;
    std::optional<SafetensorsSet> safetensors_;  // Hugging Face weights (mapped)
    ModelConfig config_;
    std::map<std::string, std::vector<float>> converted_;  // Hugging Face norms and biases made F32
    std::vector<Stage> stages_;
    std::vector<Buffer> weight_buffers_;  // destroyed before the maps and converted_
    ModelWeights weights_;
};

class Tokenizer;
// The model's tokenizer: the GGUF metadata, or tokenizer.json (and
// tokenizer_config.json) of a Hugging Face directory.
std::unique_ptr<Tokenizer> load_tokenizer(const Model& model);

}  // namespace suanli
