// `suanli convert`: stories260K-hf against stories260K.gguf (the same weights,
// converted by llama.cpp's llama2c converter): tensors byte for byte, tokenizer,
// greedy tokens and logits; a Qwen2 directory written from qwen2-tiny-random.gguf
// converted back; quantized output; and the CLI's errors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "backends/reference/reference_backend.h"
#include "convert/hf_to_gguf.h"
#include "convert/tensor_names.h"
#include "core/device.h"
#include "core/error.h"
#include "core/fp16.h"
#include "formats/safetensors.h"
#include "formats/gguf.h"
#include "formats/safetensors_test_util.h"
#include "models/model.h"
#include "run_process.h"
#include "runtime/session.h"
#include "model_test_util.h"
#include "test_paths.h"
#include "tokenizer/tokenizer.h"

namespace suanli {
namespace {

using nlohmann::json;
using test::argmax;
using test::compare_runs;
using test::read_json;
using Loaded = test::LoadedModel;
namespace fs = std::filesystem;

fs::path convert(const fs::path& dir, const fs::path& out, const std::string& type) {
    ConvertOptions options;
    options.type = *find_convert_type(type);
    options.threads = 2;
    convert_hf_to_gguf(dir, out, options);
    return out;
}

std::span<const std::byte> bytes_of(const GgufFile& f, std::string_view tensor) {
    const GgufTensorInfo* t = f.find_tensor(tensor);
    if (!t) throw std::runtime_error("no tensor " + std::string(tensor));
    return f.tensor_data(*t);
}

bool same_bytes(std::span<const std::byte> a, std::span<const std::byte> b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size()) == 0;
}

// ---- tensor names ---------------------------------------------------------------

TEST(ConvertTensorNames, MapHfNamesToLlamaCppNames) {
    EXPECT_EQ(gguf_tensor_name("model.embed_tokens.weight")->name, "token_embd.weight");
    EXPECT_EQ(gguf_tensor_name("lm_head.weight")->name, "output.weight");
    EXPECT_EQ(gguf_tensor_name("model.norm.weight")->name, "output_norm.weight");
    const auto q = gguf_tensor_name("model.layers.12.self_attn.q_proj.weight");
    ASSERT_TRUE(q);
    EXPECT_EQ(q->name, "blk.12.attn_q.weight");
    EXPECT_EQ(q->layer, 12);
    EXPECT_TRUE(q->is_q);
    EXPECT_TRUE(gguf_tensor_name("model.layers.0.self_attn.k_proj.weight")->is_k);
    EXPECT_FALSE(gguf_tensor_name("model.layers.0.self_attn.k_proj.bias")->is_k);
    EXPECT_EQ(gguf_tensor_name("model.layers.3.mlp.down_proj.weight")->name, "blk.3.ffn_down.weight");
    EXPECT_EQ(gguf_tensor_name("model.layers.3.post_attention_layernorm.weight")->name, "blk.3.ffn_norm.weight");
    EXPECT_FALSE(gguf_tensor_name("model.layers.x.mlp.up_proj.weight"));
    EXPECT_FALSE(gguf_tensor_name("model.layers.0.self_attn.rotary_emb.inv_freq"));
    EXPECT_FALSE(gguf_tensor_name("vision_tower.weight"));
}

TEST(ConvertTypes, NamesAndFileTypes) {
    EXPECT_EQ(find_convert_type("F32")->file_type, 0u);
    EXPECT_EQ(find_convert_type("f16")->file_type, 1u);
    EXPECT_EQ(find_convert_type("bf16")->file_type, 32u);
    EXPECT_EQ(find_convert_type("q8_0")->file_type, 7u);
    EXPECT_EQ(find_convert_type("q4_0")->file_type, 2u);
    EXPECT_EQ(find_convert_type("Q4_K_M")->file_type, 15u);
    EXPECT_TRUE(find_convert_type("q8_0")->quant);
    EXPECT_FALSE(find_convert_type("f16")->quant);
    EXPECT_FALSE(find_convert_type("q3_k"));
    EXPECT_NE(convert_type_names().find("q4_k_m"), std::string::npos);
}

// ---- stories260K-hf -> GGUF against stories260K.gguf ------------------------------

class ConvertStories : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        dir_ = new test::TempDir();
        convert(test::shared("models/stories260K-hf"), dir_->path / "stories-f32.gguf", "f32");
    }
    static void TearDownTestSuite() {
        delete dir_;
        dir_ = nullptr;
    }
    static fs::path converted() { return dir_->path / "stories-f32.gguf"; }
    static inline test::TempDir* dir_ = nullptr;
};

