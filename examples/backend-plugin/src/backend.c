/*
 * The example backend's function table: one device (the host), buffers in
 * host memory, and graph_compute (check every node, then run them in order).
 *
 * Handles are pointers to the structs below, kept in lists of live handles so
 * that a stale or foreign handle is an error rather than a crash. Nothing here
 * can throw or longjmp: it is C, and every failure is a status plus a message.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "example.h"

#define EXPORT __attribute__((visibility("default")))

/* ---- errors ---- */

static _Thread_local char t_message[512] = "example: no error";

sl_status fail(sl_status status, const char* fmt, ...) {
    char body[480];
    va_list args;
    va_start(args, fmt);
    vsnprintf(body, sizeof body, fmt, args);
    va_end(args);
    snprintf(t_message, sizeof t_message, "example: %s", body);
    return status;
}

const char* example_last_error(void) { return t_message; }

/* ---- live handles ---- */

typedef struct Device {
    struct Device* next;
} Device;

typedef struct Buffer {
    struct Buffer* next;
    unsigned char* data;
    uint64_t size;
    int owned;     /* allocated here, or wrapped host memory */
    int read_only; /* wrapped host memory: never written */
} Buffer;

static pthread_mutex_t g_mutex = PTHREAD_MUTEX_INITIALIZER;
static Device* g_devices;
static Buffer* g_buffers;

static int device_live(sl_device handle) {
    int found = 0;
    pthread_mutex_lock(&g_mutex);
    for (Device* d = g_devices; d && !found; d = d->next) found = (sl_device)d == handle;
    pthread_mutex_unlock(&g_mutex);
    return found;
}

/* The live buffer behind `handle`, or NULL. Buffers are only freed by buffer_free. */
static Buffer* buffer_live(sl_buffer handle) {
    Buffer* found = NULL;
    pthread_mutex_lock(&g_mutex);
    for (Buffer* b = g_buffers; b && !found; b = b->next)
        if ((sl_buffer)b == handle) found = b;
    pthread_mutex_unlock(&g_mutex);
    return found;
}

static sl_status bad_device(sl_device handle) {
    return device_live(handle) ? SL_OK : fail(SL_ERR_INVALID_ARGUMENT, "not an open device of this backend");
}

static uint64_t host_memory(int available) {
    const long pages = sysconf(available ? _SC_AVPHYS_PAGES : _SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    return pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page : 0;
}

/* ---- devices ---- */

static int32_t ex_device_count(void) { return 1; }

static sl_status ex_device_open(int32_t index, const sl_device_config* config, sl_device* out) {
    if (!out) return fail(SL_ERR_INVALID_ARGUMENT, "device_open: out is NULL");
    *out = NULL;
    if (index != 0) return fail(SL_ERR_INVALID_ARGUMENT, "device_open: index %d is out of range (1 device)", (int)index);
    /* config->n_threads is read only if the caller's struct has it; this backend uses one thread anyway. */
    if (config && config->struct_size >= offsetof(sl_device_config, n_threads) + sizeof(int32_t) &&
        config->n_threads < 0)
        return fail(SL_ERR_INVALID_ARGUMENT, "device_open: n_threads = %d is negative", (int)config->n_threads);
    Device* d = calloc(1, sizeof *d);
    if (!d) return fail(SL_ERR_OUT_OF_MEMORY, "device_open: out of host memory");
    pthread_mutex_lock(&g_mutex);
    d->next = g_devices;
    g_devices = d;
    pthread_mutex_unlock(&g_mutex);
    *out = (sl_device)d;
    return SL_OK;
}

static void ex_device_close(sl_device handle) {
    Device* gone = NULL;
    pthread_mutex_lock(&g_mutex);
    for (Device** p = &g_devices; *p; p = &(*p)->next)
        if ((sl_device)*p == handle) {
            gone = *p;
            *p = gone->next;
            break;
        }
    pthread_mutex_unlock(&g_mutex);
    free(gone);
}

static sl_status ex_device_info(sl_device handle, sl_device_info* out) {
    if (bad_device(handle) != SL_OK) return SL_ERR_INVALID_ARGUMENT;
    if (!out) return fail(SL_ERR_INVALID_ARGUMENT, "device_info: out is NULL");
    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "%s", "example-cpu");
    snprintf(out->description, sizeof out->description, "%s", "scalar C11 loops, one thread (examples/backend-plugin)");
    out->memory_total = host_memory(0);
    out->memory_free = host_memory(1);
    return SL_OK;
}

