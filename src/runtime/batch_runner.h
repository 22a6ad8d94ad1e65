// Evaluates one batch of tokens through a model: for each of its stages (one, or
// two with offloaded layers), builds the graph, plans its activation memory on
// the stage's device, writes its inputs, computes; the hidden state passes from
// stage to stage through the host; the last stage's logits are read back.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/device.h"
#include "models/batch_layout.h"
#include "models/model.h"

namespace suanli {

class BatchRunner {
public:
    explicit BatchRunner(const Model& model);

    // `tokens` are the batch's columns; their K/V go to the cells `batch` names in `kv`.
    // `logits` receives [outputs][n_vocab] (may be empty to skip reading them back).
    // Throws Error for a token outside the vocabulary or a node the backend cannot run.
    void run(const KvCacheRefs& kv, const BatchLayout& batch, std::span<const int32_t> tokens, std::span<float> logits);

    const Model& model() const { return model_; }

private:
    const Model& model_;
    std::vector<Buffer> arenas_;  // one per stage
    std::vector<float> hidden_;   // between stages
};

}  // namespace suanli
