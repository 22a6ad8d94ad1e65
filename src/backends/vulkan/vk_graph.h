// Runs a checked graph on a device: one command buffer, one dispatch per node,
// a barrier only before a node that touches bytes an earlier, unbarriered node
// wrote (or writes bytes one read), then one submission and a wait.
#pragma once

#include <array>
#include <chrono>
#include <span>

#include "vk_buffers.h"
#include "vk_ops.h"
#include "vk_pipelines.h"

namespace suanli::vk {

class GraphRunner {
public:
    GraphRunner(Context& context, Pipelines& pipelines);
    ~GraphRunner();

    // nodes: the graph's op nodes in order, already past the standard's rules.
    // Throws OpError; when it throws before submitting, no node ran.
    void run(const sl_graph& graph, std::span<const Node> nodes, const BufferTable& buffers);

private:
    void reserve(uint32_t n_nodes);
    void reserve_timestamps(uint32_t count);

    Context& context_;
    Pipelines& pipelines_;
    uint64_t arg_stride_;   // bytes per node's argument block, aligned for descriptor offsets
    Memory args_;           // host-visible: argument blocks in, status words out
    Memory dummy_;          // bound to unused operand slots
    Owned<VkDescriptorPool> pool_;
    uint32_t pool_sets_ = 0;

    // SUANLI_VULKAN_PROFILE=1: where a graph's time goes, printed when the device closes.
    struct Profile {
        bool enabled = false;
        uint64_t graphs = 0, nodes = 0, barriers = 0;
        std::chrono::duration<double> prepare{}, record{}, execute{};
        // GPU time and dispatches per kernel, from a timestamp after each dispatch.
        std::array<double, static_cast<size_t>(Kernel::Count)> kernel_ns{};
        std::array<uint64_t, static_cast<size_t>(Kernel::Count)> kernel_dispatches{};
        Owned<VkQueryPool> timestamps;
        uint32_t timestamp_capacity = 0;
    } profile_;
};

}  // namespace suanli::vk
