#include "cli/common.h"

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <set>
#include <thread>
#include <utility>

#include "core/error.h"

namespace suanli {

std::filesystem::path default_model_path() {
    if (const char* env = std::getenv("SUANLI_MODEL"); env && *env) return env;
    const std::filesystem::path local = "models/stories260K.gguf";
    if (std::filesystem::exists(local)) return local;
    return std::filesystem::path(SUANLI_SOURCE_DIR) / local;
}

int32_t default_thread_count() {
    // Count distinct (physical id, core id) pairs; hyperthreads share a core.
    std::ifstream cpuinfo("/proc/cpuinfo");
    std::set<std::pair<std::string, std::string>> cores;
    std::string line, physical;
    while (std::getline(cpuinfo, line)) {
        const auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        const std::string value = colon + 2 <= line.size() ? line.substr(colon + 2) : "";
        if (line.rfind("physical id", 0) == 0) physical = value;
        if (line.rfind("core id", 0) == 0) cores.emplace(physical, value);
    }
    if (!cores.empty()) return static_cast<int32_t>(cores.size());
    const unsigned n = std::thread::hardware_concurrency();
    return n ? static_cast<int32_t>(n) : 1;
}

std::string read_text_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) fail("cannot read ", path.string());
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void check_output_writable(const std::filesystem::path& out) {
    if (std::filesystem::is_directory(out)) fail("cannot write ", out.string(), ": it is a directory");
    std::filesystem::path probe = out;
    probe += ".tmp";
    {
        std::ofstream f(probe, std::ios::binary | std::ios::trunc);
        if (!f) fail("cannot write ", out.string(), ": cannot create files there");
    }
    std::error_code ec;
    std::filesystem::remove(probe, ec);
}

std::string shape_text(const std::vector<int64_t>& ne) {
    std::string s;
    for (size_t i = 0; i < ne.size(); ++i) s += cat(i ? "x" : "", ne[i]);
    return s;
}

}  // namespace suanli
