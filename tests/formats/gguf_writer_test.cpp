// The writer: every value type and tensor layout read back by the reader, files
// on disk equal to the bytes in memory, and a real file copied byte for byte.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <limits>
#include <unistd.h>

#include "formats/gguf.h"
#include "formats/gguf_writer.h"
#include "gguf_test_util.h"
#include "test_paths.h"

namespace suanli {
namespace {

using ::testing::HasSubstr;

std::vector<std::byte> pattern(size_t n, unsigned seed) {
    std::vector<std::byte> out(n);
    for (size_t i = 0; i < n; ++i) out[i] = static_cast<std::byte>((i * 131 + seed * 17 + 7) & 0xff);
    return out;
}

std::string writer_error(auto&& fn) {
    try {
        fn();
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

TEST(GgufWriter, EmptyFileParses) {
    GgufWriter w;
    const std::vector<std::byte> bytes = w.to_bytes();
    EXPECT_EQ(bytes.size(), 32u);  // 24-byte header padded to the alignment
    const GgufFile f = GgufFile::parse(bytes, "empty");
    EXPECT_EQ(f.version(), 3u);
    EXPECT_TRUE(f.metadata().empty());
    EXPECT_TRUE(f.tensors().empty());
}

TEST(GgufWriter, RoundTripsEveryValueType) {
    GgufWriter w;
    w.set_u8("u8", 200);
    w.set_i8("i8", -100);
    w.set_u16("u16", 60000);
    w.set_i16("i16", -30000);
    w.set_u32("u32", 4000000000u);
    w.set_i32("i32", -2000000000);
    w.set_u64("u64", std::numeric_limits<uint64_t>::max());
    w.set_i64("i64", std::numeric_limits<int64_t>::min());
    w.set_f32("f32", 0.25f);
    w.set_f64("f64", -1e300);
    w.set_bool("yes", true);
    w.set_bool("no", false);
    w.set_string("str", "hello \xE4\xB8\x96\xE7\x95\x8C");
    w.set_string("empty", "");
    w.set_array("a.u8", std::vector<uint8_t>{1, 2, 255});
    w.set_array("a.i8", std::vector<int8_t>{-1, 0, 1});
    w.set_array("a.u16", std::vector<uint16_t>{65535});
    w.set_array("a.i16", std::vector<int16_t>{-2});
    w.set_array("a.u32", std::vector<uint32_t>{0, 7, 4000000000u});
    w.set_array("a.i32", std::vector<int32_t>{-5, 6, std::numeric_limits<int32_t>::min()});
    w.set_array("a.u64", std::vector<uint64_t>{1ull << 40});
    w.set_array("a.i64", std::vector<int64_t>{-3, 1ll << 40});
    w.set_array("a.f32", std::vector<float>{1.5f, -2.0f});
    w.set_array("a.f64", std::vector<double>{3.25});
    const std::array<bool, 3> bools{true, false, true};
    w.set_array("a.bool", std::span<const bool>(bools));
    w.set_array("a.str", std::vector<std::string>{"x", "", "yz"});
    w.set_array("a.sv", std::vector<std::string_view>{"p", "q"});
    w.set_array("a.empty", std::vector<float>{});

    const std::vector<std::byte> bytes = w.to_bytes();
    const GgufFile f = GgufFile::parse(bytes, "roundtrip");
    EXPECT_EQ(f.metadata().size(), w.metadata_count());
    EXPECT_EQ(f.metadata()[0].key, "u8");  // order kept
    EXPECT_EQ(f.get_uint("u8"), 200u);
    EXPECT_EQ(f.get_int("i8"), -100);
    EXPECT_EQ(f.get_uint("u16"), 60000u);
    EXPECT_EQ(f.get_int("i16"), -30000);
    EXPECT_EQ(f.get_uint("u32"), 4000000000u);
    EXPECT_EQ(f.get_int("u32"), 4000000000);
    EXPECT_EQ(f.get_int("i32"), -2000000000);
    EXPECT_EQ(f.get_uint("u64"), std::numeric_limits<uint64_t>::max());
    EXPECT_EQ(f.get_int("i64"), std::numeric_limits<int64_t>::min());
    EXPECT_EQ(f.find("f32")->type, GgufType::F32);
    EXPECT_EQ(f.get_float("f32"), 0.25);
    EXPECT_EQ(f.get_float("f64"), -1e300);
    EXPECT_EQ(f.get_bool("yes"), true);
    EXPECT_EQ(f.get_bool("no"), false);
    EXPECT_EQ(f.get_string("str"), "hello \xE4\xB8\x96\xE7\x95\x8C");
    EXPECT_EQ(f.get_string("empty"), "");

    // Integers that do not fit the getter's type are errors naming the key.
    EXPECT_THAT(writer_error([&] { f.get_int("u64"); }), HasSubstr("key 'u64'"));
    EXPECT_THAT(writer_error([&] { f.get_uint("i8"); }), HasSubstr("key 'i8' is -100"));

    EXPECT_EQ(f.get_i32_array("a.u8"), (std::vector<int32_t>{1, 2, 255}));
    EXPECT_EQ(f.get_i32_array("a.i8"), (std::vector<int32_t>{-1, 0, 1}));
    EXPECT_EQ(f.get_i32_array("a.u16"), (std::vector<int32_t>{65535}));
    EXPECT_EQ(f.get_i32_array("a.i16"), (std::vector<int32_t>{-2}));
    EXPECT_EQ(f.get_i32_array("a.i32"), (std::vector<int32_t>{-5, 6, std::numeric_limits<int32_t>::min()}));
    EXPECT_THAT(writer_error([&] { f.get_i32_array("a.u32"); }),
                HasSubstr("element 2 of array 'a.u32' does not fit"));
    EXPECT_THAT(writer_error([&] { f.get_i32_array("a.u64"); }), HasSubstr("does not fit"));
    EXPECT_THAT(writer_error([&] { f.get_i32_array("a.i64"); }), HasSubstr("element 1 of array 'a.i64'"));
    EXPECT_EQ(f.get_f32_array("a.f32"), (std::vector<float>{1.5f, -2.0f}));
    EXPECT_EQ(f.get_f32_array("a.empty"), std::vector<float>{});
    EXPECT_EQ(f.get_string_array("a.str"), (std::vector<std::string_view>{"x", "", "yz"}));
    EXPECT_EQ(f.get_string_array("a.sv"), (std::vector<std::string_view>{"p", "q"}));

    const GgufValue* u64s = f.find("a.u64");
    ASSERT_EQ(u64s->array_bytes.size(), 8u);
    EXPECT_EQ(test::peek<uint64_t>(u64s->array_bytes, 0), 1ull << 40);
    const GgufValue* f64s = f.find("a.f64");
    EXPECT_EQ(f64s->array_type, GgufType::F64);
    EXPECT_EQ(test::peek<double>(f64s->array_bytes, 0), 3.25);
    const GgufValue* b = f.find("a.bool");
    EXPECT_EQ(b->array_type, GgufType::BOOL);
    ASSERT_EQ(b->array_bytes.size(), 3u);
    EXPECT_EQ(b->array_bytes[0], std::byte{1});
    EXPECT_EQ(b->array_bytes[1], std::byte{0});
}

TEST(GgufWriter, SettingAKeyAgainReplacesItInPlace) {
    GgufWriter w;
    w.set_string("a", "first");
    w.set_u32("b", 1);
    w.set_u32("a", 2);
    EXPECT_EQ(w.metadata_count(), 2u);
    EXPECT_TRUE(w.remove("b"));
    EXPECT_FALSE(w.remove("b"));
    const auto bytes = w.to_bytes();
    const GgufFile f = GgufFile::parse(bytes, "replace");
    ASSERT_EQ(f.metadata().size(), 1u);
    EXPECT_EQ(f.metadata()[0].key, "a");
    EXPECT_EQ(f.get_uint("a"), 2u);
}

TEST(GgufWriter, RoundTripsTensorsWithAlignment) {
    GgufWriter w;
    w.set_alignment(64);
    w.set_string("general.architecture", "test");
    const auto a = pattern(4 * 3, 1);             // F32 [3]
    const auto b = pattern(2 * 4 * 5 * 2 * 3, 2);   // F16 [4, 5, 2, 3]
    const auto c = pattern(34 * 2 * 3, 3);          // Q8_0 [64, 3]
    const auto d = pattern(144 * 1, 4);             // Q4_K [256]
    w.add_tensor("a", DType::F32, {3}, a);
    w.add_tensor("b", DType::F16, {4, 5, 2, 3}, b);
    w.add_tensor("c", DType::Q8_0, {64, 3}, c);
    w.add_tensor("d", DType::Q4_K, {256}, std::vector<std::byte>(d));
    EXPECT_EQ(w.tensor_count(), 4u);

    const std::vector<std::byte> bytes = w.to_bytes();
    EXPECT_EQ(bytes.size() % 64, 0u);
    const GgufFile f = GgufFile::parse(bytes, "tensors");
    EXPECT_EQ(f.alignment(), 64u);
    EXPECT_EQ(f.get_uint("general.alignment"), 64u);
    ASSERT_EQ(f.tensors().size(), 4u);
    const std::vector<std::byte>* want[] = {&a, &b, &c, &d};
    const DType types[] = {DType::F32, DType::F16, DType::Q8_0, DType::Q4_K};
    const std::array<int64_t, 4> shapes[] = {{3, 1, 1, 1}, {4, 5, 2, 3}, {64, 3, 1, 1}, {256, 1, 1, 1}};
    const int dims[] = {1, 4, 2, 1};
    for (size_t i = 0; i < 4; ++i) {
        const GgufTensorInfo& t = f.tensors()[i];
        EXPECT_EQ(t.type, types[i]);
        EXPECT_EQ(t.ne, shapes[i]);
        EXPECT_EQ(t.n_dims, dims[i]);
        EXPECT_EQ(t.offset % 64, 0u);
        const auto data = f.tensor_data(t);
        EXPECT_TRUE(std::equal(data.begin(), data.end(), want[i]->begin(), want[i]->end())) << t.name;
    }
}

TEST(GgufWriter, WriteToFileEqualsToBytes) {
    GgufWriter w;
    w.set_u32("x", 5);
    w.add_tensor("t", DType::F32, {5}, pattern(20, 9));
    w.add_tensor("u", DType::I8, {3}, pattern(3, 8));
    const auto path = std::filesystem::temp_directory_path() / ("suanli_gguf_writer_" + std::to_string(::getpid()) + ".gguf");
    w.write(path);
    const auto on_disk = test::read_bytes(path);
    EXPECT_EQ(on_disk, w.to_bytes());
    const GgufFile f = GgufFile::open(path);
    EXPECT_EQ(f.tensors().size(), 2u);
    EXPECT_FALSE(std::filesystem::exists(path.string() + ".tmp"));
    std::filesystem::remove(path);
    EXPECT_THAT(writer_error([&] { w.write("/nonexistent/dir/out.gguf"); }), HasSubstr("/nonexistent/dir/out.gguf"));
}

// A file from llama.cpp, copied key by key and tensor by tensor, comes out byte for byte.
TEST(GgufWriter, CopiesStories260KExactly) {
    const auto path = test::shared("models/stories260K.gguf");
    const GgufFile src = GgufFile::open(path);
    GgufWriter w;
    for (const GgufKeyValue& kv : src.metadata()) w.set_value(kv.key, kv.value);
    for (const GgufTensorInfo& t : src.tensors())
        w.add_tensor(std::string(t.name), t.type, std::vector<int64_t>(t.ne.begin(), t.ne.begin() + t.n_dims),
                     src.tensor_data(t));
    const std::vector<std::byte> bytes = w.to_bytes();
    EXPECT_EQ(bytes, test::read_bytes(path));
}

TEST(GgufWriter, CopiesGpt2Vocab) {
    const auto path = test::shared("vocab/ggml-vocab-gpt-2.gguf");
    const GgufFile src = GgufFile::open(path);
    GgufWriter w;
    for (const GgufKeyValue& kv : src.metadata()) w.set_value(kv.key, kv.value);
    const std::vector<std::byte> bytes = w.to_bytes();
    const GgufFile f = GgufFile::parse(bytes, "copy");
    EXPECT_EQ(f.get_string_array("tokenizer.ggml.merges"), src.get_string_array("tokenizer.ggml.merges"));
    EXPECT_EQ(f.get_i32_array("tokenizer.ggml.token_type"), src.get_i32_array("tokenizer.ggml.token_type"));
    // llama.cpp wrote this file without padding after the infos; ours pads to 32.
    const auto original = test::read_bytes(path);
    ASSERT_GE(bytes.size(), original.size());
    EXPECT_TRUE(std::equal(original.begin(), original.end(), bytes.begin()));
}

TEST(GgufWriter, RejectsBadInput) {
    GgufWriter w;
    w.add_tensor("t", DType::F32, {2}, pattern(8, 0));
    EXPECT_THAT(writer_error([&] { w.add_tensor("t", DType::F32, {2}, pattern(8, 0)); }),
                HasSubstr("duplicate tensor name 't'"));
    EXPECT_THAT(writer_error([&] { w.add_tensor("u", DType::F32, {2}, pattern(7, 0)); }),
                HasSubstr("needs 8 bytes of F32 data, got 7"));
    EXPECT_THAT(writer_error([&] { w.add_tensor("u", DType::F32, {}, pattern(4, 0)); }), HasSubstr("0 dimensions"));
    EXPECT_THAT(writer_error([&] { w.add_tensor("u", DType::F32, {1, 1, 1, 1, 1}, pattern(4, 0)); }),
                HasSubstr("5 dimensions"));
    EXPECT_THAT(writer_error([&] { w.add_tensor("u", DType::F32, {0}, pattern(0, 0)); }), HasSubstr("dimension of size 0"));
    EXPECT_THAT(writer_error([&] { w.add_tensor("u", DType::Q8_0, {16}, pattern(17, 0)); }),
                HasSubstr("not a multiple of the Q8_0 block size 32"));
    EXPECT_THAT(writer_error([&] { w.add_tensor("u", DType::F32, {1ll << 62, 4}, pattern(4, 0)); }),
                HasSubstr("overflows"));
    EXPECT_THAT(writer_error([&] { w.set_alignment(48); }), HasSubstr("alignment 48 is not a power of two"));
    EXPECT_THAT(writer_error([&] { w.set_alignment(0); }), HasSubstr("not a power of two"));
    EXPECT_THAT(writer_error([&] { w.set_string("general.alignment", "64"); }),
                HasSubstr("general.alignment must be U32"));
    const auto eight = pattern(8, 0);
    GgufValue bad;
    bad.type = GgufType::ARRAY;
    bad.array_type = GgufType::U32;
    bad.array_size = 3;
    bad.array_bytes = eight;
    EXPECT_THAT(writer_error([&] { w.set_value("k", bad); }), HasSubstr("array 'k' of 3 U32 values has 8 bytes"));
    bad.array_type = GgufType::ARRAY;
    EXPECT_THAT(writer_error([&] { w.set_value("k", bad); }), HasSubstr("nested arrays are not supported"));
    EXPECT_EQ(w.metadata_count(), 0u);
    EXPECT_EQ(w.alignment(), 32u);
    EXPECT_EQ(w.tensor_count(), 1u);
    // Still a valid file after the rejected calls.
    const auto bytes = w.to_bytes();
    EXPECT_EQ(GgufFile::parse(bytes, "after").tensors().size(), 1u);
}

TEST(GgufWriter, AlignmentChangeAfterTensorsRelaysData) {
    GgufWriter w;
    w.add_tensor("a", DType::F32, {1}, pattern(4, 1));
    w.add_tensor("b", DType::F32, {1}, pattern(4, 2));
    w.set_alignment(256);
    const auto bytes = w.to_bytes();
    const GgufFile f = GgufFile::parse(bytes, "align");
    EXPECT_EQ(f.tensors()[1].offset - f.tensors()[0].offset, 256u);
    EXPECT_TRUE(w.remove("general.alignment"));
    EXPECT_EQ(w.alignment(), 32u);
}

}  // namespace
}  // namespace suanli
