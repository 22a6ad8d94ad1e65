// An attention K/V cache: per layer, n_ctx cells of [head_dim, n_head_kv], on
// the device that runs the layer. A Session's one sequence uses cells 0..n-1;
// the serving engine shares the cells among sequences (see batch_layout.h).
#pragma once

#include <cstdint>
#include <vector>

#include "core/device.h"
#include "models/model.h"

namespace suanli {

class KvCache {
public:
    KvCache(const Model& model, int64_t n_ctx, DType type = DType::F32);

    const KvCacheRefs& refs() const { return refs_; }
    int64_t n_ctx() const { return refs_.n_ctx; }
    uint64_t bytes() const { return bytes_; }

    // Bytes one cell takes across all layers.
    static uint64_t cell_bytes(const ModelConfig& config, DType type = DType::F32);

private:
    std::vector<Buffer> buffers_;  // one per layer
    KvCacheRefs refs_;
    uint64_t bytes_ = 0;
};

}  // namespace suanli
