#include "models/model.h"

#include <cstring>
#include <map>
#include <string_view>

#include "core/error.h"
#include "core/fp16.h"
#include "models/hf_config.h"
#include "tokenizer/tokenizer.h"

namespace suanli {
namespace {

bool computable(DType t) {
    return t == DType::F32 || t == DType::F16 || t == DType::BF16 || t == DType::Q8_0 || t == DType::Q4_0 ||
           t == DType::Q4_K || t == DType::Q5_K || t == DType::Q6_K;
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

// Hugging Face tensors: shape [out, in] row-major is GGUF's ne [in, out], the
// same bytes, so weights are bound where they lie in the mapped files.
class HfBinder {
public:
    HfBinder(const SafetensorsSet& set, const std::vector<Buffer>& buffers) : set_(set), buffers_(buffers) {}

    WeightRef bind(const std::string& name, Shape expected, bool optional = false) {
        const SafetensorsSet::Found found = set_.find(name);
        const std::string& file = found ? set_.files()[found.file].name() : set_.source_name();
        if (!found) {
            if (optional) return {};
            fail(file, ": missing tensor '", name, "'");
        }
        const SafetensorsTensor& t = *found.tensor;
        int64_t ne[4] = {1, 1, 1, 1};
        const int n = static_cast<int>(t.shape.size());
        bool ok = n >= 1 && n <= 4;
        for (int i = 0; ok && i < n; ++i) ne[i] = t.shape[n - 1 - i];
        for (int i = 0; ok && i < 4; ++i) ok = ne[i] == expected.ne[i];
        if (!ok) {
            int dims = 4;
            while (dims > 1 && expected.ne[dims - 1] == 1) --dims;
            int64_t want[4];
            for (int i = 0; i < dims; ++i) want[i] = expected.ne[dims - 1 - i];
            fail(file, ": tensor '", name, "' has shape ", shape_text(t.shape.data(), n), ", expected ",
                 shape_text(want, dims));
        }
        // Norm weights and biases are added and multiplied in F32: the few
        // small vectors a F16 or BF16 checkpoint stores narrower are converted
        // (and placed by place_converted()).
        if (t.type != DType::F32 && expected.ne[1] == 1) {
            const auto* src = reinterpret_cast<const uint8_t*>(set_.files()[found.file].tensor_data(t).data());
            std::vector<float>& dst = converted_[name];
            dst.resize(static_cast<size_t>(expected.ne[0]));
            for (size_t i = 0; i < dst.size(); ++i) {
                uint16_t h;
                std::memcpy(&h, src + 2 * i, 2);
                dst[i] = t.type == DType::F16 ? f16_to_f32(h) : bf16_to_f32(h);
            }
            return WeightRef{name, DType::F32, expected, 0};
        }
        return WeightRef{name, t.type, expected, buffers_[found.file].base() + t.offset};
    }

    // Uploads the converted vectors into one buffer and points their refs at it.
    void place_converted(ModelWeights& mw, Device& device, std::vector<Buffer>& buffers) {
        if (converted_.empty()) return;
        std::map<std::string, uint64_t> offsets;
        uint64_t total = 0;
        for (const auto& [name, v] : converted_) {
            offsets[name] = total;
            total += (v.size() * sizeof(float) + 63) / 64 * 64;
        }
        Buffer& buf = buffers.emplace_back(device.allocate(total));
        for (const auto& [name, v] : converted_)
            buf.write(offsets[name], std::as_bytes(std::span(v)));
        auto fix = [&](WeightRef& r) {
            if (auto it = offsets.find(r.name); r && it != offsets.end()) r.addr = buf.base() + it->second;
        };
        fix(mw.output_norm);
        for (LayerWeights& L : mw.layers)
            for (WeightRef* r : {&L.attn_norm, &L.ffn_norm, &L.bq, &L.bk, &L.bv}) fix(*r);
    }

private:
    const SafetensorsSet& set_;
    const std::vector<Buffer>& buffers_;
    std::map<std::string, std::vector<float>> converted_;
};

// Tensor names of one file format; layer names follow `layer_prefix` + the layer number + ".".
struct TensorNames {
    const char *token_embd, *output_norm, *output, *layer_prefix;
    const char *attn_norm, *wq, *wk, *wv, *wo, *bq, *bk, *bv, *ffn_norm, *ffn_gate, *ffn_up, *ffn_down;
};

constexpr TensorNames kGgufNames{
    "token_embd.weight", "output_norm.weight", "output.weight", "blk.",
    "attn_norm.weight", "attn_q.weight", "attn_k.weight", "attn_v.weight", "attn_output.weight",
    "attn_q.bias", "attn_k.bias", "attn_v.bias",
    "ffn_norm.weight", "ffn_gate.weight", "ffn_up.weight", "ffn_down.weight"};

constexpr TensorNames kHfNames{
    "model.embed_tokens.weight", "model.norm.weight", "lm_head.weight", "model.layers.",
    "input_layernorm.weight", "self_attn.q_proj.weight", "self_attn.k_proj.weight", "self_attn.v_proj.weight",
    "self_attn.o_proj.weight", "self_attn.q_proj.bias", "self_attn.k_proj.bias", "self_attn.v_proj.bias",
    "post_attention_layernorm.weight", "mlp.gate_proj.weight", "mlp.up_proj.weight", "mlp.down_proj.weight"};

// Binds every weight of the Llama family, checking shapes against the config.
template <class Binder>
ModelWeights bind_weights(Binder& w, const TensorNames& n, const ModelConfig& c, bool output_optional) {
    const int64_t E = c.n_embd, Dq = c.head_dim * c.n_head, Dkv = c.head_dim * c.n_head_kv;
    ModelWeights mw;
    mw.token_embd = w.bind(n.token_embd, {E, c.n_vocab});
    mw.output_norm = w.bind(n.output_norm, {E});
    mw.output = w.bind(n.output, {E, c.n_vocab}, output_optional);
    if (!mw.output) mw.output = mw.token_embd;  // tied embeddings
    for (int64_t l = 0; l < c.n_layer; ++l) {
        const std::string p = cat(n.layer_prefix, l, ".");
        LayerWeights L;
        L.attn_norm = w.bind(p + n.attn_norm, {E});
        L.wq = w.bind(p + n.wq, {E, Dq});
        L.wk = w.bind(p + n.wk, {E, Dkv});
        L.wv = w.bind(p + n.wv, {E, Dkv});
        L.wo = w.bind(p + n.wo, {Dq, E});
        L.bq = w.bind(p + n.bq, {Dq}, !c.qkv_bias);
        L.bk = w.bind(p + n.bk, {Dkv}, !c.qkv_bias);
        L.bv = w.bind(p + n.bv, {Dkv}, !c.qkv_bias);
        L.ffn_norm = w.bind(p + n.ffn_norm, {E});
        L.ffn_gate = w.bind(p + n.ffn_gate, {E, c.n_ff});
        L.ffn_up = w.bind(p + n.ffn_up, {E, c.n_ff});
        L.ffn_down = w.bind(p + n.ffn_down, {c.n_ff, E});
        mw.layers.push_back(std::move(L));
    }
    return mw;
}

}  // namespace

const GgufFile& Model::file() const {
    if (!file_) fail(path_.string(), ": not a GGUF model");
    return *file_;
}

std::unique_ptr<Tokenizer> load_tokenizer(const Model& model) {
    if (const GgufFile* f = model.gguf()) return Tokenizer::from_gguf(*f);
    return Tokenizer::from_hf_dir(model.path());
}

std::unique_ptr<Model> Model::load(const std::filesystem::path& path, Device& device) {
    if (std::filesystem::is_directory(path)) return load_hf(path, device);
    std::unique_ptr<Model> model(new Model());
    model->path_ = path;
    model->file_.emplace(GgufFile::open(path));
    model->config_ = read_model_config(*model->file_);
    const GgufFile& f = *model->file_;
    ModelConfig& c = model->config_;

    const GgufTensorInfo* embd = f.find_tensor("token_embd.weight");
    if (!embd) fail(f.name(), ": missing tensor 'token_embd.weight'");
    c.n_vocab = embd->ne[1];

    model->weight_buffers_.push_back(device.wrap_or_upload(f.bytes()));
    const WeightBinder w(f, model->weight_buffers_[0].base());
    model->weights_ = bind_weights(w, kGgufNames, c, /*output_optional=*/true);
    return model;
}

std::unique_ptr<Model> Model::load_hf(const std::filesystem::path& dir, Device& device) {
    std::unique_ptr<Model> model(new Model());
    model->path_ = dir;
    const HfConfig hf = read_hf_config(dir / "config.json");
    model->config_ = hf.model;
    model->safetensors_.emplace(SafetensorsSet::open_dir(dir));
    const SafetensorsSet& set = *model->safetensors_;
    for (const SafetensorsFile& f : set.files()) model->weight_buffers_.push_back(device.wrap_or_upload(f.bytes()));
    ModelConfig& c = model->config_;

    // The embedding's rows decide the vocabulary size, as for GGUF.
    const SafetensorsSet::Found embd = set.find("model.embed_tokens.weight");
    if (!embd) fail(set.source_name(), ": missing tensor 'model.embed_tokens.weight'");
    if (embd.tensor->shape.size() == 2) c.n_vocab = embd.tensor->shape[0];

    HfBinder w(set, model->weight_buffers_);
    ModelWeights& mw = model->weights_;
    mw = bind_weights(w, kHfNames, c, /*output_optional=*/hf.tie_word_embeddings);
    w.place_converted(mw, device, model->weight_buffers_);
    return model;
}

}  // namespace suanli
