// Internals of the cpu backend: the context an op runs in (thread pool, kernel
// table, scratch) and the ops. Nodes, their checks and tensor helpers are the
// shared ones in host/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "backends/cpu/kernels.h"
#include "backends/cpu/packed_weights.h"
#include "backends/cpu/thread_pool.h"
#include "backends/host/node_rules.h"
#include "backends/host/tensor_access.h"
#include "suanli/backend.h"

namespace suanli::cpu {

using host::dense_rows;
using host::dtype_of;
using host::invalid;
using host::is_block_type;
using host::load_i32;
using host::n_rows;
using host::Node;
using host::row_ptr;
using host::row_ptr_mut;

// ROPE's cosines and sines, per position and rotated pair, kept for the graph's next ROPE
// nodes with the same positions and parameters (every layer's Q and K in a model): libm's cos
// and sin were most of what a decode step's ROPE cost (~1.3 us of 32 pairs).
struct RopeAngles {
    std::vector<int32_t> positions;
    int64_t n_rot = -1;
    float freq_base = 0, freq_scale = 0;
    std::vector<float> cos, sin;  // pair i of position t at t * (n_rot / 2) + i
};

// What an op runs with. Scratch is reused from node to node.
struct Context {
    ThreadPool& pool;
    const Kernels& kernels;
    const PackedWeights& packed;
    std::vector<std::byte>& scratch;
    RopeAngles rope_angles{};  // for this graph's ROPE nodes

    // At least `bytes` of 64-byte aligned scratch (contents unspecified).
    std::byte* scratch_bytes(size_t bytes) {
        if (scratch.size() < bytes + 64) scratch.resize(bytes + 64);
        const auto p = reinterpret_cast<uintptr_t>(scratch.data());
        return scratch.data() + ((64 - p % 64) % 64);
    }
};

// ---- tensor helpers (the rest are shared: host/tensor_access.h) ----

// Row r (r = i1 + ne1 * (i2 + ne2 * i3)) of t as ne[0] floats: a pointer into t
// itself when it is dense F32, else converted into `scratch`.
const float* load_row(const sl_tensor& t, int64_t i1, int64_t i2, int64_t i3, float* scratch);
// Whether load_row returns every row of t in place (dense, aligned F32), needing no scratch.
bool f32_rows(const sl_tensor& t);

// Multiply-adds per thread below which a matmul stays on fewer threads.
inline constexpr int64_t kMinMatMulWorkPerThread = int64_t{1} << 16;

// ---- the ops ----

void run_get_rows(Context&, const Node&);
// MUL_MAT without packed weights (graph_compute tries run_mul_mats_packed first).
void run_mul_mat(Context&, const Node&);
// nodes[0], a MUL_MAT, and the MUL_MATs right after it that share its B and have packed
// weights of its type, as one job: returns how many nodes it ran (0 when nodes[0]'s
// weights are not packed: nothing done).
size_t run_mul_mats_packed(Context&, std::span<const Node> nodes);
void run_add(Context&, const Node&);
void run_mul(Context&, const Node&);
void run_scale(Context&, const Node&);
void run_silu(Context&, const Node&);
void run_rms_norm(Context&, const Node&);
void run_rope(Context&, const Node&);
void run_attention(Context&, const Node&);
void run_copy(Context&, const Node&);

}  // namespace suanli::cpu
