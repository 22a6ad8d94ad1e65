// The plugin loader: dlopen a shared object, ask its entry point for the
// function table, and check the table before anyone calls through it.
//
// A loaded plugin is never unloaded: devices, buffers and thread-local error
// messages of the plugin may outlive any one caller, and the same path loaded
// twice must give the same table (so handles from one load work with the other).
#include "backends/plugin.h"

#include <dlfcn.h>

#include <cstddef>
#include <map>
#include <mutex>
#include <string>
#include <system_error>

#include "core/error.h"

namespace suanli {
namespace {

struct Loaded {
    void* handle = nullptr;
    const sl_backend* table = nullptr;
};

struct PluginRegistry {
    std::mutex mutex;
    std::map<std::string, Loaded> by_path;  // canonical path -> the loaded plugin
};

PluginRegistry& registry() {
    static PluginRegistry* r = new PluginRegistry;  // never destroyed: plugins stay loaded
    return *r;
}

std::string dl_message() {
    const char* e = dlerror();
    return e && *e ? e : "unknown dlopen error";
}

// The entry point of a C++ plugin might throw although it must not; no exception
// from it may reach our caller as anything but an Error.
const sl_backend* call_entry(sl_backend_entry_fn entry, const std::string& path) {
    try {
        return entry(SL_BACKEND_ABI_VERSION);
    } catch (...) {
        fail(path, ": ", SL_BACKEND_ENTRY_SYMBOL, " threw an exception (no exception may cross the plugin boundary)");
    }
}

constexpr size_t kRequiredTableBytes = offsetof(sl_backend, last_error) + sizeof(sl_backend::last_error);

// Every function the engine calls unconditionally; buffer_from_host alone may be NULL.
void check_table(const sl_backend* t, const std::string& path) {
    if (!t)
        fail(path, ": ", SL_BACKEND_ENTRY_SYMBOL, "(", SL_BACKEND_ABI_VERSION,
             ") returned NULL (the plugin refused this suanli's backend ABI version ", SL_BACKEND_ABI_VERSION, ")");
    if (t->abi_version != SL_BACKEND_ABI_VERSION)
        fail(path, " was built for backend ABI version ", t->abi_version, "; this suanli speaks version ",
             SL_BACKEND_ABI_VERSION, ": rebuild it against this include/suanli/backend.h");
    // Members after last_error were appended later and are optional: a table may end before them.
    if (t->struct_size < kRequiredTableBytes)
        fail(path, ": its function table is ", t->struct_size, " bytes; backend ABI version ", SL_BACKEND_ABI_VERSION,
             " needs ", kRequiredTableBytes, " (rebuild it against this include/suanli/backend.h)");
    std::string missing;
    auto need = [&](const void* fn, const char* name) {
        if (!fn) missing += cat(missing.empty() ? "" : ", ", name);
    };
    need(reinterpret_cast<const void*>(t->device_count), "device_count");
    need(reinterpret_cast<const void*>(t->device_open), "device_open");
    need(reinterpret_cast<const void*>(t->device_close), "device_close");
    need(reinterpret_cast<const void*>(t->device_info), "device_info");
    need(reinterpret_cast<const void*>(t->supports_op), "supports_op");
    need(reinterpret_cast<const void*>(t->buffer_alloc), "buffer_alloc");
    need(reinterpret_cast<const void*>(t->buffer_free), "buffer_free");
    need(reinterpret_cast<const void*>(t->buffer_write), "buffer_write");
    need(reinterpret_cast<const void*>(t->buffer_read), "buffer_read");
    need(reinterpret_cast<const void*>(t->graph_compute), "graph_compute");
    need(reinterpret_cast<const void*>(t->last_error), "last_error");
    if (!missing.empty()) fail(path, ": the backend's function table lacks required functions: ", missing);
    if (!t->name || !*t->name) fail(path, ": the backend's function table has no name");
}

}  // namespace

const sl_backend& load_backend_plugin(const std::filesystem::path& path) {
    const std::string shown = path.string();
    if (shown.empty()) fail("cannot load backend plugin: empty path");
    std::error_code ec;
    const auto status = std::filesystem::status(path, ec);
    if (!std::filesystem::exists(status))
        fail("cannot load backend plugin ", shown, ": ",
             ec && ec != std::errc::no_such_file_or_directory ? ec.message() : "no such file");
    if (std::filesystem::is_directory(status)) fail("cannot load backend plugin ", shown, ": it is a directory");
    // An absolute path, so that dlopen opens this file rather than searching the library path.
    std::filesystem::path full = std::filesystem::weakly_canonical(std::filesystem::absolute(path, ec), ec);
    if (ec || full.empty()) full = std::filesystem::absolute(path);
    const std::string key = full.string();

    PluginRegistry& r = registry();
    std::lock_guard lock(r.mutex);
    if (auto it = r.by_path.find(key); it != r.by_path.end()) return *it->second.table;

    dlerror();  // clear any stale message
    void* handle = dlopen(key.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) fail("cannot load backend plugin ", shown, ": ", dl_message());
    dlerror();
    void* symbol = dlsym(handle, SL_BACKEND_ENTRY_SYMBOL);
    if (!symbol) {
        dlclose(handle);
        fail(shown, " is not a suanli backend plugin: it does not export ", SL_BACKEND_ENTRY_SYMBOL);
    }
    // From here on the plugin has run code; it stays loaded even if it is refused.
    const auto entry = reinterpret_cast<sl_backend_entry_fn>(symbol);
    const sl_backend* table = call_entry(entry, shown);
    check_table(table, shown);
    r.by_path.emplace(key, Loaded{handle, table});
    return *table;
}

}  // namespace suanli
