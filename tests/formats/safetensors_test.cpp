// The safetensors reader: valid files, shards, and one specific one-line error
// per kind of damage.
#include <gtest/gtest.h>

#include <cstring>

#include "core/error.h"
#include "formats/safetensors.h"
#include "formats/safetensors_test_util.h"

namespace suanli {
namespace {

using test::StTensor;

std::vector<StTensor> two_tensors() {
    const std::vector<float> a{1, 2, 3, 4, 5, 6};
    const std::vector<float> b{7, 8};
    return {{"a.weight", "F32", {2, 3}, test::f32_bytes(a)},
            {"b.bias", "F16", {2}, std::vector<std::byte>(4, std::byte{0x3c})}};
}

// The message of the Error parsing `bytes` throws; checks it is one line naming the file.
std::string parse_error(const std::vector<std::byte>& bytes) {
    try {
        SafetensorsFile::parse(bytes, "x.safetensors");
    } catch (const Error& e) {
        const std::string msg = e.what();
        EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
        EXPECT_EQ(msg.rfind("x.safetensors: ", 0), 0u) << msg;
        return msg;
    }
    ADD_FAILURE() << "no error";
    return {};
}

// A file with one tensor whose header entry is `entry` (JSON), over `data_size` data bytes.
std::vector<std::byte> with_entry(const std::string& entry, size_t data_size = 8) {
    std::string header = R"({"t":)" + entry + "}";
    return test::safetensors_raw(header, std::vector<std::byte>(data_size), header.size());
}

TEST(Safetensors, ReadsTensorsShapesAndData) {
    const auto bytes = test::safetensors_bytes(two_tensors());
    const SafetensorsFile f = SafetensorsFile::parse(bytes, "x.safetensors");
    ASSERT_EQ(f.tensors().size(), 2u);  // __metadata__ is not a tensor
    const SafetensorsTensor* a = f.find("a.weight");
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(a->type, DType::F32);
    EXPECT_EQ(a->shape, (std::vector<int64_t>{2, 3}));
    EXPECT_EQ(a->size, 24u);
    float v[6];
    std::memcpy(v, f.tensor_data(*a).data(), sizeof v);
    EXPECT_EQ(v[0], 1.0f);
    EXPECT_EQ(v[5], 6.0f);
    const SafetensorsTensor* b = f.find("b.bias");
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(b->type, DType::F16);
    EXPECT_EQ(b->offset, a->offset + 24);
    EXPECT_EQ(f.find("missing"), nullptr);
    EXPECT_EQ(f.find("__metadata__"), nullptr);
}

TEST(Safetensors, ReadsBf16AndScalars) {
    const auto bytes = with_entry(R"({"dtype":"BF16","shape":[],"data_offsets":[0,2]})", 2);
    const SafetensorsFile f = SafetensorsFile::parse(bytes, "x.safetensors");
    ASSERT_EQ(f.tensors().size(), 1u);
    EXPECT_EQ(f.tensors()[0].type, DType::BF16);
    EXPECT_TRUE(f.tensors()[0].shape.empty());
}

TEST(SafetensorsDamage, TooShort) {
    EXPECT_NE(parse_error(std::vector<std::byte>(5)).find("too short"), std::string::npos);
}

TEST(SafetensorsDamage, HeaderLengthAbsurd) {
    auto bytes = test::safetensors_bytes(two_tensors());
    bytes[5] = std::byte{0x01};  // 2^40 + ...
    EXPECT_NE(parse_error(bytes).find("absurd"), std::string::npos);
}

TEST(SafetensorsDamage, HeaderLengthPastTheEnd) {
    auto bytes = test::safetensors_bytes(two_tensors());
    bytes.resize(40);  // cut inside the header
    EXPECT_NE(parse_error(bytes).find("exceeds"), std::string::npos);
}

TEST(SafetensorsDamage, TruncatedData) {
    auto bytes = test::safetensors_bytes(two_tensors());
    bytes.resize(bytes.size() - 3);
    EXPECT_NE(parse_error(bytes).find("outside"), std::string::npos);
}

TEST(SafetensorsDamage, BadJsonHeader) {
    const std::string header = R"({"t": {"dtype": "F32",)";
    const auto msg = parse_error(test::safetensors_raw(header, {}, header.size()));
    EXPECT_NE(msg.find("not valid JSON"), std::string::npos) << msg;
    const std::string array = "[1,2]   ";
    EXPECT_NE(parse_error(test::safetensors_raw(array, {}, array.size())).find("not a JSON object"), std::string::npos);
}

TEST(SafetensorsDamage, UnsupportedDtype) {
    for (const char* dtype : {"I64", "F64", "BOOL", "F8_E4M3", "Q4"}) {
        const auto msg = parse_error(with_entry(std::string(R"({"dtype":")") + dtype + R"(","shape":[1],"data_offsets":[0,8]})"));
        EXPECT_NE(msg.find(std::string("dtype ") + dtype + ", which is not supported"), std::string::npos) << msg;
    }
}

TEST(SafetensorsDamage, OffsetsOutOfRange) {
    EXPECT_NE(parse_error(with_entry(R"({"dtype":"F32","shape":[2],"data_offsets":[8,16]})")).find("outside"),
              std::string::npos);
    EXPECT_NE(parse_error(with_entry(R"({"dtype":"F32","shape":[0],"data_offsets":[4,0]})")).find("outside"),
              std::string::npos);
    EXPECT_NE(parse_error(with_entry(R"({"dtype":"F32","shape":[2],"data_offsets":[0,-8]})")).find("non-negative"),
              std::string::npos);
    EXPECT_NE(parse_error(with_entry(R"({"dtype":"F32","shape":[2],"data_offsets":[0]})")).find("data_offsets"),
              std::string::npos);
}

TEST(SafetensorsDamage, SizeDisagreesWithShape) {
    const auto msg = parse_error(with_entry(R"({"dtype":"F32","shape":[3],"data_offsets":[0,8]})", 16));
    EXPECT_NE(msg.find("has 8 data bytes, but its shape and dtype need 12"), std::string::npos) << msg;
}

TEST(SafetensorsDamage, ShapeOverflowAndBadDims) {
    EXPECT_NE(parse_error(with_entry(R"({"dtype":"F32","shape":[1099511627776,1099511627776],"data_offsets":[0,8]})"))
                  .find("too large"),
              std::string::npos);
    EXPECT_NE(parse_error(with_entry(R"({"dtype":"F32","shape":[-2],"data_offsets":[0,8]})")).find("shape"),
              std::string::npos);
    EXPECT_NE(parse_error(with_entry(R"({"dtype":"F32","data_offsets":[0,8]})")).find("no shape"), std::string::npos);
    EXPECT_NE(parse_error(with_entry(R"(5)")).find("not a JSON object"), std::string::npos);
}

TEST(SafetensorsDamage, OverlappingTensors) {
    const std::string header =
        R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})";
    const auto msg = parse_error(test::safetensors_raw(header, std::vector<std::byte>(12), header.size()));
    EXPECT_NE(msg.find("overlap"), std::string::npos) << msg;
}

TEST(SafetensorsSet, OpensShardsNamedByTheIndex) {
    test::TempDir dir;
    const auto t = two_tensors();
    test::write_file(dir.path / "part-1.safetensors", test::safetensors_bytes({t[0]}));
    test::write_file(dir.path / "part-2.safetensors", test::safetensors_bytes({t[1]}));
    test::write_file(dir.path / "model.safetensors.index.json",
                     std::string(R"({"metadata":{},"weight_map":{"a.weight":"part-1.safetensors","b.bias":"part-2.safetensors"}})"));
    const SafetensorsSet set = SafetensorsSet::open_dir(dir.path);
    EXPECT_EQ(set.files().size(), 2u);
    const auto b = set.find("b.bias");
    ASSERT_TRUE(b);
    EXPECT_EQ(b.file, 1u);
    EXPECT_EQ(b.tensor->type, DType::F16);
    EXPECT_FALSE(set.find("c"));
}

TEST(SafetensorsSet, RejectsBadIndexes) {
    auto error_of = [](const std::string& index) {
        test::TempDir dir;
        test::write_file(dir.path / "model.safetensors.index.json", index);
        try {
            SafetensorsSet::open_dir(dir.path);
        } catch (const Error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    EXPECT_NE(error_of("{").find("not valid JSON"), std::string::npos);
    EXPECT_NE(error_of("{}").find("weight_map"), std::string::npos);
    EXPECT_NE(error_of(R"({"weight_map":{"a":"../evil.safetensors"}})").find("not a plain file name"), std::string::npos);
    EXPECT_NE(error_of(R"({"weight_map":{"a":"absent.safetensors"}})").find("cannot open"), std::string::npos);
    test::TempDir empty;
    EXPECT_THROW(SafetensorsSet::open_dir(empty.path), Error);
}

}  // namespace
}  // namespace suanli
