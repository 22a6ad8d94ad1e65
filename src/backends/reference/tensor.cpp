// Reading and writing strided tensors row by row, in any dtype the row
// converters know: the one way the reference's ops touch tensor data.
#include "backends/reference/ops.h"
#include "core/quant.h"

namespace suanli::reference {

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

}  // namespace suanli::reference
