#include "vk_buffers.h"

#include <algorithm>
#include <cstring>

#include "backends/host/abi_errors.h"

namespace suanli::vk {
namespace {

// Staging grows to this, then large copies go through it in pieces.
constexpr uint64_t kMaxStaging = 64ull << 20;

Staging& staging_for(Context& context, uint64_t size) {
    Staging& s = context.staging();
    const uint64_t want = std::min(std::max<uint64_t>(size, 1 << 20), kMaxStaging);
    if (s.memory.size < want) {
        s.memory = Memory{};
        s.memory = make_memory(context, want, true);
    }
    return s;
}

}  // namespace

Memory make_memory(Context& context, uint64_t size, bool host_visible) {
    const VkDevice device = context.device();
    Memory m;
    m.size = size;
    // Shaders read whole 32-bit words; round up so the last word is inside the buffer.
    VkBufferCreateInfo info{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
    info.size = std::max<uint64_t>((size + 15) / 16 * 16, 16);
    m.capacity = info.size;
    info.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
    info.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
    VkBuffer b = VK_NULL_HANDLE;
    check(vkCreateBuffer(device, &info, nullptr, &b), "vkCreateBuffer");
    m.buffer = Owned<VkBuffer>(b, [device](VkBuffer h) { vkDestroyBuffer(device, h, nullptr); });

    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(device, b, &req);
    VkMemoryAllocateInfo alloc{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
    alloc.allocationSize = req.size;
    alloc.memoryTypeIndex =
        host_visible ? context.memory_type(req.memoryTypeBits,
                                           VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT,
                                           VK_MEMORY_PROPERTY_HOST_CACHED_BIT)
                     : context.memory_type(req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
    VkDeviceMemory mem = VK_NULL_HANDLE;
    check(vkAllocateMemory(device, &alloc, nullptr, &mem), "vkAllocateMemory");
    m.memory = Owned<VkDeviceMemory>(mem, [device](VkDeviceMemory h) { vkFreeMemory(device, h, nullptr); });
    check(vkBindBufferMemory(device, b, mem, 0), "vkBindBufferMemory");
    if (host_visible) check(vkMapMemory(device, mem, 0, VK_WHOLE_SIZE, 0, &m.mapped), "vkMapMemory");
    return m;
}

void upload(Context& context, VkBuffer dst, uint64_t offset, const void* src, uint64_t size) {
    std::lock_guard lock(context.mutex());
    Staging& s = staging_for(context, size);
    for (uint64_t done = 0; done < size;) {
        const uint64_t n = std::min(size - done, s.memory.size);
        std::memcpy(s.memory.mapped, static_cast<const std::byte*>(src) + done, n);
        context.begin();
        const VkBufferCopy region{0, offset + done, n};
        vkCmdCopyBuffer(context.command_buffer(), s.memory.buffer, dst, 1, &region);
        context.submit_and_wait();
        done += n;
    }
}

void download(Context& context, VkBuffer src, uint64_t offset, void* dst, uint64_t size) {
    std::lock_guard lock(context.mutex());
    Staging& s = staging_for(context, size);
    for (uint64_t done = 0; done < size;) {
        const uint64_t n = std::min(size - done, s.memory.size);
        context.begin();
        const VkBufferCopy region{offset + done, 0, n};
        vkCmdCopyBuffer(context.command_buffer(), src, s.memory.buffer, 1, &region);
        context.submit_and_wait();
        std::memcpy(static_cast<std::byte*>(dst) + done, s.memory.mapped, n);
        done += n;
    }
}

sl_buffer BufferTable::add(std::unique_ptr<DeviceBuffer> buffer) {
    std::lock_guard lock(mutex_);
    buffer->base = next_++ << kAddressBits;
    const DeviceBuffer* raw = buffer.get();
    by_base_[raw->base] = raw;
    return reinterpret_cast<sl_buffer>(handles_.add(std::move(buffer)));
}

void BufferTable::destroy(sl_buffer handle) {
    {
        std::lock_guard lock(mutex_);
        for (auto it = by_base_.begin(); it != by_base_.end(); ++it)
            if (it->second == reinterpret_cast<const DeviceBuffer*>(handle)) {
                by_base_.erase(it);
                break;
            }
    }
    handles_.destroy(handle);
}

Located BufferTable::locate(uint64_t addr, uint64_t extent, const Context& context, const char* what) const {
    std::lock_guard lock(mutex_);
    auto it = by_base_.upper_bound(addr);
    if (it != by_base_.begin()) {
        --it;
        const DeviceBuffer& b = *it->second;
        const uint64_t offset = addr - b.base;
        if (offset <= b.memory.size && extent <= b.memory.size - offset) {
            if (b.context.get() != &context) host::invalid(what, " lies in a buffer of another device");
            return {&b, offset};
        }
    }
    host::invalid(what, " bytes [", addr, ", +", extent, ") lie in no buffer of this backend");
}

}  // namespace suanli::vk
