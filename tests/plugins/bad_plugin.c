/*
 * Deliberately broken backend plugins, one per BAD_PLUGIN_<kind> definition,
 * to check that the loader refuses each with a clear message. Nothing here is
 * ever called except the entry point.
 */
#include <stddef.h>

#include "suanli/backend.h"

#define EXPORT __attribute__((visibility("default")))
/* Some kinds leave parts of the table out, and one has no entry point using it. */
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-const-variable"

static int32_t count(void) { return 1; }
static sl_status open_device(int32_t index, const sl_device_config* config, sl_device* out) { return SL_ERR_DEVICE; }
static void close_device(sl_device device) {}
static sl_status info(sl_device device, sl_device_info* out) { return SL_ERR_DEVICE; }
static int32_t supports(sl_device device, const sl_graph* graph, int32_t node) { return 0; }
static sl_status alloc(sl_device device, uint64_t size, sl_buffer* out, uint64_t* base) { return SL_ERR_DEVICE; }
static void free_buffer(sl_buffer buffer) {}
static sl_status buf_write(sl_buffer buffer, uint64_t offset, const void* src, uint64_t size) { return SL_ERR_DEVICE; }
static sl_status buf_read(sl_buffer buffer, uint64_t offset, void* dst, uint64_t size) { return SL_ERR_DEVICE; }
static sl_status compute(sl_device device, const sl_graph* graph) { return SL_ERR_DEVICE; }
static const char* last_error(void) { return "broken test plugin"; }

#if defined(BAD_PLUGIN_wrong_abi)
#define ABI (SL_BACKEND_ABI_VERSION + 1u)
#else
#define ABI SL_BACKEND_ABI_VERSION
#endif

#if defined(BAD_PLUGIN_small_table)
#define SIZE 16u
#else
#define SIZE ((uint32_t)sizeof(sl_backend))
#endif

#if defined(BAD_PLUGIN_no_name)
#define NAME ""
#else
#define NAME "broken"
#endif

static const sl_backend table = {
    ABI, SIZE, NAME, count, open_device, close_device, info, supports, alloc, NULL, free_buffer, buf_write, buf_read,
#if defined(BAD_PLUGIN_missing_functions)
    NULL, NULL,
#else
    compute, last_error,
#endif
    NULL, /* weight_prepare: optional */
};

#if defined(BAD_PLUGIN_no_entry)
EXPORT const sl_backend* not_the_entry_point(uint32_t host_abi_version) { return &table; }
#else
EXPORT const sl_backend* suanli_backend_entry(uint32_t host_abi_version) {
#if defined(BAD_PLUGIN_null_table)
    return NULL;
#else
    return &table;
#endif
}
#endif
