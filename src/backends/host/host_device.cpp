#include "backends/host/host_device.h"

#include <unistd.h>

#include <cstddef>
#include <cstdio>

#include "backends/host/abi_errors.h"

namespace suanli::host {
namespace {

uint64_t pages_to_bytes(long pages) {
    const long page = sysconf(_SC_PAGE_SIZE);
    return pages > 0 && page > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) : 0;
}

}  // namespace

uint64_t physical_memory() { return pages_to_bytes(sysconf(_SC_PHYS_PAGES)); }

uint64_t available_memory() {
    // Linux's estimate of what can be had without swapping counts the page cache it can
    // drop (a mapped model file, for one); the free pages alone leave that out.
    if (std::FILE* f = std::fopen("/proc/meminfo", "re")) {
        char line[128];
        unsigned long long kb = 0;
        bool found = false;
        while (!found && std::fgets(line, sizeof line, f)) found = std::sscanf(line, "MemAvailable: %llu kB", &kb) == 1;
        std::fclose(f);
        if (found) return static_cast<uint64_t>(kb) * 1024;
    }
    return pages_to_bytes(sysconf(_SC_AVPHYS_PAGES));
}

int32_t open_one_device(const char* backend, int32_t index, const sl_device_config* config, sl_device* out) {
    if (!out) invalid("out is NULL");
    *out = nullptr;
    if (index != 0) invalid("device index ", index, " is out of range (the ", backend, " backend has 1 device)");
    int32_t n_threads = 0;
    if (config && config->struct_size >= offsetof(sl_device_config, n_threads) + sizeof(int32_t))
        n_threads = config->n_threads;
    if (n_threads < 0) invalid("n_threads = ", n_threads, " is negative");
    return n_threads;
}

}  // namespace suanli::host
