#include "runtime/kv_cache.h"

#include "core/error.h"

namespace suanli {

uint64_t KvCache::cell_bytes(const ModelConfig& c, DType type) {
    return 2 * row_bytes(type, c.head_dim * c.n_head_kv) * static_cast<uint64_t>(c.n_layer);
}

KvCache::KvCache(const Model& model, int64_t n_ctx, DType type) {
    const ModelConfig& c = model.config();
    if (n_ctx <= 0) fail("context size must be positive, got ", n_ctx);
    const uint64_t half = row_bytes(type, c.head_dim * c.n_head_kv) * static_cast<uint64_t>(n_ctx);
    refs_.type = type;
    refs_.n_ctx = n_ctx;
    for (int64_t l = 0; l < c.n_layer; ++l) {
        Buffer& b = buffers_.emplace_back(model.layer_device(l).allocate(2 * half));
        // Cleared now, as llama.cpp does: a host buffer's pages are then in place
        // before the first decode (page faults while decoding cost a CPU decode step
        // 5-10 us per KV write, more under virtualization), and no cell of a
        // device's cache holds stale bytes.
        b.zero();
        refs_.k_addr.push_back(b.base());
        refs_.v_addr.push_back(b.base() + half);
        bytes_ += b.size();
    }
}

}  // namespace suanli
