// Internals of the cpu backend: a node with its operands, the context an op
// runs in (thread pool, kernel table, scratch), the checks and the ops.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "backends/cpu/kernels.h"
#include "backends/cpu/thread_pool.h"
#include "core/dtype.h"
#include "core/error.h"
#include "suanli/backend.h"

namespace suanli::cpu {

// A failure to hand back through the ABI: a status and a message.
class OpError : public std::runtime_error {
public:
    OpError(sl_status status, const std::string& message) : std::runtime_error(message), status(status) {}
    sl_status status;
};

template <class... Parts>
[[noreturn]] void invalid(const Parts&... parts) {
    throw OpError(SL_ERR_INVALID_ARGUMENT, cat(parts...));
}
template <class... Parts>
[[noreturn]] void unsupported(const Parts&... parts) {
    throw OpError(SL_ERR_UNSUPPORTED, cat(parts...));
}

struct Node {
    const sl_tensor& out;
    const sl_tensor* src[SL_MAX_SRC];  // nullptr where the index is -1

    const sl_tensor& in(int i) const { return *src[i]; }
    int32_t param_i32(int i) const { return out.params[i]; }
    float param_f32(int i) const {
        float f;
        std::memcpy(&f, &out.params[i], sizeof f);
        return f;
    }
};

// What an op runs with. Scratch is reused from node to node.
struct Context {
    ThreadPool& pool;
    const Kernels& kernels;
    std::vector<std::byte>& scratch;

    // At least `bytes` of 64-byte aligned scratch (contents unspecified).
    std::byte* scratch_bytes(size_t bytes) {
        if (scratch.size() < bytes + 64) scratch.resize(bytes + 64);
        const auto p = reinterpret_cast<uintptr_t>(scratch.data());
        return scratch.data() + ((64 - p % 64) % 64);
    }
};

// ---- graph checks (validate.cpp) ----

const char* op_name(int32_t op);
void check_graph_shape(const sl_graph* graph);
// Operand indices, layouts and the op's own preconditions of node `index`; no data is read.
Node check_node(const sl_graph& graph, int32_t index);
uint64_t extent_bytes(const sl_tensor& t);

// ---- tensor helpers ----

inline DType dtype_of(const sl_tensor& t) { return static_cast<DType>(t.dtype); }
inline bool is_block_type(const sl_tensor& t) { return traits(dtype_of(t)).block_elements > 1; }
inline int64_t n_rows(const sl_tensor& t) { return t.ne[1] * t.ne[2] * t.ne[3]; }
// ne[0] elements packed (always for block types).
inline bool dense_rows(const sl_tensor& t) {
    return is_block_type(t) || t.ne[0] == 1 || t.nb[0] == static_cast<int64_t>(traits(dtype_of(t)).block_bytes);
}
inline const std::byte* row_ptr(const sl_tensor& t, int64_t i1, int64_t i2, int64_t i3) {
    return reinterpret_cast<const std::byte*>(t.addr) + i1 * t.nb[1] + i2 * t.nb[2] + i3 * t.nb[3];
}
inline std::byte* row_ptr_mut(const sl_tensor& t, int64_t i1, int64_t i2, int64_t i3) {
    return reinterpret_cast<std::byte*>(t.addr) + i1 * t.nb[1] + i2 * t.nb[2] + i3 * t.nb[3];
}
// Row r (r = i1 + ne1 * (i2 + ne2 * i3)) of t as ne[0] floats: a pointer into t
// itself when it is dense F32, else converted into `scratch`.
const float* load_row(const sl_tensor& t, int64_t i1, int64_t i2, int64_t i3, float* scratch);
int32_t load_i32(const sl_tensor& t, int64_t i0, int64_t i1, int64_t i2, int64_t i3);

// ---- the ops ----

void run_get_rows(Context&, const Node&);
void run_mul_mat(Context&, const Node&);
void run_add(Context&, const Node&);
void run_mul(Context&, const Node&);
void run_scale(Context&, const Node&);
void run_silu(Context&, const Node&);
void run_rms_norm(Context&, const Node&);
void run_rope(Context&, const Node&);
void run_attention(Context&, const Node&);
void run_copy(Context&, const Node&);

}  // namespace suanli::cpu
