// The cpu backend's C ABI: the function table, its one device (a thread pool
// and the kernel table chosen from CPUID), host buffers, and graph_compute
// (check every node, then run them in order).
//
// Every entry point catches everything: failures become a status and a
// thread-local message. Handles are looked up in a registry before use, so a
// stale or foreign handle is an error, not a crash.
#include "backends/cpu/cpu_backend.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <set>
#include <string>

#include "backends/cpu/ops.h"

namespace suanli::cpu {
namespace {

constexpr std::align_val_t kAlignment{64};

struct Device {
    std::unique_ptr<ThreadPool> pool;
    const Kernels* kernels = nullptr;
    std::mutex mutex;  // one graph at a time per device
    std::vector<std::byte> scratch;
};

struct Buffer {
    std::byte* data = nullptr;
    uint64_t size = 0;
    bool owned = false;
    bool read_only = false;

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

std::atomic<int> g_forced_isa{-1};

// ---- errors ----

thread_local std::string t_message = "no error";
thread_local const char* t_last_error = "no error";

template <class... Parts>
void set_error(const Parts&... parts) noexcept {
    try {
        t_message = cat("cpu: ", parts...);
        t_last_error = t_message.c_str();
    } catch (...) {
        t_last_error = "cpu: out of memory while reporting an error";
    }
}

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

// Runs fn, prefixing an OpError's message with "node <index> (<OP>): ".
template <class Fn>
auto in_node(const sl_graph& graph, int32_t index, Fn&& fn) {
    try {
        return fn();
    } catch (const OpError& e) {
        throw OpError(e.status, cat("node ", index, " (", op_name(graph.tensors[index].op), "): ", e.what()));
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

void check_range(uint64_t offset, uint64_t size, uint64_t total) {
    if (offset > total || size > total - offset)
        invalid("bytes [", offset, ", ", offset, " + ", size, ") are outside the buffer of ", total, " bytes");
}

// The bytes t spans lie inside one live buffer (a writable one if `written`).
// The caller holds the registry lock.
void check_memory(const sl_tensor& t, const std::string& what, bool written) {
    const uint64_t extent = extent_bytes(t);
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

void check_node_memory(const Node& node) {
    std::lock_guard lock(registry().mutex);
    check_memory(node.out, "the node's tensor", true);
    for (int i = 0; i < SL_MAX_SRC; ++i)
        if (node.src[i]) check_memory(*node.src[i], cat("src[", i, "]"), false);
}

uint64_t physical_memory() {
    const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    return pages > 0 && page > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) : 0;
}

using RunFn = void (*)(Context&, const Node&);
const RunFn kRun[SL_OP_COUNT] = {
    nullptr,   run_get_rows, run_mul_mat,   run_add,  run_mul, run_scale,
    run_rms_norm, run_rope,  run_silu,      run_attention, run_copy,
};

// ---- the entry points ----

int32_t cpu_device_count() { return 1; }

sl_status cpu_device_open(int32_t index, const sl_device_config* config, sl_device* out) {
    return guarded("device_open", [&] {
        if (!out) invalid("out is NULL");
        *out = nullptr;
        if (index != 0) invalid("device index ", index, " is out of range (the cpu backend has 1 device)");
        int32_t n_threads = 0;
        if (config && config->struct_size >= offsetof(sl_device_config, n_threads) + sizeof(int32_t))
            n_threads = config->n_threads;
        if (n_threads < 0) invalid("n_threads = ", n_threads, " is negative");
        auto device = std::make_unique<Device>();
        device->pool = std::make_unique<ThreadPool>(n_threads > 0 ? n_threads : physical_cores());
        device->kernels = &kernels_for(selected_isa());
        std::lock_guard lock(registry().mutex);
        registry().devices.insert(device.get());
        *out = reinterpret_cast<sl_device>(device.release());
    });
}

void cpu_device_close(sl_device handle) {
    auto* d = reinterpret_cast<Device*>(handle);
    {
        std::lock_guard lock(registry().mutex);
        if (registry().devices.erase(d) != 1) return;
    }
    delete d;
}

sl_status cpu_device_info(sl_device handle, sl_device_info* out) {
    return guarded("device_info", [&] {
        const Device& d = device_of(handle);
        if (!out) invalid("out is NULL");
        *out = sl_device_info{};
        std::snprintf(out->name, sizeof out->name, "%s", "cpu");
        std::snprintf(out->description, sizeof out->description, "host CPU, %s kernels, %d threads",
                      isa_name(d.kernels->isa), d.pool->size());
        out->memory_total = physical_memory();
        const long free_pages = sysconf(_SC_AVPHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
        if (free_pages > 0 && page > 0) out->memory_free = static_cast<uint64_t>(free_pages) * static_cast<uint64_t>(page);
    });
}

int32_t cpu_supports_op(sl_device handle, const sl_graph* graph, int32_t node) {
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

sl_status cpu_buffer_alloc(sl_device handle, uint64_t size, sl_buffer* out, uint64_t* base) {
    return guarded("buffer_alloc", [&] {
        device_of(handle);
        if (!out || !base) invalid("out or base is NULL");
        *out = nullptr;
        const uint64_t physical = physical_memory();
        if (size > SIZE_MAX - 64 || (physical > 0 && size > physical))
            throw OpError(SL_ERR_OUT_OF_MEMORY, cat(size, " bytes exceed the host's ", physical, " bytes of memory"));
        auto buffer = std::make_unique<Buffer>();
        buffer->data = static_cast<std::byte*>(::operator new(std::max<uint64_t>(size, 1), kAlignment));
        buffer->owned = true;
        buffer->size = size;
        register_buffer(std::move(buffer), out, base);
    });
}

sl_status cpu_buffer_from_host(sl_device handle, const void* ptr, uint64_t size, sl_buffer* out, uint64_t* base) {
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

void cpu_buffer_free(sl_buffer handle) {
    auto* b = reinterpret_cast<Buffer*>(handle);
    std::lock_guard lock(registry().mutex);
    if (registry().buffers.erase(b) == 1) delete b;
}

sl_status cpu_buffer_write(sl_buffer handle, uint64_t offset, const void* src, uint64_t size) {
    return guarded("buffer_write", [&] {
        Buffer& b = buffer_of(handle);
        if (b.read_only) invalid("the buffer wraps host memory, which the backend only reads");
        check_range(offset, size, b.size);
        if (size == 0) return;
        if (!src) invalid("src is NULL");
        std::memcpy(b.data + offset, src, size);
    });
}

sl_status cpu_buffer_read(sl_buffer handle, uint64_t offset, void* dst, uint64_t size) {
    return guarded("buffer_read", [&] {
        const Buffer& b = buffer_of(handle);
        check_range(offset, size, b.size);
        if (size == 0) return;
        if (!dst) invalid("dst is NULL");
        std::memcpy(dst, b.data + offset, size);
    });
}

sl_status cpu_graph_compute(sl_device handle, const sl_graph* graph) {
    return guarded("graph_compute", [&] {
        Device& device = device_of(handle);
        check_graph_shape(graph);
        std::lock_guard lock(device.mutex);
        // Check everything first, so that a malformed graph runs no node at all.
        std::vector<Node> nodes;
        std::vector<int32_t> index;
        for (int32_t i = 0; i < graph->n_tensors; ++i) {
            if (graph->tensors[i].op == SL_OP_NONE) continue;
            nodes.push_back(in_node(*graph, i, [&] {
                Node node = check_node(*graph, i);
                check_node_memory(node);
                return node;
            }));
            index.push_back(i);
        }
        Context ctx{*device.pool, *device.kernels, device.scratch};
        for (size_t k = 0; k < nodes.size(); ++k)
            in_node(*graph, index[k], [&] { kRun[nodes[k].out.op](ctx, nodes[k]); });
    });
}

const char* cpu_last_error() { return t_last_error; }

const sl_backend kBackend = {
    SL_BACKEND_ABI_VERSION,
    sizeof(sl_backend),
    "cpu",
    cpu_device_count,
    cpu_device_open,
    cpu_device_close,
    cpu_device_info,
    cpu_supports_op,
    cpu_buffer_alloc,
    cpu_buffer_from_host,
    cpu_buffer_free,
    cpu_buffer_write,
    cpu_buffer_read,
    cpu_graph_compute,
    cpu_last_error,
};

}  // namespace

bool force_isa(Isa isa) {
    if (!isa_supported(isa)) return false;
    g_forced_isa.store(static_cast<int>(isa));
    return true;
}

void clear_forced_isa() { g_forced_isa.store(-1); }

Isa selected_isa() {
    const int forced = g_forced_isa.load();
    if (forced >= 0) return static_cast<Isa>(forced);
    if (const char* env = std::getenv("SUANLI_CPU_ISA")) {
        for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512})
            if (std::strcmp(env, isa_name(isa)) == 0 && isa_supported(isa)) return isa;
    }
    return best_isa();
}

}  // namespace suanli::cpu

namespace suanli {

const sl_backend& cpu_backend() { return cpu::kBackend; }

}  // namespace suanli
