// The reader on the real files in ../shared: metadata, tensor infos and data
// checked against values read from the files by hand.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <fstream>

#include "formats/gguf.h"
#include "gguf_test_util.h"
#include "test_paths.h"

namespace suanli {
namespace {

using ::testing::HasSubstr;
using test::shared;

// Reads `count` floats at `offset` of a file, without the reader.
std::vector<float> floats_at(const std::filesystem::path& path, uint64_t offset, size_t count) {
    std::ifstream in(path, std::ios::binary);
    in.seekg(static_cast<std::streamoff>(offset));
    std::vector<float> out(count);
    in.read(reinterpret_cast<char*>(out.data()), static_cast<std::streamsize>(count * sizeof(float)));
    EXPECT_TRUE(in.good());
    return out;
}

std::string error_of(auto&& fn) {
    try {
        fn();
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

TEST(GgufReader, Stories260KMetadata) {
    const GgufFile f = GgufFile::open(shared("models/stories260K.gguf"));
    EXPECT_EQ(f.version(), 3u);
    EXPECT_EQ(f.alignment(), 32u);
    EXPECT_EQ(f.file_size(), 1185376u);
    EXPECT_EQ(f.metadata().size(), 19u);
    EXPECT_EQ(f.get_string("general.architecture"), "llama");
    EXPECT_EQ(f.get_string("tokenizer.ggml.model"), "llama");
    EXPECT_EQ(f.get_uint("llama.embedding_length"), 64u);
    EXPECT_EQ(f.get_int("llama.embedding_length"), 64);
    EXPECT_EQ(f.get_uint("llama.block_count"), 5u);
    EXPECT_EQ(f.get_uint("llama.feed_forward_length"), 172u);
    EXPECT_EQ(f.get_uint("llama.attention.head_count"), 8u);
    EXPECT_EQ(f.get_uint("llama.attention.head_count_kv"), 4u);
    EXPECT_EQ(f.get_uint("tokenizer.ggml.seperator_token_id"), 4294967295u);
    EXPECT_EQ(f.get_int("tokenizer.ggml.seperator_token_id"), 4294967295);
    EXPECT_NEAR(*f.get_float("llama.attention.layer_norm_rms_epsilon"), 1e-5, 1e-9);
    EXPECT_EQ(f.get_string("no.such.key"), std::nullopt);
    EXPECT_EQ(f.find("no.such.key"), nullptr);

    const GgufValue* v = f.find("llama.context_length");
    ASSERT_NE(v, nullptr);
    EXPECT_EQ(v->type, GgufType::U32);
    EXPECT_EQ(v->as_u64, 2048u);
    EXPECT_EQ(v->as_i64, 2048);

    const auto tokens = f.get_string_array("tokenizer.ggml.tokens");
    ASSERT_TRUE(tokens);
    ASSERT_EQ(tokens->size(), 512u);
    EXPECT_EQ((*tokens)[0], "<unk>");
    EXPECT_EQ((*tokens)[1], "<s>");
    EXPECT_EQ((*tokens)[2], "</s>");
    const auto scores = f.get_f32_array("tokenizer.ggml.scores");
    ASSERT_TRUE(scores);
    EXPECT_EQ(scores->size(), 512u);
    const auto types = f.get_i32_array("tokenizer.ggml.token_type");
    ASSERT_TRUE(types);
    ASSERT_EQ(types->size(), 512u);
    EXPECT_EQ((*types)[0], 2);  // unknown
    EXPECT_EQ((*types)[1], 3);  // control
}

TEST(GgufReader, Stories260KWrongTypesNameTheKey) {
    const GgufFile f = GgufFile::open(shared("models/stories260K.gguf"));
    EXPECT_THAT(error_of([&] { f.get_string("llama.embedding_length"); }),
                HasSubstr("key 'llama.embedding_length' is U32, expected STRING"));
    EXPECT_THAT(error_of([&] { f.get_uint("general.architecture"); }),
                HasSubstr("key 'general.architecture' is STRING, expected an integer"));
    EXPECT_THAT(error_of([&] { f.get_float("llama.block_count"); }),
                HasSubstr("key 'llama.block_count' is U32, expected F32 or F64"));
    EXPECT_THAT(error_of([&] { f.get_bool("llama.block_count"); }), HasSubstr("expected BOOL"));
    EXPECT_THAT(error_of([&] { f.get_f32_array("tokenizer.ggml.tokens"); }),
                HasSubstr("key 'tokenizer.ggml.tokens' is an array of STRING, expected F32"));
    EXPECT_THAT(error_of([&] { f.get_string_array("tokenizer.ggml.scores"); }),
                HasSubstr("is an array of F32, expected STRING"));
    EXPECT_THAT(error_of([&] { f.get_i32_array("general.name"); }),
                HasSubstr("key 'general.name' is STRING, expected an array of integers"));
    EXPECT_EQ(error_of([&] { f.get_uint("llama.block_count"); }), "");
    // Every message names the file.
    EXPECT_THAT(error_of([&] { f.get_bool("general.name"); }), HasSubstr("stories260K.gguf: "));
}

TEST(GgufReader, Stories260KTensors) {
    const auto path = shared("models/stories260K.gguf");
    const GgufFile f = GgufFile::open(path);
    ASSERT_EQ(f.tensors().size(), 48u);  // embeddings, output norm, output, 9 per block x 5

    const GgufTensorInfo* embd = f.find_tensor("token_embd.weight");
    ASSERT_NE(embd, nullptr);
    EXPECT_EQ(embd->type, DType::F32);
    EXPECT_EQ(embd->n_dims, 2);
    EXPECT_EQ(embd->ne, (std::array<int64_t, 4>{64, 512, 1, 1}));
    EXPECT_EQ(embd->elements(), 64 * 512);
    EXPECT_EQ(embd->size, 64u * 512 * 4);
    // Infos end at byte 14152 (read with a separate script); data starts at the next multiple of 32.
    EXPECT_EQ(embd->offset, 14176u);
    EXPECT_EQ(f.find_tensor("no.such.tensor"), nullptr);

    const std::span<const std::byte> data = f.tensor_data(*embd);
    ASSERT_EQ(data.size(), embd->size);
    std::vector<float> got(16);
    std::memcpy(got.data(), data.data(), got.size() * sizeof(float));
    EXPECT_EQ(got, floats_at(path, 14176, 16));

    uint64_t end = 0;
    for (const GgufTensorInfo& t : f.tensors()) {
        SCOPED_TRACE(std::string(t.name));
        EXPECT_EQ(t.type, DType::F32);
        EXPECT_EQ(t.offset % 32, 0u);
        EXPECT_EQ(t.size, static_cast<uint64_t>(t.elements()) * 4);
        EXPECT_LE(t.offset + t.size, f.file_size());
        EXPECT_GE(t.offset, 14176u);
        EXPECT_EQ(f.tensor_data(t).size(), t.size);
        end = std::max(end, t.offset + t.size);
    }
    EXPECT_EQ(end, f.file_size());  // the last tensor ends the file

    const GgufTensorInfo* last = f.find_tensor("blk.4.ffn_norm.weight");
    ASSERT_NE(last, nullptr);
    EXPECT_EQ(last->ne, (std::array<int64_t, 4>{64, 1, 1, 1}));
    std::vector<float> tail(64);
    std::memcpy(tail.data(), f.tensor_data(*last).data(), 64 * sizeof(float));
    EXPECT_EQ(tail, floats_at(path, f.file_size() - 256, 64));
}

TEST(GgufReader, ParseOfBytesMatchesOpen) {
    const auto bytes = test::read_bytes(shared("models/stories260K.gguf"));
    const GgufFile a = GgufFile::parse(bytes, "mem");
    const GgufFile b = GgufFile::open(shared("models/stories260K.gguf"));
    EXPECT_EQ(a.name(), "mem");
    ASSERT_EQ(a.tensors().size(), b.tensors().size());
    for (size_t i = 0; i < a.tensors().size(); ++i) {
        EXPECT_EQ(a.tensors()[i].name, b.tensors()[i].name);
        EXPECT_EQ(a.tensors()[i].offset, b.tensors()[i].offset);
        EXPECT_EQ(a.tensors()[i].size, b.tensors()[i].size);
    }
    EXPECT_EQ(a.tensor_data(a.tensors()[0]).data(), bytes.data() + a.tensors()[0].offset);
}

TEST(GgufReader, MovedFileKeepsViews) {
    GgufFile f = GgufFile::open(shared("models/stories260K.gguf"));
    const std::string_view arch = *f.get_string("general.architecture");
    GgufFile g = std::move(f);
    EXPECT_EQ(*g.get_string("general.architecture"), arch);
    EXPECT_EQ(arch, "llama");
    EXPECT_EQ(g.tensors().size(), 48u);
}

TEST(GgufReader, Qwen2TinyRandom) {
    const GgufFile f = GgufFile::open(shared("models/qwen2-tiny-random.gguf"));
    EXPECT_EQ(f.get_string("general.architecture"), "qwen2");
    EXPECT_EQ(f.get_uint("qwen2.embedding_length"), 64u);
    EXPECT_EQ(f.get_uint("qwen2.block_count"), 2u);
    EXPECT_DOUBLE_EQ(*f.get_float("qwen2.rope.freq_base"), 1000000.0);
    EXPECT_EQ(f.get_string("tokenizer.ggml.pre"), "gpt-2");
    EXPECT_EQ(f.get_string_array("tokenizer.ggml.tokens")->size(), 50257u);
    EXPECT_EQ(f.get_string_array("tokenizer.ggml.merges")->size(), 50000u);
    EXPECT_EQ(f.tensors().size(), 26u);
    const GgufTensorInfo* embd = f.find_tensor("token_embd.weight");
    ASSERT_NE(embd, nullptr);
    EXPECT_EQ(embd->ne, (std::array<int64_t, 4>{64, 50257, 1, 1}));
    // Infos end at byte 1768370; data starts at 1768384.
    EXPECT_EQ(embd->offset, 1768384u);
    std::vector<float> got(8);
    std::memcpy(got.data(), f.tensor_data(*embd).data(), 8 * sizeof(float));
    EXPECT_EQ(got, floats_at(shared("models/qwen2-tiny-random.gguf"), 1768384, 8));
    for (const GgufTensorInfo& t : f.tensors()) EXPECT_LE(t.offset + t.size, f.file_size());
}

TEST(GgufReader, Gpt2VocabWithoutTensors) {
    const auto start = std::chrono::steady_clock::now();
    const GgufFile f = GgufFile::open(shared("vocab/ggml-vocab-gpt-2.gguf"));
    const auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    RecordProperty("parse_ms", std::to_string(ms));
    EXPECT_TRUE(f.tensors().empty());
    EXPECT_EQ(f.get_string("tokenizer.ggml.model"), "gpt2");
    EXPECT_EQ(f.get_uint("tokenizer.ggml.bos_token_id"), 50256u);
    const GgufValue* tokens = f.find("tokenizer.ggml.tokens");
    ASSERT_NE(tokens, nullptr);
    EXPECT_EQ(tokens->type, GgufType::ARRAY);
    EXPECT_EQ(tokens->array_type, GgufType::STRING);
    EXPECT_EQ(tokens->array_size, 50257u);
    ASSERT_EQ(tokens->array_strings.size(), 50257u);
    EXPECT_EQ(tokens->array_strings[0], "!");
    EXPECT_EQ(tokens->array_strings[50256], "<|endoftext|>");
    const auto merges = f.get_string_array("tokenizer.ggml.merges");
    ASSERT_TRUE(merges);
    EXPECT_EQ(merges->size(), 50000u);
    EXPECT_EQ((*merges)[0], "\xC4\xA0 t");  // "Ġ t"
    const auto types = f.get_i32_array("tokenizer.ggml.token_type");
    ASSERT_TRUE(types);
    EXPECT_EQ(types->size(), 50257u);
    EXPECT_EQ(f.file_size(), 1766807u);
    // Generous bound: the parse is a few milliseconds; this only catches a per-string blow-up.
    EXPECT_LT(ms, 2000.0);
}

TEST(GgufReader, MissingFileNamesThePath) {
    EXPECT_THAT(error_of([] { GgufFile::open("/nonexistent/dir/x.gguf"); }), HasSubstr("/nonexistent/dir/x.gguf"));
}

}  // namespace
}  // namespace suanli
