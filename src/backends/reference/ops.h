// Internals of the reference backend: how an op is checked and run, and the
// helpers every op uses to read and write strided tensors one row at a time.
//
// The pattern of every op: load_row() an input row (any strides, any supported
// dtype) into a float scratch vector, compute in plain loops, store_row() the
// result. Rows are over ne[0]; (i1, i2, i3) picks the row.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <exception>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/dtype.h"
#include "core/error.h"
#include "suanli/backend.h"

namespace suanli::reference {

// A failure to hand back through the ABI: a status and a message.
class OpError : public std::runtime_error {
public:
    OpError(sl_status status, const std::string& message) : std::runtime_error(message), status(status) {}
    sl_status status;
};

// A malformed graph: breaks a precondition of backend.h.
template <class... Parts>
[[noreturn]] void invalid(const Parts&... parts) {
    throw OpError(SL_ERR_INVALID_ARGUMENT, cat(parts...));
}

// Well-formed, but outside what this backend implements (e.g. a dtype the standard does not list).
template <class... Parts>
[[noreturn]] void unsupported(const Parts&... parts) {
    throw OpError(SL_ERR_UNSUPPORTED, cat(parts...));
}

// A node with its operands resolved (graph-level checks already passed).
struct Node {
    const sl_tensor& out;
    const sl_tensor* src[SL_MAX_SRC];  // nullptr where the index is -1
    int n_threads;                     // >= 1; used by run, not by check

    const sl_tensor& in(int i) const { return *src[i]; }
    int32_t param_i32(int i) const { return out.params[i]; }
    float param_f32(int i) const {
        float f;
        std::memcpy(&f, &out.params[i], sizeof f);
        return f;
    }
};

// One op: `check` throws OpError on a violated precondition (without reading
// tensor data), `run` computes the node (and may throw OpError for data-dependent
// errors such as an id out of range, before writing anything).
struct OpImpl {
    const char* name;
    int n_src;         // operand slots used: src[n_src..] must be -1
    int n_src_needed;  // leading slots that must be present
    void (*check)(const Node&);
    void (*run)(const Node&);
};

// The table, indexed by sl_op (entry 0, SL_OP_NONE, is unused).
const OpImpl& op_impl(int32_t op);
const char* op_name(int32_t op);

// ---- tensor helpers (tensor.cpp) ----

DType dtype_of(const sl_tensor& t);
bool is_block_type(const sl_tensor& t);              // Q8_0 / Q4_0 ...
bool is_plain_float(const sl_tensor& t);             // F32, F16, BF16
bool is_weight_type(const sl_tensor& t);             // F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K
int64_t n_rows(const sl_tensor& t);                  // ne[1] * ne[2] * ne[3]
bool dense_rows(const sl_tensor& t);                 // ne[0] elements packed (nb[0] ignored for block types)
bool is_contiguous(const sl_tensor& t);              // dense in dimension order (ne == 1 dims ignored)
uint64_t extent_bytes(const sl_tensor& t);           // bytes from addr to one past the last byte
std::string shape_str(const sl_tensor& t);           // "[4, 3, 1, 1]"

inline const std::byte* row_ptr(const sl_tensor& t, int64_t i1, int64_t i2, int64_t i3) {
    return reinterpret_cast<const std::byte*>(t.addr) + i1 * t.nb[1] + i2 * t.nb[2] + i3 * t.nb[3];
}
inline std::byte* row_ptr_mut(const sl_tensor& t, int64_t i1, int64_t i2, int64_t i3) {
    return reinterpret_cast<std::byte*>(t.addr) + i1 * t.nb[1] + i2 * t.nb[2] + i3 * t.nb[3];
}

// Row (i1, i2, i3) of t, ne[0] elements, as floats. Any dtype dequantize_row knows.
void load_row(const sl_tensor& t, int64_t i1, int64_t i2, int64_t i3, float* dst);
// Writes ne[0] floats into row (i1, i2, i3) of t, converting to F32, F16 or BF16.
void store_row(const sl_tensor& t, int64_t i1, int64_t i2, int64_t i3, const float* src);
int32_t load_i32(const sl_tensor& t, int64_t i0, int64_t i1, int64_t i2, int64_t i3);

// The dot product of n floats, accumulated in float in a fixed order: 8 partial
// sums (lane k % 8) added pairwise at the end, then the tail. Accurate to float
// rounding, and a loop shape the compiler can vectorize without -ffast-math.
inline float dot(const float* a, const float* b, int64_t n) {
    float lane[8] = {};
    int64_t k = 0;
    for (; k + 8 <= n; k += 8)
        for (int l = 0; l < 8; ++l) lane[l] += a[k + l] * b[k + l];
    float tail = 0.0f;
    for (; k < n; ++k) tail += a[k] * b[k];
    return ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7])) + tail;
}

// ---- checks shared by the ops (tensor.cpp) ----

// The node's own tensor: F32, shaped `ne`, contiguous.
void expect_f32_output(const Node& n, const int64_t (&ne)[4]);
void expect_dtype(const sl_tensor& t, const char* what, std::initializer_list<sl_dtype> allowed);
void expect_shape(const sl_tensor& t, const char* what, const int64_t (&ne)[4]);

// ---- the ops ----

void check_get_rows(const Node&);
void run_get_rows(const Node&);
void check_mul_mat(const Node&);
void run_mul_mat(const Node&);
void check_add_mul(const Node&);
void run_add(const Node&);
void run_mul(const Node&);
void check_unary(const Node&);
void run_scale(const Node&);
void run_silu(const Node&);
void check_rms_norm(const Node&);
void run_rms_norm(const Node&);
void check_rope(const Node&);
void run_rope(const Node&);
void check_attention(const Node&);
void run_attention(const Node&);
void check_copy(const Node&);
void run_copy(const Node&);

// ---- threads ----

// Calls fn(begin, end) on disjoint ranges covering [0, n), on up to n_threads
// threads (the calling thread takes the first range). An exception thrown by
// fn is rethrown here after every thread has finished.
// Each output element is computed by the same code whichever thread runs it,
// so results do not depend on the thread count.
template <class Fn>
void parallel_for(int n_threads, int64_t n, Fn&& fn) {
    const int64_t parts = std::min<int64_t>(std::max(n_threads, 1), n);
    if (parts <= 1) {
        if (n > 0) fn(int64_t{0}, n);
        return;
    }
    auto range = [&](int64_t p) { return std::pair{n * p / parts, n * (p + 1) / parts}; };
    std::vector<std::exception_ptr> errors(static_cast<size_t>(parts));
    {
        std::vector<std::jthread> workers;  // joined at the end of this block, also if a spawn throws
        workers.reserve(static_cast<size_t>(parts - 1));
        for (int64_t p = 1; p < parts; ++p) {
            workers.emplace_back([&fn, &errors, p, r = range(p)] {
                try {
                    fn(r.first, r.second);
                } catch (...) {
                    errors[static_cast<size_t>(p)] = std::current_exception();
                }
            });
        }
        try {
            fn(range(0).first, range(0).second);
        } catch (...) {
            errors[0] = std::current_exception();
        }
    }
    for (const std::exception_ptr& e : errors)
        if (e) std::rethrow_exception(e);
}

}  // namespace suanli::reference
