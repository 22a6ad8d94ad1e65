// The attention K/V cache of one sequence: per layer, n_ctx slots of [head_dim, n_head_kv].
#pragma once

#include <cstdint>

#include "core/device.h"
#include "models/model.h"

namespace suanli {

class KvCache {
public:
    KvCache(Device& device, const ModelConfig& config, int64_t n_ctx, DType type = DType::F32);

    const KvCacheRefs& refs() const { return refs_; }
    int64_t n_ctx() const { return refs_.n_ctx; }
    uint64_t bytes() const { return buffer_.size(); }

private:
    Buffer buffer_;
    KvCacheRefs refs_;
};

}  // namespace suanli
