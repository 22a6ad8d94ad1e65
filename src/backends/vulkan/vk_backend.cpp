// The vulkan backend's C ABI: the function table and its entry points. A
// device is a Context (vk_context) with its pipelines and graph runner;
// buffers live in device-local memory (vk_buffers); the standard's node rules
// and the error plumbing are the host backends' (backends/host), so every
// backend accepts and rejects the same graphs with the same messages.
#include "vk_backend.h"

#include <cstdio>
#include <memory>
#include <mutex>

#include "backends/host/abi_errors.h"
#include "backends/host/handles.h"
#include "backends/host/node_rules.h"
#include "vk_buffers.h"
#include "vk_graph.h"
#include "vk_ops.h"
#include "vk_pipelines.h"

namespace suanli::vk {
namespace {

struct Device {
    std::shared_ptr<Context> context;  // first: destroyed last
    std::unique_ptr<Pipelines> pipelines;
    std::unique_ptr<GraphRunner> runner;
    std::mutex mutex;  // one graph at a time per device
};

host::LastError& error() {
    thread_local host::LastError e("vulkan");
    return e;
}
// Never destroyed, so handles freed during static destruction stay safe.
host::Handles<Device>& devices() {
    static auto* d = new host::Handles<Device>;
    return *d;
}
BufferTable& buffers() {
    static auto* b = new BufferTable;
    return *b;
}
Device& device_of(sl_device handle) { return devices().get(handle, "an open device"); }

const char* type_name(VkPhysicalDeviceType type) {
    switch (type) {
        case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete GPU";
        case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated GPU";
        case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual GPU";
        case VK_PHYSICAL_DEVICE_TYPE_CPU: return "CPU (software)";
        default: return "other";
    }
}

// The op nodes of a graph, checked against the standard's rules and this
// backend's limits, before anything runs.
std::vector<Node> check_graph(const sl_graph* graph, const Context& context) {
    host::check_graph_shape(graph);
    std::vector<Node> nodes;
    for (int32_t i = 0; i < graph->n_tensors; ++i) {
        if (graph->tensors[i].op == SL_OP_NONE) continue;
        nodes.push_back(host::in_node(*graph, i, [&] {
            Node node = host::check_node(*graph, i, vulkan_weight_types());
            check_kernel_limits(node, context.max_storage_range());
            return node;
        }));
    }
    return nodes;
}

// ---- the entry points ----

int32_t vk_device_count() {
    try {
        return static_cast<int32_t>(physical_devices().size());
    } catch (...) {
        return 0;
    }
}

sl_status vk_device_open(int32_t index, const sl_device_config* config, sl_device* out) {
    return host::guarded(error(), "device_open", [&] {
        if (!out) host::invalid("out is NULL");
        *out = nullptr;
        const auto& list = physical_devices();
        if (list.empty()) throw host::OpError(SL_ERR_DEVICE, cat("no Vulkan device found (", unavailable_reason(), ")"));
        if (index < 0 || index >= static_cast<int32_t>(list.size()))
            host::invalid("device index ", index, " is out of range (", list.size(), " Vulkan devices)");
        auto device = std::make_unique<Device>();
        device->context = std::make_shared<Context>(list[static_cast<size_t>(index)]);
        device->pipelines = std::make_unique<Pipelines>(*device->context);
        device->runner = std::make_unique<GraphRunner>(*device->context, *device->pipelines);
        *out = reinterpret_cast<sl_device>(devices().add(std::move(device)));
    });
}

void vk_device_close(sl_device handle) { devices().destroy(handle); }

sl_status vk_device_info(sl_device handle, sl_device_info* out) {
    return host::guarded(error(), "device_info", [&] {
        const Device& d = device_of(handle);
        if (!out) host::invalid("out is NULL");
        *out = sl_device_info{};
        const VkPhysicalDeviceProperties& p = d.context->properties();
        // Truncated to the ABI's 64 bytes (Vulkan allows 256).
        std::snprintf(out->name, sizeof out->name, "%.63s", p.deviceName);
        const std::string subgroups =
            d.pipelines->subgroups() ? cat("subgroup reductions (size ", d.context->subgroup_size(), ")")
                                     : std::string("shared-memory reductions");
        std::snprintf(out->description, sizeof out->description, "Vulkan %u.%u, %s, %s", VK_VERSION_MAJOR(p.apiVersion),
                      VK_VERSION_MINOR(p.apiVersion), type_name(p.deviceType), subgroups.c_str());
        out->memory_total = d.context->device_local_bytes();
        out->memory_free = 0;  // unknown without VK_EXT_memory_budget
    });
}

int32_t vk_supports_op(sl_device handle, const sl_graph* graph, int32_t index) {
    const sl_status s = host::guarded(error(), "supports_op", [&] {
        const Device& d = device_of(handle);
        host::check_graph_shape(graph);
        if (index < 0 || index >= graph->n_tensors)
            host::invalid("node ", index, " is out of range (the graph has ", graph->n_tensors, " tensors)");
        host::in_node(*graph, index, [&] {
            const Node node = host::check_node(*graph, index, vulkan_weight_types());
            if (node.out.op != SL_OP_NONE) check_kernel_limits(node, d.context->max_storage_range());
        });
    });
    return s == SL_OK ? 1 : 0;
}

sl_status vk_buffer_alloc(sl_device handle, uint64_t size, sl_buffer* out, uint64_t* base) {
    return host::guarded(error(), "buffer_alloc", [&] {
        Device& d = device_of(handle);
        if (!out || !base) host::invalid("out or base is NULL");
        *out = nullptr;
        if (size >= (1ull << BufferTable::kAddressBits))
            throw host::OpError(SL_ERR_OUT_OF_MEMORY, cat(size, " bytes is more than one buffer may hold"));
        auto buffer = std::make_unique<DeviceBuffer>();
        buffer->context = d.context;
        buffer->memory = make_memory(*d.context, size, false);
        DeviceBuffer* raw = buffer.get();
        *out = buffers().add(std::move(buffer));
        *base = raw->base;
    });
}

void vk_buffer_free(sl_buffer handle) { buffers().destroy(handle); }

void check_range(uint64_t offset, uint64_t size, uint64_t total) {
    if (offset > total || size > total - offset)
        host::invalid("bytes [", offset, ", ", offset, " + ", size, ") are outside the buffer of ", total, " bytes");
}

sl_status vk_buffer_write(sl_buffer handle, uint64_t offset, const void* src, uint64_t size) {
    return host::guarded(error(), "buffer_write", [&] {
        DeviceBuffer& b = buffers().get(handle);
        check_range(offset, size, b.memory.size);
        if (size == 0) return;
        if (!src) host::invalid("src is NULL");
        upload(*b.context, b.memory.buffer, offset, src, size);
    });
}

sl_status vk_buffer_read(sl_buffer handle, uint64_t offset, void* dst, uint64_t size) {
    return host::guarded(error(), "buffer_read", [&] {
        DeviceBuffer& b = buffers().get(handle);
        check_range(offset, size, b.memory.size);
        if (size == 0) return;
        if (!dst) host::invalid("dst is NULL");
        download(*b.context, b.memory.buffer, offset, dst, size);
    });
}

sl_status vk_graph_compute(sl_device handle, const sl_graph* graph) {
    return host::guarded(error(), "graph_compute", [&] {
        Device& d = device_of(handle);
        std::lock_guard lock(d.mutex);
        const std::vector<Node> nodes = check_graph(graph, *d.context);
        d.runner->run(*graph, nodes, buffers());
    });
}

const char* vk_last_error() { return error().c_str(); }

const sl_backend kBackend = {
    SL_BACKEND_ABI_VERSION,
    sizeof(sl_backend),
    "vulkan",
    vk_device_count,
    vk_device_open,
    vk_device_close,
    vk_device_info,
    vk_supports_op,
    vk_buffer_alloc,
    nullptr,  // buffer_from_host: a GPU reads its own memory; the engine uploads instead
    vk_buffer_free,
    vk_buffer_write,
    vk_buffer_read,
    vk_graph_compute,
    vk_last_error,
    nullptr,  // weight_prepare
};

}  // namespace
}  // namespace suanli::vk

namespace suanli {

const sl_backend& vulkan_backend() { return vk::kBackend; }

}  // namespace suanli