// The converted file has the original's tensors with the same shapes and bytes:
// Q/K rows permuted back from HF's rotate_half order reproduce llama.cpp's
// layout exactly. The original's output.weight (a copy of token_embd written by
// the llama2c converter) is absent: the HF model ties it, and so does the GGUF,
// as convert_hf_to_gguf.py does; llama.cpp then reads token_embd for the output.
TEST_F(ConvertStories, TensorsMatchTheOriginalGgufByteForByte) {
    const GgufFile ours = GgufFile::open(converted());
    const GgufFile orig = GgufFile::open(test::shared("models/stories260K.gguf"));
    EXPECT_EQ(ours.tensors().size() + 1, orig.tensors().size());
    EXPECT_EQ(ours.find_tensor("output.weight"), nullptr);
    EXPECT_TRUE(same_bytes(bytes_of(orig, "output.weight"), bytes_of(ours, "token_embd.weight")));
    for (const GgufTensorInfo& t : ours.tensors()) {
        SCOPED_TRACE(std::string(t.name));
        const GgufTensorInfo* o = orig.find_tensor(t.name);
        ASSERT_NE(o, nullptr);
        EXPECT_EQ(t.type, DType::F32);
        EXPECT_EQ(t.n_dims, o->n_dims);
        EXPECT_EQ(t.ne, o->ne);
        EXPECT_TRUE(same_bytes(ours.tensor_data(t), orig.tensor_data(*o)));
    }
}

TEST_F(ConvertStories, MetadataUsesLlamaCppKeys) {
    const GgufFile f = GgufFile::open(converted());
    const GgufFile orig = GgufFile::open(test::shared("models/stories260K.gguf"));
    EXPECT_EQ(f.get_string("general.architecture"), "llama");
    EXPECT_EQ(f.get_uint("general.file_type"), 0u);
    EXPECT_EQ(f.find("general.quantization_version"), nullptr);
    for (const char* key : {"llama.embedding_length", "llama.block_count", "llama.feed_forward_length",
                            "llama.attention.head_count", "llama.attention.head_count_kv", "llama.rope.dimension_count"})
        EXPECT_EQ(f.get_uint(key), orig.get_uint(key)) << key;
    EXPECT_EQ(f.get_uint("llama.context_length"), 512u);  // config.json's max_position_embeddings
    EXPECT_EQ(f.get_uint("llama.vocab_size"), 512u);
    EXPECT_FLOAT_EQ(*f.get_float("llama.attention.layer_norm_rms_epsilon"),
                    *orig.get_float("llama.attention.layer_norm_rms_epsilon"));
    EXPECT_FLOAT_EQ(*f.get_float("llama.rope.freq_base"), 10000.0f);
    EXPECT_EQ(f.get_string("tokenizer.ggml.model"), "llama");
    EXPECT_EQ(f.get_string_array("tokenizer.ggml.tokens"), orig.get_string_array("tokenizer.ggml.tokens"));
    EXPECT_EQ(f.get_i32_array("tokenizer.ggml.token_type"), orig.get_i32_array("tokenizer.ggml.token_type"));
    EXPECT_EQ(f.get_uint("tokenizer.ggml.bos_token_id"), 1u);
    EXPECT_EQ(f.get_uint("tokenizer.ggml.eos_token_id"), 2u);
    EXPECT_EQ(f.get_uint("tokenizer.ggml.unknown_token_id"), 0u);
    EXPECT_EQ(f.get_bool("tokenizer.ggml.add_bos_token"), true);
    EXPECT_EQ(f.get_bool("tokenizer.ggml.add_eos_token"), false);
}

