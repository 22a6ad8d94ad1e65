// Reading and writing strided tensors row by row, and the checks the ops share.
#include <cstring>

#include "backends/reference/ops.h"
#include "core/fp16.h"
#include "core/quant.h"

namespace suanli::reference {

DType dtype_of(const sl_tensor& t) { return static_cast<DType>(t.dtype); }

bool is_block_type(const sl_tensor& t) { return traits(dtype_of(t)).block_elements > 1; }

bool is_plain_float(const sl_tensor& t) {
    return t.dtype == SL_DTYPE_F32 || t.dtype == SL_DTYPE_F16 || t.dtype == SL_DTYPE_BF16;
}

bool is_weight_type(const sl_tensor& t) {
    return is_plain_float(t) || t.dtype == SL_DTYPE_Q8_0 || t.dtype == SL_DTYPE_Q4_0 || t.dtype == SL_DTYPE_Q4_K ||
           t.dtype == SL_DTYPE_Q5_K || t.dtype == SL_DTYPE_Q6_K;
}

int64_t n_rows(const sl_tensor& t) { return t.ne[1] * t.ne[2] * t.ne[3]; }

bool dense_rows(const sl_tensor& t) {
    if (is_block_type(t) || t.ne[0] == 1) return true;
    return t.nb[0] == static_cast<int64_t>(traits(dtype_of(t)).block_bytes);
}

bool is_contiguous(const sl_tensor& t) {
    const DTypeTraits& tr = traits(dtype_of(t));
    int64_t expect = static_cast<int64_t>(tr.block_bytes);
    if (!is_block_type(t) && t.ne[0] > 1 && t.nb[0] != expect) return false;
    expect = static_cast<int64_t>(row_bytes(dtype_of(t), t.ne[0]));
    for (int i = 1; i < SL_MAX_DIMS; ++i) {
        if (t.ne[i] > 1 && t.nb[i] != expect) return false;
        expect *= t.ne[i];
    }
    return true;
}

uint64_t extent_bytes(const sl_tensor& t) {
    // Caller has checked ne >= 1 and nb >= 0; the arithmetic is still overflow-checked
    // because the numbers come from outside.
    uint64_t total = 0;
    auto add = [&](uint64_t v) {
        if (__builtin_add_overflow(total, v, &total)) invalid("tensor ", shape_str(t), " spans more than 2^64 bytes");
    };
    auto mul = [&](uint64_t a, uint64_t b) {
        uint64_t r;
        if (__builtin_mul_overflow(a, b, &r)) invalid("tensor ", shape_str(t), " spans more than 2^64 bytes");
        return r;
    };
    const DTypeTraits& tr = traits(dtype_of(t));
    if (is_block_type(t)) {
        add(mul(static_cast<uint64_t>(t.ne[0] / tr.block_elements), tr.block_bytes));
    } else {
        add(tr.block_bytes);
        add(mul(static_cast<uint64_t>(t.ne[0] - 1), static_cast<uint64_t>(t.nb[0])));
    }
    for (int i = 1; i < SL_MAX_DIMS; ++i)
        add(mul(static_cast<uint64_t>(t.ne[i] - 1), static_cast<uint64_t>(t.nb[i])));
    return total;
}

std::string shape_str(const sl_tensor& t) {
    return cat("[", t.ne[0], ", ", t.ne[1], ", ", t.ne[2], ", ", t.ne[3], "]");
}

void load_row(const sl_tensor& t, int64_t i1, int64_t i2, int64_t i3, float* dst) {
    const std::byte* p = row_ptr(t, i1, i2, i3);
    if (dense_rows(t)) {
        dequantize_row(dtype_of(t), p, dst, t.ne[0]);
        return;
    }
    for (int64_t i0 = 0; i0 < t.ne[0]; ++i0) dequantize_row(dtype_of(t), p + i0 * t.nb[0], dst + i0, 1);
}

void store_row(const sl_tensor& t, int64_t i1, int64_t i2, int64_t i3, const float* src) {
    std::byte* p = row_ptr_mut(t, i1, i2, i3);
    if (dense_rows(t)) {
        quantize_row(dtype_of(t), src, p, t.ne[0]);
        return;
    }
    for (int64_t i0 = 0; i0 < t.ne[0]; ++i0) quantize_row(dtype_of(t), src + i0, p + i0 * t.nb[0], 1);
}

int32_t load_i32(const sl_tensor& t, int64_t i0, int64_t i1, int64_t i2, int64_t i3) {
    int32_t v;
    std::memcpy(&v, row_ptr(t, i1, i2, i3) + i0 * t.nb[0], sizeof v);
    return v;
}

void expect_dtype(const sl_tensor& t, const char* what, std::initializer_list<sl_dtype> allowed) {
    for (sl_dtype d : allowed)
        if (t.dtype == d) return;
    std::string names;
    for (sl_dtype d : allowed) names += cat(names.empty() ? "" : ", ", dtype_name(static_cast<DType>(d)));
    unsupported(what, " has dtype ", dtype_name(dtype_of(t)), "; expected one of ", names);
}

void expect_shape(const sl_tensor& t, const char* what, const int64_t (&ne)[4]) {
    for (int i = 0; i < SL_MAX_DIMS; ++i)
        if (t.ne[i] != ne[i])
            invalid(what, " has shape ", shape_str(t), "; expected [", ne[0], ", ", ne[1], ", ", ne[2], ", ",
                    ne[3], "]");
}

void expect_f32_output(const Node& n, const int64_t (&ne)[4]) {
    if (n.out.dtype != SL_DTYPE_F32)
        unsupported("output has dtype ", dtype_name(dtype_of(n.out)), "; this op writes F32");
    expect_shape(n.out, "output", ne);
    if (!is_contiguous(n.out)) invalid("output strides are not contiguous (non-COPY nodes write a dense tensor)");
}

}  // namespace suanli::reference
