// The CLI with --backend-plugin: `suanli run` on the example plugin writes the
// same greedy text as on the reference backend; broken plugins are one-line
// errors with exit code 1; `suanli backends` lists backends and op coverage.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "run_process.h"
#include "test_paths.h"

namespace suanli {
namespace {

using test::run_process;
using test::ProcessResult;

ProcessResult suanli(std::vector<std::string> args) {
    args.insert(args.begin(), test::suanli_binary().string());
    return run_process(std::move(args), "", std::chrono::seconds(120));
}

std::vector<std::string> run_args(const std::string& backend_option, const std::string& value) {
    return {"run", "-m", (test::source_dir() / "models/stories260K.gguf").string(), "--temp", "0", "-n", "64",
            "--no-echo", "-t", "2", "-p", "Once upon a time", backend_option, value};
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }
size_t lines(const std::string& s) { return static_cast<size_t>(std::count(s.begin(), s.end(), '\n')); }

TEST(PluginCli, RunOnTheExamplePluginMatchesTheReferenceBackend) {
    const ProcessResult ref = suanli(run_args("--backend", "reference"));
    ASSERT_EQ(ref.exit_code, 0) << ref.err;
    const ProcessResult plug = suanli(run_args("--backend-plugin", EXAMPLE_PLUGIN));
    ASSERT_EQ(plug.exit_code, 0) << plug.err;
    EXPECT_GT(ref.out.size(), 20u);
    EXPECT_EQ(plug.out, ref.out);
    EXPECT_TRUE(contains(plug.err, "generated: 64 tokens")) << plug.err;
}

// The tiny random Llama and Qwen2 models (32000-token vocabularies, GQA, both rope modes), when present.
TEST(PluginCli, RunOnTinyRandomModelsMatchesTheReferenceBackend) {
    for (const char* name : {"llama-tiny-random.gguf", "qwen2-tiny-random.gguf"}) {
        const std::string model = test::shared("models/" + std::string(name)).string();
        if (!std::filesystem::exists(model)) GTEST_SKIP() << model << " is not there";
        auto args = [&](const std::string& option, const std::string& value) {
            return std::vector<std::string>{"run", "-m", model, "--temp", "0", "-n", "24", "--no-echo", "-t", "2",
                                            "-p", "Once upon a time", option, value};
        };
        const ProcessResult ref = suanli(args("--backend", "reference"));
        const ProcessResult plug = suanli(args("--backend-plugin", EXAMPLE_PLUGIN));
        ASSERT_EQ(ref.exit_code, 0) << ref.err;
        ASSERT_EQ(plug.exit_code, 0) << plug.err;
        EXPECT_EQ(plug.out, ref.out) << name;
    }
}

// Each failure is exit code 1 and exactly one line on stderr containing `message`.
void expect_refused(const std::vector<std::string>& args, const std::string& message) {
    const ProcessResult r = suanli(args);
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_EQ(lines(r.err), 1u) << r.err;
    EXPECT_TRUE(r.err.starts_with("suanli: error: ")) << r.err;
    EXPECT_TRUE(contains(r.err, message)) << r.err;
    EXPECT_EQ(r.out, "");
}

TEST(PluginCli, WrongAbiVersionIsRefused) {
    const std::string message = std::string(BAD_PLUGIN_WRONG_ABI) + " was built for backend ABI version 2; " +
                                "this suanli speaks version 1: rebuild it against this include/suanli/backend.h";
    expect_refused(run_args("--backend-plugin", BAD_PLUGIN_WRONG_ABI), message);
}

TEST(PluginCli, MissingEntrySymbolIsRefused) {
    expect_refused(run_args("--backend-plugin", BAD_PLUGIN_NO_ENTRY), "does not export suanli_backend_entry");
}

TEST(PluginCli, MissingFileIsRefused) {
    expect_refused(run_args("--backend-plugin", "/nonexistent/libplugin.so"),
                   "cannot load backend plugin /nonexistent/libplugin.so: no such file");
}

TEST(PluginCli, FileThatIsNotASharedObjectIsRefused) {
    const auto path = std::filesystem::temp_directory_path() / ("suanli_cli_not_elf_" + std::to_string(::getpid()));
    std::ofstream(path) << "plain text\n";
    expect_refused(run_args("--backend-plugin", path.string()), "cannot load backend plugin " + path.string() + ": ");
    std::filesystem::remove(path);
}

TEST(PluginCli, InfoAcceptsAndChecksThePlugin) {
    const std::string model = (test::source_dir() / "models/stories260K.gguf").string();
    const ProcessResult ok = suanli({"info", "--backend-plugin", EXAMPLE_PLUGIN, model});
    EXPECT_EQ(ok.exit_code, 0) << ok.err;
    EXPECT_TRUE(contains(ok.out, "architecture:")) << ok.out;
    expect_refused({"info", "--backend-plugin", BAD_PLUGIN_WRONG_ABI, model}, "was built for backend ABI version 2");
    const ProcessResult help = suanli({"info", "--help"});
    EXPECT_TRUE(contains(help.out, "--backend-plugin")) << help.out;
}

TEST(PluginCli, BackendsListsTheReferenceBackend) {
    const ProcessResult r = suanli({"backends"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(r.out.starts_with("reference (built in; backend ABI version 1)")) << r.out;
    EXPECT_TRUE(contains(r.out, "mul_mat    F32 F16 BF16 Q8_0 Q4_0")) << r.out;
    EXPECT_TRUE(contains(r.out, "memory: ")) << r.out;
    EXPECT_FALSE(contains(r.out, "example")) << r.out;
}

TEST(PluginCli, BackendsListsThePluginWithItsCoverage) {
    const ProcessResult r = suanli({"backends", "--backend", "reference", "--backend-plugin", EXAMPLE_PLUGIN});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(r.out.starts_with("reference (built in")) << r.out;
    EXPECT_TRUE(contains(r.out, std::string("example (plugin ") + EXAMPLE_PLUGIN + "; backend ABI version 1)")) << r.out;
    EXPECT_TRUE(contains(r.out, "device 0: example-cpu - ")) << r.out;
    EXPECT_TRUE(contains(r.out, "mul_mat    F32 F16 BF16 Q8_0 Q4_0 (not: Q4_K Q5_K Q6_K)")) << r.out;
    EXPECT_TRUE(contains(r.out, "attention  F32 F16\n")) << r.out;
    EXPECT_TRUE(contains(r.out, "rope       adjacent halves\n")) << r.out;
}

TEST(PluginCli, BackendsAsJson) {
    const ProcessResult r =
        suanli({"backends", "--backend", "reference", "--backend-plugin", EXAMPLE_PLUGIN, "--format", "json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const nlohmann::json j = nlohmann::json::parse(r.out);
    const auto& backends = j.at("backends");
    ASSERT_EQ(backends.size(), 2u);
    EXPECT_EQ(backends[0].at("name"), "reference");
    EXPECT_EQ(backends[0].at("source"), "built-in");
    EXPECT_TRUE(backends[0].at("path").is_null());
    const auto& plugin = backends.back();
    EXPECT_EQ(plugin.at("name"), "example");
    EXPECT_EQ(plugin.at("source"), "plugin");
    EXPECT_EQ(plugin.at("path"), EXAMPLE_PLUGIN);
    EXPECT_EQ(plugin.at("abi_version"), 1);
    ASSERT_EQ(plugin.at("devices").size(), 1u);
    const auto& device = plugin.at("devices")[0];
    EXPECT_EQ(device.at("name"), "example-cpu");
    EXPECT_GT(device.at("memory_total").get<uint64_t>(), 0u);
    const auto& ops = device.at("ops");
    for (const char* op : {"get_rows", "mul_mat", "add", "mul", "scale", "rms_norm", "rope", "silu", "attention", "copy"})
        EXPECT_TRUE(ops.contains(op)) << op;
    const auto supported = ops.at("mul_mat").at("supported").get<std::vector<std::string>>();
    EXPECT_EQ(supported, (std::vector<std::string>{"F32", "F16", "BF16", "Q8_0", "Q4_0"}));
    EXPECT_EQ(ops.at("copy").at("supported").size(), 9u);
    EXPECT_EQ(ops.at("copy").at("unsupported").size(), 0u);
}

TEST(PluginCli, BackendsRejectsAnUnknownFormat) {
    const ProcessResult r = suanli({"backends", "--format", "xml"});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_TRUE(contains(r.err, "'--format' must be 'table' or 'json'")) << r.err;
}

TEST(PluginCli, BackendsWithABrokenPluginFails) {
    expect_refused({"backends", "--backend", "reference", "--backend-plugin", BAD_PLUGIN_MISSING_FUNCTIONS},
                   "lacks required functions: graph_compute, last_error");
}

}  // namespace
}  // namespace suanli