TEST_F(ConvertStories, TokenizerEncodesLikeTheOriginal) {
    const GgufFile ours = GgufFile::open(converted());
    const GgufFile orig = GgufFile::open(test::shared("models/stories260K.gguf"));
    const auto a = Tokenizer::from_gguf(ours), b = Tokenizer::from_gguf(orig);
    const json ref = read_json(test::shared("reference/greedy.json"));
    ASSERT_EQ(ref["cases"].size(), 12u);
    for (const json& c : ref["cases"]) {
        const std::string prompt = c["prompt"].get<std::string>();
        EXPECT_EQ(a->encode(prompt, true, true), c["prompt_ids"].get<std::vector<int32_t>>()) << prompt;
        EXPECT_EQ(a->encode(prompt, true, true), b->encode(prompt, true, true)) << prompt;
        EXPECT_EQ(a->encode(prompt, false, false), b->encode(prompt, false, false)) << prompt;
        const auto generated = c["generated_ids"].get<std::vector<int32_t>>();
        EXPECT_EQ(a->decode(generated), b->decode(generated));
    }
}

TEST_F(ConvertStories, GreedyTokensAndLogitsMatchTheOriginal) {
    Loaded ours(converted());
    Loaded orig(test::shared("models/stories260K.gguf"));
    EXPECT_EQ(ours.model->weights().output.addr, ours.model->weights().token_embd.addr);  // tied
    const json ref = read_json(test::shared("reference/greedy.json"));
    double worst = 0;
    for (size_t i = 0; i < ref["cases"].size(); i += 4) {  // three cases
        const json& c = ref["cases"][i];
        SCOPED_TRACE(c["name"].get<std::string>());
        const auto prompt = ours.tokenizer->encode(c["prompt"].get<std::string>(), true, true);
        worst = std::max(worst, compare_runs(orig, ours, prompt, c["generated_ids"].get<std::vector<int32_t>>(), 1e-4));
    }
    ::testing::Test::RecordProperty("max_logit_diff", std::to_string(worst));
}

TEST(ConvertStoriesTypes, F16KeepsNormsF32AndQ8_0LoadsAndGenerates) {
    test::TempDir dir;
    const GgufFile f16 = GgufFile::open(convert(test::shared("models/stories260K-hf"), dir.path / "f16.gguf", "f16"));
    EXPECT_EQ(f16.get_uint("general.file_type"), 1u);
    EXPECT_EQ(f16.find_tensor("blk.0.attn_q.weight")->type, DType::F16);
    EXPECT_EQ(f16.find_tensor("token_embd.weight")->type, DType::F16);
    EXPECT_EQ(f16.find_tensor("blk.0.attn_norm.weight")->type, DType::F32);
    EXPECT_EQ(f16.find_tensor("output_norm.weight")->type, DType::F32);

    const fs::path q8 = convert(test::shared("models/stories260K-hf"), dir.path / "q8_0.gguf", "q8_0");
    EXPECT_FALSE(fs::exists(dir.path / "q8_0.gguf.f32.tmp"));
    {
        const GgufFile f = GgufFile::open(q8);
        EXPECT_EQ(f.get_uint("general.file_type"), 7u);
        EXPECT_EQ(f.get_uint("general.quantization_version"), 2u);
        EXPECT_EQ(f.find_tensor("blk.0.attn_q.weight")->type, DType::Q8_0);
        EXPECT_EQ(f.find_tensor("token_embd.weight")->type, DType::Q8_0);
        EXPECT_EQ(f.find_tensor("blk.0.attn_norm.weight")->type, DType::F32);
    }
    Loaded m(q8);
    const json ref = read_json(test::shared("reference/greedy.json"));
    const json& c = ref["cases"][0];
    std::vector<int32_t> tokens = m.tokenizer->encode(c["prompt"].get<std::string>(), true, true);
    const auto expected = c["generated_ids"].get<std::vector<int32_t>>();
    Session s(*m.model, static_cast<int64_t>(tokens.size() + 32));
    std::vector<int32_t> generated;
    auto logits = s.decode(tokens);
    for (int i = 0; i < 16; ++i) {
        for (float x : logits) ASSERT_TRUE(std::isfinite(x));
        generated.push_back(argmax(logits));
        logits = s.decode(std::span(&generated.back(), 1));
    }
    // Q8_0 on this tiny model keeps the greedy story for these first tokens.
    EXPECT_EQ(generated, std::vector<int32_t>(expected.begin(), expected.begin() + 16));
}

