#include "backends/op_probe.h"

#include <algorithm>

#include "core/device.h"
#include "core/error.h"

namespace suanli {
namespace {

constexpr sl_dtype kWeightTypes[] = {SL_DTYPE_F32,  SL_DTYPE_F16,  SL_DTYPE_BF16, SL_DTYPE_Q8_0,
                                     SL_DTYPE_Q4_0, SL_DTYPE_Q4_K, SL_DTYPE_Q5_K, SL_DTYPE_Q6_K};
constexpr sl_dtype kFloatTypes[] = {SL_DTYPE_F32, SL_DTYPE_F16, SL_DTYPE_BF16};
constexpr sl_dtype kKvTypes[] = {SL_DTYPE_F32, SL_DTYPE_F16};

std::string type_label(sl_dtype t) { return std::string(dtype_name(static_cast<DType>(t))); }

// Hands out 64-byte-aligned slices of the probe's buffer to its tensors.
class Placer {
public:
    explicit Placer(uint64_t base) : base_(base) {}
    TensorId leaf(Graph& g, sl_dtype type, Shape shape) {
        const auto dtype = static_cast<DType>(type);
        const uint64_t size = row_bytes(dtype, shape.ne[0]) * static_cast<uint64_t>(shape.ne[1] * shape.ne[2] * shape.ne[3]);
        return g.external(dtype, shape, take(size), "probe");
    }
    // Gives a node its own output slice.
    void place_node(Graph& g, TensorId node) { g[node].addr = take(tensor_bytes(g[node])); }
    uint64_t used() const { return next_; }

private:
    uint64_t take(uint64_t size) {
        const uint64_t at = next_;
        next_ = (next_ + std::max<uint64_t>(size, 1) + 63) / 64 * 64;
        return base_ + at;
    }
    uint64_t base_;
    uint64_t next_ = 0;
};

}  // namespace

std::string_view op_probe_name(sl_op op) {
    switch (op) {
        case SL_OP_GET_ROWS: return "get_rows";
        case SL_OP_MUL_MAT: return "mul_mat";
        case SL_OP_ADD: return "add";
        case SL_OP_MUL: return "mul";
        case SL_OP_SCALE: return "scale";
        case SL_OP_RMS_NORM: return "rms_norm";
        case SL_OP_ROPE: return "rope";
        case SL_OP_SILU: return "silu";
        case SL_OP_ATTENTION: return "attention";
        case SL_OP_COPY: return "copy";
        default: return "none";
    }
}

std::vector<OpProbeVariant> op_probe_variants(sl_op op) {
    std::vector<OpProbeVariant> out;
    auto add = [&](sl_dtype type, sl_dtype out_type, int32_t mode, std::string label) {
        out.push_back({op, type, out_type, mode, std::move(label)});
    };
    switch (op) {
        case SL_OP_GET_ROWS:
        case SL_OP_MUL_MAT:
            for (sl_dtype t : kWeightTypes) add(t, SL_DTYPE_F32, 0, type_label(t));
            break;
        case SL_OP_ATTENTION:
            for (sl_dtype t : kKvTypes) add(t, SL_DTYPE_F32, 0, type_label(t));
            break;
        case SL_OP_COPY:
            for (sl_dtype from : kFloatTypes)
                for (sl_dtype to : kFloatTypes) add(from, to, 0, cat(type_label(from), ">", type_label(to)));
            break;
        case SL_OP_ROPE:
            add(SL_DTYPE_F32, SL_DTYPE_F32, SL_ROPE_ADJACENT, "adjacent");
            add(SL_DTYPE_F32, SL_DTYPE_F32, SL_ROPE_HALVES, "halves");
            break;
        case SL_OP_ADD:
        case SL_OP_MUL:
        case SL_OP_SCALE:
        case SL_OP_RMS_NORM:
        case SL_OP_SILU: add(SL_DTYPE_F32, SL_DTYPE_F32, 0, "F32"); break;
        default: break;
    }
    return out;
}

OpProbe build_op_probe(const OpProbeVariant& v, uint64_t base) {
    OpProbe p;
    Graph& g = p.graph;
    Placer at(base);
    // 256: a whole super-block, so that every weight type has valid rows.
    constexpr int64_t K = 256;
    switch (v.op) {
        case SL_OP_GET_ROWS: {
            const TensorId table = at.leaf(g, v.dtype, {K, 4});
            const TensorId ids = at.leaf(g, SL_DTYPE_I32, {2});
            p.node = g.get_rows(table, ids);
            break;
        }
        case SL_OP_MUL_MAT: {
            const TensorId a = at.leaf(g, v.dtype, {K, 2});
            const TensorId b = at.leaf(g, SL_DTYPE_F32, {K, 3});
            p.node = g.mul_mat(a, b);
            break;
        }
        case SL_OP_ADD:
        case SL_OP_MUL: {
            const TensorId a = at.leaf(g, SL_DTYPE_F32, {8, 4});
            const TensorId b = at.leaf(g, SL_DTYPE_F32, {8, 1});
            p.node = v.op == SL_OP_ADD ? g.add(a, b) : g.mul(a, b);
            break;
        }
        case SL_OP_SCALE: p.node = g.scale(at.leaf(g, SL_DTYPE_F32, {8, 4}), 0.5f); break;
        case SL_OP_RMS_NORM: p.node = g.rms_norm(at.leaf(g, SL_DTYPE_F32, {8, 4}), 1e-5f); break;
        case SL_OP_SILU: p.node = g.silu(at.leaf(g, SL_DTYPE_F32, {8, 4})); break;
        case SL_OP_ROPE: {
            const TensorId x = at.leaf(g, SL_DTYPE_F32, {8, 2, 3});
            const TensorId pos = at.leaf(g, SL_DTYPE_I32, {3});
            p.node = g.rope(x, pos, 8, v.rope_mode, 10000.0f, 1.0f);
            break;
        }
        case SL_OP_ATTENTION: {
            const TensorId q = at.leaf(g, SL_DTYPE_F32, {8, 4, 2});
            const TensorId k = at.leaf(g, v.dtype, {8, 2, 5});
            const TensorId val = at.leaf(g, v.dtype, {8, 2, 5});
            const TensorId mask = at.leaf(g, SL_DTYPE_F32, {5, 2});
            p.node = g.attention(q, k, val, mask, 0.35f);
            break;
        }
        case SL_OP_COPY: {
            const TensorId src = at.leaf(g, v.dtype, {8, 4});
            const TensorId dst = at.leaf(g, v.out_dtype, {8, 4});
            p.node = g.copy(src, dst);  // writes into dst's slice
            p.bytes = at.used();
            return p;
        }
        default: fail("no probe for op code ", static_cast<int>(v.op));
    }
    at.place_node(g, p.node);
    p.bytes = at.used();
    return p;
}

std::vector<OpCoverage> probe_op_coverage(Device& device) {
    std::vector<OpCoverage> out;
    uint64_t bytes = 0;
    for (int op = SL_OP_NONE + 1; op < SL_OP_COUNT; ++op)
        for (const OpProbeVariant& v : op_probe_variants(static_cast<sl_op>(op)))
            bytes = std::max(bytes, build_op_probe(v).bytes);
    const Buffer buffer = device.allocate(bytes);
    for (int op = SL_OP_NONE + 1; op < SL_OP_COUNT; ++op) {
        OpCoverage c;
        c.op = static_cast<sl_op>(op);
        for (const OpProbeVariant& v : op_probe_variants(c.op)) {
            const OpProbe p = build_op_probe(v, buffer.base());
            (device.supports(p.graph, p.node.index) ? c.supported : c.unsupported).push_back(v.label);
        }
        out.push_back(std::move(c));
    }
    return out;
}

}  // namespace suanli
