// The reference backend's C ABI: the function table, its one device, host
// buffers, and graph_compute (check every node, then run them in order).
//
// Every entry point catches everything: failures become a status and a
// thread-local message. Handles are pointers to the C++ objects below and are
// looked up in a registry before use, so a stale or foreign handle is an error,
// not a crash.
#include "backends/reference/reference_backend.h"

#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <set>
#include <string>

#include "backends/reference/graph.h"
#include "backends/reference/ops.h"

namespace suanli::reference {
namespace {

constexpr std::align_val_t kAlignment{64};

struct Device {
    int n_threads = 1;
};

struct Buffer {
    std::byte* data = nullptr;
    uint64_t size = 0;
    bool owned = false;      // allocated here (freed here) or wrapped host memory
    bool read_only = false;  // wrapped host memory: the backend only reads it

    Buffer() = default;
    Buffer(const Buffer&) = delete;
    Buffer& operator=(const Buffer&) = delete;
    ~Buffer() {
        if (owned) ::operator delete(data, kAlignment);
    }
};

// Live handles. Never destroyed, so handles freed during static destruction stay safe.
struct Registry {
    std::mutex mutex;
    std::set<const Device*> devices;
    std::set<const Buffer*> buffers;
};

Registry& registry() {
    static Registry* r = new Registry;
    return *r;
}

// ---- errors ----

thread_local std::string t_message = "no error";
thread_local const char* t_last_error = "no error";

template <class... Parts>
void set_error(const Parts&... parts) noexcept {
    try {
        t_message = cat("reference: ", parts...);
        t_last_error = t_message.c_str();
    } catch (...) {
        t_last_error = "reference: out of memory while reporting an error";
    }
}

// Runs fn, turning any exception into a status and a message prefixed with `where`.
template <class Fn>
sl_status guarded(const char* where, Fn&& fn) noexcept {
    try {
        fn();
        return SL_OK;
    } catch (const OpError& e) {
        set_error(where, ": ", e.what());
        return e.status;
    } catch (const std::bad_alloc&) {
        set_error(where, ": out of host memory");
        return SL_ERR_OUT_OF_MEMORY;
    } catch (const std::exception& e) {
        set_error(where, ": internal error: ", e.what());
        return SL_ERR_DEVICE;
    } catch (...) {
        set_error(where, ": internal error: unknown exception");
        return SL_ERR_DEVICE;
    }
}

Device& device_of(sl_device handle) {
    auto* d = reinterpret_cast<Device*>(handle);
    std::lock_guard lock(registry().mutex);
    if (!d || !registry().devices.contains(d)) invalid("not an open device of this backend");
    return *d;
}

Buffer& buffer_of(sl_buffer handle) {
    auto* b = reinterpret_cast<Buffer*>(handle);
    std::lock_guard lock(registry().mutex);
    if (!b || !registry().buffers.contains(b)) invalid("not a live buffer of this backend");
    return *b;
}

std::string hex(uint64_t v) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "0x%" PRIx64, v);
    return buf;
}

// Checks that [offset, offset + size) lies inside a buffer of `total` bytes.
void check_range(uint64_t offset, uint64_t size, uint64_t total) {
    if (offset > total || size > total - offset)
        invalid("bytes [", offset, ", ", offset, " + ", size, ") are outside the buffer of ", total, " bytes");
}

// The bytes t spans lie inside one live buffer (a writable one if `written`).
void check_memory(const sl_tensor& t, const std::string& what, bool written) {
    const uint64_t extent = extent_bytes(t);
    std::lock_guard lock(registry().mutex);
    bool in_read_only = false;
    for (const Buffer* b : registry().buffers) {
        const auto base = reinterpret_cast<uint64_t>(b->data);
        if (t.addr < base || t.addr - base > b->size || extent > b->size - (t.addr - base)) continue;
        if (!written || !b->read_only) return;
        in_read_only = true;
    }
    if (in_read_only) invalid(what, " is written but lies in read-only wrapped host memory");
    invalid(what, " bytes [", hex(t.addr), ", +", extent, ") lie in no buffer of this backend");
}

void check_node_memory(const sl_graph& graph, int32_t index) {
    const sl_tensor& t = graph.tensors[index];
    check_memory(t, "the node's tensor", true);
    for (int i = 0; i < SL_MAX_SRC; ++i)
        if (t.src[i] >= 0) check_memory(graph.tensors[t.src[i]], cat("src[", i, "] (tensor ", t.src[i], ")"), false);
}

uint64_t physical_memory() {
    const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    return pages > 0 && page > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) : 0;
}

// ---- the entry points ----

int32_t ref_device_count() { return 1; }

sl_status ref_device_open(int32_t index, const sl_device_config* config, sl_device* out) {
    return guarded("device_open", [&] {
        if (!out) invalid("out is NULL");
        *out = nullptr;
        if (index != 0) invalid("device index ", index, " is out of range (the reference backend has 1 device)");
        auto device = std::make_unique<Device>();
        int32_t n_threads = 0;
        if (config && config->struct_size >= offsetof(sl_device_config, n_threads) + sizeof(int32_t))
            n_threads = config->n_threads;
        if (n_threads < 0) invalid("n_threads = ", n_threads, " is negative");
        device->n_threads = n_threads > 0 ? n_threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
        std::lock_guard lock(registry().mutex);
        registry().devices.insert(device.get());
        *out = reinterpret_cast<sl_device>(device.release());
    });
}

void ref_device_close(sl_device handle) {
    auto* d = reinterpret_cast<Device*>(handle);
    std::lock_guard lock(registry().mutex);
    if (registry().devices.erase(d) == 1) delete d;
}

