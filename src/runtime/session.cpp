#include "runtime/session.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "core/graph_memory.h"

namespace suanli {
namespace {

template <class T>
std::span<const std::byte> as_bytes(const std::vector<T>& v) {
    return std::as_bytes(std::span(v));
}

}  // namespace

// Names the first node the backend cannot run, instead of failing inside compute.
void Session::check_supported(const Graph& graph) const {
    for (int32_t i = 0; i < graph.size(); ++i) {
        const sl_tensor& t = graph.tensors()[i];
        if (t.op == SL_OP_NONE || device_.supports(graph, i)) continue;
        const sl_tensor& first = graph.tensors()[t.src[0]];
        fail("backend '", device_.backend().name, "' cannot run node ", i, " (", op_name(t.op), " of ",
             dtype_name(static_cast<DType>(first.dtype)), " [", first.ne[0], ", ", first.ne[1], "])");
    }
}

Session::Session(const Model& model, Device& device, int64_t n_ctx, int64_t n_batch)
    : model_(model), device_(device), kv_(device, model.config(), n_ctx), n_batch_(std::max<int64_t>(1, n_batch)) {}

std::span<const float> Session::decode(std::span<const int32_t> tokens, bool all_logits) {
    const int64_t n_vocab = model_.config().n_vocab;
    if (tokens.empty()) fail("nothing to decode: no tokens");
    for (int32_t t : tokens)
        if (t < 0 || t >= n_vocab) fail("token id ", t, " is outside the vocabulary (0..", n_vocab - 1, ")");
    if (n_past_ + static_cast<int64_t>(tokens.size()) > n_ctx())
        fail("the context is full: ", n_past_, " + ", tokens.size(), " tokens exceed the context size ", n_ctx());

    logits_.resize(static_cast<size_t>(n_vocab) * (all_logits ? tokens.size() : 1));
    for (size_t first = 0; first < tokens.size(); first += static_cast<size_t>(n_batch_)) {
        const auto chunk = tokens.subspan(first, std::min<size_t>(static_cast<size_t>(n_batch_), tokens.size() - first));
        const bool last = first + chunk.size() == tokens.size();
        if (all_logits)
            decode_chunk(chunk, true, logits_.data() + first * static_cast<size_t>(n_vocab));
        else
            decode_chunk(chunk, false, last ? logits_.data() : nullptr);
    }
    return logits_;
}

void Session::decode_chunk(std::span<const int32_t> tokens, bool all_logits, float* logits_out) {
    const int64_t T = static_cast<int64_t>(tokens.size());
    const int64_t S = n_past_ + T;
    ForwardGraph f = model_.build_forward(kv_.refs(), n_past_, T, all_logits);
    check_supported(f.graph);

    const MemoryPlan plan = plan_memory(f.graph);
    if (!arena_ || arena_.size() < plan.arena_bytes) {
        arena_.reset();
        arena_ = device_.allocate(plan.arena_bytes);
    }
    bind_memory(f.graph, plan, arena_.base());

    auto write_input = [&](TensorId id, std::span<const std::byte> bytes) {
        arena_.write(f.graph[id].addr - arena_.base(), bytes);
    };
    std::vector<int32_t> positions(static_cast<size_t>(T));
    for (int64_t i = 0; i < T; ++i) positions[i] = static_cast<int32_t>(n_past_ + i);
    // Causal mask: token i (at position n_past + i) sees positions 0..n_past + i.
    std::vector<float> mask(static_cast<size_t>(S * T), -std::numeric_limits<float>::infinity());
    for (int64_t i = 0; i < T; ++i) std::fill_n(mask.begin() + i * S, n_past_ + i + 1, 0.0f);
    write_input(f.tokens, std::as_bytes(tokens));
    write_input(f.positions, as_bytes(positions));
    write_input(f.mask, as_bytes(mask));

    device_.compute(f.graph);
    n_past_ = S;

    if (logits_out) {
        const sl_tensor& out = f.graph[f.logits];
        const uint64_t bytes = tensor_bytes(out);
        arena_.read(out.addr - arena_.base(), std::as_writable_bytes(std::span(logits_out, bytes / sizeof(float))));
    }
}

}  // namespace suanli
