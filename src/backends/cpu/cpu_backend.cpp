// The cpu backend's C ABI: the function table, its one device (a thread pool
// and the kernel table chosen from CPUID), and graph_compute (check every node
// that differs from the last graph's, then run them in order). The rest
// (buffers, handle lookup, error plumbing, the standard's node rules and the
// entry points for them) comes from host/.
#include "backends/cpu/cpu_backend.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>

#include "backends/cpu/node_profile.h"
#include "backends/cpu/ops.h"
#include "backends/host/graph_check_cache.h"
#include "backends/host/host_backend.h"
#include "backends/host/host_device.h"

namespace suanli::cpu {
namespace {

struct Device {
    std::unique_ptr<ThreadPool> pool;
    const Kernels* kernels = nullptr;
    std::mutex mutex;  // one graph at a time per device
    std::vector<std::byte> scratch;
    NodeProfile profile;  // SUANLI_CPU_PROFILE=1
    host::GraphCheckCache checked;
};

// The shared state and entry points come from the base.
struct Cpu : host::HostBackend<Cpu, Device> {
    static constexpr const char* kName = "cpu";
    // No fill: the standard leaves new contents unspecified, and filling
    // would touch every page of a large arena up front.
    static constexpr std::optional<std::byte> kFill = std::nullopt;
    // The weight types this backend multiplies and gathers.
    static std::span<const sl_dtype> weight_types() {
        static constexpr sl_dtype kTypes[] = {SL_DTYPE_F32,  SL_DTYPE_F16,  SL_DTYPE_BF16, SL_DTYPE_Q8_0,
                                              SL_DTYPE_Q4_0, SL_DTYPE_Q4_K, SL_DTYPE_Q5_K, SL_DTYPE_Q6_K};
        return kTypes;
    }
};

std::atomic<int> g_forced_isa{-1};

// Never destroyed, like the buffers whose bytes it mirrors.
PackedWeights& packed_weights() {
    static auto* p = new PackedWeights;
    return *p;
}

// Indexed by sl_op (entry 0, SL_OP_NONE, is unused).
using RunFn = void (*)(Context&, const Node&);
const RunFn kRun[SL_OP_COUNT] = {
    nullptr,      run_get_rows, run_mul_mat, run_add,       run_mul,  run_scale,
    run_rms_norm, run_rope,     run_silu,    run_attention, run_copy,
};

// ---- the entry points ----

sl_status cpu_device_open(int32_t index, const sl_device_config* config, sl_device* out) {
    return host::guarded(Cpu::error(), "device_open", [&] {
        const int32_t n_threads = host::open_one_device("cpu", index, config, out);
        auto device = std::make_unique<Device>();
        device->pool = std::make_unique<ThreadPool>(n_threads > 0 ? n_threads : physical_cores());
        device->kernels = &kernels_for(selected_isa());
        *out = reinterpret_cast<sl_device>(Cpu::devices().add(std::move(device)));
    });
}

sl_status cpu_device_info(sl_device handle, sl_device_info* out) {
    return host::guarded(Cpu::error(), "device_info", [&] {
        const Device& d = Cpu::device_of(handle);
        if (!out) invalid("out is NULL");
        *out = sl_device_info{};
        std::snprintf(out->name, sizeof out->name, "%s", "cpu");
        std::snprintf(out->description, sizeof out->description, "host CPU, %s kernels, %d threads",
                      isa_name(d.kernels->isa), d.pool->size());
        out->memory_total = host::physical_memory();
        out->memory_free = host::available_memory();
    });
}

sl_status cpu_graph_compute(sl_device handle, const sl_graph* graph) {
    return host::guarded(Cpu::error(), "graph_compute", [&] {
        Device& device = Cpu::device_of(handle);
        std::lock_guard lock(device.mutex);
        // Check everything first, so that a malformed graph runs no node at all.
        const auto start = std::chrono::steady_clock::now();
        const std::vector<Node> nodes = device.checked.check(graph, Cpu::weight_types(), Cpu::buffers());
        Context ctx{*device.pool, *device.kernels, packed_weights(), device.scratch};
        NodeProfile& profile = device.profile;
        for (size_t i = 0; i < nodes.size();) {
            const Node& node = nodes[i];
            const auto t0 = profile.enabled() ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
            size_t ran = 0;
            host::in_node(*graph, node.index, [&] {
                // Products that share an input may run as one job (matmul_packed.cpp).
                if (node.out.op == SL_OP_MUL_MAT) ran = run_mul_mats_packed(ctx, std::span(nodes).subspan(i));
                if (ran == 0) kRun[node.out.op](ctx, node), ran = 1;
            });
            if (profile.enabled()) profile.add_nodes(node.out.op, ran, std::chrono::steady_clock::now() - t0);
            i += ran;
        }
        if (profile.enabled()) profile.add_graph(std::chrono::steady_clock::now() - start);
    });
}

sl_status cpu_weight_prepare(sl_device handle, const sl_tensor* tensor) {
    return host::guarded(Cpu::error(), "weight_prepare", [&] {
        Device& device = Cpu::device_of(handle);
        if (!tensor) invalid("tensor is NULL");
        const sl_tensor& t = *tensor;
        // The types with packed kernels, and the float types (copied as they are).
        const bool k_quant = kquant_weight(t.dtype) >= 0;
        const bool q0 = t.dtype == SL_DTYPE_Q8_0 || t.dtype == SL_DTYPE_Q4_0;
        if (!q0 && !k_quant && t.dtype != SL_DTYPE_F32 && t.dtype != SL_DTYPE_F16 && t.dtype != SL_DTYPE_BF16) return;
        constexpr int64_t kMaxDim = int64_t{1} << 31;
        const int64_t block = k_quant ? 256 : q0 ? 32 : 1;
        if (t.ne[0] <= 0 || t.ne[0] % block != 0 || t.ne[0] > kMaxDim || t.ne[1] <= 0 || t.ne[1] > kMaxDim ||
            t.ne[2] != 1 || t.ne[3] != 1 || t.nb[1] <= 0 || t.nb[1] > kMaxDim)
            invalid("weight_prepare takes a 2-D matrix, got ", host::shape_str(t));
        // Only wrapped host memory is read-only, so only there can the bytes not change under the copy.
        if (!Cpu::buffers().in_read_only(t.addr, host::extent_bytes(t)))
            invalid("the tensor does not lie in a read-only buffer from buffer_from_host");
        // The copy costs memory (the file's pages stay mapped but can be evicted): a way out.
        if (const char* env = std::getenv("SUANLI_CPU_PACK"); env && std::strcmp(env, "0") == 0) return;
        std::lock_guard lock(device.mutex);
        packed_weights().add(t, *device.kernels, *device.pool);
    });
}

void cpu_buffer_free(sl_buffer handle) {
    if (const auto range = Cpu::buffers().range(handle)) packed_weights().forget(range->first, range->second);
    Cpu::buffer_free(handle);
}

const sl_backend kBackend = {
    SL_BACKEND_ABI_VERSION,
    sizeof(sl_backend),
    "cpu",
    Cpu::device_count,
    cpu_device_open,
    Cpu::device_close,
    cpu_device_info,
    Cpu::supports_op,
    Cpu::buffer_alloc,
    Cpu::buffer_from_host,
    cpu_buffer_free,
    Cpu::buffer_write,
    Cpu::buffer_read,
    cpu_graph_compute,
    Cpu::last_error,
    cpu_weight_prepare,
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
        for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512, Isa::Neon, Isa::NeonDot})
            if (std::strcmp(env, isa_name(isa)) == 0 && isa_supported(isa)) return isa;
    }
    return best_isa();
}

}  // namespace suanli::cpu

namespace suanli {

const sl_backend& cpu_backend() { return cpu::kBackend; }

}  // namespace suanli