sl_status ref_device_info(sl_device handle, sl_device_info* out) {
    return guarded("device_info", [&] {
        device_of(handle);
        if (!out) invalid("out is NULL");
        *out = sl_device_info{};
        std::snprintf(out->name, sizeof out->name, "%s", "reference");
        std::snprintf(out->description, sizeof out->description, "%s", "plain C++ loops (the oracle)");
        out->memory_total = physical_memory();
        const long free_pages = sysconf(_SC_AVPHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
        if (free_pages > 0 && page > 0) out->memory_free = static_cast<uint64_t>(free_pages) * static_cast<uint64_t>(page);
    });
}

int32_t ref_supports_op(sl_device handle, const sl_graph* graph, int32_t node) {
    const sl_status s = guarded("supports_op", [&] {
        device_of(handle);
        check_graph_shape(graph);
        if (node < 0 || node >= graph->n_tensors)
            invalid("node ", node, " is out of range (the graph has ", graph->n_tensors, " tensors)");
        in_node(*graph, node, [&] { check_node(*graph, node); });
    });
    return s == SL_OK ? 1 : 0;
}

void register_buffer(std::unique_ptr<Buffer> buffer, sl_buffer* out, uint64_t* base) {
    std::lock_guard lock(registry().mutex);
    registry().buffers.insert(buffer.get());
    *base = reinterpret_cast<uint64_t>(buffer->data);
    *out = reinterpret_cast<sl_buffer>(buffer.release());
}

sl_status ref_buffer_alloc(sl_device handle, uint64_t size, sl_buffer* out, uint64_t* base) {
    return guarded("buffer_alloc", [&] {
        device_of(handle);
        if (!out || !base) invalid("out or base is NULL");
        *out = nullptr;
        // More than the machine's memory cannot work; fail now rather than at first touch.
        const uint64_t physical = physical_memory();
        if (size > SIZE_MAX - 64 || (physical > 0 && size > physical))
            throw OpError(SL_ERR_OUT_OF_MEMORY, cat(size, " bytes exceed the host's ", physical, " bytes of memory"));
        auto buffer = std::make_unique<Buffer>();
        // At least one byte, so every buffer has its own address.
        buffer->data = static_cast<std::byte*>(::operator new(std::max<uint64_t>(size, 1), kAlignment));
        buffer->owned = true;
        buffer->size = size;
        // Poison: 0xff bytes are NaN in F32, F16 and BF16, so reading memory
        // that nothing wrote shows up instead of passing as zeros.
        std::memset(buffer->data, 0xff, size);
        register_buffer(std::move(buffer), out, base);
    });
}

sl_status ref_buffer_from_host(sl_device handle, const void* ptr, uint64_t size, sl_buffer* out, uint64_t* base) {
    return guarded("buffer_from_host", [&] {
        device_of(handle);
        if (!out || !base) invalid("out or base is NULL");
        *out = nullptr;
        if (!ptr) invalid("ptr is NULL");
        auto buffer = std::make_unique<Buffer>();
        buffer->data = static_cast<std::byte*>(const_cast<void*>(ptr));
        buffer->size = size;
        buffer->read_only = true;
        register_buffer(std::move(buffer), out, base);
    });
}

void ref_buffer_free(sl_buffer handle) {
    auto* b = reinterpret_cast<Buffer*>(handle);
    std::lock_guard lock(registry().mutex);
    if (registry().buffers.erase(b) == 1) delete b;
}

sl_status ref_buffer_write(sl_buffer handle, uint64_t offset, const void* src, uint64_t size) {
    return guarded("buffer_write", [&] {
        Buffer& b = buffer_of(handle);
        if (b.read_only) invalid("the buffer wraps host memory, which the backend only reads");
        check_range(offset, size, b.size);
        if (size == 0) return;
        if (!src) invalid("src is NULL");
        std::memcpy(b.data + offset, src, size);
    });
}

sl_status ref_buffer_read(sl_buffer handle, uint64_t offset, void* dst, uint64_t size) {
    return guarded("buffer_read", [&] {
        const Buffer& b = buffer_of(handle);
        check_range(offset, size, b.size);
        if (size == 0) return;
        if (!dst) invalid("dst is NULL");
        std::memcpy(dst, b.data + offset, size);
    });
}

sl_status ref_graph_compute(sl_device handle, const sl_graph* graph) {
    return guarded("graph_compute", [&] {
        const Device& device = device_of(handle);
        check_graph_shape(graph);
        // Check everything first, so that a malformed graph runs no node at all.
        for (int32_t i = 0; i < graph->n_tensors; ++i) {
            if (graph->tensors[i].op == SL_OP_NONE) continue;
            in_node(*graph, i, [&] {
                check_node(*graph, i);
                check_node_memory(*graph, i);
            });
        }
        for (int32_t i = 0; i < graph->n_tensors; ++i) {
            const int32_t op = graph->tensors[i].op;
            if (op == SL_OP_NONE) continue;
            in_node(*graph, i, [&] { op_impl(op).run(resolve_node(*graph, i, device.n_threads)); });
        }
    });
}

const char* ref_last_error() { return t_last_error; }

const sl_backend kBackend = {
    SL_BACKEND_ABI_VERSION,
    sizeof(sl_backend),
    "reference",
    ref_device_count,
    ref_device_open,
    ref_device_close,
    ref_device_info,
    ref_supports_op,
    ref_buffer_alloc,
    ref_buffer_from_host,
    ref_buffer_free,
    ref_buffer_write,
    ref_buffer_read,
    ref_graph_compute,
    ref_last_error,
};

}  // namespace
}  // namespace suanli::reference

namespace suanli {

const sl_backend& reference_backend() { return reference::kBackend; }

}  // namespace suanli
