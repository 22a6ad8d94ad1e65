// The Llama family as a graph of standard ops: Llama 1-3, Mistral-style GQA,
// and Qwen2 (biases on Q/K/V, split-halves RoPE). Hyperparameters decide the rest.
#include <cmath>

#include "models/model.h"

namespace suanli {

ForwardGraph Model::build_forward(const KvCacheRefs& kv, int64_t n_past, int64_t n_tokens, bool all_logits) const {
    const ModelConfig& c = config_;
    const int64_t T = n_tokens, S = n_past + n_tokens, D = c.head_dim;
    const int64_t E = c.n_embd, Hq = c.n_head, Hkv = c.n_head_kv;

    ForwardGraph f;
    Graph& g = f.graph;
    auto weight = [&g](const WeightRef& w) { return g.external(w.type, w.shape, w.addr, w.name); };

    f.tokens = g.input(DType::I32, {T}, "tokens");
    f.positions = g.input(DType::I32, {T}, "positions");
    f.mask = g.input(DType::F32, {S, T}, "kq_mask");

    // KV cache slots: position p of layer l holds [D, Hkv] values.
    const int64_t es = static_cast<int64_t>(row_bytes(kv.type, 1));
    const int64_t slot = D * Hkv * es;
    auto cache_view = [&](uint64_t addr, int64_t first, int64_t count) {
        TensorId whole = g.external(kv.type, {D, Hkv, kv.n_ctx}, addr, "kv_cache");
        return g.view(whole, {D, Hkv, count}, {es, D * es, slot, slot * count}, static_cast<uint64_t>(first * slot));
    };

    TensorId x = g.get_rows(weight(weights_.token_embd), f.tokens);  // [E, T]
    for (int64_t l = 0; l < c.n_layer; ++l) {
        const LayerWeights& L = weights_.layers[l];

        // Self-attention.
        TensorId h = g.mul(g.rms_norm(x, c.rms_eps), weight(L.attn_norm));
        TensorId q = g.mul_mat(weight(L.wq), h);
        TensorId k = g.mul_mat(weight(L.wk), h);
        TensorId v = g.mul_mat(weight(L.wv), h);
        if (L.bq) q = g.add(q, weight(L.bq));
        if (L.bk) k = g.add(k, weight(L.bk));
        if (L.bv) v = g.add(v, weight(L.bv));
        q = g.rope(g.reshape(q, {D, Hq, T}), f.positions, c.n_rot, c.rope_mode, c.rope_freq_base, c.rope_freq_scale);
        k = g.rope(g.reshape(k, {D, Hkv, T}), f.positions, c.n_rot, c.rope_mode, c.rope_freq_base, c.rope_freq_scale);
        v = g.reshape(v, {D, Hkv, T});
        g.copy(k, cache_view(kv.k_addr[l], n_past, T));
        g.copy(v, cache_view(kv.v_addr[l], n_past, T));
        TensorId att = g.attention(q, cache_view(kv.k_addr[l], 0, S), cache_view(kv.v_addr[l], 0, S), f.mask,
                                   1.0f / std::sqrt(static_cast<float>(D)));
        x = g.add(x, g.mul_mat(weight(L.wo), g.reshape(att, {D * Hq, T})));

        // SwiGLU feed-forward.
        h = g.mul(g.rms_norm(x, c.rms_eps), weight(L.ffn_norm));
        TensorId gate = g.silu(g.mul_mat(weight(L.ffn_gate), h));
        TensorId up = g.mul_mat(weight(L.ffn_up), h);
        x = g.add(x, g.mul_mat(weight(L.ffn_down), g.mul(gate, up)));
    }

    if (!all_logits && T > 1) {  // only the last position's logits are needed
        const int64_t row = E * 4;
        x = g.view(x, {E, 1}, {4, row, row, row}, static_cast<uint64_t>((T - 1) * row));
    }
    x = g.mul(g.rms_norm(x, c.rms_eps), weight(weights_.output_norm));
    f.logits = g.mul_mat(weight(weights_.output), x);
    g.mark_output(f.logits);
    return f;
}

}  // namespace suanli
