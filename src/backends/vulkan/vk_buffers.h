// Buffers of the Vulkan backend. Every sl_buffer is a VkBuffer in
// device-local memory; the host reaches it only through copies staged in one
// host-visible buffer per device. Addresses are a private numbering: buffer n
// gets base n << 40, so `addr` maps back to (buffer, offset) with one lookup.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>

#include "backends/host/handles.h"
#include "vk_context.h"

namespace suanli::vk {

// A VkBuffer with its own memory; mapped when host-visible.
struct Memory {
    Owned<VkBuffer> buffer;
    Owned<VkDeviceMemory> memory;
    void* mapped = nullptr;
    uint64_t size = 0;      // bytes asked for
    uint64_t capacity = 0;  // bytes of the VkBuffer: size rounded up to 16
};

// host_visible: coherent memory, mapped (staging, kernel arguments); else
// device-local storage (preferring memory the host cannot see, the GPU's own).
Memory make_memory(Context& context, uint64_t size, bool host_visible);

// The staging buffer of a device; grows up to a limit, then copies go in chunks.
struct Staging {
    Memory memory;
};

struct DeviceBuffer {
    std::shared_ptr<Context> context;  // keeps the VkDevice alive while the buffer is
    Memory memory;
    uint64_t base = 0;
};

// Copies between host memory and a device buffer through the staging buffer; synchronous.
void upload(Context& context, VkBuffer dst, uint64_t offset, const void* src, uint64_t size);
void download(Context& context, VkBuffer src, uint64_t offset, void* dst, uint64_t size);

// Where a tensor's bytes are.
struct Located {
    const DeviceBuffer* buffer = nullptr;
    uint64_t offset = 0;  // of addr from the buffer's start
};

// The live buffers of the backend, by handle and by base address.
class BufferTable {
public:
    static constexpr int kAddressBits = 40;  // bytes per buffer at most: 1 TiB

    // Takes ownership, gives the buffer its base address, returns its handle.
    sl_buffer add(std::unique_ptr<DeviceBuffer> buffer);
    DeviceBuffer& get(sl_buffer handle) { return handles_.get(handle, "a live buffer"); }
    void destroy(sl_buffer handle);
    // The buffer holding [addr, addr + extent); throws OpError when none does or
    // when it belongs to another device than `context`.
    Located locate(uint64_t addr, uint64_t extent, const Context& context, const char* what) const;

private:
    host::Handles<DeviceBuffer> handles_;
    mutable std::mutex mutex_;
    std::map<uint64_t, const DeviceBuffer*> by_base_;
    uint64_t next_ = 1;
};

}  // namespace suanli::vk