/* ---- buffers ---- */

static sl_status add_buffer(unsigned char* data, uint64_t size, int owned, sl_buffer* out, uint64_t* base) {
    Buffer* b = calloc(1, sizeof *b);
    if (!b) return fail(SL_ERR_OUT_OF_MEMORY, "out of host memory");
    b->data = data;
    b->size = size;
    b->owned = owned;
    b->read_only = !owned;
    pthread_mutex_lock(&g_mutex);
    b->next = g_buffers;
    g_buffers = b;
    pthread_mutex_unlock(&g_mutex);
    *out = (sl_buffer)b;
    *base = (uint64_t)(uintptr_t)data;
    return SL_OK;
}

static sl_status ex_buffer_alloc(sl_device device, uint64_t size, sl_buffer* out, uint64_t* base) {
    if (bad_device(device) != SL_OK) return SL_ERR_INVALID_ARGUMENT;
    if (!out || !base) return fail(SL_ERR_INVALID_ARGUMENT, "buffer_alloc: out or base is NULL");
    *out = NULL;
    /* At least one block of 64, so every buffer has an address of its own; rounded up for aligned_alloc. */
    if (size > SIZE_MAX - 128) return fail(SL_ERR_OUT_OF_MEMORY, "buffer_alloc: %llu bytes is too much", (unsigned long long)size);
    const size_t bytes = size == 0 ? 64 : (size_t)((size + 63) / 64 * 64);
    unsigned char* data = aligned_alloc(64, bytes);
    if (!data) return fail(SL_ERR_OUT_OF_MEMORY, "buffer_alloc: cannot allocate %llu bytes", (unsigned long long)size);
    const sl_status s = add_buffer(data, size, 1, out, base);
    if (s != SL_OK) free(data);
    return s;
}

static sl_status ex_buffer_from_host(sl_device device, const void* ptr, uint64_t size, sl_buffer* out,
                                     uint64_t* base) {
    if (bad_device(device) != SL_OK) return SL_ERR_INVALID_ARGUMENT;
    if (!out || !base) return fail(SL_ERR_INVALID_ARGUMENT, "buffer_from_host: out or base is NULL");
    *out = NULL;
    if (!ptr) return fail(SL_ERR_INVALID_ARGUMENT, "buffer_from_host: ptr is NULL");
    return add_buffer((unsigned char*)(uintptr_t)ptr, size, 0, out, base);
}

static void ex_buffer_free(sl_buffer handle) {
    Buffer* gone = NULL;
    pthread_mutex_lock(&g_mutex);
    for (Buffer** p = &g_buffers; *p; p = &(*p)->next)
        if ((sl_buffer)*p == handle) {
            gone = *p;
            *p = gone->next;
            break;
        }
    pthread_mutex_unlock(&g_mutex);
    if (gone && gone->owned) free(gone->data);
    free(gone);
}

static sl_status check_range(const Buffer* b, uint64_t offset, uint64_t size, const char* what) {
    if (offset > b->size || size > b->size - offset)
        return fail(SL_ERR_INVALID_ARGUMENT, "%s: bytes [%llu, +%llu) are outside the buffer of %llu bytes", what,
                    (unsigned long long)offset, (unsigned long long)size, (unsigned long long)b->size);
    return SL_OK;
}

static sl_status ex_buffer_write(sl_buffer handle, uint64_t offset, const void* src, uint64_t size) {
    Buffer* b = buffer_live(handle);
    if (!b) return fail(SL_ERR_INVALID_ARGUMENT, "buffer_write: not a live buffer of this backend");
    if (b->read_only) return fail(SL_ERR_INVALID_ARGUMENT, "buffer_write: the buffer wraps read-only host memory");
    if (check_range(b, offset, size, "buffer_write") != SL_OK) return SL_ERR_INVALID_ARGUMENT;
    if (size == 0) return SL_OK;
    if (!src) return fail(SL_ERR_INVALID_ARGUMENT, "buffer_write: src is NULL");
    memcpy(b->data + offset, src, (size_t)size);
    return SL_OK;
}

static sl_status ex_buffer_read(sl_buffer handle, uint64_t offset, void* dst, uint64_t size) {
    Buffer* b = buffer_live(handle);
    if (!b) return fail(SL_ERR_INVALID_ARGUMENT, "buffer_read: not a live buffer of this backend");
    if (check_range(b, offset, size, "buffer_read") != SL_OK) return SL_ERR_INVALID_ARGUMENT;
    if (size == 0) return SL_OK;
    if (!dst) return fail(SL_ERR_INVALID_ARGUMENT, "buffer_read: dst is NULL");
    memcpy(dst, b->data + offset, (size_t)size);
    return SL_OK;
}

