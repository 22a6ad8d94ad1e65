// Buffers in host memory, the buffer half of the ABI table for a backend whose
// device reads host memory: alloc, wrap (from_host), free, write, read, and the
// check that a tensor lies inside a live buffer. An sl_tensor's addr is a plain
// host pointer into one of these buffers.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <utility>

#include "backends/host/handles.h"
#include "backends/host/node_rules.h"
#include "suanli/backend.h"

namespace suanli::host {

struct HostBuffer {
    std::byte* data = nullptr;
    uint64_t size = 0;
    bool owned = false;      // allocated here (freed here) or wrapped host memory
    bool read_only = false;  // wrapped host memory: the backend only reads it

    HostBuffer() = default;
    HostBuffer(const HostBuffer&) = delete;
    HostBuffer& operator=(const HostBuffer&) = delete;
    ~HostBuffer();
};

// The live buffers of one backend. Every function throws OpError on a bad call.
class HostBuffers {
public:
    // fill: the byte every new buffer is filled with, or none (contents
    // unspecified, as the standard allows, and no page is touched up front).
    explicit HostBuffers(std::optional<std::byte> fill) : fill_(fill) {}

    void alloc(uint64_t size, sl_buffer* out, uint64_t* base);
    void from_host(const void* ptr, uint64_t size, sl_buffer* out, uint64_t* base);
    void free(sl_buffer handle);
    void write(sl_buffer handle, uint64_t offset, const void* src, uint64_t size);
    void read(sl_buffer handle, uint64_t offset, void* dst, uint64_t size) const;

    // [base, base + size) of a live buffer; nothing for a bad handle.
    std::optional<std::pair<uint64_t, uint64_t>> range(sl_buffer handle) const;
    // Whether [addr, addr + bytes) lies in one live read-only buffer (wrapped host memory).
    bool in_read_only(uint64_t addr, uint64_t bytes) const;

    // Each node's bytes lie in one writable live buffer, each operand's in one live buffer.
    // One lock for the whole graph: a decode step checks ~1000 tensors, and a lock and a map
    // lookup for each took it ~60 us.
    void check_graph_memory(const sl_graph& graph, std::span<const Node> nodes) const;

    // Changes whenever a buffer is added or freed, so that a check of where tensors lie holds
    // while it does not (GraphCheckCache).
    uint64_t version() const { return version_.load(std::memory_order_acquire); }

private:
    // With index_mutex_ held. `src` is the operand's index, or -1 for the node itself (which
    // is written). `last`: the buffer that held the tensor checked before (most of a graph's
    // tensors lie in its arena), tried first and updated.
    void check_memory(const sl_tensor& t, const Node& node, int src, const HostBuffer*& last) const;
    void add(std::unique_ptr<HostBuffer> buffer, sl_buffer* out, uint64_t* base);

    std::optional<std::byte> fill_;
    Handles<HostBuffer> buffers_;
    // The live buffers by base address, so that the check of every operand of
    // every node finds its buffer in O(log n) (models place hundreds of weights).
    mutable std::mutex index_mutex_;
    std::multimap<uint64_t, const HostBuffer*> by_address_;
    std::atomic<uint64_t> version_{0};
};

}  // namespace suanli::host
