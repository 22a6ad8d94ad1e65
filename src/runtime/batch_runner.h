// Evaluates one batch of tokens through a model on a device: builds the graph,
// plans its activation memory, writes its inputs, computes, reads the logits.
#pragma once

#include <cstdint>
#include <span>

#include "core/device.h"
#include "models/batch_layout.h"
#include "models/model.h"

namespace suanli {

class BatchRunner {
public:
    BatchRunner(const Model& model, Device& device) : model_(model), device_(device) {}

    // `tokens` are the batch's columns; their K/V go to the cells `batch` names in `kv`.
    // `logits` receives [outputs][n_vocab] (may be empty to skip reading them back).
    // Throws Error for a token outside the vocabulary or a node the backend cannot run.
    void run(const KvCacheRefs& kv, const BatchLayout& batch, std::span<const int32_t> tokens, std::span<float> logits);

    const Model& model() const { return model_; }
    Device& device() const { return device_; }

private:
    void check_supported(const Graph& graph) const;

    const Model& model_;
    Device& device_;
    Buffer arena_;
};

}  // namespace suanli
