#include "vk_graph.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "backends/host/abi_errors.h"
#include "backends/host/tensor_access.h"

namespace suanli::vk {
namespace {

// A byte range of one buffer a node reads or writes.
struct Range {
    const DeviceBuffer* buffer;
    uint64_t begin, end;
    bool overlaps(const Range& o) const { return buffer == o.buffer && begin < o.end && o.begin < end; }
};

bool overlaps_any(const Range& r, const std::vector<Range>& set) {
    return std::any_of(set.begin(), set.end(), [&](const Range& o) { return r.overlaps(o); });
}

// Compute writes before later compute reads and writes (and, for WAR, an execution dependency).
void compute_barrier(VkCommandBuffer cmd) {
    VkMemoryBarrier b{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
    b.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT;
    b.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT;
    vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1, &b, 0,
                         nullptr, 0, nullptr);
}

// Earlier uploads (transfer writes) before this graph's shaders; this graph's
// shader writes before the host reads status words and later downloads.
void edge_barrier(VkCommandBuffer cmd, bool at_start) {
    VkMemoryBarrier b{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
    if (at_start) {
        b.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT | VK_ACCESS_SHADER_WRITE_BIT;
        b.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT;
        vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT | VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                             VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1, &b, 0, nullptr, 0, nullptr);
    } else {
        b.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT;
        b.dstAccessMask = VK_ACCESS_HOST_READ_BIT | VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
        vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                             VK_PIPELINE_STAGE_HOST_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &b, 0, nullptr, 0,
                             nullptr);
    }
}

}  // namespace

GraphRunner::GraphRunner(Context& context, Pipelines& pipelines) : context_(context), pipelines_(pipelines) {
    const uint64_t align = std::max<uint64_t>(context.storage_offset_alignment(), 1);
    arg_stride_ = (kArgWords * 4 + align - 1) / align * align;
    dummy_ = make_memory(context, 16, false);
    const char* profile = std::getenv("SUANLI_VULKAN_PROFILE");
    profile_.enabled = profile && *profile && std::strcmp(profile, "0") != 0;
}

GraphRunner::~GraphRunner() {
    if (!profile_.enabled || profile_.graphs == 0) return;
    const auto us = [&](std::chrono::duration<double> t) { return t.count() * 1e6 / static_cast<double>(profile_.graphs); };
    std::fprintf(stderr,
                 "vulkan profile: %llu graphs, %.1f nodes and %.1f barriers each; per graph: prepare %.0f us "
                 "(plans, descriptors), record %.0f us, submit and wait %.0f us\n",
                 static_cast<unsigned long long>(profile_.graphs),
                 static_cast<double>(profile_.nodes) / static_cast<double>(profile_.graphs),
                 static_cast<double>(profile_.barriers) / static_cast<double>(profile_.graphs), us(profile_.prepare),
                 us(profile_.record), us(profile_.execute));
    static const char* const kNames[] = {"mul_mat_vec", "mul_mat", "get_rows", "binary", "unary",
                                         "rms_norm",    "rope",    "attention", "copy"};
    static_assert(std::size(kNames) == static_cast<size_t>(Kernel::Count));
    for (size_t k = 0; k < std::size(kNames); ++k)
        if (profile_.kernel_dispatches[k] > 0)
            std::fprintf(stderr, "  %-12s %7.1f dispatches, %8.1f us of GPU time per graph\n", kNames[k],
                         static_cast<double>(profile_.kernel_dispatches[k]) / static_cast<double>(profile_.graphs),
                         profile_.kernel_ns[k] / 1e3 / static_cast<double>(profile_.graphs));
}

void GraphRunner::reserve_timestamps(uint32_t count) {
    if (profile_.timestamp_capacity >= count) return;
    const VkDevice device = context_.device();
    VkQueryPoolCreateInfo info{VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO};
    info.queryType = VK_QUERY_TYPE_TIMESTAMP;
    info.queryCount = std::max<uint32_t>(count * 2, 256);
    VkQueryPool pool = VK_NULL_HANDLE;
    check(vkCreateQueryPool(device, &info, nullptr, &pool), "vkCreateQueryPool");
    profile_.timestamps = Owned<VkQueryPool>(pool, [device](VkQueryPool h) { vkDestroyQueryPool(device, h, nullptr); });
    profile_.timestamp_capacity = info.queryCount;
}

