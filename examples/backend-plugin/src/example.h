/*
 * Internals of the example backend: error reporting, number formats, tensor
 * access, and the checks and kernels of each op. Nothing here is exported;
 * the only public symbol of the plugin is suanli_backend_entry (backend.c).
 */
#ifndef EXAMPLE_BACKEND_H
#define EXAMPLE_BACKEND_H

#include <stdint.h>

#include "suanli/backend.h"

/* ---- errors (backend.c) ---- */

/* Formats the thread's last-error message ("example: ..."); returns `status`
 * so that a check can `return fail(SL_ERR_..., "...")`. */
sl_status fail(sl_status status, const char* fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* The thread's last-error message: the table's last_error. */
const char* example_last_error(void);

/* ---- number formats (numbers.c) ---- */

float f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f); /* round to nearest even */
float bf16_to_f32(uint16_t h);
uint16_t f32_to_bf16(float f); /* round to nearest even */

/* Elements per block and bytes per block of a dtype this backend knows
 * (1 and the element size for plain types); 0 for anything else. */
int64_t block_elements(int32_t dtype);
int64_t block_bytes(int32_t dtype);
const char* dtype_name(int32_t dtype);
/* A weight type whose rows this backend can read: F32, F16, BF16, Q8_0, Q4_0. */
int is_readable_weight(int32_t dtype);
/* One of the weight types the standard lists (including the K-quants this backend lacks). */
int is_standard_weight(int32_t dtype);

/* Row (i1, i2, i3) of t as ne[0] floats. Plain types follow nb[0]; block types
 * are whole contiguous blocks. t's dtype must be readable (F32, F16, BF16, Q8_0, Q4_0). */
void load_row(const sl_tensor* t, int64_t i1, int64_t i2, int64_t i3, float* dst);
/* Writes ne[0] floats into row (i1, i2, i3) of t (F32, F16 or BF16), following nb[0]. */
void store_row(const sl_tensor* t, int64_t i1, int64_t i2, int64_t i3, const float* src);
/* Element of a plain-typed tensor (F32, F16, BF16) as a float, and of an I32 tensor. */
float load_f(const sl_tensor* t, int64_t i0, int64_t i1, int64_t i2, int64_t i3);
int32_t load_i32(const sl_tensor* t, int64_t i0, int64_t i1, int64_t i2, int64_t i3);

/* ---- graph checks (checks.c) ---- */

/* Node `index` obeys backend.h and this backend implements it; a leaf passes.
 * Sets the error message on failure. Reads no tensor data. */
sl_status check_node(const sl_graph* graph, int32_t index);
/* Bytes from t->addr to one past its last byte; 0 on overflow. */
uint64_t tensor_extent(const sl_tensor* t);
float param_f32(const sl_tensor* t, int i);

/* ---- kernels (ops.c): run a checked node; only GET_ROWS can fail (an id out of range). ---- */

sl_status run_node(const sl_graph* graph, int32_t index);

#endif