// A checkpoint stored in F16 (norms included): 2-D weights keep their F16 bytes
// (Q/K permuted), norms are widened to F32, and the model still tells the story.
// llama3 rope scaling: the GGUF carries rope_freqs.weight, which gives back the
// same factors and the same logits as the directory.
TEST(ConvertRopeScaling, Llama3FactorsTravelAsRopeFreqs) {
    test::TempDir dir;
    const fs::path src = test::shared("models/stories260K-hf"), hf = dir.path / "llama3";
    fs::create_directories(hf);
    for (const char* name : {"tokenizer.json", "tokenizer_config.json", "model.safetensors"}) fs::copy_file(src / name, hf / name);
    json config = read_json(src / "config.json");
    config["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", 8.0}, {"low_freq_factor", 1.0},
                              {"high_freq_factor", 4.0}, {"original_max_position_embeddings", 64}};
    test::write_file(hf / "config.json", config.dump());
    const fs::path out = convert(hf, dir.path / "llama3.gguf", "f32");

    Loaded a(hf), b(out);
    ASSERT_FALSE(a.model->config().rope_freq_factors.empty());
    EXPECT_EQ(a.model->config().rope_freq_factors, b.model->config().rope_freq_factors);
    const auto prompt = a.tokenizer->encode("Once upon a time", true, false);
    std::vector<int32_t> generated;
    {
        Session s(*a.model, 64);
        auto logits = s.decode(prompt);
        for (int i = 0; i < 12; ++i) {
            generated.push_back(argmax(logits));
            logits = s.decode(std::span(&generated.back(), 1));
        }
    }
    EXPECT_LT(compare_runs(a, b, prompt, generated, 1e-4), 1e-4);

    config["rope_scaling"] = {{"type", "dynamic"}, {"factor", 2.0}};
    test::write_file(hf / "config.json", config.dump());
    EXPECT_THROW(convert(hf, dir.path / "dynamic.gguf", "f32"), Error);
}

