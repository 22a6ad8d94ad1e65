// Internals of the reference backend: its ops, and the helpers every op uses
// to read and write strided tensors one row at a time. The checks a node passes
// before it runs are the shared ones in host/node_rules.h.
//
// The pattern of every op: load_row() an input row (any strides, any supported
// dtype) into a float scratch vector, compute in plain loops, store_row() the
// result. Rows are over ne[0]; (i1, i2, i3) picks the row.
#pragma once

#include <algorithm>
#include <cstdint>
#include <exception>
#include <thread>
#include <utility>
#include <vector>

#include "backends/host/node_rules.h"
#include "backends/host/tensor_access.h"
#include "suanli/backend.h"

namespace suanli::reference {

using host::dense_rows;
using host::dtype_of;
using host::invalid;
using host::load_i32;
using host::Node;
using host::row_ptr;
using host::row_ptr_mut;

// Row (i1, i2, i3) of t, ne[0] elements, as floats. Any dtype dequantize_row knows.
void load_row(const sl_tensor& t, int64_t i1, int64_t i2, int64_t i3, float* dst);
// Writes ne[0] floats into row (i1, i2, i3) of t, converting to F32, F16 or BF16.
void store_row(const sl_tensor& t, int64_t i1, int64_t i2, int64_t i3, const float* src);

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

// ---- the ops ----
//
// Each runs a node that passed host/node_rules.h. n_threads (>= 1) is how many
// threads the op may start; only the big ones (MUL_MAT, ATTENTION) do.

void run_get_rows(const Node&, int n_threads);
void run_mul_mat(const Node&, int n_threads);
void run_add(const Node&, int n_threads);
void run_mul(const Node&, int n_threads);
void run_scale(const Node&, int n_threads);
void run_silu(const Node&, int n_threads);
void run_rms_norm(const Node&, int n_threads);
void run_rope(const Node&, int n_threads);
void run_attention(const Node&, int n_threads);
void run_copy(const Node&, int n_threads);

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