/* ---- graphs ---- */

static sl_status check_graph(const sl_graph* graph) {
    if (!graph) return fail(SL_ERR_INVALID_ARGUMENT, "the graph is NULL");
    if (graph->n_tensors < 0) return fail(SL_ERR_INVALID_ARGUMENT, "the graph has n_tensors = %d", (int)graph->n_tensors);
    if (graph->n_tensors > 0 && !graph->tensors) return fail(SL_ERR_INVALID_ARGUMENT, "the graph has no tensor array");
    return SL_OK;
}

/* The bytes of t lie inside one live buffer, a writable one if `written`. */
static sl_status check_memory(const sl_tensor* t, int32_t node, const char* what, int written) {
    const uint64_t extent = tensor_extent(t);
    int found = 0, read_only = 0;
    pthread_mutex_lock(&g_mutex);
    for (const Buffer* b = g_buffers; b && !found; b = b->next) {
        const uint64_t base = (uint64_t)(uintptr_t)b->data;
        if (t->addr < base || t->addr - base > b->size || extent > b->size - (t->addr - base)) continue;
        if (written && b->read_only) read_only = 1;
        else found = 1;
    }
    pthread_mutex_unlock(&g_mutex);
    if (found) return SL_OK;
    if (read_only) return fail(SL_ERR_INVALID_ARGUMENT, "node %d: %s is written but lies in read-only host memory", (int)node, what);
    return fail(SL_ERR_INVALID_ARGUMENT, "node %d: %s bytes [0x%llx, +%llu) lie in no buffer of this backend", (int)node,
                what, (unsigned long long)t->addr, (unsigned long long)extent);
}

static int32_t ex_supports_op(sl_device device, const sl_graph* graph, int32_t node) {
    if (bad_device(device) != SL_OK || check_graph(graph) != SL_OK) return 0;
    if (node < 0 || node >= graph->n_tensors) {
        fail(SL_ERR_INVALID_ARGUMENT, "supports_op: node %d is out of range", (int)node);
        return 0;
    }
    return check_node(graph, node) == SL_OK;
}

static sl_status ex_graph_compute(sl_device device, const sl_graph* graph) {
    sl_status s = bad_device(device);
    if (s == SL_OK) s = check_graph(graph);
    if (s != SL_OK) return s;
    /* Check everything first, so that a bad graph runs no node at all. */
    for (int32_t i = 0; i < graph->n_tensors; ++i) {
        const sl_tensor* t = &graph->tensors[i];
        if (t->op == SL_OP_NONE) continue;
        if ((s = check_node(graph, i)) != SL_OK) return s;
        if ((s = check_memory(t, i, "the output", 1)) != SL_OK) return s;
        for (int k = 0; k < SL_MAX_SRC; ++k)
            if (t->src[k] >= 0 && (s = check_memory(&graph->tensors[t->src[k]], i, "an operand's", 0)) != SL_OK)
                return s;
    }
    for (int32_t i = 0; i < graph->n_tensors; ++i)
        if (graph->tensors[i].op != SL_OP_NONE && (s = run_node(graph, i)) != SL_OK) return s;
    return SL_OK;
}

static const sl_backend kBackend = {
    SL_BACKEND_ABI_VERSION,
    sizeof(sl_backend),
    "example",
    ex_device_count,
    ex_device_open,
    ex_device_close,
    ex_device_info,
    ex_supports_op,
    ex_buffer_alloc,
    ex_buffer_from_host,
    ex_buffer_free,
    ex_buffer_write,
    ex_buffer_read,
    ex_graph_compute,
    example_last_error,
    NULL, /* weight_prepare: optional; this backend multiplies weights as they lie */
};

/* The plugin's one exported symbol. An engine speaking another ABI version
 * gets NULL: this table's layout is version 1's. */
EXPORT const sl_backend* suanli_backend_entry(uint32_t host_abi_version) {
    if (host_abi_version != SL_BACKEND_ABI_VERSION) {
        fail(SL_ERR_UNSUPPORTED, "built for backend ABI version %u, the engine speaks %u", SL_BACKEND_ABI_VERSION,
             (unsigned)host_abi_version);
        return NULL;
    }
    return &kBackend;
}
