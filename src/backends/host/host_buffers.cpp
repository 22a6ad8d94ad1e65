#include "backends/host/host_buffers.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <new>
#include <string>

#include "backends/host/host_device.h"
#include "backends/host/tensor_access.h"

namespace suanli::host {
namespace {

constexpr std::align_val_t kAlignment{64};

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

}  // namespace

HostBuffer::~HostBuffer() {
    if (owned) ::operator delete(data, kAlignment);
}

void HostBuffers::add(std::unique_ptr<HostBuffer> buffer, sl_buffer* out, uint64_t* base) {
    *base = reinterpret_cast<uint64_t>(buffer->data);
    const HostBuffer* b = buffer.get();
    *out = reinterpret_cast<sl_buffer>(buffers_.add(std::move(buffer)));
    std::lock_guard lock(index_mutex_);
    by_address_.emplace(*base, b);
    version_.fetch_add(1, std::memory_order_acq_rel);
}

void HostBuffers::free(sl_buffer handle) {
    if (const HostBuffer* b = buffers_.find(handle)) {
        std::lock_guard lock(index_mutex_);
        auto [first, last] = by_address_.equal_range(reinterpret_cast<uint64_t>(b->data));
        for (auto it = first; it != last; ++it)
            if (it->second == b) {
                by_address_.erase(it);
                break;
            }
    }
    buffers_.destroy(handle);
    version_.fetch_add(1, std::memory_order_acq_rel);
}

void HostBuffers::alloc(uint64_t size, sl_buffer* out, uint64_t* base) {
    if (!out || !base) invalid("out or base is NULL");
    *out = nullptr;
    // More than the machine's memory cannot work; fail now rather than at first touch.
    const uint64_t physical = physical_memory();
    if (size > SIZE_MAX - 64 || (physical > 0 && size > physical))
        throw OpError(SL_ERR_OUT_OF_MEMORY, cat(size, " bytes exceed the host's ", physical, " bytes of memory"));
    auto buffer = std::make_unique<HostBuffer>();
    // At least one byte, so every buffer has its own address.
    buffer->data = static_cast<std::byte*>(::operator new(std::max<uint64_t>(size, 1), kAlignment));
    buffer->owned = true;
    buffer->size = size;
    if (fill_) std::memset(buffer->data, static_cast<int>(*fill_), size);
    add(std::move(buffer), out, base);
}

void HostBuffers::from_host(const void* ptr, uint64_t size, sl_buffer* out, uint64_t* base) {
    if (!out || !base) invalid("out or base is NULL");
    *out = nullptr;
    if (!ptr) invalid("ptr is NULL");
    auto buffer = std::make_unique<HostBuffer>();
    buffer->data = static_cast<std::byte*>(const_cast<void*>(ptr));
    buffer->size = size;
    buffer->read_only = true;
    add(std::move(buffer), out, base);
}

void HostBuffers::write(sl_buffer handle, uint64_t offset, const void* src, uint64_t size) {
    HostBuffer& b = buffers_.get(handle, "a live buffer");
    if (b.read_only) invalid("the buffer wraps host memory, which the backend only reads");
    check_range(offset, size, b.size);
    if (size == 0) return;
    if (!src) invalid("src is NULL");
    std::memcpy(b.data + offset, src, size);
}

void HostBuffers::read(sl_buffer handle, uint64_t offset, void* dst, uint64_t size) const {
    const HostBuffer& b = buffers_.get(handle, "a live buffer");
    check_range(offset, size, b.size);
    if (size == 0) return;
    if (!dst) invalid("dst is NULL");
    std::memcpy(dst, b.data + offset, size);
}

std::optional<std::pair<uint64_t, uint64_t>> HostBuffers::range(sl_buffer handle) const {
    const HostBuffer* b = buffers_.find(handle);
    if (!b) return std::nullopt;
    const auto base = reinterpret_cast<uint64_t>(b->data);
    return std::pair{base, base + b->size};
}

bool HostBuffers::in_read_only(uint64_t addr, uint64_t bytes) const {
    bool found = false;
    buffers_.for_each([&](const HostBuffer& b) {
        const auto base = reinterpret_cast<uint64_t>(b.data);
        found = found || (b.read_only && addr >= base && addr - base <= b.size && bytes <= b.size - (addr - base));
    });
    return found;
}

void HostBuffers::check_memory(const sl_tensor& t, const Node& node, int src, const HostBuffer*& last) const {
    const uint64_t extent = extent_bytes(t);
    const bool written = src < 0;
    auto holds = [&](const HostBuffer& b) {
        const auto base = reinterpret_cast<uint64_t>(b.data);
        return t.addr >= base && t.addr - base <= b.size && extent <= b.size - (t.addr - base);
    };
    auto fits = [&](const HostBuffer* b) { return b && holds(*b) && !(written && b->read_only); };
    if (fits(last)) return;
    // Almost always the buffer with the nearest base at or below addr; overlapping
    // wraps of host memory and every error take the full scan below.
    if (auto it = by_address_.upper_bound(t.addr); it != by_address_.begin() && fits(std::prev(it)->second)) {
        last = std::prev(it)->second;
        return;
    }
    bool inside = false, in_read_only = false;
    buffers_.for_each([&](const HostBuffer& b) {
        if (inside || !holds(b)) return;
        if (!written || !b.read_only) inside = true;
        else in_read_only = true;
    });
    if (inside) return;
    const std::string what = written ? std::string("the node's tensor") : cat("src[", src, "] (tensor ", node.out.src[src], ")");
    if (in_read_only) invalid(what, " is written but lies in read-only wrapped host memory");
    invalid(what, " bytes [", hex(t.addr), ", +", extent, ") lie in no buffer of this backend");
}

void HostBuffers::check_graph_memory(const sl_graph& graph, std::span<const Node> nodes) const {
    std::lock_guard lock(index_mutex_);
    const HostBuffer* last = nullptr;
    for (const Node& node : nodes) {
        in_node(graph, node.index, [&] {
            check_memory(node.out, node, -1, last);
            for (int i = 0; i < SL_MAX_SRC; ++i)
                if (node.src[i]) check_memory(*node.src[i], node, i, last);
        });
    }
}

}  // namespace suanli::host
