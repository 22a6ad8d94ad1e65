// One sequence being evaluated: the model, its KV cache and the activation arena.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/device.h"
#include "models/model.h"
#include "runtime/batch_runner.h"
#include "runtime/kv_cache.h"

namespace suanli {

class Session {
public:
    // n_batch: the most tokens evaluated in one graph; longer inputs go in chunks.
    // The model's devices hold the KV cache (of kv_type elements) and run the graphs.
    Session(const Model& model, int64_t n_ctx, int64_t n_batch = 512, DType kv_type = DType::F32);

    // Appends `tokens` to the sequence and evaluates them. Returns the logits of
    // the last token ([n_vocab]), or of every token ([n_tokens][n_vocab]) with
    // all_logits. Throws Error if a token id is out of range or the context is full.
    std::span<const float> decode(std::span<const int32_t> tokens, bool all_logits = false);

    void reset() { n_past_ = 0; }
    // Keeps the first n tokens and forgets the rest: the next decode overwrites
    // the KV slots after them (a chat reuses the prefix it shares with its last prompt).
    void truncate(int64_t n) { n_past_ = n < 0 ? 0 : (n < n_past_ ? n : n_past_); }
    int64_t n_past() const { return n_past_; }
    int64_t n_ctx() const { return kv_.n_ctx(); }
    uint64_t kv_bytes() const { return kv_.bytes(); }
    const Model& model() const { return runner_.model(); }

private:
    BatchRunner runner_;
    KvCache kv_;
    int64_t n_batch_;
    std::vector<float> logits_;
    int64_t n_past_ = 0;
};

}  // namespace suanli
