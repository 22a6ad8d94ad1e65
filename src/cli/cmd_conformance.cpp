// suanli conformance: every standard op (and whole models) on a backend vs the reference backend.
#include <cstdio>
#include <filesystem>

#include "backends/reference/reference_backend.h"
#include "cli/backend_options.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/options.h"
#include "conformance/cases.h"
#include "conformance/report.h"
#include "conformance/suite.h"
#include "core/device.h"
#include "core/error.h"

namespace suanli {
namespace {

// The bundled model, then the shared test models next to the repository when present.
std::vector<std::filesystem::path> default_models() {
    const std::filesystem::path shared = std::filesystem::path(SUANLI_SOURCE_DIR) / ".." / "shared" / "models";
    return {default_model_path(), shared / "llama-tiny-random.gguf", shared / "qwen2-tiny-random.gguf"};
}

std::vector<std::string> split_ops(const std::string& list) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start <= list.size()) {
        const size_t comma = std::min(list.find(',', start), list.size());
        if (comma > start) out.push_back(list.substr(start, comma - start));
        start = comma + 1;
    }
    return out;
}

}  // namespace

int cmd_conformance(std::span<const std::string_view> args) {
    BackendOptions backend;
    std::string ops, format = "table", model;
    uint64_t seed = 42;
    int32_t threads = default_thread_count();
    bool verbose = false, no_models = false, quick = false;

    OptionParser p("suanli conformance",
                   "Run every standard op of the backend standard on a backend and on the reference backend, and "
                   "compare: a support matrix of op x dtype (pass / FAIL / unsupported), then whole-model checks.");
    add_backend_options(p, backend);
    p.option("--op", &ops, "OP[,OP...]", "only these ops (" + conformance::op_names() + ")");
    p.option("--format", &format, "FORMAT", "table, csv or json");
    p.option("--seed", &seed, "S", "seed of the random inputs");
    p.option("-m,--model", &model, "PATH", "check this model instead of the bundled and shared ones");
    p.flag("--no-models", &no_models, "skip the whole-model checks");
    p.flag("--quick", &quick, "skip the large cases (mul_mat 4096 x 256 by 64, long attention)");
    p.option("-t,--threads", &threads, "N", "threads per device", 1, 1024);
    p.flag("-v,--verbose", &verbose, "every case with its shapes and NMSE, not only the failures");
    p.epilog(
        "Outputs are compared by NMSE (tolerances in src/conformance/tolerances.h), NaN/Inf where the reference\n"
        "is finite fails, and guard bytes after every tensor catch writes past the end. Exit code 1 if anything\n"
        "fails; an op the backend does not support is reported, not failed.\n"
        "Examples:\n  suanli conformance --backend-plugin ./libmy_backend.so\n"
        "  suanli conformance --op mul_mat,attention -v\n");
    p.parse(args);
    if (p.help_requested()) {
        std::fputs(p.help().c_str(), stdout);
        return 0;
    }
    if (format != "table" && format != "csv" && format != "json")
        throw UsageError("option '--format' must be table, csv or json, got '" + format + "'");
    conformance::SuiteOptions options;
    options.ops = split_ops(ops);
    for (const std::string& op : options.ops)
        if (!conformance::find_op_cases(op))
            throw UsageError("unknown op '" + op + "' (known: " + conformance::op_names() + ")");
    options.seed = seed;
    options.quick = quick;
    if (!model.empty() && !std::filesystem::exists(model)) fail("model not found: ", model);
    if (!no_models) options.models = model.empty() ? default_models() : std::vector<std::filesystem::path>{model};

    Device reference(reference_backend(), 0, threads);
    Device target(resolve_backend(backend), 0, threads);
    const conformance::SuiteResult result = conformance::run_suite(reference, target, options);
    const std::string text = format == "json"  ? conformance::format_json(result, verbose)
                             : format == "csv" ? conformance::format_csv(result, verbose)
                                               : conformance::format_table(result, verbose);
    std::fputs(text.c_str(), stdout);
    return result.passed() ? 0 : 1;
}

}  // namespace suanli
