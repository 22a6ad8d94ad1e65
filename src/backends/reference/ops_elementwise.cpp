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

void run_add(const Node& n, int) {
    run_binary(n, [](float a, float b) { return a + b; });
}

void run_mul(const Node& n, int) {
    run_binary(n, [](float a, float b) { return a * b; });
}

void run_scale(const Node& n, int) {
    const float s = n.param_f32(0);
    run_unary(n, [s](float x) { return x * s; });
}

void run_silu(const Node& n, int) {
    run_unary(n, [](float x) { return x / (1.0f + std::exp(-x)); });
}

void run_copy(const Node& n, int) {
    run_unary(n, [](float x) { return x; });
}

}  // namespace suanli::reference