TEST(ConvertStoriesTypes, F16CheckpointToF16) {
    test::TempDir dir;
    const fs::path src = test::shared("models/stories260K-hf"), hf = dir.path / "hf16";
    fs::create_directories(hf);
    for (const char* name : {"config.json", "tokenizer.json", "tokenizer_config.json"}) fs::copy_file(src / name, hf / name);
    const SafetensorsFile f32 = SafetensorsFile::open(src / "model.safetensors");
    std::vector<test::StTensor> tensors;
    std::map<std::string, std::vector<uint16_t>> halves;
    for (const SafetensorsTensor& t : f32.tensors()) {
        const auto data = f32.tensor_data(t);
        std::vector<uint16_t>& h = halves[t.name];
        h.resize(data.size() / 4);
        for (size_t i = 0; i < h.size(); ++i) {
            float x;
            std::memcpy(&x, data.data() + 4 * i, 4);
            h[i] = f32_to_f16(x);
        }
        const auto bytes = std::as_bytes(std::span(h));
        tensors.push_back({t.name, "F16", t.shape, std::vector<std::byte>(bytes.begin(), bytes.end())});
    }
    test::write_file(hf / "model.safetensors", test::safetensors_bytes(tensors));
    const fs::path out = convert(hf, dir.path / "f16.gguf", "f16");
    {
        const GgufFile f = GgufFile::open(out);
        EXPECT_EQ(f.find_tensor("token_embd.weight")->type, DType::F16);
        EXPECT_TRUE(same_bytes(bytes_of(f, "token_embd.weight"),
                               std::as_bytes(std::span(halves["model.embed_tokens.weight"]))));
        EXPECT_TRUE(same_bytes(bytes_of(f, "blk.2.ffn_down.weight"),
                               std::as_bytes(std::span(halves["model.layers.2.mlp.down_proj.weight"]))));
        const GgufTensorInfo* norm = f.find_tensor("blk.1.attn_norm.weight");
        ASSERT_EQ(norm->type, DType::F32);
        const auto& h = halves["model.layers.1.input_layernorm.weight"];
        std::vector<float> widened(h.size());
        for (size_t i = 0; i < h.size(); ++i) widened[i] = f16_to_f32(h[i]);
        EXPECT_TRUE(same_bytes(f.tensor_data(*norm), std::as_bytes(std::span(widened))));
    }
    Loaded m(out);
    const json c = read_json(test::shared("reference/greedy.json"))["cases"][0];
    std::vector<int32_t> tokens = m.tokenizer->encode(c["prompt"].get<std::string>(), true, true);
    Session s(*m.model, static_cast<int64_t>(tokens.size() + 16));
    auto logits = s.decode(tokens);
    std::vector<int32_t> generated;
    for (int i = 0; i < 8; ++i) {
        generated.push_back(argmax(logits));
        logits = s.decode(std::span(&generated.back(), 1));
    }
    const auto expected = c["generated_ids"].get<std::vector<int32_t>>();
    EXPECT_EQ(generated, std::vector<int32_t>(expected.begin(), expected.begin() + 8));
}

// ---- a Qwen2 directory written from qwen2-tiny-random.gguf, converted back ---------

std::string hf_name(std::string_view gguf) {
    static const std::map<std::string, std::string, std::less<>> names = [] {
        std::map<std::string, std::string, std::less<>> m;
        for (const char* hf : {"model.embed_tokens.weight", "model.norm.weight", "lm_head.weight"})
            m[gguf_tensor_name(hf)->name] = hf;
        for (int l = 0; l < 2; ++l)
            for (const char* rest : {"input_layernorm.weight", "self_attn.q_proj.weight", "self_attn.k_proj.weight",
                                     "self_attn.v_proj.weight", "self_attn.q_proj.bias", "self_attn.k_proj.bias",
                                     "self_attn.v_proj.bias", "self_attn.o_proj.weight", "post_attention_layernorm.weight",
                                     "mlp.gate_proj.weight", "mlp.up_proj.weight", "mlp.down_proj.weight"}) {
                const std::string hf = "model.layers." + std::to_string(l) + "." + rest;
                m[gguf_tensor_name(hf)->name] = hf;
            }
        return m;
    }();
    return names.find(gguf)->second;
}

