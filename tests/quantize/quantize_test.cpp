// Model quantization: the type each tensor gets (llama.cpp's rules), the converted
// data against the original, metadata, and `suanli quantize` as a user runs it.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/quant.h"
#include "formats/gguf.h"
#include "quantize/quant_mix.h"
#include "quantize/quantize.h"
#include "run_process.h"
#include "synthetic_model.h"
#include "test_paths.h"

namespace suanli::test {
namespace {

std::filesystem::path stories() { return shared("models/stories260K.gguf"); }

// A scratch folder removed at the end of the test.
struct TempDir {
    std::filesystem::path path;
    TempDir() {
        path = std::filesystem::temp_directory_path() / ("suanli-quantize-test-" + std::to_string(::getpid()) + "-" +
                                                          std::to_string(counter++));
        std::filesystem::create_directories(path);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
    std::filesystem::path operator/(const std::string& name) const { return path / name; }
    static inline int counter = 0;
};

// The synthetic 8-layer model (rows of 256 and 768), written once per test binary.
const std::filesystem::path& synthetic() {
    static TempDir dir;
    static const std::filesystem::path path = [] {
        const std::filesystem::path p = dir / "synthetic-f32.gguf";
        write_synthetic_model(p, stories());
        return p;
    }();
    return path;
}

QuantType type_named(const std::string& name) {
    const auto t = find_quant_type(name);
    if (!t) throw std::runtime_error("no type " + name);
    return *t;
}

std::map<std::string, DType> planned_types(const std::filesystem::path& model, const std::string& type) {
    const GgufFile f = GgufFile::open(model);
    std::map<std::string, DType> out;
    for (const TensorPlan& p : plan_quantization(f, type_named(type))) out[p.name] = p.to;
    return out;
}

std::vector<float> as_floats(const GgufFile& f, const GgufTensorInfo& t) {
    std::vector<float> v(static_cast<size_t>(t.elements()));
    const auto data = f.tensor_data(t);
    const int64_t rows = t.elements() / t.ne[0];
    const size_t rb = row_bytes(t.type, t.ne[0]);
    for (int64_t r = 0; r < rows; ++r)
        dequantize_row(t.type, data.data() + r * rb, v.data() + r * t.ne[0], t.ne[0]);
    return v;
}

double relative_rmse(const std::vector<float>& x, const std::vector<float>& y) {
    double e = 0, s = 0;
    for (size_t i = 0; i < x.size(); ++i) {
        e += (static_cast<double>(x[i]) - y[i]) * (static_cast<double>(x[i]) - y[i]);
        s += static_cast<double>(x[i]) * x[i];
    }
    return s > 0 ? std::sqrt(e / s) : std::sqrt(e);
}

// ---- which type each tensor gets ----

TEST(QuantMix, NamesAreCaseInsensitiveAndListed) {
    EXPECT_EQ(type_named("q4_k_m").base, DType::Q4_K);
    EXPECT_EQ(type_named("Q8_0").file_type, 7u);
    EXPECT_EQ(type_named("q4_0").file_type, 2u);
    EXPECT_EQ(type_named("Q4_K_M").file_type, 15u);
    EXPECT_EQ(type_named("Q5_K_M").file_type, 17u);
    EXPECT_EQ(type_named("Q6_K").file_type, 18u);
    EXPECT_EQ(type_named("Q4_K").file_type, 14u);  // Q4_K_S
    EXPECT_EQ(type_named("f16").file_type, 1u);
    EXPECT_EQ(type_named("BF16").file_type, 32u);
    EXPECT_FALSE(find_quant_type("Q3_K"));
    EXPECT_NE(quant_type_names().find("Q4_K_M"), std::string::npos);
}

TEST(QuantMix, UseMoreBitsPicksFirstLastEighthAndEveryThird) {
    // 8 layers: n/8 = 1, 7n/8 = 7 -> 0, then (i - 1) % 3 == 2 -> 3, 6, then 7.
    std::vector<int64_t> chosen;
    for (int64_t i = 0; i < 8; ++i)
        if (use_more_bits(i, 8)) chosen.push_back(i);
    EXPECT_EQ(chosen, (std::vector<int64_t>{0, 3, 6, 7}));
    // 32 layers: 0-3, 28-31 and 6, 9, ..., 27 (i - 4) % 3 == 2.
    int count = 0;
    for (int64_t i = 0; i < 32; ++i) count += use_more_bits(i, 32) ? 1 : 0;
    EXPECT_EQ(count, 8 + 8);
}

TEST(QuantMix, Q4_K_MFollowsLlamaCpp) {
    const auto t = planned_types(synthetic(), "Q4_K_M");
    EXPECT_EQ(t.at("output.weight"), DType::Q6_K);
    EXPECT_EQ(t.at("token_embd.weight"), DType::Q4_K);
    EXPECT_EQ(t.at("output_norm.weight"), DType::F32);
    for (int l = 0; l < 8; ++l) {
        const std::string b = "blk." + std::to_string(l) + ".";
        const DType more = (l == 0 || l == 3 || l == 6 || l == 7) ? DType::Q6_K : DType::Q4_K;
        EXPECT_EQ(t.at(b + "attn_v.weight"), more) << l;
        EXPECT_EQ(t.at(b + "ffn_down.weight"), more) << l;
        for (const char* name : {"attn_q.weight", "attn_k.weight", "attn_output.weight", "ffn_gate.weight", "ffn_up.weight"})
            EXPECT_EQ(t.at(b + name), DType::Q4_K) << b << name;
        EXPECT_EQ(t.at(b + "attn_norm.weight"), DType::F32);
        EXPECT_EQ(t.at(b + "ffn_norm.weight"), DType::F32);
    }
}

TEST(QuantMix, OtherMixes) {
    const auto s = planned_types(synthetic(), "Q4_K");  // Q4_K_S
    EXPECT_EQ(s.at("output.weight"), DType::Q6_K);
    for (int l = 0; l < 8; ++l) {
        const std::string b = "blk." + std::to_string(l) + ".";
        EXPECT_EQ(s.at(b + "attn_v.weight"), l < 4 ? DType::Q5_K : DType::Q4_K) << l;
        EXPECT_EQ(s.at(b + "ffn_down.weight"), l < 1 ? DType::Q5_K : DType::Q4_K) << l;
    }
    const auto q8 = planned_types(synthetic(), "Q8_0");
    EXPECT_EQ(q8.at("output.weight"), DType::Q8_0);
    EXPECT_EQ(q8.at("blk.5.ffn_down.weight"), DType::Q8_0);
    const auto q40 = planned_types(synthetic(), "Q4_0");
    EXPECT_EQ(q40.at("output.weight"), DType::Q6_K);
    EXPECT_EQ(q40.at("token_embd.weight"), DType::Q4_0);
    const auto f16 = planned_types(synthetic(), "F16");
    EXPECT_EQ(f16.at("output.weight"), DType::F16);
    EXPECT_EQ(f16.at("output_norm.weight"), DType::F32);
    const auto m5 = planned_types(synthetic(), "Q5_K_M");
    EXPECT_EQ(m5.at("blk.3.attn_v.weight"), DType::Q6_K);
    EXPECT_EQ(m5.at("blk.4.attn_v.weight"), DType::Q5_K);
}

TEST(QuantMix, TiedEmbeddingsGetTheOutputType) {
    TempDir dir;
    SyntheticShape shape;
    shape.tied = true;
    shape.n_layer = 2;
    write_synthetic_model(dir / "tied.gguf", stories(), shape);
    EXPECT_EQ(planned_types(dir / "tied.gguf", "Q4_K_M").at("token_embd.weight"), DType::Q6_K);
    EXPECT_EQ(planned_types(dir / "tied.gguf", "Q8_0").at("token_embd.weight"), DType::Q8_0);
    EXPECT_EQ(planned_types(dir / "tied.gguf", "F16").at("token_embd.weight"), DType::F16);
}

TEST(QuantMix, RowsOfPartialBlocksFallBack) {
    // stories260K: rows of 64 (not whole 256-blocks) and ffn_down rows of 172 (not even 32).
    const GgufFile f = GgufFile::open(stories());
    int fallbacks = 0;
    for (const TensorPlan& p : plan_quantization(f, type_named("Q4_K_M"))) {
        if (!p.quantize) {
            EXPECT_EQ(p.to, p.from) << p.name;
            EXPECT_TRUE(p.note.empty());
            continue;
        }
        ++fallbacks;
        const bool down = p.name.ends_with("ffn_down.weight");
        EXPECT_EQ(p.to, down ? DType::F16 : DType::Q8_0) << p.name;
        EXPECT_NE(p.note.find(down ? "rows of 172" : "rows of 64"), std::string::npos) << p.note;
    }
    EXPECT_EQ(fallbacks, 37);  // every matrix: 2 + 5 layers x 7
}

TEST(QuantMix, QuantizedInputIsAnErrorNamingTheTensor) {
    TempDir dir;
    quantize_file(stories(), dir / "q8.gguf", type_named("Q8_0"), 1);
    const GgufFile q8 = GgufFile::open(dir / "q8.gguf");
    try {
        plan_quantization(q8, type_named("Q4_K_M"));
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("token_embd.weight"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("Q8_0"), std::string::npos) << e.what();
    }
}

// ---- converting ----

struct Bound {
    const char* type;
    double max_error;  // relative RMSE of every converted matrix
};

class QuantizeSynthetic : public ::testing::TestWithParam<Bound> {};

TEST_P(QuantizeSynthetic, OutputParsesWithPlannedTypesCloseValuesAndMetadata) {
    const Bound b = GetParam();
    const QuantType type = type_named(b.type);
    TempDir dir;
    const auto out = dir / "out.gguf";
    size_t callbacks = 0;
    const QuantizeReport r = quantize_file(synthetic(), out, type, 3, [&](const TensorDone& d) {
        EXPECT_EQ(d.index, callbacks++);
        EXPECT_EQ(d.count, 75u);
    });
    EXPECT_EQ(callbacks, 75u);
    EXPECT_EQ(r.fallbacks, 0u);
    EXPECT_EQ(r.quantized, 2u + 8 * 7);

    const GgufFile in = GgufFile::open(synthetic());
    const GgufFile q = GgufFile::open(out);
    const auto plan = planned_types(synthetic(), b.type);
    ASSERT_EQ(q.tensors().size(), in.tensors().size());
    uint64_t bytes = 0;
    for (const GgufTensorInfo& t : q.tensors()) {
        const GgufTensorInfo* orig = in.find_tensor(t.name);
        ASSERT_NE(orig, nullptr);
        EXPECT_EQ(t.type, plan.at(std::string(t.name))) << t.name;
        EXPECT_EQ(t.ne, orig->ne) << t.name;
        bytes += t.size;
        const double err = relative_rmse(as_floats(in, *orig), as_floats(q, t));
        if (t.n_dims == 1) EXPECT_EQ(err, 0.0) << t.name;
        else EXPECT_LT(err, b.max_error) << t.name << " as " << dtype_name(t.type);
    }
    EXPECT_EQ(bytes, r.bytes_out);
    EXPECT_LT(r.bits_per_weight_out(), 32.0);

    // Metadata: every key of the input, same values, plus the two quantization keys.
    EXPECT_EQ(q.get_uint("general.file_type"), type.file_type);
    EXPECT_EQ(q.get_uint("general.quantization_version"), 2u);
    for (const GgufKeyValue& kv : in.metadata()) {
        if (kv.key == "general.file_type") continue;
        const GgufValue* v = q.find(kv.key);
        ASSERT_NE(v, nullptr) << kv.key;
        EXPECT_EQ(v->type, kv.value.type) << kv.key;
        EXPECT_EQ(v->as_u64, kv.value.as_u64) << kv.key;
        EXPECT_EQ(v->as_string, kv.value.as_string) << kv.key;
        EXPECT_EQ(v->array_size, kv.value.array_size) << kv.key;
        EXPECT_EQ(v->array_strings, kv.value.array_strings) << kv.key;
    }
}

// The worst matrix of each mix; the output.weight / attn_v / ffn_down upgrades only help.
INSTANTIATE_TEST_SUITE_P(Types, QuantizeSynthetic,
                         ::testing::Values(Bound{"Q8_0", 0.006}, Bound{"Q4_0", 0.095}, Bound{"Q4_K", 0.08},
                                           Bound{"Q4_K_M", 0.08}, Bound{"Q5_K", 0.04}, Bound{"Q5_K_M", 0.04},
                                           Bound{"Q6_K", 0.02}, Bound{"F16", 0.0005}, Bound{"BF16", 0.004}),
                         [](const auto& info) { return std::string(info.param.type); });

TEST(Quantize, F16AndBF16InputsAreRead) {
    TempDir dir;
    for (const char* wide : {"F16", "BF16"}) {
        quantize_file(synthetic(), dir / "wide.gguf", type_named(wide), 2);
        const QuantizeReport r = quantize_file(dir / "wide.gguf", dir / "q.gguf", type_named("Q4_K_M"), 2);
        EXPECT_EQ(r.quantized, 2u + 8 * 7);
        const GgufFile in = GgufFile::open(dir / "wide.gguf"), q = GgufFile::open(dir / "q.gguf");
        const GgufTensorInfo* a = in.find_tensor("blk.2.ffn_up.weight");
        const GgufTensorInfo* b = q.find_tensor("blk.2.ffn_up.weight");
        EXPECT_EQ(b->type, DType::Q4_K);
        EXPECT_LT(relative_rmse(as_floats(in, *a), as_floats(q, *b)), 0.08) << wide;
        EXPECT_EQ(q.find_tensor("blk.2.ffn_norm.weight")->type, DType::F32) << wide;  // kept as it was
    }
}

TEST(Quantize, ThreadCountDoesNotChangeTheBytes) {
    TempDir dir;
    quantize_file(synthetic(), dir / "a.gguf", type_named("Q4_K_M"), 1);
    quantize_file(synthetic(), dir / "b.gguf", type_named("Q4_K_M"), 4);
    const GgufFile a = GgufFile::open(dir / "a.gguf"), b = GgufFile::open(dir / "b.gguf");
    ASSERT_EQ(a.file_size(), b.file_size());
    EXPECT_TRUE(std::equal(a.bytes().begin(), a.bytes().end(), b.bytes().begin()));
}

TEST(Quantize, ConvertRowsMatchesQuantizeRow) {
    std::vector<float> x = gaussian(256 * 40, 0.5f, 9);
    const auto* src = reinterpret_cast<const std::byte*>(x.data());
    std::vector<std::byte> q(row_bytes(DType::Q6_K, 512) * 20);
    convert_rows(DType::F32, DType::Q6_K, src, 512, 20, 3, q);
    std::vector<std::byte> want(q.size());
    quantize_row(DType::Q6_K, x.data(), want.data(), 512 * 20);
    EXPECT_EQ(q, want);
    // An output of the wrong size is an error, not a write past its end.
    std::vector<std::byte> short_out(q.size() - 1);
    EXPECT_THROW(convert_rows(DType::F32, DType::Q6_K, src, 512, 20, 3, short_out), Error);
}

// ---- the command ----

ProcessResult suanli(std::vector<std::string> args) {
    args.insert(args.begin(), suanli_binary().string());
    return run_process(std::move(args));
}

std::vector<std::string> words(const std::string& text) {
    std::istringstream in(text);
    std::vector<std::string> out;
    for (std::string w; in >> w;) out.push_back(w);
    return out;
}

TEST(QuantizeCommand, Stories260KQ8_0GeneratesLikeF32) {
    TempDir dir;
    const auto out = (dir / "q8.gguf").string();
    ProcessResult q = suanli({"quantize", stories().string(), out, "q8_0", "--threads", "2"});
    ASSERT_EQ(q.exit_code, 0) << q.err;
    EXPECT_NE(q.err.find("[ 1/48] token_embd.weight  F32 -> Q8_0  64x512"), std::string::npos) << q.err;
    EXPECT_NE(q.err.find("blk.0.ffn_down.weight  F32 -> F16  172x64"), std::string::npos) << q.err;
    EXPECT_NE(q.err.find("5 tensors fell back"), std::string::npos) << q.err;
    EXPECT_NE(q.err.find("bits per weight"), std::string::npos) << q.err;

    auto run = [](const std::string& model) {
        return suanli({"run", "-m", model, "-p", "Once upon a time", "--temp", "0", "-n", "32", "--no-echo"});
    };
    const ProcessResult f32 = run(stories().string()), q8 = run(out);
    ASSERT_EQ(f32.exit_code, 0) << f32.err;
    ASSERT_EQ(q8.exit_code, 0) << q8.err;
    // Words are one or more tokens each, so 8 equal words mean at least 8 equal tokens.
    const auto a = words(f32.out), b = words(q8.out);
    ASSERT_GE(a.size(), 8u);
    ASSERT_GE(b.size(), 8u);
    for (size_t i = 0; i < 8; ++i) EXPECT_EQ(a[i], b[i]) << i << "\nF32:  " << f32.out << "\nQ8_0: " << q8.out;
}

TEST(QuantizeCommand, KMixOnStories260KReportsFallbacksAndRuns) {
    TempDir dir;
    const auto out = (dir / "q4km.gguf").string();
    ProcessResult q = suanli({"quantize", stories().string(), out, "Q4_K_M"});
    ASSERT_EQ(q.exit_code, 0) << q.err;
    EXPECT_NE(q.err.find("[rows of 64 are not whole Q4_K blocks of 256: Q8_0 instead]"), std::string::npos) << q.err;
    EXPECT_NE(q.err.find("37 tensors fell back"), std::string::npos) << q.err;
    const ProcessResult r = suanli({"run", "-m", out, "-p", "Once", "--temp", "0", "-n", "8"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST(QuantizeCommand, LlamaTinyRandomQ4_0) {
    TempDir dir;
    const auto out = dir / "q4.gguf";
    ProcessResult q = suanli({"quantize", shared("models/llama-tiny-random.gguf").string(), out.string(), "Q4_0"});
    ASSERT_EQ(q.exit_code, 0) << q.err;
    const GgufFile f = GgufFile::open(out);
    EXPECT_EQ(f.find_tensor("token_embd.weight")->type, DType::Q4_0);
    EXPECT_EQ(f.find_tensor("output.weight")->type, DType::Q8_0);  // Q6_K wanted; rows of 64 -> Q8_0
    EXPECT_EQ(f.find_tensor("blk.1.ffn_down.weight")->type, DType::Q4_0);
    EXPECT_EQ(f.find_tensor("blk.1.ffn_norm.weight")->type, DType::F32);
    EXPECT_LT(f.file_size(), std::filesystem::file_size(shared("models/llama-tiny-random.gguf")) / 4);
    const ProcessResult r = suanli({"run", "-m", out.string(), "-p", "Hello", "--temp", "0", "-n", "4"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST(QuantizeCommand, SyntheticQ4_K_MRunsThroughTheModel) {
    TempDir dir;
    const auto out = (dir / "q4km.gguf").string();
    ProcessResult q = suanli({"quantize", synthetic().string(), out, "Q4_K_M", "-t", "2"});
    ASSERT_EQ(q.exit_code, 0) << q.err;
    EXPECT_EQ(q.err.find("fell back"), std::string::npos) << q.err;
    EXPECT_NE(q.err.find("blk.3.ffn_down.weight  F32 -> Q6_K  768x256"), std::string::npos) << q.err;
    const ProcessResult r = suanli({"run", "-m", out, "-p", "Once", "--temp", "0", "-n", "4"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST(QuantizeCommand, Errors) {
    TempDir dir;
    const std::string in = stories().string();

    ProcessResult r = suanli({"quantize", in, (dir / "x.gguf").string(), "Q3_K"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("unknown TYPE 'Q3_K'"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("Q8_0, Q4_0, Q4_K"), std::string::npos) << r.err;

    r = suanli({"quantize", in});
    EXPECT_EQ(r.exit_code, 2) << r.err;

    r = suanli({"quantize", (dir / "missing.gguf").string(), (dir / "x.gguf").string(), "Q8_0"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("missing.gguf"), std::string::npos) << r.err;

    r = suanli({"quantize", in, (dir / "no/such/dir/x.gguf").string(), "Q8_0"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("cannot write"), std::string::npos) << r.err;

    const std::string q8 = (dir / "q8.gguf").string();
    ASSERT_EQ(suanli({"quantize", in, q8, "Q8_0"}).exit_code, 0);
    r = suanli({"quantize", q8, (dir / "again.gguf").string(), "Q4_0"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("tensor 'token_embd.weight' is Q8_0"), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(dir / "again.gguf"));
    EXPECT_FALSE(std::filesystem::exists(dir / "again.gguf.tmp"));

    r = suanli({"quantize", "--help"});
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_NE(r.out.find("Q4_K_M"), std::string::npos);
}

}  // namespace
}  // namespace suanli::test
