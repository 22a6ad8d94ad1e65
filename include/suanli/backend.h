/*
 * suanli backend interface: the plain C boundary between the engine and a backend.
 *
 * The engine builds a graph of standard ops (below) and hands it to a backend;
 * the backend owns its devices and buffers and executes the graph. Every
 * backend, built in or loaded as a plugin, is reached only through this table.
 *
 * Conventions
 * - Tensors have up to 4 dimensions. ne[0] is the innermost one; nb[i] is the
 *   stride of dimension i in bytes. Every ne[i] >= 1 (unused ones are 1) and
 *   every nb[i] >= 0. A tensor of a block-quantized type has ne[0] a multiple
 *   of the block size and rows of whole, contiguous blocks; its nb[0] is unused.
 * - A tensor's bytes live at `addr`: the base address a backend gave for one of
 *   its buffers plus an offset. Addresses are opaque numbers to the engine;
 *   it only adds offsets to them. Views are tensors whose addr points inside
 *   another tensor's bytes; they cost nothing.
 * - Nodes (op != SL_OP_NONE) run in array order, each completing, as far as
 *   any later node can observe, before the next starts. Non-COPY nodes write
 *   a contiguous F32 output at their own addr: the node's ne is the output
 *   shape and its nb must be the contiguous strides.
 * - A node's output never overlaps the bytes of its operands (the engine's
 *   memory planner guarantees it), so no op needs to handle aliasing.
 * - Floats in params are stored by their bit pattern (memcpy into int32_t).
 * - Status codes: SL_ERR_UNSUPPORTED for what the standard allows but this
 *   backend does not implement (an op, dtype, mode); SL_ERR_INVALID_ARGUMENT
 *   for what breaks the rules below (shapes, indices, handles, addresses).
 * - No function may throw or longjmp across this boundary. Failures return a
 *   status; last_error() then gives a message, valid until the next call on
 *   the same thread.
 */
#ifndef SUANLI_BACKEND_H
#define SUANLI_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SL_BACKEND_ABI_VERSION 1u
#define SL_MAX_DIMS 4
#define SL_MAX_SRC 4
#define SL_MAX_PARAMS 8

typedef enum sl_status {
    SL_OK = 0,
    SL_ERR_UNSUPPORTED = 1,      /* op, dtype or shape the backend does not implement */
    SL_ERR_OUT_OF_MEMORY = 2,
    SL_ERR_INVALID_ARGUMENT = 3, /* malformed graph, index out of range, bad handle */
    SL_ERR_DEVICE = 4            /* the device failed */
} sl_status;

/* Element types. The values are GGUF's type ids. */
typedef enum sl_dtype {
    SL_DTYPE_F32 = 0,
    SL_DTYPE_F16 = 1,
    SL_DTYPE_Q4_0 = 2,  /* blocks of 32: f16 scale d, 16 bytes of 4-bit q; x = d * (q - 8) */
    SL_DTYPE_Q8_0 = 8,  /* blocks of 32: f16 scale d, 32 int8 q; x = d * q */
    SL_DTYPE_Q4_K = 12, /* super-blocks of 256; layouts as in the GGUF specification */
    SL_DTYPE_Q5_K = 13,
    SL_DTYPE_Q6_K = 14,
    SL_DTYPE_I32 = 26,
    SL_DTYPE_BF16 = 30
} sl_dtype;

/*
 * The standard ops. F32 is the activation type: every op's output is F32
 * unless stated. "Weight types" are F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K and
 * Q6_K; a backend says through supports_op which of them it implements.
 * ROPE's x and ATTENTION's tensors have ne[3] = 1.
 */
typedef enum sl_op {
    /* A leaf: a weight, an input or a view. Not computed. */
    SL_OP_NONE = 0,
    /* src0: table [E, R] of a weight type; src1: I32 ids [N, B2, B3].
     * out [E, N, B2, B3]: out[:, n, b2, b3] = table[:, ids[n, b2, b3]], as F32.
     * An id outside [0, R) is SL_ERR_INVALID_ARGUMENT. */
    SL_OP_GET_ROWS = 1,
    /* src0: A [K, M, A2, A3] of a weight type, rows contiguous;
     * src1: B [K, N, B2, B3] F32, any strides; Bi must be a multiple of Ai.
     * out [M, N, B2, B3]: out[m,n,i,j] = sum_k A[k, m, i/(B2/A2), j/(B3/A3)] * B[k,n,i,j].
     * Accumulation at least in F32; quantized A may be multiplied in any way
     * whose result stays within the mul_mat tolerance. */
    SL_OP_MUL_MAT = 2,
    /* src0: a F32; src1: b F32 with b.ne[i] dividing a.ne[i] (broadcast by
     * repetition). out, shaped like a: a + b, a * b. */
    SL_OP_ADD = 3,
    SL_OP_MUL = 4,
    /* out = src0 * params[0] (float). */
    SL_OP_SCALE = 5,
    /* Each row (over ne[0]) of src0: x / sqrt(mean(x^2) + eps), eps = params[0] (float). */
    SL_OP_RMS_NORM = 6,
    /* Rotary position embedding.
     * src0: x F32 [D, H, T]; src1: positions I32 [T].
     * params: [0] n_rot (even, <= D), [1] mode, [2] freq_base (float), [3] freq_scale (float).
     * For pair i in [0, n_rot/2): theta = pos[t] * freq_scale * freq_base^(-2i/n_rot);
     * (a, b) -> (a cos theta - b sin theta, a sin theta + b cos theta), where the pair
     * (a, b) is (x[2i], x[2i+1]) for mode SL_ROPE_ADJACENT and
     * (x[i], x[i + n_rot/2]) for mode SL_ROPE_HALVES. Elements past n_rot are copied.
     * freq_base^(-2i/n_rot) may be computed as a running product (as ggml does);
     * the difference is within the rope tolerance. */
    SL_OP_ROPE = 7,
    /* out = x / (1 + exp(-x)) */
    SL_OP_SILU = 8,
    /* Scaled dot-product attention with grouped KV heads.
     * src0: q F32 [D, Hq, T]; src1: k [D, Hkv, S]; src2: v [D, Hkv, S]
     * (k and v F32 or F16, any strides); src3: mask F32 [S, T] added to the
     * scores, or -1 for none. Hq must be a multiple of Hkv. params[0]: scale (float).
     * For query t, head h, g = h / (Hq / Hkv):
     *   s[j] = scale * dot(q[:, h, t], k[:, g, j]) + mask[j, t]
     *   out[:, h, t] = sum_j softmax(s)[j] * v[:, g, j]
     * A key j with mask[j, t] = -inf is skipped for query t: its k and v are
     * not read, so they may hold anything (e.g. NaN in unwritten KV cache slots).
     * A row whose scores are all -inf gives zeros. out [D, Hq, T]. */
    SL_OP_ATTENTION = 9,
    /* Writes src0 (F32, F16 or BF16) into the node's own tensor, converting to its dtype
     * (F32, F16 or BF16; rounding to nearest even). The node has src0's shape
     * and may have any strides: it is how the engine writes into a view such
     * as a KV cache slot, or makes a strided tensor contiguous. */
    SL_OP_COPY = 10,
    SL_OP_COUNT = 11
} sl_op;