// config.json, model.safetensors and a byte-level tokenizer.json with the GGUF's
// tokens and merges (Qwen2 keeps HF's Q/K order, so the rows are copied as they are).
void write_qwen2_dir(const GgufFile& f, const fs::path& dir) {
    json config = {{"architectures", {"Qwen2ForCausalLM"}},
                   {"hidden_size", *f.get_uint("qwen2.embedding_length")},
                   {"intermediate_size", *f.get_uint("qwen2.feed_forward_length")},
                   {"num_hidden_layers", *f.get_uint("qwen2.block_count")},
                   {"num_attention_heads", *f.get_uint("qwen2.attention.head_count")},
                   {"num_key_value_heads", *f.get_uint("qwen2.attention.head_count_kv")},
                   {"max_position_embeddings", *f.get_uint("qwen2.context_length")},
                   {"rms_norm_eps", *f.get_float("qwen2.attention.layer_norm_rms_epsilon")},
                   {"rope_theta", *f.get_float("qwen2.rope.freq_base")},
                   {"hidden_act", "silu"},
                   {"tie_word_embeddings", true},
                   {"vocab_size", f.find_tensor("token_embd.weight")->ne[1]},
                   {"bos_token_id", *f.get_uint("tokenizer.ggml.bos_token_id")},
                   {"torch_dtype", "float32"}};
    test::write_file(dir / "config.json", config.dump(2));
    std::vector<test::StTensor> tensors;
    for (const GgufTensorInfo& t : f.tensors()) {
        test::StTensor st;
        st.name = hf_name(t.name);
        for (int i = t.n_dims - 1; i >= 0; --i) st.shape.push_back(t.ne[i]);
        const auto data = f.tensor_data(t);
        st.data.assign(data.begin(), data.end());
        tensors.push_back(std::move(st));
    }
    test::write_file(dir / "model.safetensors", test::safetensors_bytes(tensors));

    const auto tokens = *f.get_string_array("tokenizer.ggml.tokens");
    const auto merges = *f.get_string_array("tokenizer.ggml.merges");
    json vocab = json::object();
    for (size_t i = 0; i + 1 < tokens.size(); ++i) vocab[std::string(tokens[i])] = i;
    json merge_list = json::array();
    for (std::string_view m : merges) merge_list.push_back(std::string(m));
    const int64_t eot = static_cast<int64_t>(tokens.size()) - 1;
    json tok = {{"version", "1.0"},
                {"added_tokens", {{{"id", eot}, {"content", std::string(tokens[eot])}, {"special", true},
                                   {"lstrip", false}, {"rstrip", false}, {"normalized", false}}}},
                {"normalizer", nullptr},
                {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}}},
                {"post_processor", nullptr},
                {"decoder", {{"type", "ByteLevel"}}},
                {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merge_list}, {"byte_fallback", false}}}};
    test::write_file(dir / "tokenizer.json", tok.dump());
    test::write_file(dir / "tokenizer_config.json",
                     std::string(R"({"add_bos_token": false, "eos_token": "<|endoftext|>", "bos_token": null,
                                     "chat_template": "{% for m in messages %}{{ m.content }}{% endfor %}"})"));
}

TEST(ConvertQwen2, RoundTripGivesTheOriginalTensorsTokensAndLogits) {
    const fs::path orig_path = test::shared("models/qwen2-tiny-random.gguf");
    const GgufFile orig = GgufFile::open(orig_path);
    test::TempDir dir;
    const fs::path hf = dir.path / "qwen2-hf";
    fs::create_directories(hf);
    write_qwen2_dir(orig, hf);
    const fs::path out = convert(hf, dir.path / "qwen2.gguf", "f32");

    {
        const GgufFile f = GgufFile::open(out);
        EXPECT_EQ(f.get_string("general.architecture"), "qwen2");
        EXPECT_EQ(f.find("qwen2.rope.dimension_count"), nullptr);  // as in real Qwen2 GGUFs
        EXPECT_EQ(f.get_string("tokenizer.ggml.model"), "gpt2");
        EXPECT_EQ(f.get_string("tokenizer.ggml.pre"), orig.get_string("tokenizer.ggml.pre"));
        EXPECT_EQ(f.get_string_array("tokenizer.ggml.merges"), orig.get_string_array("tokenizer.ggml.merges"));
        EXPECT_EQ(f.get_string_array("tokenizer.ggml.tokens"), orig.get_string_array("tokenizer.ggml.tokens"));
        EXPECT_EQ(f.get_uint("tokenizer.ggml.bos_token_id"), orig.get_uint("tokenizer.ggml.bos_token_id"));  // config.json
        EXPECT_EQ(f.get_uint("tokenizer.ggml.eos_token_id"), orig.get_uint("tokenizer.ggml.eos_token_id"));
        EXPECT_EQ(f.get_bool("tokenizer.ggml.add_bos_token"), false);
        EXPECT_EQ(f.get_string("tokenizer.chat_template"), "{% for m in messages %}{{ m.content }}{% endfor %}");
        EXPECT_EQ(f.tensors().size(), orig.tensors().size());  // tied: no output.weight in either
        for (const GgufTensorInfo& t : orig.tensors()) {
            SCOPED_TRACE(std::string(t.name));
            const GgufTensorInfo* o = f.find_tensor(t.name);
            ASSERT_NE(o, nullptr);
            EXPECT_EQ(o->ne, t.ne);
            EXPECT_TRUE(same_bytes(f.tensor_data(*o), orig.tensor_data(t)));  // not permuted
        }
    }
    Loaded a(orig_path), b(out);
    EXPECT_EQ(b.model->config().rope_mode, a.model->config().rope_mode);
    const json ref = read_json(test::shared("reference/qwen2_tiny.json"));
    ASSERT_FALSE(ref["cases"].empty());
    for (const json& c : ref["cases"]) {
        SCOPED_TRACE(c["name"].get<std::string>());
        const auto prompt = b.tokenizer->encode(c["prompt"].get<std::string>(), true, true);
        ASSERT_EQ(prompt, c["prompt_ids"].get<std::vector<int32_t>>());
        EXPECT_EQ(compare_runs(a, b, prompt, c["generated_ids"].get<std::vector<int32_t>>(), 0.0), 0.0);
    }
}