void GraphRunner::reserve(uint32_t n_nodes) {
    const VkDevice device = context_.device();
    if (args_.size < n_nodes * arg_stride_) {
        args_ = Memory{};
        args_ = make_memory(context_, std::max<uint64_t>(n_nodes, 64) * arg_stride_ * 2, true);
    }
    if (pool_sets_ < n_nodes) {
        pool_.reset();
        const uint32_t sets = std::max<uint32_t>(n_nodes * 2, 64);
        const VkDescriptorPoolSize size{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, sets * kBindings};
        VkDescriptorPoolCreateInfo info{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
        info.maxSets = sets;
        info.poolSizeCount = 1;
        info.pPoolSizes = &size;
        VkDescriptorPool pool = VK_NULL_HANDLE;
        check(vkCreateDescriptorPool(device, &info, nullptr, &pool), "vkCreateDescriptorPool");
        pool_ = Owned<VkDescriptorPool>(pool, [device](VkDescriptorPool h) { vkDestroyDescriptorPool(device, h, nullptr); });
        pool_sets_ = sets;
    }
}

void GraphRunner::run(const sl_graph& graph, std::span<const Node> nodes, const BufferTable& buffers) {
    if (nodes.empty()) return;
    const VkDevice device = context_.device();
    // At least 16, so the offset the shader gets tells it where 16-byte loads are aligned.
    const uint64_t align = std::max<uint64_t>(context_.storage_offset_alignment(), 16);
    const uint64_t max_range = context_.max_storage_range();
    const auto n = static_cast<uint32_t>(nodes.size());
    using Clock = std::chrono::steady_clock;
    const Clock::time_point t0 = Clock::now();

    // Plan every node and find its bytes before recording anything.
    std::vector<Dispatch> plans;
    std::vector<std::array<VkDescriptorBufferInfo, kSlots>> bound(n);
    std::vector<std::array<Range, kSlots>> ranges(n);
    plans.reserve(n);
    for (uint32_t i = 0; i < n; ++i) {
        const Node& node = nodes[i];
        host::in_node(graph, node.index, [&] {
            check_kernel_limits(node, max_range);
            plans.push_back(plan_node(node));
            Dispatch& d = plans.back();
            for (int s = 0; s < kSlots; ++s) {
                const sl_tensor* t = d.slots[s];
                if (!t) {
                    bound[i][s] = {dummy_.buffer, 0, VK_WHOLE_SIZE};
                    ranges[i][s] = {nullptr, 0, 0};
                    continue;
                }
                static const char* const kWhat[kSlots] = {"src[0]", "src[1]", "src[2]", "src[3]", "the node's tensor"};
                const uint64_t extent = host::extent_bytes(*t);
                const Located at = buffers.locate(t->addr, extent, context_, kWhat[s]);
                // Bind the tensor's own words from an aligned offset (the shader adds the
                // rest: word 0 of the slot), so the binding says exactly what a node touches.
                const uint64_t start = at.offset / align * align;
                const uint64_t range = std::min((at.offset - start + extent + 3) / 4 * 4, at.buffer->memory.capacity - start);
                if (range > max_range) host::unsupported(kWhat[s], " spans more than one descriptor covers");
                bound[i][s] = {at.buffer->memory.buffer, start, range};
                d.args[s * kSlotWords] = static_cast<uint32_t>(at.offset - start);
                ranges[i][s] = {at.buffer, at.offset, at.offset + extent};
            }
        });
    }

    reserve(n);
    // Argument blocks, status words cleared.
    auto* args = static_cast<std::byte*>(args_.mapped);
    for (uint32_t i = 0; i < n; ++i) std::memcpy(args + i * arg_stride_, plans[i].args.data(), kArgWords * 4);

    check(vkResetDescriptorPool(device, pool_, 0), "vkResetDescriptorPool");
    std::vector<VkDescriptorSetLayout> layouts(n, pipelines_.set_layout());
    std::vector<VkDescriptorSet> sets(n);
    VkDescriptorSetAllocateInfo alloc{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
    alloc.descriptorPool = pool_;
    alloc.descriptorSetCount = n;
    alloc.pSetLayouts = layouts.data();
    check(vkAllocateDescriptorSets(device, &alloc, sets.data()), "vkAllocateDescriptorSets");

    std::vector<VkDescriptorBufferInfo> infos(static_cast<size_t>(n) * kBindings);
    std::vector<VkWriteDescriptorSet> writes(static_cast<size_t>(n) * kBindings);
    for (uint32_t i = 0; i < n; ++i)
        for (uint32_t b = 0; b < kBindings; ++b) {
            VkDescriptorBufferInfo& info = infos[i * kBindings + b];
            info = b == 0 ? VkDescriptorBufferInfo{args_.buffer, i * arg_stride_, kArgWords * 4} : bound[i][b - 1];
            VkWriteDescriptorSet& w = writes[i * kBindings + b];
            w = {VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
            w.dstSet = sets[i];
            w.dstBinding = b;
            w.descriptorCount = 1;
            w.descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
            w.pBufferInfo = &info;
        }
    vkUpdateDescriptorSets(device, static_cast<uint32_t>(writes.size()), writes.data(), 0, nullptr);

    // Resolve pipelines first: creating one may fail, and nothing has been recorded yet.
    std::vector<VkPipeline> pipelines(n);
    for (uint32_t i = 0; i < n; ++i) pipelines[i] = pipelines_.get(plans[i].kernel, plans[i].slots[0]->dtype);

    const bool timed = profile_.enabled && context_.properties().limits.timestampComputeAndGraphics;
    if (timed) reserve_timestamps(n + 1);
    {
        std::lock_guard lock(context_.mutex());
        context_.begin();
        const VkCommandBuffer cmd = context_.command_buffer();
        const Clock::time_point t1 = Clock::now();
        if (timed) vkCmdResetQueryPool(cmd, profile_.timestamps, 0, n + 1);
        edge_barrier(cmd, true);
        if (timed) vkCmdWriteTimestamp(cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, profile_.timestamps, 0);
        std::vector<Range> written, read;
        for (uint32_t i = 0; i < n; ++i) {
            const Range& out = ranges[i][kOutSlot];
            bool hazard = overlaps_any(out, written) || overlaps_any(out, read);
            for (int s = 0; s < SL_MAX_SRC && !hazard; ++s)
                if (ranges[i][s].buffer) hazard = overlaps_any(ranges[i][s], written);
            if (hazard) {
                ++profile_.barriers;
                compute_barrier(cmd);
                written.clear();
                read.clear();
            }
            for (int s = 0; s < SL_MAX_SRC; ++s)
                if (ranges[i][s].buffer) read.push_back(ranges[i][s]);
            written.push_back(out);
            vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, pipelines[i]);
            vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, pipelines_.layout(), 0, 1, &sets[i], 0, nullptr);
            vkCmdDispatch(cmd, plans[i].groups[0], plans[i].groups[1], plans[i].groups[2]);
            // Written once every earlier command has finished: the time since the last one is this node's.
            if (timed) vkCmdWriteTimestamp(cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, profile_.timestamps, i + 1);
        }
        edge_barrier(cmd, false);
        const Clock::time_point t2 = Clock::now();
        context_.submit_and_wait();
        if (profile_.enabled) {
            ++profile_.graphs;
            profile_.nodes += n;
            profile_.prepare += t1 - t0;
            profile_.record += t2 - t1;
            profile_.execute += Clock::now() - t2;
        }
        if (timed) {
            std::vector<uint64_t> ticks(n + 1);
            check(vkGetQueryPoolResults(device, profile_.timestamps, 0, n + 1, ticks.size() * sizeof(uint64_t),
                                        ticks.data(), sizeof(uint64_t), VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT),
                  "vkGetQueryPoolResults");
            const double period = context_.properties().limits.timestampPeriod;
            for (uint32_t i = 0; i < n; ++i) {
                const auto k = static_cast<size_t>(plans[i].kernel);
                profile_.kernel_ns[k] += static_cast<double>(ticks[i + 1] - ticks[i]) * period;
                ++profile_.kernel_dispatches[k];
            }
        }
    }

    // Inputs only the kernels could check (GET_ROWS ids).
    for (uint32_t i = 0; i < n; ++i) {
        uint32_t status[2];
        std::memcpy(status, args + i * arg_stride_ + kStatusDetailWord * 4, sizeof status);
        if (status[1] != 0)
            host::in_node(graph, nodes[i].index, [&] {
                host::invalid("id ", static_cast<int32_t>(status[0]), " is outside the table's [0, ",
                              nodes[i].in(0).ne[1], ") rows");
            });
    }
}

}  // namespace suanli::vk
