#include "models/model.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <string_view>

#include "core/error.h"
#include "core/fp16.h"
#include "core/mapped_file.h"
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
    explicit WeightBinder(const GgufFile& file) : file_(file) {}

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
        return WeightRef{std::string(info->name), info->type, expected, 0, file_.tensor_data(*info)};
    }

private:
    const GgufFile& file_;
};

// Hugging Face tensors: shape [out, in] row-major is GGUF's ne [in, out], the
// same bytes, so weights are bound where they lie in the mapped files.
class HfBinder {
public:
    // Vectors converted to F32 go to `converted` (node-based: their bytes stay put).
    HfBinder(const SafetensorsSet& set, std::map<std::string, std::vector<float>>& converted)
        : set_(set), converted_(converted) {}

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
            return WeightRef{name, DType::F32, expected, 0, std::as_bytes(std::span(dst))};
        }
        return WeightRef{name, t.type, expected, 0, set_.files()[found.file].tensor_data(t)};
    }

private:
    const SafetensorsSet& set_;
    std::map<std::string, std::vector<float>>& converted_;
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
    return load(path, DevicePlan{&device, nullptr, 0});
}

std::unique_ptr<Model> Model::load(const std::filesystem::path& path, const DevicePlan& plan) {
    std::unique_ptr<Model> model(new Model());
    model->path_ = path;
    if (std::filesystem::is_directory(path)) {
        model->load_hf(path);
    } else {
        model->file_.emplace(GgufFile::open(path));
        model->config_ = read_model_config(*model->file_);
        const GgufFile& f = *model->file_;
        const GgufTensorInfo* embd = f.find_tensor("token_embd.weight");
        if (!embd) fail(f.name(), ": missing tensor 'token_embd.weight'");
        model->config_.n_vocab = embd->ne[1];
        const WeightBinder w(f);
        model->weights_ = bind_weights(w, kGgufNames, model->config_, /*output_optional=*/true);
    }
    model->place(plan);
    return model;
}

void Model::load_hf(const std::filesystem::path& dir) {
    const HfConfig hf = read_hf_config(dir / "config.json");
    config_ = hf.model;
    safetensors_.emplace(SafetensorsSet::open_dir(dir));
    const SafetensorsSet& set = *safetensors_;

    // The embedding's rows decide the vocabulary size, as for GGUF.
    const SafetensorsSet::Found embd = set.find("model.embed_tokens.weight");
    if (!embd) fail(set.source_name(), ": missing tensor 'model.embed_tokens.weight'");
    if (embd.tensor->shape.size() == 2) config_.n_vocab = embd.tensor->shape[0];

    HfBinder w(set, converted_);
    weights_ = bind_weights(w, kHfNames, config_, /*output_optional=*/hf.tie_word_embeddings);
}

// Splits the layers into stages and puts every weight on its stage's device: read
// in place where the device can read host memory, else copied to it (once per device).
void Model::place(const DevicePlan& plan) {
    const auto L = static_cast<int32_t>(config_.n_layer);
    int32_t offloaded = 0;
    if (plan.offload) {
        offloaded = plan.offload_layers == DevicePlan::kAuto ? layers_that_fit(plan)
                    : plan.offload_layers < 0                ? L
                                                             : std::min(plan.offload_layers, L);
    }
    if (offloaded > 0) stages_.push_back({plan.offload, 0, offloaded});
    if (offloaded < L || stages_.empty()) stages_.push_back({plan.main, offloaded, L});

    std::map<std::pair<Device*, const std::byte*>, uint64_t> placed;
    auto put = [&](WeightRef& w, Device* device) {
        if (!w) return;
        auto [it, fresh] = placed.try_emplace({device, w.host.data()}, 0);
        if (fresh) it->second = weight_buffers_.emplace_back(device->wrap_or_upload(w.host)).base();
        w.addr = it->second;
    };
    // A matrix the graphs multiply by: its device may repack it (weight_prepare), which the
    // standard allows only for read-only buffers, i.e. weights the device reads in place.
    auto put_matrix = [&](WeightRef& w, Device* device) {
        put(w, device);
        if (!w || !device->backend().buffer_from_host) return;
        device->prepare_weight(contiguous_tensor(w.type, w.shape, w.addr));
    };
    put(weights_.token_embd, stages_.front().device);
    // GET_ROWS reads the embedding a row at a time where the device reads it in place.
    populate(weights_.token_embd.host);
    put(weights_.output_norm, stages_.back().device);
    put_matrix(weights_.output, stages_.back().device);
    for (const Stage& st : stages_)
        for (int32_t l = st.first_layer; l < st.end_layer; ++l) {
            LayerWeights& w = weights_.layers[static_cast<size_t>(l)];
            for (WeightRef* r : {&w.attn_norm, &w.bq, &w.bk, &w.bv, &w.ffn_norm}) put(*r, st.device);
            for (WeightRef* r : {&w.wq, &w.wk, &w.wv, &w.wo, &w.ffn_gate, &w.ffn_up, &w.ffn_down})
                put_matrix(*r, st.device);
        }
}

// The most leading layers whose weights and KV cache (for plan.context cells) fit in
// 90% of the offload device's free memory, after the embedding and, when every
// layer fits, the output; the other 10% is left for activations.
int32_t Model::layers_that_fit(const DevicePlan& plan) const {
    const sl_device_info info = plan.offload->info();
    const uint64_t memory = info.memory_free ? info.memory_free : info.memory_total;
    const auto L = static_cast<int32_t>(config_.n_layer);
    if (memory == 0) return L;  // the device does not say: offload everything
    const uint64_t budget = memory / 10 * 9;
    const uint64_t kv_layer = 2 * row_bytes(DType::F32, config_.head_dim * config_.n_head_kv) *
                              static_cast<uint64_t>(std::max<int64_t>(plan.context, 1));
    uint64_t used = weights_.token_embd.host.size();
    int32_t n = 0;
    for (; n < L; ++n) {
        const LayerWeights& w = weights_.layers[static_cast<size_t>(n)];
        uint64_t layer = kv_layer;
        for (const WeightRef* r : {&w.attn_norm, &w.wq, &w.wk, &w.wv, &w.wo, &w.bq, &w.bk, &w.bv, &w.ffn_norm,
                                   &w.ffn_gate, &w.ffn_up, &w.ffn_down})
            layer += r->host.size();
        if (n + 1 == L) layer += weights_.output_norm.host.size() + weights_.output.host.size();
        if (used + layer > budget) break;
        used += layer;
    }
    return n;
}

std::string Model::placement_text() const {
    auto name = [](const Device& d) {
        const sl_device_info info = d.info();
        return cat(d.backend().name, " (", info.name, ")");
    };
    std::string out;
    for (const Stage& st : stages_)
        out += cat(out.empty() ? "" : ", ", "layers ", st.first_layer, "-", st.end_layer - 1, " on ", name(*st.device));
    return out;
}

Device& Model::layer_device(int64_t layer) const {
    for (const Stage& st : stages_)
        if (layer >= st.first_layer && layer < st.end_layer) return *st.device;
    fail("layer ", layer, " is outside the model (", config_.n_layer, " layers)");
}

}  // namespace suanli
