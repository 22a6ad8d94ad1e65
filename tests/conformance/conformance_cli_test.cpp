// `suanli conformance`: exit codes, the matrix, --op, the output formats.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "run_process.h"
#include "test_paths.h"

namespace suanli::test {
namespace {

ProcessResult suanli(std::vector<std::string> args) {
    args.insert(args.begin(), suanli_binary().string());
    return run_process(std::move(args));
}

TEST(ConformanceCli, ReferencePassesWithMatrixAndModels) {
    const ProcessResult r = suanli({"conformance", "--backend", "reference", "-t", "2"});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    for (const char* op : {"get_rows", "mul_mat", "add", "mul", "scale", "rms_norm", "rope", "silu", "attention", "copy"})
        EXPECT_NE(r.out.find(std::string("\n") + op + " "), std::string::npos) << op << "\n" << r.out;
    EXPECT_NE(r.out.find("q4_0"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("stories260K.gguf"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("result: PASS"), std::string::npos) << r.out;
}

// The example plugin (examples/backend-plugin) and the built-in CPU backend conform.
TEST(ConformanceCli, ExamplePluginConforms) {
    const ProcessResult r = suanli({"conformance", "--backend-plugin", EXAMPLE_PLUGIN, "--quick"});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("backend 'example'"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("result: PASS"), std::string::npos) << r.out;
}

TEST(ConformanceCli, CpuBackendConforms) {
    const ProcessResult r = suanli({"conformance", "--backend", "cpu", "-t", "2"});
    if (r.exit_code == 1 && r.err.find("unknown backend") != std::string::npos) GTEST_SKIP() << "no cpu backend";
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("result: PASS"), std::string::npos) << r.out;
}

TEST(ConformanceCli, OpRestricts) {
    const ProcessResult r = suanli({"conformance", "--op", "mul_mat", "--no-models", "--quick", "-t", "2"});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("\nmul_mat "), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("\nrope "), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("models"), std::string::npos) << r.out;
}

TEST(ConformanceCli, VerboseListsCases) {
    const ProcessResult r = suanli({"conformance", "--op", "silu", "--no-models", "-v"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("every case:"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("nmse 0 (tolerance 1e-07)"), std::string::npos) << r.out;
}

TEST(ConformanceCli, JsonIsValid) {
    const ProcessResult r = suanli({"conformance", "--backend", "cpu", "--op", "rope,copy", "--no-models", "--format", "json", "-v"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    const nlohmann::json j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["backend"], "cpu");
    EXPECT_EQ(j["passed"], true);
    EXPECT_EQ(j["abi_version"], 1);
    std::set<std::string> ops;
    for (const auto& cell : j["matrix"]) {
        ops.insert(cell["op"].get<std::string>());
        EXPECT_EQ(cell["status"], "pass");
        EXPECT_EQ(cell["fail"], 0);
    }
    EXPECT_EQ(ops, (std::set<std::string>{"rope", "copy"}));
    EXPECT_GT(j["cases"].size(), 10u);
}

TEST(ConformanceCli, Csv) {
    const ProcessResult r = suanli({"conformance", "--op", "add", "--no-models", "--format", "csv"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out.rfind("kind,name,dtype,status,pass,fail,unsupported,nmse,max_abs,detail\n", 0), 0u) << r.out;
    EXPECT_NE(r.out.find("\nop,add,f32,pass,"), std::string::npos) << r.out;
}

TEST(ConformanceCli, UnknownOpIsUsageError) {
    const ProcessResult r = suanli({"conformance", "--op", "softmax", "--no-models"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("unknown op 'softmax'"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("mul_mat"), std::string::npos) << r.err;  // lists the known ones
}

TEST(ConformanceCli, BadFormatAndUnknownBackend) {
    EXPECT_EQ(suanli({"conformance", "--format", "xml"}).exit_code, 2);
    const ProcessResult r = suanli({"conformance", "--backend", "nonesuch", "--no-models"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("nonesuch"), std::string::npos) << r.err;
}

TEST(ConformanceCli, Help) {
    const ProcessResult r = suanli({"conformance", "--help"});
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_NE(r.out.find("--backend-plugin"), std::string::npos);
    EXPECT_NE(r.out.find("--op"), std::string::npos);
    EXPECT_NE(r.out.find("--format"), std::string::npos);
}

}  // namespace
}  // namespace suanli::test
