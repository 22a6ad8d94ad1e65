// What every host backend has in common, as a base to derive from: its state
// (live devices and buffers, the thread-local last error) and the entry points
// of the sl_backend table that do not depend on the backend's kernels
// (device_count, device_close, supports_op, the buffers, last_error).
// A backend writes only device_open, device_info and graph_compute itself.
//
//   struct Reference : host::HostBackend<Reference, Device> {
//       static constexpr const char* kName = "reference";      // message prefix
//       static constexpr std::optional<std::byte> kFill = ...;  // new buffers' bytes
//       static std::span<const sl_dtype> weight_types();        // MUL_MAT / GET_ROWS
//   };
#pragma once

#include <span>

#include "backends/host/abi_errors.h"
#include "backends/host/handles.h"
#include "backends/host/host_buffers.h"
#include "backends/host/node_rules.h"

namespace suanli::host {

template <class Self, class Device>
struct HostBackend {
    // One message per thread and backend, as backend.h asks of last_error().
    static LastError& error() {
        thread_local LastError e(Self::kName);
        return e;
    }
    // Never destroyed, so handles freed during static destruction stay safe.
    static Handles<Device>& devices() {
        static auto* d = new Handles<Device>;
        return *d;
    }
    static HostBuffers& buffers() {
        static auto* b = new HostBuffers(Self::kFill);
        return *b;
    }
    static Device& device_of(sl_device handle) { return devices().get(handle, "an open device"); }

    // ---- entry points ----

    // A host backend has one device: the host.
    static int32_t device_count() { return 1; }

    static void device_close(sl_device handle) { devices().destroy(handle); }

    static int32_t supports_op(sl_device handle, const sl_graph* graph, int32_t node) {
        const sl_status s = guarded(error(), "supports_op", [&] {
            device_of(handle);
            check_supported(graph, node, Self::weight_types());
        });
        return s == SL_OK ? 1 : 0;
    }

    static sl_status buffer_alloc(sl_device handle, uint64_t size, sl_buffer* out, uint64_t* base) {
        return guarded(error(), "buffer_alloc", [&] {
            device_of(handle);
            buffers().alloc(size, out, base);
        });
    }

    static sl_status buffer_from_host(sl_device handle, const void* ptr, uint64_t size, sl_buffer* out, uint64_t* base) {
        return guarded(error(), "buffer_from_host", [&] {
            device_of(handle);
            buffers().from_host(ptr, size, out, base);
        });
    }

    static void buffer_free(sl_buffer handle) { buffers().free(handle); }

    static sl_status buffer_write(sl_buffer handle, uint64_t offset, const void* src, uint64_t size) {
        return guarded(error(), "buffer_write", [&] { buffers().write(handle, offset, src, size); });
    }

    static sl_status buffer_read(sl_buffer handle, uint64_t offset, void* dst, uint64_t size) {
        return guarded(error(), "buffer_read", [&] { buffers().read(handle, offset, dst, size); });
    }

    static const char* last_error() { return error().c_str(); }
};

}  // namespace suanli::host
