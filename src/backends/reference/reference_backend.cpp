// The reference backend's C ABI: the function table, its one device, and
// graph_compute (check every node, then run them in order). The rest (buffers,
// handle lookup, error plumbing, the standard's node rules and the entry
// points for them) comes from host/.
#include "backends/reference/reference_backend.h"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <thread>

#include "backends/host/host_backend.h"
#include "backends/host/host_device.h"
#include "backends/reference/ops.h"

namespace suanli::reference {
namespace {

struct Device {
    int n_threads = 1;
};

// The shared state and entry points come from the base.
struct Reference : host::HostBackend<Reference, Device> {
    static constexpr const char* kName = "reference";
    // Poison: 0xff bytes are NaN in F32, F16 and BF16, so reading memory
    // that nothing wrote shows up instead of passing as zeros.
    static constexpr std::optional<std::byte> kFill = std::byte{0xff};
    // The oracle implements every weight type of the standard.
    static std::span<const sl_dtype> weight_types() { return host::kAllWeightTypes; }
};

// Indexed by sl_op (entry 0, SL_OP_NONE, is unused).
using RunFn = void (*)(const Node&, int n_threads);
const RunFn kRun[SL_OP_COUNT] = {
    nullptr,      run_get_rows, run_mul_mat, run_add,       run_mul,  run_scale,
    run_rms_norm, run_rope,     run_silu,    run_attention, run_copy,
};

// ---- the entry points ----

sl_status ref_device_open(int32_t index, const sl_device_config* config, sl_device* out) {
    return host::guarded(Reference::error(), "device_open", [&] {
        const int32_t n_threads = host::open_one_device("reference", index, config, out);
        auto device = std::make_unique<Device>();
        device->n_threads = n_threads > 0 ? n_threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
        *out = reinterpret_cast<sl_device>(Reference::devices().add(std::move(device)));
    });
}

sl_status ref_device_info(sl_device handle, sl_device_info* out) {
    return host::guarded(Reference::error(), "device_info", [&] {
        Reference::device_of(handle);
        if (!out) invalid("out is NULL");
        *out = sl_device_info{};
        std::snprintf(out->name, sizeof out->name, "%s", "reference");
        std::snprintf(out->description, sizeof out->description, "%s", "plain C++ loops (the oracle)");
        out->memory_total = host::physical_memory();
        out->memory_free = host::available_memory();
    });
}

sl_status ref_graph_compute(sl_device handle, const sl_graph* graph) {
    return host::guarded(Reference::error(), "graph_compute", [&] {
        const Device& device = Reference::device_of(handle);
        // Check everything first, so that a malformed graph runs no node at all.
        const std::vector<Node> nodes = host::check_graph(graph, Reference::weight_types(), Reference::buffers());
        for (const Node& node : nodes)
            host::in_node(*graph, node.index, [&] { kRun[node.out.op](node, device.n_threads); });
    });
}

const sl_backend kBackend = {
    SL_BACKEND_ABI_VERSION,
    sizeof(sl_backend),
    "reference",
    Reference::device_count,
    ref_device_open,
    Reference::device_close,
    ref_device_info,
    Reference::supports_op,
    Reference::buffer_alloc,
    Reference::buffer_from_host,
    Reference::buffer_free,
    Reference::buffer_write,
    Reference::buffer_read,
    ref_graph_compute,
    Reference::last_error,
    nullptr,  // weight_prepare: the oracle multiplies the bytes as they are
};

}  // namespace
}  // namespace suanli::reference

namespace suanli {

const sl_backend& reference_backend() { return reference::kBackend; }

}  // namespace suanli
