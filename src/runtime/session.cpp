#include "runtime/session.h"

#include <algorithm>

#include "core/error.h"

namespace suanli {

Session::Session(const Model& model, int64_t n_ctx, int64_t n_batch, DType kv_type)
    : runner_(model), kv_(model, n_ctx, kv_type), n_batch_(std::max<int64_t>(1, n_batch)) {}

std::span<const float> Session::decode(std::span<const int32_t> tokens, bool all_logits) {
    const int64_t n_vocab = model().config().n_vocab;
    if (tokens.empty()) fail("nothing to decode: no tokens");
    for (int32_t t : tokens)  // checked up front, so a bad id leaves the sequence as it was
        if (t < 0 || t >= n_vocab) fail("token id ", t, " is outside the vocabulary (0..", n_vocab - 1, ")");
    if (n_past_ + static_cast<int64_t>(tokens.size()) > n_ctx())
        fail("the context is full: ", n_past_, " + ", tokens.size(), " tokens exceed the context size ", n_ctx());

    logits_.resize(static_cast<size_t>(n_vocab) * (all_logits ? tokens.size() : 1));
    for (size_t first = 0; first < tokens.size(); first += static_cast<size_t>(n_batch_)) {
        const auto chunk = tokens.subspan(first, std::min<size_t>(static_cast<size_t>(n_batch_), tokens.size() - first));
        const int64_t T = static_cast<int64_t>(chunk.size());
        const bool last = first + chunk.size() == tokens.size();
        std::span<float> out;  // only the chunks whose logits are kept are read back
        if (all_logits)
            out = std::span(logits_).subspan(first * static_cast<size_t>(n_vocab), chunk.size() * static_cast<size_t>(n_vocab));
        else if (last)
            out = logits_;
        runner_.run(kv_.refs(), BatchLayout::single(n_past_, T, all_logits), chunk, out);
        n_past_ += T;
    }
    return logits_;
}

}  // namespace suanli