// ---- the CLI ------------------------------------------------------------------------

test::ProcessResult suanli_convert(std::vector<std::string> args) {
    args.insert(args.begin(), {test::suanli_binary().string(), "convert"});
    return test::run_process(std::move(args));
}

TEST(ConvertCli, WritesTheFileWithProgressAndSummary) {
    test::TempDir dir;
    const fs::path out = dir.path / "st.gguf";
    const auto r = suanli_convert({test::shared("models/stories260K-hf").string(), out.string(), "--type", "q8_0", "-t", "2"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("blk.0.attn_q.weight <- model.layers.0.self_attn.q_proj.weight"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("rows permuted"), std::string::npos);
    EXPECT_NE(r.err.find("output tied to token_embd"), std::string::npos);
    EXPECT_NE(r.err.find("wrote"), std::string::npos);
    EXPECT_EQ(GgufFile::open(out).get_uint("general.file_type"), 7u);
    for (const auto& e : fs::directory_iterator(dir.path)) EXPECT_EQ(e.path(), out);  // no temporary files left
}

TEST(ConvertCli, ErrorsAreClear) {
    test::TempDir dir;
    const std::string hf = test::shared("models/stories260K-hf").string(), out = (dir.path / "x.gguf").string();
    auto expect = [&](std::vector<std::string> args, int code, const std::string& part) {
        const auto r = suanli_convert(args);
        EXPECT_EQ(r.exit_code, code) << r.err;
        EXPECT_NE(r.err.find(part), std::string::npos) << "stderr: " << r.err << "\nexpected: " << part;
    };
    expect({hf, out, "--type", "q3_k"}, 2, "valid types: f32, f16, bf16, q8_0, q4_0");
    expect({hf}, 2, "OUT");
    expect({(dir.path / "missing").string(), out}, 1, "no such directory");
    expect({test::shared("models/stories260K.gguf").string(), out}, 1, "not a directory");
    expect({dir.path.string(), out}, 1, "missing config.json");
    expect({hf, (dir.path / "no" / "x.gguf").string()}, 1, "cannot write");
    const fs::path bad = dir.path / "bad";
    fs::create_directories(bad);
    for (const char* f : {"tokenizer.json", "tokenizer_config.json", "model.safetensors"})
        fs::copy_file(fs::path(hf) / f, bad / f);
    test::write_file(bad / "config.json", std::string(R"({"architectures": ["GPT2LMHeadModel"]})"));
    expect({bad.string(), out}, 1, "architecture 'GPT2LMHeadModel' is not supported");
    EXPECT_FALSE(fs::exists(out));
}

}  // namespace
}  // namespace suanli
