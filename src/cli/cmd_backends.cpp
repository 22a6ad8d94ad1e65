// suanli backends: the backends this binary can run on (built in, and a plugin
// given with --backend-plugin), their devices, and which op x dtype
// combinations each device supports (asked through supports_op on small probe graphs).
#include <cstdio>
#include <string>
#include <vector>

#include "backends/op_probe.h"
#include "backends/plugin.h"
#include "backends/registry.h"
#include "cli/backend_options.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "core/json_string.h"
#include "core/device.h"
#include "core/error.h"

namespace suanli {
namespace {

struct DeviceReport {
    int32_t index = 0;
    sl_device_info info{};
    std::string error;  // the device could not be opened or described
    std::vector<OpCoverage> ops;
};

struct BackendReport {
    const sl_backend* backend = nullptr;
    std::string plugin_path;  // empty for a built-in backend
    std::vector<DeviceReport> devices;
};

BackendReport describe(const sl_backend& backend, std::string plugin_path) {
    BackendReport r{&backend, std::move(plugin_path), {}};
    const int32_t n = backend.device_count();
    for (int32_t i = 0; i < n; ++i) {
        DeviceReport d;
        d.index = i;
        try {
            // One thread: listing computes nothing, so no backend needs to start a thread pool.
            Device device(backend, i, 1);
            d.info = device.info();
            d.ops = probe_op_coverage(device);
        } catch (const Error& e) {
            d.error = e.what();
        }
        r.devices.push_back(std::move(d));
    }
    return r;
}

// A fixed-size char array from the C ABI, up to its first NUL.
template <size_t N>
std::string c_text(const char (&s)[N]) {
    size_t n = 0;
    while (n < N && s[n]) ++n;
    return std::string(s, n);
}

std::string human_bytes(uint64_t n) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double v = static_cast<double>(n);
    int u = 0;
    while (v >= 1024 && u < 5) v /= 1024, ++u;
    char buf[32];
    std::snprintf(buf, sizeof buf, u ? "%.1f %s" : "%.0f %s", v, units[u]);
    return buf;
}

std::string join(const std::vector<std::string>& words) {
    std::string out;
    for (const std::string& w : words) out += cat(out.empty() ? "" : " ", w);
    return out;
}

void print_table(const std::vector<BackendReport>& reports) {
    bool first = true;
    for (const BackendReport& r : reports) {
        if (!first) std::printf("\n");
        first = false;
        const std::string source = r.plugin_path.empty() ? "built in" : cat("plugin ", r.plugin_path);
        std::printf("%s (%s; backend ABI version %u)\n", r.backend->name, source.c_str(), r.backend->abi_version);
        if (r.devices.empty()) std::printf("  no devices\n");
        for (const DeviceReport& d : r.devices) {
            if (!d.error.empty()) {
                std::printf("  device %d: unavailable: %s\n", d.index, d.error.c_str());
                continue;
            }
            std::printf("  device %d: %s", d.index, c_text(d.info.name).c_str());
            const std::string description = c_text(d.info.description);
            if (!description.empty()) std::printf(" - %s", description.c_str());
            std::printf("\n    memory: %s total, %s free\n",
                        d.info.memory_total ? human_bytes(d.info.memory_total).c_str() : "unknown",
                        d.info.memory_free ? human_bytes(d.info.memory_free).c_str() : "unknown");
            std::printf("    ops:\n");
            for (const OpCoverage& c : d.ops) {
                const std::string name(op_probe_name(c.op));
                std::string row = c.supported.empty() ? "none" : join(c.supported);
                if (!c.unsupported.empty()) row += cat(" (not: ", join(c.unsupported), ")");
                std::printf("      %-10s %s\n", name.c_str(), row.c_str());
            }
        }
    }
}


std::string json_list(const std::vector<std::string>& words) {
    std::string out = "[";
    for (size_t i = 0; i < words.size(); ++i) out += cat(i ? ", " : "", json_string(words[i]));
    return out + "]";
}

void print_json(const std::vector<BackendReport>& reports) {
    std::string out = "{\"backends\": [";
    for (size_t b = 0; b < reports.size(); ++b) {
        const BackendReport& r = reports[b];
        out += cat(b ? ",\n" : "\n", "  {\"name\": ", json_string(r.backend->name),
                   ", \"source\": ", json_string(r.plugin_path.empty() ? "built-in" : "plugin"),
                   ", \"path\": ", r.plugin_path.empty() ? "null" : json_string(r.plugin_path),
                   ", \"abi_version\": ", r.backend->abi_version, ", \"devices\": [");
        for (size_t i = 0; i < r.devices.size(); ++i) {
            const DeviceReport& d = r.devices[i];
            out += cat(i ? ", " : "", "{\"index\": ", d.index);
            if (!d.error.empty()) {
                out += cat(", \"error\": ", json_string(d.error), "}");
                continue;
            }
            out += cat(", \"name\": ", json_string(c_text(d.info.name)),
                       ", \"description\": ", json_string(c_text(d.info.description)),
                       ", \"memory_total\": ", d.info.memory_total, ", \"memory_free\": ", d.info.memory_free,
                       ", \"ops\": {");
            for (size_t k = 0; k < d.ops.size(); ++k) {
                const OpCoverage& c = d.ops[k];
                out += cat(k ? ", " : "", json_string(op_probe_name(c.op)), ": {\"supported\": ",
                           json_list(c.supported), ", \"unsupported\": ", json_list(c.unsupported), "}");
            }
            out += "}}";
        }
        out += "]}";
    }
    out += "\n]}\n";
    std::fputs(out.c_str(), stdout);
}

}  // namespace

int cmd_backends(std::span<const std::string_view> args) {
    BackendOptions backend;
    std::string format = "table";
    OptionParser p("suanli backends",
                   "List the backends: built in, and a plugin given with --backend-plugin; their devices and "
                   "which ops and dtypes each device supports.");
    add_backend_options(p, backend);
    p.option("--format", &format, "FORMAT", "table or json");
    p.epilog(
        "With --backend NAME only that built-in backend is listed (and the plugin, if one is given).\n"
        "Op coverage is what each device answers through supports_op for a small graph per op and dtype.\n"
        "\nExamples:\n  suanli backends\n  suanli backends --backend-plugin ./libsuanli_example_backend.so --format json\n");
    p.parse(args);
    if (p.help_requested()) {
        std::fputs(p.help().c_str(), stdout);
        return 0;
    }
    if (format != "table" && format != "json")
        throw UsageError(cat("option '--format' must be 'table' or 'json', got '", format, "'"));

    std::vector<BackendReport> reports;
    if (p.was_set("--backend")) {
        reports.push_back(describe(find_backend(backend.name), ""));
    } else {
        for (const sl_backend* b : builtin_backends()) reports.push_back(describe(*b, ""));
    }
    if (!backend.plugin_path.empty())
        reports.push_back(describe(load_backend_plugin(backend.plugin_path), backend.plugin_path));

    if (format == "json") print_json(reports);
    else print_table(reports);
    return 0;
}

}  // namespace suanli
