#include "core/graph.h"

#include <bit>
#include <cstring>
#include <stdexcept>

#include "core/error.h"

namespace suanli {
namespace {

void set_contiguous_strides(sl_tensor& t) {
    const DTypeTraits& tr = traits(static_cast<DType>(t.dtype));
    t.nb[0] = static_cast<int64_t>(tr.block_bytes) / tr.block_elements;
    t.nb[1] = static_cast<int64_t>(row_bytes(static_cast<DType>(t.dtype), t.ne[0]));
    t.nb[2] = t.nb[1] * t.ne[1];
    t.nb[3] = t.nb[2] * t.ne[2];
}

sl_tensor blank(DType type, const Shape& shape) {
    sl_tensor t{};
    t.dtype = static_cast<int32_t>(type);
    t.op = SL_OP_NONE;
    for (int i = 0; i < 4; ++i) t.ne[i] = shape.ne[i];
    for (int i = 0; i < SL_MAX_SRC; ++i) t.src[i] = -1;
    set_contiguous_strides(t);
    return t;
}

}  // namespace

sl_tensor contiguous_tensor(DType type, const Shape& shape, uint64_t addr) {
    sl_tensor t = blank(type, shape);
    t.addr = addr;
    return t;
}

namespace {

int32_t float_bits(float f) { return std::bit_cast<int32_t>(f); }

bool same_shape(const sl_tensor& a, const sl_tensor& b) {
    for (int i = 0; i < 4; ++i)
        if (a.ne[i] != b.ne[i]) return false;
    return true;
}

}  // namespace

Shape::Shape(std::initializer_list<int64_t> dims) {
    if (dims.size() > 4) throw std::logic_error("Shape: more than 4 dimensions");
    int i = 0;
    for (int64_t d : dims) ne[i++] = d;
}

std::string_view op_name(int32_t op) {
    static constexpr std::string_view kNames[SL_OP_COUNT] = {
        "none", "get_rows", "mul_mat", "add", "mul", "scale", "rms_norm", "rope", "silu", "attention", "copy",
    };
    return op >= 0 && op < SL_OP_COUNT ? kNames[op] : "unknown";
}

bool is_contiguous(const sl_tensor& t) {
    sl_tensor dense = t;
    set_contiguous_strides(dense);
    for (int i = 0; i < 4; ++i)
        if (t.ne[i] > 1 && t.nb[i] != dense.nb[i]) return false;
    return true;
}

uint64_t tensor_bytes(const sl_tensor& t) {
    return row_bytes(static_cast<DType>(t.dtype), t.ne[0]) * static_cast<uint64_t>(t.ne[1] * t.ne[2] * t.ne[3]);
}

void Graph::check(TensorId t) const {
    if (t.index < 0 || t.index >= size()) throw std::logic_error("Graph: tensor id out of range");
}

void Graph::reserve(size_t tensors, size_t name_bytes) {
    tensors_.reserve(tensors);
    meta_.reserve(tensors);
    names_.reserve(name_bytes);
}

TensorId Graph::push(sl_tensor t, Meta meta, std::string_view name) {
    meta.name_at = static_cast<uint32_t>(names_.size());
    meta.name_size = static_cast<uint32_t>(name.size());
    names_ += name;
    tensors_.push_back(t);
    meta_.push_back(meta);
    return TensorId{static_cast<int32_t>(tensors_.size() - 1)};
}

TensorId Graph::external(DType type, Shape shape, uint64_t addr, std::string_view name) {
    sl_tensor t = blank(type, shape);
    t.addr = addr;
    return push(t, {Placement::External, -1, 0, false}, name);
}

TensorId Graph::input(DType type, Shape shape, std::string_view name) {
    return push(blank(type, shape), {Placement::Input, -1, 0, false}, name);
}

TensorId Graph::scratch(DType type, Shape shape, std::string_view name) {
    return push(blank(type, shape), {Placement::Scratch, -1, 0, false}, name);
}

TensorId Graph::view(TensorId src, Shape shape, std::initializer_list<int64_t> nb, uint64_t offset) {
    check(src);
    sl_tensor t = blank(static_cast<DType>(tensors_[src.index].dtype), shape);
    int i = 0;
    for (int64_t s : nb) t.nb[i++] = s;
    // A view of a view points at the underlying tensor directly.
    int32_t base = src.index;
    if (meta_[base].placement == Placement::View) {
        offset += meta_[base].offset;
        base = meta_[base].base;
    }
    if (meta_[base].placement == Placement::External) t.addr = tensors_[base].addr + offset;
    return push(t, {Placement::View, base, offset, false});
}

TensorId Graph::reshape(TensorId src, Shape shape) {
    check(src);
    const sl_tensor& s = tensors_[src.index];
    if (!is_contiguous(s)) throw std::logic_error("Graph::reshape of a non-contiguous tensor");
    if (shape.elements() != s.ne[0] * s.ne[1] * s.ne[2] * s.ne[3])
        throw std::logic_error("Graph::reshape changes the element count");
    sl_tensor dense = blank(static_cast<DType>(s.dtype), shape);
    return view(src, shape, {dense.nb[0], dense.nb[1], dense.nb[2], dense.nb[3]}, 0);
}

TensorId Graph::node(sl_op op, DType type, Shape shape, std::initializer_list<TensorId> srcs) {
    sl_tensor t = blank(type, shape);
    t.op = op;
    int i = 0;
    for (TensorId s : srcs) {
        if (s) check(s);
        t.src[i++] = s.index;
    }
    return push(t, {Placement::Node, -1, 0, false});
}

TensorId Graph::get_rows(TensorId table, TensorId ids) {
    const sl_tensor& tb = tensors_[table.index];
    const sl_tensor& id = tensors_[ids.index];
    return node(SL_OP_GET_ROWS, DType::F32, {tb.ne[0], id.ne[0], id.ne[1], id.ne[2]}, {table, ids});
}

TensorId Graph::mul_mat(TensorId a, TensorId b) {
    const sl_tensor& ta = tensors_[a.index];
    const sl_tensor& tb = tensors_[b.index];
    if (ta.ne[0] != tb.ne[0]) throw std::logic_error("Graph::mul_mat: inner dimensions differ");
    return node(SL_OP_MUL_MAT, DType::F32, {ta.ne[1], tb.ne[1], tb.ne[2], tb.ne[3]}, {a, b});
}

TensorId Graph::add(TensorId a, TensorId b) {
    const sl_tensor& ta = tensors_[a.index];
    return node(SL_OP_ADD, DType::F32, {ta.ne[0], ta.ne[1], ta.ne[2], ta.ne[3]}, {a, b});
}

TensorId Graph::mul(TensorId a, TensorId b) {
    const sl_tensor& ta = tensors_[a.index];
    return node(SL_OP_MUL, DType::F32, {ta.ne[0], ta.ne[1], ta.ne[2], ta.ne[3]}, {a, b});
}

TensorId Graph::scale(TensorId a, float s) {
    const sl_tensor& ta = tensors_[a.index];
    TensorId t = node(SL_OP_SCALE, DType::F32, {ta.ne[0], ta.ne[1], ta.ne[2], ta.ne[3]}, {a});
    tensors_[t.index].params[0] = float_bits(s);
    return t;
}

TensorId Graph::rms_norm(TensorId a, float eps) {
    const sl_tensor& ta = tensors_[a.index];
    TensorId t = node(SL_OP_RMS_NORM, DType::F32, {ta.ne[0], ta.ne[1], ta.ne[2], ta.ne[3]}, {a});
    tensors_[t.index].params[0] = float_bits(eps);
    return t;
}

TensorId Graph::rope(TensorId x, TensorId positions, int32_t n_rot, int32_t mode, float freq_base,
                     float freq_scale) {
    const sl_tensor& tx = tensors_[x.index];
    TensorId t = node(SL_OP_ROPE, DType::F32, {tx.ne[0], tx.ne[1], tx.ne[2], tx.ne[3]}, {x, positions});
    sl_tensor& r = tensors_[t.index];
    r.params[0] = n_rot;
    r.params[1] = mode;
    r.params[2] = float_bits(freq_base);
    r.params[3] = float_bits(freq_scale);
    return t;
}

TensorId Graph::silu(TensorId a) {
    const sl_tensor& ta = tensors_[a.index];
    return node(SL_OP_SILU, DType::F32, {ta.ne[0], ta.ne[1], ta.ne[2], ta.ne[3]}, {a});
}

TensorId Graph::attention(TensorId q, TensorId k, TensorId v, TensorId mask, float scale) {
    const sl_tensor& tq = tensors_[q.index];
    TensorId t = node(SL_OP_ATTENTION, DType::F32, {tq.ne[0], tq.ne[1], tq.ne[2], tq.ne[3]}, {q, k, v, mask});
    tensors_[t.index].params[0] = float_bits(scale);
    return t;
}

TensorId Graph::copy(TensorId src, TensorId dst) {
    check(src);
    check(dst);
    const sl_tensor d = tensors_[dst.index];
    if (!same_shape(tensors_[src.index], d)) throw std::logic_error("Graph::copy: shapes differ");
    const Placement p = meta_[dst.index].placement;
    if (p != Placement::View && p != Placement::External)
        throw std::logic_error("Graph::copy: the destination must be a view or an external tensor");
    TensorId t = node(SL_OP_COPY, static_cast<DType>(d.dtype), {d.ne[0], d.ne[1], d.ne[2], d.ne[3]}, {src});
    sl_tensor& c = tensors_[t.index];
    std::memcpy(c.nb, d.nb, sizeof c.nb);
    c.addr = d.addr;
    meta_[t.index].base = dst.index;  // the planner gives it the destination's address
    return t;
}

void Graph::mark_output(TensorId t) {
    check(t);
    meta_[t.index].output = true;
}

}  // namespace suanli
