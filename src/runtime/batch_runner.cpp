#include "runtime/batch_runner.h"

#include "core/error.h"
#include "core/graph_memory.h"

namespace suanli {
namespace {

template <class T>
std::span<const std::byte> as_bytes(const std::vector<T>& v) {
    return std::as_bytes(std::span(v));
}

// Names the first node the backend cannot run, instead of failing inside compute.
void check_supported(const Device& device, const Graph& graph) {
    for (int32_t i = 0; i < graph.size(); ++i) {
        const sl_tensor& t = graph.tensors()[i];
        if (t.op == SL_OP_NONE || device.supports(graph, i)) continue;
        const sl_tensor& first = graph.tensors()[t.src[0]];
        fail("backend '", device.backend().name, "' cannot run node ", i, " (", op_name(t.op), " of ",
             dtype_name(static_cast<DType>(first.dtype)), " [", first.ne[0], ", ", first.ne[1], "])");
    }
}

}  // namespace

BatchRunner::BatchRunner(const Model& model) : model_(model), arenas_(model.stages().size()) {}

void BatchRunner::run(const KvCacheRefs& kv, const BatchLayout& batch, std::span<const int32_t> tokens,
                      std::span<float> logits) {
    const int64_t n_vocab = model_.config().n_vocab;
    if (static_cast<int64_t>(tokens.size()) != batch.n_tokens)
        fail("batch: ", tokens.size(), " tokens for a layout of ", batch.n_tokens);
    for (int32_t t : tokens)
        if (t < 0 || t >= n_vocab) fail("token id ", t, " is outside the vocabulary (0..", n_vocab - 1, ")");
    if (!logits.empty() && logits.size() != batch.outputs.size() * static_cast<size_t>(n_vocab))
        fail("batch: logits buffer holds ", logits.size(), " values, not ", batch.outputs.size(), " x ", n_vocab);

    const BatchInputs in = make_batch_inputs(batch);
    const RopeTables rope = rope_uses_tables(model_.config()) ? rope_tables(model_.config(), in.positions, in.lengths)
                                                              : RopeTables{};
    const size_t n_stages = model_.stages().size();
    for (size_t stage = 0; stage < n_stages; ++stage) {
        Device& device = *model_.stages()[stage].device;
        Buffer& arena = arenas_[stage];
        ForwardGraph f = model_.build_forward(kv, batch, stage);
        check_supported(device, f.graph);
        const MemoryPlan plan = plan_memory(f.graph);
        if (!arena || arena.size() < plan.arena_bytes) {
            arena.reset();
            arena = device.allocate(plan.arena_bytes);
        }
        bind_memory(f.graph, plan, arena.base());

        auto write_input = [&](TensorId id, std::span<const std::byte> bytes) {
            if (id) arena.write(f.graph[id].addr - arena.base(), bytes);
        };
        write_input(f.tokens, std::as_bytes(tokens));
        write_input(f.positions, as_bytes(in.positions));
        write_input(f.mask, as_bytes(in.mask));
        write_input(f.kv_ids, as_bytes(in.kv_ids));
        write_input(f.outputs, as_bytes(in.outputs));
        write_input(f.hidden_in, as_bytes(hidden_));
        write_input(f.rope_cos, as_bytes(rope.cos));
        write_input(f.rope_sin, as_bytes(rope.sin));
        write_input(f.rope_neg_sin, as_bytes(rope.neg_sin));
        device.compute(f.graph);

        const sl_tensor& result = f.graph[f.result];
        if (stage + 1 < n_stages) {
            hidden_.resize(tensor_bytes(result) / sizeof(float));
            arena.read(result.addr - arena.base(), std::as_writable_bytes(std::span(hidden_)));
        } else if (!logits.empty()) {
            arena.read(result.addr - arena.base(), std::as_writable_bytes(logits));
        }
    }
}

}  // namespace suanli
