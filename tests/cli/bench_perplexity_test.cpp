// `suanli perplexity` and `suanli bench` as a user runs them.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
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

TEST(PerplexityCli, PrintsLlamaPerplexitysNumber) {
    ProcessResult r = suanli({"perplexity", "-f", shared("reference/ppl_text.txt").string(), "-c", "128"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out.rfind("PPL = 2.855", 0), 0u) << r.out;  // llama-perplexity: 2.8555
    EXPECT_NE(r.err.find("[31]"), std::string::npos) << "progress per chunk: " << r.err;
}

TEST(PerplexityCli, KlBaseComparesWithSavedLogits) {
    const auto logp = std::filesystem::temp_directory_path() / ("suanli-cli-logp-" + std::to_string(::getpid()));
    const std::string text = shared("reference/ppl_text.txt").string();
    ProcessResult r = suanli({"perplexity", "-f", text, "-c", "64", "--save-logits", logp.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = suanli({"perplexity", "-f", text, "-c", "64", "--kl-base", logp.string()});
    std::filesystem::remove(logp);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("same top token = 100.00%"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("KL divergence = 0.0000"), std::string::npos) << r.out;
}

TEST(PerplexityCli, Errors) {
    ProcessResult r = suanli({"perplexity"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("'-f'"), std::string::npos) << r.err;
    r = suanli({"perplexity", "-f", "/nonexistent.txt"});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("/nonexistent.txt"), std::string::npos) << r.err;
    r = suanli({"perplexity", "-f", shared("reference/ppl_text.txt").string(), "--kl-base",
                shared("reference/ppl.json").string()});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("not a suanli log-probability file"), std::string::npos) << r.err;
}

TEST(BenchCli, JsonHasOneObjectPerTestWithTheRequiredFields) {
    ProcessResult r = suanli({"bench", "-p", "32", "-n", "8", "-r", "2", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const nlohmann::json j = nlohmann::json::parse(r.out);
    ASSERT_TRUE(j.is_array());
    ASSERT_EQ(j.size(), 2u);
    EXPECT_EQ(j[0]["test"], "pp32");
    EXPECT_EQ(j[1]["test"], "tg8");
    for (const auto& o : j) {
        for (const char* key : {"model", "type", "threads", "test", "tokens_per_s", "stddev", "gb_per_s"})
            EXPECT_TRUE(o.contains(key)) << key;
        EXPECT_GT(o["tokens_per_s"].get<double>(), 0);
        EXPECT_GT(o["gb_per_s"].get<double>(), 0);
        EXPECT_EQ(o["type"], "F32");
        EXPECT_EQ(o["samples_tokens_per_s"].size(), 2u);
        // The roofline is measured before every repetition and each run is set against its own.
        ASSERT_EQ(o["samples_bandwidth_gb_per_s"].size(), 2u);
        for (const auto& bw : o["samples_bandwidth_gb_per_s"]) EXPECT_GT(bw.get<double>(), 0);
        EXPECT_GT(o["bandwidth_gb_per_s"].get<double>(), 0);
        EXPECT_GT(o["bandwidth_share"].get<double>(), 0);
    }
}

TEST(BenchCli, DepthNamesTheTestsAsLlamaBenchDoes) {
    ProcessResult r = suanli({"bench", "-p", "8", "-n", "4", "-d", "24", "-r", "1", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const nlohmann::json j = nlohmann::json::parse(r.out);
    ASSERT_EQ(j.size(), 2u);
    EXPECT_EQ(j[0]["test"], "pp8 @ d24");
    EXPECT_EQ(j[1]["test"], "tg4 @ d24");
    for (const auto& o : j) {
        EXPECT_EQ(o["n_depth"], 24);
        EXPECT_GT(o["tokens_per_s"].get<double>(), 0);
    }
    r = suanli({"bench", "-p", "0", "-n", "2", "-d", "8", "-r", "1"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find(" tg2 @ d8 |"), std::string::npos) << r.out;
}

TEST(BenchCli, TableAndErrors) {
    ProcessResult r = suanli({"bench", "-p", "16", "-n", "4", "-r", "1"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("memory read bandwidth"), std::string::npos);
    EXPECT_NE(r.out.find(" pp16 |"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find(" tg4 |"), std::string::npos) << r.out;
    r = suanli({"bench", "-r", "0"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("'-r'"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace suanli::test
