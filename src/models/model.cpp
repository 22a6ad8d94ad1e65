#include "models/model.h"

#include <string_view>

#include "core/error.h"

namespace suanli {
namespace {

bool computable(DType t) {
    return t == DType::F32 || t == DType::F16 || t == DType::BF16 || t == DType::Q8_0 || t == DType::Q4_0;
}

std::string shape_text(const int64_t* ne, int n) {
    std::string s = "[";
    for (int i = 0; i < n; ++i) s += cat(i ? ", " : "", ne[i]);
    return s + "]";
}

// Looks up a weight and checks its shape; a missing optional one gives an empty ref.
class WeightBinder {
public:
    WeightBinder(const GgufFile& file, uint64_t base) : file_(file), base_(base) {}

    WeightRef bind(const std::string& name, Shape expected, bool optional = false) const {
        const GgufTensorInfo* info = file_.find_tensor(name);
        if (!info) {
            if (optional) return {};
            fail(file_.name(), ": missing tensor '", name, "'");
        }
        for (int i = 0; i < 4; ++i)
            if (info->ne[i] != expected.ne[i])
                fail(file_.name(), ": tensor '", name, "' has shape ", shape_text(info->ne.data(), 4),
                     ", expected ", shape_text(expected.ne, 4));
        if (!computable(info->type))
            fail(file_.name(), ": tensor '", name, "' has type ", dtype_name(info->type),
                 ", which this version cannot compute with yet");
        return WeightRef{std::string(info->name), info->type, expected, base_ + info->offset};
    }

private:
    const GgufFile& file_;
    uint64_t base_;
};

}  // namespace

std::unique_ptr<Model> Model::load(const std::filesystem::path& path, Device& device) {
    GgufFile file = GgufFile::open(path);
    ModelConfig config = read_model_config(file);
    std::unique_ptr<Model> model(new Model(std::move(file), std::move(config)));
    const GgufFile& f = model->file_;
    ModelConfig& c = model->config_;

    const GgufTensorInfo* embd = f.find_tensor("token_embd.weight");
    if (!embd) fail(f.name(), ": missing tensor 'token_embd.weight'");
    c.n_vocab = embd->ne[1];

    model->weight_buffer_ = device.wrap_or_upload(f.bytes());
    const WeightBinder w(f, model->weight_buffer_.base());
    const int64_t E = c.n_embd, Dq = c.head_dim * c.n_head, Dkv = c.head_dim * c.n_head_kv;
    ModelWeights& mw = model->weights_;
    mw.token_embd = w.bind("token_embd.weight", {E, c.n_vocab});
    mw.output_norm = w.bind("output_norm.weight", {E});
    mw.output = w.bind("output.weight", {E, c.n_vocab}, /*optional=*/true);
    if (!mw.output) mw.output = mw.token_embd;  // tied embeddings
    for (int64_t l = 0; l < c.n_layer; ++l) {
        const std::string p = cat("blk.", l, ".");
        LayerWeights L;
        L.attn_norm = w.bind(p + "attn_norm.weight", {E});
        L.wq = w.bind(p + "attn_q.weight", {E, Dq});
        L.wk = w.bind(p + "attn_k.weight", {E, Dkv});
        L.wv = w.bind(p + "attn_v.weight", {E, Dkv});
        L.wo = w.bind(p + "attn_output.weight", {Dq, E});
        L.bq = w.bind(p + "attn_q.bias", {Dq}, !c.qkv_bias);
        L.bk = w.bind(p + "attn_k.bias", {Dkv}, !c.qkv_bias);
        L.bv = w.bind(p + "attn_v.bias", {Dkv}, !c.qkv_bias);
        L.ffn_norm = w.bind(p + "ffn_norm.weight", {E});
        L.ffn_gate = w.bind(p + "ffn_gate.weight", {E, c.n_ff});
        L.ffn_up = w.bind(p + "ffn_up.weight", {E, c.n_ff});
        L.ffn_down = w.bind(p + "ffn_down.weight", {c.n_ff, E});
        mw.layers.push_back(std::move(L));
    }
    return model;
}

}  // namespace suanli