enum { SL_ROPE_ADJACENT = 0, SL_ROPE_HALVES = 2 };

typedef struct sl_tensor {
    int32_t dtype;                /* sl_dtype */
    int32_t op;                   /* sl_op */
    int64_t ne[SL_MAX_DIMS];      /* elements per dimension; unused ones are 1 */
    int64_t nb[SL_MAX_DIMS];      /* stride per dimension in bytes */
    int32_t src[SL_MAX_SRC];      /* operand indices into the graph's tensors; -1 for none */
    int32_t params[SL_MAX_PARAMS];
    uint64_t addr;                /* where the bytes are: buffer base + offset */
} sl_tensor;

/* Operands always come before the nodes that use them. */
typedef struct sl_graph {
    const sl_tensor* tensors;
    int32_t n_tensors;
} sl_graph;

typedef struct sl_device_s* sl_device; /* opaque */
typedef struct sl_buffer_s* sl_buffer; /* opaque */

typedef struct sl_device_info {
    char name[64];
    char description[128];
    uint64_t memory_total;  /* bytes; 0 if unknown */
    uint64_t memory_free;   /* bytes; 0 if unknown */
} sl_device_info;

typedef struct sl_device_config {
    uint32_t struct_size;   /* sizeof(sl_device_config) of the caller */
    int32_t n_threads;      /* host threads the backend may use; 0 = its choice */
} sl_device_config;

typedef struct sl_backend {
    uint32_t abi_version;   /* SL_BACKEND_ABI_VERSION the backend was built with */
    uint32_t struct_size;   /* sizeof(sl_backend) the backend was built with */
    const char* name;       /* short lowercase name, e.g. "reference" */

    int32_t (*device_count)(void);
    sl_status (*device_open)(int32_t index, const sl_device_config* config, sl_device* out);
    void (*device_close)(sl_device device);
    sl_status (*device_info)(sl_device device, sl_device_info* out);

    /* Nonzero if the backend can run node `node` of `graph` as given. */
    int32_t (*supports_op)(sl_device device, const sl_graph* graph, int32_t node);

    /* A buffer of `size` bytes, contents unspecified; *base is the address of its first byte. */
    sl_status (*buffer_alloc)(sl_device device, uint64_t size, sl_buffer* out, uint64_t* base);
    /* Wraps caller-owned host memory that outlives the buffer, e.g. mmapped
     * weights. The buffer is read-only: no write or node output may land in it.
     * May be NULL when the device cannot read host memory. */
    sl_status (*buffer_from_host)(sl_device device, const void* ptr, uint64_t size,
                                  sl_buffer* out, uint64_t* base);
    void (*buffer_free)(sl_buffer buffer);
    sl_status (*buffer_write)(sl_buffer buffer, uint64_t offset, const void* src, uint64_t size);
    sl_status (*buffer_read)(sl_buffer buffer, uint64_t offset, void* dst, uint64_t size);

    sl_status (*graph_compute)(sl_device device, const sl_graph* graph);

    /* The message of the last failure on this thread; never NULL. */
    const char* (*last_error)(void);

    /* Optional (NULL, or past the end of an older backend's struct_size: not
     * offered). A hint that `tensor`, a 2-D tensor in a read-only buffer from
     * buffer_from_host, holds constant weights that later graphs use as
     * MUL_MAT's first operand. The backend may keep a private copy in a layout
     * that is faster to multiply, dropped when the buffer is freed; every
     * graph's results stay what they would be without the hint. SL_OK also
     * when the backend chose to do nothing; SL_ERR_UNSUPPORTED is never fatal. */
    sl_status (*weight_prepare)(sl_device device, const sl_tensor* tensor);
} sl_backend;

/* A plugin exports this symbol; the engine calls it with its own ABI version. */
typedef const sl_backend* (*sl_backend_entry_fn)(uint32_t host_abi_version);
#define SL_BACKEND_ENTRY_SYMBOL "suanli_backend_entry"

#ifdef __cplusplus
}
#endif

#endif /* SUANLI_BACKEND_H */
