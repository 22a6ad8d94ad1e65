// Damaged files: every kind of damage the reader checks for gives its own
// message, and cutting a file short anywhere gives an Error, never a crash.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>

#include "formats/gguf.h"
#include "formats/gguf_writer.h"
#include "gguf_test_util.h"
#include "test_paths.h"

namespace suanli {
namespace {

using ::testing::HasSubstr;
using test::find_bytes;
using test::parse_error;
using test::poke;

// A small file with one of each construct the tests damage. The last tensor is a
// multiple of the alignment, so the file ends with data, not padding.
std::vector<std::byte> small_file(uint32_t alignment = 32) {
    GgufWriter w;
    if (alignment != 32) w.set_alignment(alignment);
    w.set_string("general.architecture", "llama");
    w.set_u32("a.u32", 7);
    w.set_u32("b.u32", 8);
    w.set_array("a.arr", std::vector<uint32_t>{1, 2, 3});
    w.set_array("a.strs", std::vector<std::string>{"one", "two"});
    w.set_bool("a.bool", true);
    w.add_tensor("t0", DType::F32, {8, 2}, std::vector<std::byte>(64, std::byte{1}));
    w.add_tensor("t1", DType::F32, {8}, std::vector<std::byte>(32, std::byte{2}));
    return w.to_bytes();
}

// Offset just past the bytes of a key (its value type follows).
size_t after_key(const std::vector<std::byte>& f, std::string_view key) { return find_bytes(f, key) + key.size(); }

// Offset just past a tensor's name (its n_dims follows): the name with its length prefix.
size_t after_tensor_name(const std::vector<std::byte>& f, std::string_view name) {
    std::string prefixed(8, '\0');
    prefixed[0] = static_cast<char>(name.size());
    prefixed += name;
    return find_bytes(f, prefixed) + prefixed.size();
}

TEST(GgufDamage, SmallFileIsValid) {
    const auto f = small_file();
    EXPECT_EQ(parse_error(f), "");
    EXPECT_EQ(f.size() % 32, 0u);
    const GgufFile g = GgufFile::parse(f, "small");
    EXPECT_EQ(g.tensors().back().offset + g.tensors().back().size, f.size());
}

TEST(GgufDamage, ShortFiles) {
    auto f = small_file();
    EXPECT_THAT(parse_error({}), HasSubstr("test.gguf: not a GGUF file (0 bytes, too short for a header) at offset 0"));
    EXPECT_THAT(parse_error(std::span(f).first(3)), HasSubstr("too short"));
    EXPECT_THAT(parse_error(std::span(f).first(6)), HasSubstr("truncated: header version needs 4 bytes, only 2 left at offset 4"));
    EXPECT_THAT(parse_error(std::span(f).first(20)), HasSubstr("truncated: header metadata count"));
}

TEST(GgufDamage, BadMagic) {
    auto f = small_file();
    f[0] = std::byte{'X'};
    EXPECT_THAT(parse_error(f), HasSubstr("test.gguf: not a GGUF file (bad magic) at offset 0"));
    const char text[] = "hello, this is not a model";
    EXPECT_THAT(parse_error(std::as_bytes(std::span(text))), HasSubstr("bad magic"));
}

TEST(GgufDamage, UnsupportedVersions) {
    auto f = small_file();
    poke<uint32_t>(f, 4, 1);
    EXPECT_THAT(parse_error(f), HasSubstr("unsupported GGUF version 1"));
    poke<uint32_t>(f, 4, 99);
    EXPECT_THAT(parse_error(f), HasSubstr("unsupported GGUF version 99"));
    poke<uint32_t>(f, 4, 2);  // v2 has the same layout as v3
    EXPECT_EQ(parse_error(f), "");
}

TEST(GgufDamage, AbsurdCounts) {
    auto f = small_file();
    poke<uint64_t>(f, 16, 1ull << 60);
    EXPECT_THAT(parse_error(f), HasSubstr("metadata count 1152921504606846976 cannot fit"));
    f = small_file();
    poke<uint64_t>(f, 8, 1ull << 60);
    EXPECT_THAT(parse_error(f), HasSubstr("tensor count 1152921504606846976 cannot fit"));
    f = small_file();
    poke<uint64_t>(f, 16, ~0ull);
    EXPECT_THAT(parse_error(f), HasSubstr("metadata count 18446744073709551615 cannot fit"));
    // A tensor count that would fit the whole file but not what the metadata leaves.
    f = small_file();
    const uint64_t n = f.size() / 32;
    poke<uint64_t>(f, 8, n);
    EXPECT_THAT(parse_error(f), HasSubstr("tensor count " + std::to_string(n) + " cannot fit"));
}

TEST(GgufDamage, AbsurdStringLengths) {
    auto f = small_file();
    const size_t key_len_at = find_bytes(f, "general.architecture") - 8;
    poke<uint64_t>(f, key_len_at, 1ull << 62);
    EXPECT_THAT(parse_error(f), HasSubstr("truncated: key of metadata entry 0 needs 4611686018427387904 bytes"));
    f = small_file();
    const size_t value_len_at = after_key(f, "general.architecture") + 4;
    poke<uint64_t>(f, value_len_at, ~0ull);
    EXPECT_THAT(parse_error(f), HasSubstr("truncated: string value of key 'general.architecture' needs "
                                          "18446744073709551615 bytes"));
    f = small_file();
    const size_t name_len_at = after_tensor_name(f, "t1") - 2 - 8;
    poke<uint64_t>(f, name_len_at, 1ull << 40);
    EXPECT_THAT(parse_error(f), HasSubstr("truncated: name of tensor 1 needs 1099511627776 bytes"));
    // A string inside a string array.
    f = small_file();
    const size_t first_string_at = after_key(f, "a.strs") + 4 + 4 + 8;
    poke<uint64_t>(f, first_string_at, 1ull << 50);
    EXPECT_THAT(parse_error(f), HasSubstr("truncated: string 0 of array 'a.strs' needs 1125899906842624 bytes"));
}

TEST(GgufDamage, AbsurdArrayCounts) {
    auto f = small_file();
    const size_t count_at = after_key(f, "a.arr") + 4 + 4;
    poke<uint64_t>(f, count_at, 1ull << 61);
    EXPECT_THAT(parse_error(f), HasSubstr("array of 2305843009213693952 U32 values for key 'a.arr' cannot fit"));
    // count * 4 overflows 64 bits: must not wrap around to a small size.
    poke<uint64_t>(f, count_at, (1ull << 62) + 1);
    EXPECT_THAT(parse_error(f), HasSubstr("U32 values for key 'a.arr' cannot fit"));
    f = small_file();
    const size_t strs_count_at = after_key(f, "a.strs") + 4 + 4;
    poke<uint64_t>(f, strs_count_at, 1ull << 59);
    EXPECT_THAT(parse_error(f), HasSubstr("array of 576460752303423488 strings for key 'a.strs' cannot fit"));
}

TEST(GgufDamage, UnknownValueTypes) {
    auto f = small_file();
    poke<uint32_t>(f, after_key(f, "a.u32"), 13);
    EXPECT_THAT(parse_error(f), HasSubstr("unknown value type 13 for key 'a.u32'"));
    f = small_file();
    poke<uint32_t>(f, after_key(f, "a.arr") + 4, 99);
    EXPECT_THAT(parse_error(f), HasSubstr("unknown array element type 99 for key 'a.arr'"));
    f = small_file();
    poke<uint32_t>(f, after_key(f, "a.arr") + 4, 9);
    EXPECT_THAT(parse_error(f), HasSubstr("nested arrays are not supported (key 'a.arr')"));
    f = small_file();
    poke<uint8_t>(f, after_key(f, "a.bool") + 4, 2);
    EXPECT_THAT(parse_error(f), HasSubstr("bool value 2 of key 'a.bool' is not 0 or 1"));
}

TEST(GgufDamage, DuplicateKey) {
    auto f = small_file();
    f[find_bytes(f, "b.u32")] = std::byte{'a'};
    EXPECT_THAT(parse_error(f), HasSubstr("duplicate metadata key 'a.u32'"));
}

TEST(GgufDamage, KeysWithControlBytesAreEscapedInMessages) {
    auto f = small_file();
    const size_t at = find_bytes(f, "a.u32");
    f[at + 1] = std::byte{'\n'};
    poke<uint32_t>(f, at + 5, 77);
    EXPECT_THAT(parse_error(f), HasSubstr("unknown value type 77 for key 'a\\x0au32'"));
}

TEST(GgufDamage, TensorDtype) {
    auto f = small_file();
    const size_t type_at = after_tensor_name(f, "t1") + 4 + 8;
    poke<uint32_t>(f, type_at, 99);
    EXPECT_THAT(parse_error(f), HasSubstr("tensor 't1' has unknown or unsupported type 99"));
    poke<uint32_t>(f, type_at, 4);  // Q4_2, dropped from GGUF
    EXPECT_THAT(parse_error(f), HasSubstr("tensor 't1' has unknown or unsupported type 4"));
    poke<uint32_t>(f, type_at, static_cast<uint32_t>(DType::Q8_0));  // 8 elements per row, block is 32
    EXPECT_THAT(parse_error(f), HasSubstr("tensor 't1' has rows of 8 elements, not a multiple of the Q8_0 block size 32"));
}

TEST(GgufDamage, TensorDimensions) {
    auto f = small_file();
    const size_t dims_at = after_tensor_name(f, "t0");
    poke<uint32_t>(f, dims_at, 5);
    EXPECT_THAT(parse_error(f), HasSubstr("tensor 't0' has 5 dimensions (must be 1 to 4)"));
    poke<uint32_t>(f, dims_at, 0);
    EXPECT_THAT(parse_error(f), HasSubstr("tensor 't0' has 0 dimensions"));
    f = small_file();
    poke<uint64_t>(f, dims_at + 4 + 8, 0);
    EXPECT_THAT(parse_error(f), HasSubstr("tensor 't0' has invalid size 0 in dimension 1"));
    f = small_file();
    poke<uint64_t>(f, dims_at + 4, 1ull << 63);
    EXPECT_THAT(parse_error(f), HasSubstr("tensor 't0' has invalid size 9223372036854775808 in dimension 0"));
}

TEST(GgufDamage, TensorSizeOverflow) {
    auto f = small_file();
    const size_t dims_at = after_tensor_name(f, "t0");
    poke<uint64_t>(f, dims_at + 4, 1ull << 32);
    poke<uint64_t>(f, dims_at + 12, 1ull << 32);
    EXPECT_THAT(parse_error(f), HasSubstr("tensor 't0' element count overflows 64 bits"));
    // The element count fits, its F32 bytes do not.
    f = small_file();
    poke<uint64_t>(f, after_tensor_name(f, "t1") + 4, 1ull << 62);
    EXPECT_THAT(parse_error(f), HasSubstr("tensor 't1' byte size overflows 64 bits"));
    // Bytes fit in 64 bits but not in the file.
    f = small_file();
    poke<uint64_t>(f, after_tensor_name(f, "t1") + 4, 1ull << 40);
    EXPECT_THAT(parse_error(f), HasSubstr("tensor 't1' data (4398046511104 bytes at data offset 64) runs past the end"));
}

TEST(GgufDamage, TensorOffsets) {
    auto f = small_file();
    const size_t offset_at = after_tensor_name(f, "t1") + 4 + 8 + 4;
    ASSERT_EQ(test::peek<uint64_t>(f, offset_at), 64u);
    poke<uint64_t>(f, offset_at, 68);
    EXPECT_THAT(parse_error(f), HasSubstr("tensor 't1' data offset 68 is not a multiple of the alignment 32 at offset " +
                                          std::to_string(offset_at)));
    poke<uint64_t>(f, offset_at, 1ull << 40);
    EXPECT_THAT(parse_error(f), HasSubstr("tensor 't1' data (32 bytes at data offset 1099511627776) runs past the end of the file"));
    poke<uint64_t>(f, offset_at, 96);  // one alignment unit too far: the last 32 bytes are missing
    EXPECT_THAT(parse_error(f), HasSubstr("runs past the end of the file"));
    poke<uint64_t>(f, offset_at, ~0ull - 31);  // offset + size wraps around 2^64
    EXPECT_THAT(parse_error(f), HasSubstr("runs past the end of the file"));
}

TEST(GgufDamage, DuplicateTensorName) {
    auto f = small_file();
    const size_t at = after_tensor_name(f, "t1") - 1;
    f[at] = std::byte{'0'};
    EXPECT_THAT(parse_error(f), HasSubstr("duplicate tensor name 't0'"));
}

TEST(GgufDamage, BadAlignment) {
    auto f = small_file(64);
    EXPECT_EQ(parse_error(f), "");
    EXPECT_EQ(GgufFile::parse(f, "a").alignment(), 64u);
    const size_t type_at = after_key(f, "general.alignment");
    poke<uint32_t>(f, type_at + 4, 48);
    EXPECT_THAT(parse_error(f), HasSubstr("general.alignment 48 is not a power of two"));
    poke<uint32_t>(f, type_at + 4, 0);
    EXPECT_THAT(parse_error(f), HasSubstr("general.alignment 0 is not a power of two"));
    poke<uint32_t>(f, type_at, static_cast<uint32_t>(GgufType::I32));
    EXPECT_THAT(parse_error(f), HasSubstr("general.alignment must be U32, not I32"));
}

// Every length of the small file short of the whole fails with a truncation message.
TEST(GgufDamage, SmallFileTruncatedAtEveryLength) {
    const auto f = small_file();
    for (size_t n = 0; n < f.size(); ++n) {
        const std::string msg = parse_error(std::span(f).first(n));
        EXPECT_TRUE(test::is_truncation_message(msg)) << "length " << n << ": '" << msg << "'";
    }
}

class Stories260K : public ::testing::Test {
protected:
    static void SetUpTestSuite() { bytes_ = test::read_bytes(test::shared("models/stories260K.gguf")); }
    static std::string cut(size_t n) { return parse_error(std::span(bytes_).first(n), "stories260K.gguf"); }
    static inline std::vector<std::byte> bytes_;
};

// Section boundaries of stories260K.gguf, found with a separate script: kv 1 starts
// at 6470 (after the 512 tokens), kv 3 at 10660, tensor infos at 11347 (info 1 at
// 11404), infos end at 14152, data at 14176.
TEST_F(Stories260K, TruncatedAtSectionBoundaries) {
    EXPECT_EQ(cut(bytes_.size()), "");
    EXPECT_THAT(cut(2), HasSubstr("stories260K.gguf: not a GGUF file (2 bytes, too short for a header)"));
    EXPECT_THAT(cut(4), HasSubstr("truncated: header version"));
    EXPECT_THAT(cut(12), HasSubstr("truncated: header tensor count"));
    EXPECT_THAT(cut(23), HasSubstr("truncated: header metadata count"));
    EXPECT_THAT(cut(24), HasSubstr("metadata count 19 cannot fit in the 0 bytes left at offset 16"));
    EXPECT_THAT(cut(300), HasSubstr("array of 512 strings for key 'tokenizer.ggml.tokens' cannot fit"));
    EXPECT_THAT(cut(5000), HasSubstr("truncated: string"));
    EXPECT_THAT(cut(5000), HasSubstr("of array 'tokenizer.ggml.tokens'"));
    EXPECT_THAT(cut(6470), HasSubstr("truncated: key of metadata entry 1 length needs 8 bytes, only 0 left at offset 6470"));
    EXPECT_THAT(cut(6480), HasSubstr("truncated: key of metadata entry 1 needs 21 bytes"));
    EXPECT_THAT(cut(6600), HasSubstr("array of 512 F32 values for key 'tokenizer.ggml.scores' cannot fit"));
    EXPECT_THAT(cut(10665), HasSubstr("truncated: key of metadata entry 3 length"));
    EXPECT_THAT(cut(11345), HasSubstr("truncated: value of key 'llama.attention.layer_norm_rms_epsilon'"));
    EXPECT_THAT(cut(11347), HasSubstr("tensor count 48 cannot fit in the 0 bytes left"));
    EXPECT_THAT(cut(14000), HasSubstr("truncated: "));
    EXPECT_THAT(cut(14150), HasSubstr("truncated: data offset of tensor 'blk.4.ffn_norm.weight'"));
    EXPECT_THAT(cut(14152), HasSubstr("runs past the end of the file"));
    EXPECT_THAT(cut(14176), HasSubstr("tensor 'token_embd.weight' data (131072 bytes at data offset 0) runs past"));
    EXPECT_THAT(cut(600000), HasSubstr("runs past the end of the file"));
    EXPECT_THAT(cut(bytes_.size() - 1), HasSubstr("tensor 'blk.4.ffn_norm.weight' data (256 bytes"));
}

TEST_F(Stories260K, TruncatedAnywhereThrows) {
    std::vector<size_t> lengths;
    for (size_t n = 0; n < 4096; ++n) lengths.push_back(n);
    for (size_t i = 0; i < 2000; ++i) lengths.push_back(bytes_.size() * i / 2000);
    for (size_t n = 14100; n < 14200; ++n) lengths.push_back(n);  // around the end of the infos
    for (size_t n : lengths) {
        const std::string msg = cut(n);
        if (!test::is_truncation_message(msg)) ADD_FAILURE() << "length " << n << ": '" << msg << "'";
    }
}

// Random byte damage in the header and infos: parse or throw Error, nothing else.
TEST_F(Stories260K, RandomByteDamageNeverCrashes) {
    std::mt19937 rng(12345);
    std::vector<std::byte> f = bytes_;
    int failures = 0;
    for (int round = 0; round < 3000; ++round) {
        f = bytes_;
        const int edits = 1 + static_cast<int>(rng() % 4);
        for (int e = 0; e < edits; ++e) f[rng() % 14176] = static_cast<std::byte>(rng());
        if (!parse_error(f).empty()) ++failures;  // other exceptions escape and fail the test
    }
    EXPECT_GT(failures, 0);
}

TEST(GgufDamage, Qwen2TruncatedInsideTokens) {
    const auto bytes = test::read_bytes(test::shared("models/qwen2-tiny-random.gguf"), 600000);
    const std::string msg = parse_error(bytes);
    EXPECT_THAT(msg, HasSubstr("truncated: string"));
    EXPECT_THAT(msg, HasSubstr("of array 'tokenizer.ggml.tokens'"));
}

}  // namespace
}  // namespace suanli
