// ADD and MUL (with broadcasting), SCALE, SILU and COPY: one row at a time.
#include <cmath>

#include "backends/reference/ops.h"

namespace suanli::reference {
namespace {

// out[i] = op(a[i], b[i mod b.ne]) for every element of a.
template <class Op>
void run_binary(const Node& n, Op op) {
    const sl_tensor& a = n.in(0);
    const sl_tensor& b = n.in(1);
    std::vector<float> ra(static_cast<size_t>(a.ne[0])), rb(static_cast<size_t>(b.ne[0]));
    std::vector<float> ro(static_cast<size_t>(a.ne[0]));
    for (int64_t i3 = 0; i3 < a.ne[3]; ++i3)
        for (int64_t i2 = 0; i2 < a.ne[2]; ++i2)
            for (int64_t i1 = 0; i1 < a.ne[1]; ++i1) {
                load_row(a, i1, i2, i3, ra.data());
                load_row(b, i1 % b.ne[1], i2 % b.ne[2], i3 % b.ne[3], rb.data());
                for (int64_t i0 = 0; i0 < a.ne[0]; ++i0) ro[i0] = op(ra[i0], rb[i0 % b.ne[0]]);
                store_row(n.out, i1, i2, i3, ro.data());
            }
}

// out[i] = op(x[i]) for every element of src0; out has src0's shape.
template <class Op>
void run_unary(const Node& n, Op op) {
    const sl_tensor& x = n.in(0);
    std::vector<float> row(static_cast<size_t>(x.ne[0]));
    for (int64_t i3 = 0; i3 < x.ne[3]; ++i3)
        for (int64_t i2 = 0; i2 < x.ne[2]; ++i2)
            for (int64_t i1 = 0; i1 < x.ne[1]; ++i1) {
                load_row(x, i1, i2, i3, row.data());
                for (float& v : row) v = op(v);
                store_row(n.out, i1, i2, i3, row.data());
            }
}

}  // namespace

void check_add_mul(const Node& n) {
    const sl_tensor& a = n.in(0);
    const sl_tensor& b = n.in(1);
    expect_dtype(a, "src0 (a)", {SL_DTYPE_F32});
    expect_dtype(b, "src1 (b)", {SL_DTYPE_F32});
    for (int i = 0; i < SL_MAX_DIMS; ++i)
        if (a.ne[i] % b.ne[i] != 0)
            invalid("b ", shape_str(b), " does not broadcast to a ", shape_str(a), ": b.ne[", i, "] = ", b.ne[i],
                    " does not divide a.ne[", i, "] = ", a.ne[i]);
    expect_f32_output(n, a.ne);
}

void run_add(const Node& n) {
    run_binary(n, [](float a, float b) { return a + b; });
}

void run_mul(const Node& n) {
    run_binary(n, [](float a, float b) { return a * b; });
}

void check_unary(const Node& n) {
    expect_dtype(n.in(0), "src0", {SL_DTYPE_F32});
    expect_f32_output(n, n.in(0).ne);
}

void run_scale(const Node& n) {
    const float s = n.param_f32(0);
    run_unary(n, [s](float x) { return x * s; });
}

void run_silu(const Node& n) {
    run_unary(n, [](float x) { return x / (1.0f + std::exp(-x)); });
}

// COPY: the node's own tensor is the destination, with its own dtype and strides.
void check_copy(const Node& n) {
    // F16 and BF16 sources are an extension of backend.h (which names F32).
    expect_dtype(n.in(0), "src0", {SL_DTYPE_F32, SL_DTYPE_F16, SL_DTYPE_BF16});
    expect_dtype(n.out, "destination (the node)", {SL_DTYPE_F32, SL_DTYPE_F16, SL_DTYPE_BF16});
    expect_shape(n.out, "destination (the node)", n.in(0).ne);
}

void run_copy(const Node& n) {
    run_unary(n, [](float x) { return x; });
}

}  // namespace suanli::reference
