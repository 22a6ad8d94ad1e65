#include "runtime/kv_cache.h"

#include "core/error.h"

namespace suanli {

KvCache::KvCache(Device& device, const ModelConfig& c, int64_t n_ctx, DType type) {
    if (n_ctx <= 0) fail("context size must be positive, got ", n_ctx);
    const uint64_t per_layer = row_bytes(type, c.head_dim * c.n_head_kv) * static_cast<uint64_t>(n_ctx);
    buffer_ = device.allocate(per_layer * 2 * static_cast<uint64_t>(c.n_layer));
    refs_.type = type;
    refs_.n_ctx = n_ctx;
    for (int64_t l = 0; l < c.n_layer; ++l) {
        refs_.k_addr.push_back(buffer_.base() + per_layer * (2 * l));
        refs_.v_addr.push_back(buffer_.base() + per_layer * (2 * l + 1));
    }
}

}  // namespace suanli
