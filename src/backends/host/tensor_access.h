// Small helpers for strided tensors (backend-standard.md, section 1): where a
// row starts, how many bytes a tensor spans, whether it is contiguous. Shared
// by the host backends; how a row is turned into floats is each backend's own.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "core/dtype.h"
#include "suanli/backend.h"

namespace suanli::host {

inline DType dtype_of(const sl_tensor& t) { return static_cast<DType>(t.dtype); }
// Q8_0, Q4_0, the K-quants: rows are whole blocks and nb[0] is unused.
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

// Element (i0, i1, i2, i3) of an I32 tensor (ids, positions); memcpy, as strides need not be aligned.
inline int32_t load_i32(const sl_tensor& t, int64_t i0, int64_t i1, int64_t i2, int64_t i3) {
    int32_t v;
    std::memcpy(&v, row_ptr(t, i1, i2, i3) + i0 * t.nb[0], sizeof v);
    return v;
}

// Dense in dimension order (dimensions of size 1 ignored).
bool is_contiguous(const sl_tensor& t);
// Bytes from addr to one past the last byte; throws OpError on overflow.
// Expects a checked layout (ne >= 1, nb >= 0, known dtype).
uint64_t extent_bytes(const sl_tensor& t);
// "[4, 3, 1, 1]"
std::string shape_str(const sl_tensor& t);

}  // namespace suanli::host
