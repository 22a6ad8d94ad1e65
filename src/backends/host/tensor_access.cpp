#include "backends/host/tensor_access.h"

#include "backends/host/abi_errors.h"

namespace suanli::host {

bool is_contiguous(const sl_tensor& t) {
    int64_t expect = static_cast<int64_t>(traits(dtype_of(t)).block_bytes);
    if (!is_block_type(t) && t.ne[0] > 1 && t.nb[0] != expect) return false;
    expect = static_cast<int64_t>(row_bytes(dtype_of(t), t.ne[0]));
    for (int i = 1; i < SL_MAX_DIMS; ++i) {
        if (t.ne[i] > 1 && t.nb[i] != expect) return false;
        expect *= t.ne[i];
    }
    return true;
}

uint64_t extent_bytes(const sl_tensor& t) {
    // The numbers come from outside, so the arithmetic is overflow-checked.
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
    for (int i = 1; i < SL_MAX_DIMS; ++i) add(mul(static_cast<uint64_t>(t.ne[i] - 1), static_cast<uint64_t>(t.nb[i])));
    return total;
}

std::string shape_str(const sl_tensor& t) {
    return cat("[", t.ne[0], ", ", t.ne[1], ", ", t.ne[2], ", ", t.ne[3], "]");
}

}  // namespace suanli::host
