#include "broken_backends.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "backends/reference/reference_backend.h"
#include "core/dtype.h"
#include "core/graph.h"
#include "core/quant.h"

namespace suanli::test {
namespace {

const sl_backend& ref() { return reference_backend(); }

float* f32_at(uint64_t addr) { return reinterpret_cast<float*>(addr); }

// Subtracts the k = K-1 term from every output of a MUL_MAT node the reference computed.
void drop_last_k(const sl_graph& g, const sl_tensor& node) {
    const sl_tensor& a = g.tensors[node.src[0]];
    const sl_tensor& b = g.tensors[node.src[1]];
    const int64_t K = a.ne[0], M = a.ne[1], N = b.ne[1], B2 = b.ne[2], B3 = b.ne[3];
    const int64_t r2 = B2 / a.ne[2], r3 = B3 / a.ne[3];
    std::vector<float> row(static_cast<size_t>(K));
    for (int64_t i3 = 0; i3 < B3; ++i3)
        for (int64_t i2 = 0; i2 < B2; ++i2)
            for (int64_t m = 0; m < M; ++m) {
                const uint64_t arow = a.addr + m * a.nb[1] + (i2 / r2) * a.nb[2] + (i3 / r3) * a.nb[3];
                dequantize_row(static_cast<DType>(a.dtype), reinterpret_cast<const void*>(arow), row.data(), K);
                for (int64_t n = 0; n < N; ++n) {
                    const float bv = *f32_at(b.addr + (K - 1) * b.nb[0] + n * b.nb[1] + i2 * b.nb[2] + i3 * b.nb[3]);
                    f32_at(node.addr)[m + M * (n + N * (i2 + B2 * i3))] -= row[K - 1] * bv;
                }
            }
}

template <Breakage B>
sl_status broken_compute(sl_device device, const sl_graph* graph) {
    std::vector<sl_tensor> t(graph->tensors, graph->tensors + graph->n_tensors);
    for (sl_tensor& x : t) {
        if (B == Breakage::RopeSwappedPairing && x.op == SL_OP_ROPE)
            x.params[1] = x.params[1] == SL_ROPE_ADJACENT ? SL_ROPE_HALVES : SL_ROPE_ADJACENT;
        if (B == Breakage::AttentionIgnoresMask && x.op == SL_OP_ATTENTION) x.src[3] = -1;
    }
    const sl_graph changed{t.data(), graph->n_tensors};
    const sl_status s = ref().graph_compute(device, &changed);
    if (s != SL_OK) return s;
    for (const sl_tensor& x : t) {
        if (B == Breakage::MulMatDropsLastK && x.op == SL_OP_MUL_MAT) drop_last_k(changed, x);
        if (B == Breakage::SiluWritesPastEnd && x.op == SL_OP_SILU) {
            const float v = 1.0f;
            std::memcpy(reinterpret_cast<void*>(x.addr + tensor_bytes(x)), &v, sizeof v);
        }
        if (B == Breakage::NanInRmsNorm && x.op == SL_OP_RMS_NORM) *f32_at(x.addr) = std::numeric_limits<float>::quiet_NaN();
    }
    return SL_OK;
}

int32_t no_f16_attention_supports(sl_device device, const sl_graph* graph, int32_t node) {
    const sl_tensor& x = graph->tensors[node];
    if (x.op == SL_OP_ATTENTION && graph->tensors[x.src[1]].dtype == SL_DTYPE_F16) return 0;
    return ref().supports_op(device, graph, node);
}

sl_backend with(const char* name, sl_status (*compute)(sl_device, const sl_graph*)) {
    sl_backend b = ref();
    b.name = name;
    b.graph_compute = compute;
    return b;
}

}  // namespace

const sl_backend& broken_backend(Breakage b) {
    static const sl_backend mul_mat = with("broken-mul-mat", broken_compute<Breakage::MulMatDropsLastK>);
    static const sl_backend rope = with("broken-rope", broken_compute<Breakage::RopeSwappedPairing>);
    static const sl_backend attention = with("broken-attention", broken_compute<Breakage::AttentionIgnoresMask>);
    static const sl_backend silu = with("broken-silu", broken_compute<Breakage::SiluWritesPastEnd>);
    static const sl_backend rms_norm = with("broken-rms-norm", broken_compute<Breakage::NanInRmsNorm>);
    static const sl_backend no_f16 = [] {
        sl_backend x = ref();
        x.name = "no-f16-attention";
        x.supports_op = no_f16_attention_supports;
        return x;
    }();
    switch (b) {
        case Breakage::MulMatDropsLastK: return mul_mat;
        case Breakage::RopeSwappedPairing: return rope;
        case Breakage::AttentionIgnoresMask: return attention;
        case Breakage::SiluWritesPastEnd: return silu;
        case Breakage::NanInRmsNorm: return rms_norm;
        case Breakage::NoF16Attention: return no_f16;
    }
    return ref();
}

}  // namespace suanli::test
