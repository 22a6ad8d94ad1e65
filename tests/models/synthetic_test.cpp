// Synthetic models (`suanli synth`): the files load, run with finite logits, and the
// command behaves as documented.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <memory>
#include <string>
#include <unistd.h>
#include <vector>

#include "backends/reference/reference_backend.h"
#include "core/device.h"
#include "core/error.h"
#include "formats/gguf.h"
#include "formats/gguf_writer.h"
#include "models/model.h"
#include "models/synthetic.h"
#include "run_process.h"
#include "runtime/session.h"
#include "test_paths.h"
#include "tokenizer/tokenizer.h"

namespace suanli {
namespace {

std::filesystem::path temp_path(const std::string& name) {
    return std::filesystem::temp_directory_path() / ("suanli-synth-" + std::to_string(::getpid()) + "-" + name);
}

SyntheticShape tiny_shape(const std::string& arch) {
    SyntheticShape s;
    s.name = "tiny";
    s.architecture = arch;
    s.n_embd = 64, s.n_layer = 2, s.n_head = 4, s.n_head_kv = 2, s.n_ff = 128, s.n_vocab = 300;
    s.vocab = "bytes";
    return s;
}

void expect_runs(const std::filesystem::path& path, int64_t n_vocab) {
    Device device(reference_backend(), 0, 1);
    const std::unique_ptr<Model> model = Model::load(path, device);
    EXPECT_EQ(model->config().n_vocab, n_vocab);
    const std::unique_ptr<Tokenizer> tok = load_tokenizer(*model);
    EXPECT_FALSE(tok->encode("hello", true, true).empty());  // byte fallback covers any text
    Session session(*model, 32);
    const std::vector<int32_t> prompt{1, 50, 200, static_cast<int32_t>(n_vocab - 1)};  // the last: a <pad_N> token
    std::span<const float> logits = session.decode(prompt);
    ASSERT_EQ(static_cast<int64_t>(logits.size()), n_vocab);
    float spread = 0;
    for (float v : logits) {
        ASSERT_TRUE(std::isfinite(v));
        spread = std::max(spread, std::abs(v - logits[0]));
    }
    EXPECT_GT(spread, 0.0f);  // random weights, not a constant
    const int32_t next = 7;
    logits = session.decode(std::span(&next, 1));
    for (float v : logits) ASSERT_TRUE(std::isfinite(v));
}

TEST(Synthetic, LlamaLoadsAndRunsWithFiniteLogits) {
    const auto path = temp_path("llama.gguf");
    SyntheticOptions o;
    write_synthetic_model(tiny_shape("llama"), o, path);
    expect_runs(path, 300);
    const GgufFile f = GgufFile::open(path);
    EXPECT_NE(f.find_tensor("output.weight"), nullptr);
    EXPECT_EQ(f.find_tensor("token_embd.weight")->type, DType::F16);
    EXPECT_EQ(f.find_tensor("blk.0.attn_norm.weight")->type, DType::F32);
    EXPECT_EQ(f.get_string_array("tokenizer.ggml.tokens")->back(), "<pad_299>");
    std::filesystem::remove(path);
}

TEST(Synthetic, Qwen2TiedWithBiasesRuns) {
    const auto path = temp_path("qwen2.gguf");
    SyntheticShape s = tiny_shape("qwen2");
    s.tied_output = true;
    SyntheticOptions o;
    o.type = DType::F32;
    write_synthetic_model(s, o, path);
    expect_runs(path, 300);
    const GgufFile f = GgufFile::open(path);
    EXPECT_EQ(f.find_tensor("output.weight"), nullptr);
    EXPECT_NE(f.find_tensor("blk.1.attn_k.bias"), nullptr);
    std::filesystem::remove(path);
}

TEST(Synthetic, SameSeedSameBytesOtherSeedOtherBytes) {
    const auto a = temp_path("a.gguf"), b = temp_path("b.gguf"), c = temp_path("c.gguf");
    SyntheticOptions o;
    write_synthetic_model(tiny_shape("llama"), o, a);
    write_synthetic_model(tiny_shape("llama"), o, b);
    o.seed = 2;
    write_synthetic_model(tiny_shape("llama"), o, c);
    const GgufFile fa = GgufFile::open(a), fb = GgufFile::open(b), fc = GgufFile::open(c);
    EXPECT_TRUE(std::ranges::equal(fa.bytes(), fb.bytes()));
    EXPECT_FALSE(std::ranges::equal(fa.bytes(), fc.bytes()));
    for (const auto& p : {a, b, c}) std::filesystem::remove(p);
}

TEST(Synthetic, NamedShapesHaveRealSizes) {
    const auto t = synthetic_shape("tinyllama");
    ASSERT_TRUE(t);
    EXPECT_EQ(t->n_embd, 2048);
    EXPECT_EQ(t->n_layer, 22);
    // TinyLlama-1.1B in F16: about 2.2 GB.
    EXPECT_NEAR(synthetic_weight_bytes(*t, DType::F16) / 1e9, 2.2, 0.05);
    EXPECT_EQ(synthetic_shape("qwen2.5-0.5b")->n_vocab, 151936);
    EXPECT_EQ(synthetic_shape("llama3.2-1b")->n_vocab, 128256);
    EXPECT_FALSE(synthetic_shape("gpt-5"));
}

TEST(Synthetic, VocabularyLargerThanTheModelIsAnError) {
    SyntheticShape s = tiny_shape("llama");
    s.n_vocab = 100;  // fewer rows than the 259 byte-vocabulary tokens
    EXPECT_THROW(write_synthetic_model(s, {}, temp_path("small.gguf")), Error);
}

TEST(GgufWriterGenerated, SameBytesAsATensorHeldInMemory) {
    std::vector<float> values(96);
    for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i) * 0.5f;
    const auto bytes = std::as_bytes(std::span(values));
    GgufWriter held, generated;
    held.add_tensor("a", DType::F32, {32, 3}, bytes);
    held.add_tensor("b", DType::F32, {5}, bytes.first(20));
    generated.add_tensor_generated("a", DType::F32, {32, 3}, [&](std::span<std::byte> out) {
        ASSERT_EQ(out.size(), bytes.size());
        std::ranges::copy(bytes, out.begin());
    });
    generated.add_tensor("b", DType::F32, {5}, bytes.first(20));
    EXPECT_EQ(held.to_bytes(), generated.to_bytes());
    const auto path = temp_path("generated.gguf");
    generated.write(path);
    const GgufFile f = GgufFile::open(path);
    EXPECT_TRUE(std::ranges::equal(f.bytes(), held.to_bytes()));
    std::filesystem::remove(path);
    EXPECT_THROW(generated.add_tensor_generated("c", DType::Q8_0, {31}, [](std::span<std::byte>) {}), Error);
}

test::ProcessResult suanli(std::vector<std::string> args) {
    args.insert(args.begin(), test::suanli_binary().string());
    return test::run_process(std::move(args));
}

TEST(SynthCommand, HelpUnknownShapeAndCustomShape) {
    const auto help = suanli({"synth", "--help"});
    EXPECT_EQ(help.exit_code, 0);
    EXPECT_NE(help.out.find("tinyllama"), std::string::npos);

    const auto unknown = suanli({"synth", "--shape", "nonesuch", "-o", temp_path("x.gguf").string()});
    EXPECT_EQ(unknown.exit_code, 2);
    EXPECT_NE(unknown.err.find("unknown shape"), std::string::npos);

    const auto path = temp_path("cli.gguf");
    const auto made = suanli({"synth", "--dim", "64", "--layers", "2", "--heads", "4", "--kv-heads", "2", "--ffn",
                              "128", "--vocab-size", "512", "-o", path.string(), "--seed", "3"});
    ASSERT_EQ(made.exit_code, 0) << made.err;
    expect_runs(path, 512);
    std::filesystem::remove(path);
}

}  // namespace
}  // namespace suanli
