// suanli bench: prompt and generation speed, with achieved memory bandwidth.
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cli/backend_options.h"
#include "cli/cache_type_option.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/options.h"
#include "core/json_string.h"
#include "core/device.h"
#include "models/model.h"
#include "runtime/bench.h"
#include "runtime/memory_bandwidth.h"

namespace suanli {
namespace {

// The weight type holding most of the model's bytes, as the model's "type".
std::string main_weight_type(const Model& model, int64_t& parameters, uint64_t& bytes) {
    std::map<std::string, uint64_t> by_type;
    parameters = 0;
    bytes = 0;
    auto add = [&](const WeightRef& w) {
        if (!w) return;
        const uint64_t b = row_bytes(w.type, w.shape.ne[0]) * static_cast<uint64_t>(w.shape.ne[1] * w.shape.ne[2]);
        by_type[std::string(dtype_name(w.type))] += b;
        parameters += w.shape.elements();
        bytes += b;
    };
    const ModelWeights& w = model.weights();
    add(w.token_embd);
    add(w.output_norm);
    if (w.output.addr != w.token_embd.addr) add(w.output);
    for (const LayerWeights& l : w.layers)
        for (const WeightRef* r : {&l.attn_norm, &l.wq, &l.wk, &l.wv, &l.wo, &l.bq, &l.bk, &l.bv, &l.ffn_norm,
                                   &l.ffn_gate, &l.ffn_up, &l.ffn_down})
            add(*r);
    std::string best;
    uint64_t most = 0;
    for (const auto& [type, b] : by_type)
        if (b > most) most = b, best = type;
    return best;
}

struct Bandwidth {
    std::string what;
    std::function<double()> measure;  // GB/s now
};

// The roofline for the backend's device: host memory read by `threads` threads
// for host backends, the device's own copy rate for the others (GPUs).
Bandwidth bandwidth_probe(Device& device, int32_t threads) {
    const std::string_view name = device.backend().name;
    if (name != "cpu" && name != "reference") {
        const auto copy = [&device] { return measure_device_copy_bandwidth(device, uint64_t{256} << 20, 3); };
        try {
            copy();
            return {cat(name, " device memory bandwidth (copy, read + write)"), copy};
        } catch (const Error& e) {
            std::fprintf(stderr, "bench: cannot time a copy on %s (%s); using host memory bandwidth\n",
                         device.backend().name, e.what());
        }
    }
    auto probe = std::make_shared<ReadBandwidthProbe>(threads);
    return {cat("memory read bandwidth (", threads, " threads)"), [probe] { return probe->measure(5); }};
}

}  // namespace

int cmd_bench(std::span<const std::string_view> args) {
    std::string model_path = default_model_path().string();
    int32_t n_prompt = 512, n_gen = 128, n_depth = 0, threads = default_thread_count(), reps = 5;
    bool json = false;
    BackendOptions backend;
    OptionParser p("suanli bench", "Measure prompt processing and generation speed, and memory bandwidth.");
    p.option("-m,--model", &model_path, "PATH", "model file (default: the bundled stories260K)");
    p.option("-p,--n-prompt", &n_prompt, "N", "prompt tokens evaluated in one batch (test ppN); 0 = skip", 0, 1 << 20);
    p.option("-n,--n-gen", &n_gen, "N", "tokens generated one at a time (test tgN); 0 = skip", 0, 1 << 20);
    p.option("-d,--n-depth", &n_depth, "N",
             "tokens already in the context when each test starts, evaluated untimed (tests ppN @ dN, tgN @ dN)", 0,
             1 << 20);
    p.option("-t,--threads", &threads, "N", "threads to use", 1, 1024);
    std::string cache_name = "f32";
    add_cache_type_option(p, cache_name);
    p.option("-r,--repetitions", &reps, "N", "runs of each test; the table shows mean and standard deviation", 1, 1000);
    p.flag("--json", &json, "print a JSON array, one object per test, instead of the table");
    add_model_backend_options(p, backend);
    p.parse(args);
    if (p.help_requested()) {
        std::fputs(p.help().c_str(), stdout);
        return 0;
    }
    const DType kv_type = cache_type(cache_name);

    ModelDevices devices(backend, threads);
    const int64_t context = std::max<int64_t>(4096, int64_t{n_depth} + std::max(n_prompt, n_gen));
    const std::unique_ptr<Model> model = devices.load(model_path, context);
    int64_t parameters = 0;
    uint64_t size = 0;
    const std::string type = main_weight_type(*model, parameters, size);
    const Bandwidth bandwidth = bandwidth_probe(devices.backend_device(), threads);

    std::vector<BenchTest> tests;
    if (n_prompt > 0) tests.push_back({"", n_prompt, 0, n_depth, kv_type});
    if (n_gen > 0) tests.push_back({"", 0, n_gen, n_depth, kv_type});
    for (BenchTest& t : tests) t.name = bench_test_name(t);
    int test_width = 6;
    for (const BenchTest& t : tests) test_width = std::max(test_width, static_cast<int>(t.name.size()));
    std::vector<BenchResult> results;
    const std::string model_name = std::filesystem::path(model_path).filename().string();
    if (!json) {
        std::printf("%s: %.1f GB/s now; measured again before every run, \"%% bw\" pairs each run with it\n\n",
                    bandwidth.what.c_str(), bandwidth.measure());
        std::printf("| %-24s | %6s | %10s | %9s | %-9s | %7s | %*s | %18s | %7s | %6s |\n", "model", "type", "size",
                    "params", "backend", "threads", test_width, "test", "t/s", "GB/s", "% bw");
        std::printf("|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|\n", std::string(26, '-').c_str(), std::string(8, '-').c_str(),
                    std::string(12, '-').c_str(), std::string(11, '-').c_str(), std::string(11, '-').c_str(),
                    std::string(9, '-').c_str(), std::string(static_cast<size_t>(test_width) + 2, '-').c_str(),
                    std::string(20, '-').c_str(), std::string(9, '-').c_str(), std::string(8, '-').c_str());
    }
    for (const BenchTest& t : tests) {
        const BenchResult r = run_bench(*model, t, reps, bandwidth.measure);
        results.push_back(r);
        if (!json) {
            std::printf("| %-24s | %6s | %6.1f MiB | %7.2f M | %-9s | %7d | %*s | %9.2f ± %6.2f | %7.2f | %5.1f%% |\n",
                        model_name.substr(0, 24).c_str(), type.c_str(), size / 1048576.0, parameters / 1e6,
                        devices.backend_device().backend().name, threads, test_width, t.name.c_str(), r.mean, r.stddev,
                        r.gb_per_s, 100.0 * r.bandwidth_share);
            std::fflush(stdout);
        }
    }
    if (json) {
        std::printf("[\n");
        for (size_t i = 0; i < results.size(); ++i) {
            const BenchResult& r = results[i];
            std::printf("  {\"model\": %s, \"type\": \"%s\", \"size_bytes\": %llu, \"params\": %lld, "
                        "\"backend\": \"%s\", \"threads\": %d, \"test\": \"%s\", \"n_prompt\": %lld, \"n_gen\": %lld, "
                        "\"n_depth\": %lld, \"cache_type\": \"%s\", "
                        "\"repetitions\": %d, \"tokens_per_s\": %.4f, \"stddev\": %.4f, \"gb_per_s\": %.4f, "
                        "\"bandwidth_gb_per_s\": %.4f, \"bandwidth_share\": %.4f, \"samples_tokens_per_s\": [",
                        json_string(model_name).c_str(), type.c_str(), static_cast<unsigned long long>(size),
                        static_cast<long long>(parameters), devices.backend_device().backend().name, threads, r.test.name.c_str(),
                        static_cast<long long>(r.test.n_prompt), static_cast<long long>(r.test.n_gen),
                        static_cast<long long>(r.test.n_depth), std::string(dtype_name(r.test.kv_type)).c_str(), reps,
                        r.mean, r.stddev, r.gb_per_s, r.bandwidth_median_gb_per_s, r.bandwidth_share);
            for (size_t j = 0; j < r.tokens_per_s.size(); ++j) std::printf("%s%.4f", j ? ", " : "", r.tokens_per_s[j]);
            std::printf("], \"samples_bandwidth_gb_per_s\": [");
            for (size_t j = 0; j < r.bandwidth_gb_per_s.size(); ++j)
                std::printf("%s%.4f", j ? ", " : "", r.bandwidth_gb_per_s[j]);
            std::printf("]}%s\n", i + 1 < results.size() ? "," : "");
        }
        std::printf("]\n");
    }
    return 0;
}

}  // namespace suanli
