// The Llama family as a graph of standard ops: Llama 1-3, Mistral-style GQA,
// and Qwen2 (biases on Q/K/V, split-halves RoPE). Hyperparameters decide the rest.
#include <cmath>

#include "models/batch_layout.h"
#include "models/model.h"

namespace suanli {

ForwardGraph Model::build_forward(const KvCacheRefs& kv, const BatchLayout& batch, size_t stage) const {
    const ModelConfig& c = config_;
    const Stage& st = stages_.at(stage);
    const bool last_stage = stage + 1 == stages_.size();
    const int64_t T = batch.n_tokens, D = c.head_dim;
    const int64_t Hq = c.n_head, Hkv = c.n_head_kv;
    batch.validate(kv.n_ctx);

    ForwardGraph f;
    Graph& g = f.graph;
    // A decode step of TinyLlama: 44 tensors a layer, 6 more per extra sequence; the names are
    // the weights' (~24 bytes each) and a few inputs'.
    const auto layers = static_cast<size_t>(st.end_layer - st.first_layer), seqs = batch.sequences.size();
    g.reserve(layers * (40 + 8 * seqs) + 32, layers * 8 * 32 + 256);
    auto weight = [&g](const WeightRef& w) { return g.external(w.type, w.shape, w.addr, w.name); };

    int64_t mask_elems = 0, n_ids = 0;
    for (const SequenceSlice& s : batch.sequences) {
        mask_elems += static_cast<int64_t>(s.cells.size()) * s.n_tokens;
        if (!s.contiguous()) n_ids += static_cast<int64_t>(s.cells.size());
    }
    if (stage == 0) f.tokens = g.input(DType::I32, {T}, "tokens");
    f.positions = g.input(DType::I32, {T}, "positions");
    f.mask = g.input(DType::F32, {mask_elems}, "kq_mask");
    if (n_ids > 0) f.kv_ids = g.input(DType::I32, {n_ids}, "kv_ids");
    const bool every_logit = static_cast<int64_t>(batch.outputs.size()) == T;
    if (last_stage && !every_logit) f.outputs = g.input(DType::I32, {static_cast<int64_t>(batch.outputs.size())}, "outputs");

    // The cache of one layer: cell j holds [D, Hkv] values.
    const int64_t es = static_cast<int64_t>(row_bytes(kv.type, 1));
    const int64_t cell = D * Hkv * es;
    auto cells_view = [&](uint64_t addr, int64_t first, int64_t count) {
        TensorId whole = g.external(kv.type, {D, Hkv, kv.n_ctx}, addr, "kv_cache");
        return g.view(whole, {D, Hkv, count}, {es, D * es, cell, cell * count}, static_cast<uint64_t>(first * cell));
    };
    // Batch columns [first, first + n) of a contiguous F32 [D, H, T] tensor.
    auto columns = [&](TensorId t, int64_t H, int64_t first, int64_t n) {
        const int64_t row = D * 4, col = D * H * 4;
        return g.view(t, {D, H, n}, {4, row, col, col * n}, static_cast<uint64_t>(first * col));
    };
    // A sequence's keys or values in position order: in place, or gathered.
    auto sequence_cells = [&](uint64_t addr, const SequenceSlice& s, int64_t ids_at) {
        const int64_t S = static_cast<int64_t>(s.cells.size());
        if (s.contiguous()) return cells_view(addr, s.cells.front(), S);
        TensorId table = g.external(kv.type, {D * Hkv, kv.n_ctx}, addr, "kv_cache");
        TensorId ids = g.view(f.kv_ids, {S}, {4, 4 * S, 4 * S, 4 * S}, static_cast<uint64_t>(ids_at * 4));
        return g.reshape(g.get_rows(table, ids), {D, Hkv, S});
    };
    // Writes new keys or values (batch columns) into their cells, one run of adjacent cells at a time.
    auto store = [&](TensorId x, uint64_t addr) {
        for (const SequenceSlice& s : batch.sequences) {
            const int64_t past = s.n_past();
            for (int64_t i = 0; i < s.n_tokens;) {
                int64_t n = 1;
                while (i + n < s.n_tokens && s.cells[past + i + n] == s.cells[past + i] + n) ++n;
                g.copy(columns(x, Hkv, s.first_token + i, n), cells_view(addr, s.cells[past + i], n));
                i += n;
            }
        }
    };
    // RoPE: the op, or for per-pair factors and dynamic scaling, the rotation
    // spelled out with host-computed angle tables: (a, b) -> (a cos - b sin, b cos + a sin).
    const bool tables = rope_uses_tables(c);
    if (tables) {
        const int64_t half = c.n_rot / 2;
        f.rope_cos = g.input(DType::F32, {half, 1, T}, "rope_cos");
        f.rope_sin = g.input(DType::F32, {half, 1, T}, "rope_sin");
        f.rope_neg_sin = g.input(DType::F32, {half, 1, T}, "rope_neg_sin");
    }
    auto rotate = [&](TensorId x, int64_t H) {  // x: contiguous F32 [D, H, T]
        if (!tables) return g.rope(x, f.positions, c.n_rot, c.rope_mode, c.rope_freq_base, c.rope_freq_scale);
        const int64_t half = c.n_rot / 2;
        const bool halves = c.rope_mode == SL_ROPE_HALVES;
        const int64_t step = halves ? 4 : 8;  // bytes between consecutive pair members
        // Views of the first and second members of every pair, [n_rot/2, H, T].
        auto members = [&](TensorId t, int which) {
            const uint64_t offset = halves ? static_cast<uint64_t>(which * half * 4) : static_cast<uint64_t>(which * 4);
            return g.view(t, {half, H, T}, {step, D * 4, D * H * 4, D * H * T * 4}, offset);
        };
        TensorId a = members(x, 0), b = members(x, 1);
        TensorId out = g.scratch(DType::F32, {D, H, T}, "rope");
        g.copy(g.add(g.mul(a, f.rope_cos), g.mul(b, f.rope_neg_sin)), members(out, 0));
        g.copy(g.add(g.mul(b, f.rope_cos), g.mul(a, f.rope_sin)), members(out, 1));
        if (c.n_rot < D) {  // the dimensions past n_rot are not rotated
            const int64_t rest = D - c.n_rot;
            auto tail = [&](TensorId t) {
                return g.view(t, {rest, H, T}, {4, D * 4, D * H * 4, D * H * T * 4}, static_cast<uint64_t>(c.n_rot * 4));
            };
            g.copy(tail(x), tail(out));
        }
        return out;
    };

    const float kq_scale = 1.0f / std::sqrt(static_cast<float>(D));
    auto attend = [&](TensorId q, uint64_t k_addr, uint64_t v_addr) {
        TensorId out = batch.sequences.size() == 1 ? TensorId{} : g.scratch(DType::F32, {D, Hq, T}, "attention");
        int64_t mask_at = 0, ids_at = 0;
        for (const SequenceSlice& s : batch.sequences) {
            const int64_t S = static_cast<int64_t>(s.cells.size()), n = s.n_tokens;
            TensorId mask = g.view(f.mask, {S, n}, {4, 4 * S, 4 * S * n, 4 * S * n}, static_cast<uint64_t>(mask_at * 4));
            TensorId att = g.attention(batch.sequences.size() == 1 ? q : columns(q, Hq, s.first_token, n),
                                       sequence_cells(k_addr, s, ids_at), sequence_cells(v_addr, s, ids_at), mask,
                                       kq_scale);
            if (!out) return att;
            g.copy(att, columns(out, Hq, s.first_token, n));
            mask_at += S * n;
            if (!s.contiguous()) ids_at += S;
        }
        return out;
    };

    TensorId x;  // [E, T]
    if (stage == 0) {
        x = g.get_rows(weight(weights_.token_embd), f.tokens);
    } else {
        x = f.hidden_in = g.input(DType::F32, {c.n_embd, T}, "hidden_in");
    }
    for (int64_t l = st.first_layer; l < st.end_layer; ++l) {
        const LayerWeights& L = weights_.layers[l];

        // Self-attention.
        TensorId h = g.mul(g.rms_norm(x, c.rms_eps), weight(L.attn_norm));
        TensorId q = g.mul_mat(weight(L.wq), h);
        TensorId k = g.mul_mat(weight(L.wk), h);
        TensorId v = g.mul_mat(weight(L.wv), h);
        if (L.bq) q = g.add(q, weight(L.bq));
        if (L.bk) k = g.add(k, weight(L.bk));
        if (L.bv) v = g.add(v, weight(L.bv));
        q = rotate(g.reshape(q, {D, Hq, T}), Hq);
        k = rotate(g.reshape(k, {D, Hkv, T}), Hkv);
        v = g.reshape(v, {D, Hkv, T});
        store(k, kv.k_addr[l]);
        store(v, kv.v_addr[l]);
        TensorId att = attend(q, kv.k_addr[l], kv.v_addr[l]);
        x = g.add(x, g.mul_mat(weight(L.wo), g.reshape(att, {D * Hq, T})));

        // SwiGLU feed-forward.
        h = g.mul(g.rms_norm(x, c.rms_eps), weight(L.ffn_norm));
        // Both projections of h before the silu: a backend may run adjacent products of one input
        // together (the cpu backend does).
        TensorId gate = g.mul_mat(weight(L.ffn_gate), h);
        TensorId up = g.mul_mat(weight(L.ffn_up), h);
        x = g.add(x, g.mul_mat(weight(L.ffn_down), g.mul(g.silu(gate), up)));
    }

    if (!last_stage) {  // the next stage, on another device, goes on from here
        f.result = x;
        g.mark_output(f.result);
        return f;
    }
    if (f.outputs) x = g.get_rows(x, f.outputs);  // only the rows whose logits are wanted
    x = g.mul(g.rms_norm(x, c.rms_eps), weight(weights_.output_norm));
    f.result = g.mul_mat(weight(weights_.output), x);
    g.mark_output(f.result);
    return f;
}

}  // namespace suanli
