// A graph of standard ops under construction: what a model computes, for a backend to run.
//
// Model code calls the op functions below; each appends a tensor to an array of
// sl_tensor (the C ABI form) and returns its id. Leaves are external tensors
// (weights, KV cache: already placed in a buffer), inputs (placed by the memory
// planner, written by the engine before compute) and views (metadata only).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/dtype.h"
#include "suanli/backend.h"

namespace suanli {

struct TensorId {
    int32_t index = -1;
    explicit operator bool() const { return index >= 0; }
};

// How a tensor gets its address.
enum class Placement : uint8_t {
    External,  // given at creation (weights, KV cache)
    Input,     // planned; the engine writes it before compute
    Node,      // planned; an op writes it
    View,      // base tensor's address plus an offset
    Scratch,   // planned; COPY nodes fill it through views (e.g. to concatenate)
};

struct Shape {
    int64_t ne[4] = {1, 1, 1, 1};
    Shape() = default;
    Shape(std::initializer_list<int64_t> dims);
    int64_t elements() const { return ne[0] * ne[1] * ne[2] * ne[3]; }
};

// A contiguous leaf of `type` and `shape` at `addr`, as the C ABI describes tensors.
sl_tensor contiguous_tensor(DType type, const Shape& shape, uint64_t addr);

class Graph {
public:
    // Leaves.
    TensorId external(DType type, Shape shape, uint64_t addr, std::string_view name);
    TensorId input(DType type, Shape shape, std::string_view name);
    // Contiguous memory no op computes: COPY nodes write every element through
    // views of it before anything reads it. Lives from here to its last reader.
    TensorId scratch(DType type, Shape shape, std::string_view name);
    // A view of `src` with its own shape and byte strides, starting `offset` bytes in.
    TensorId view(TensorId src, Shape shape, std::initializer_list<int64_t> nb, uint64_t offset);
    // Same bytes, new shape; `src` must be contiguous.
    TensorId reshape(TensorId src, Shape shape);

    // The standard ops; see include/suanli/backend.h for their exact semantics.
    TensorId get_rows(TensorId table, TensorId ids);
    TensorId mul_mat(TensorId a, TensorId b);
    TensorId add(TensorId a, TensorId b);
    TensorId mul(TensorId a, TensorId b);
    TensorId scale(TensorId a, float s);
    TensorId rms_norm(TensorId a, float eps);
    TensorId rope(TensorId x, TensorId positions, int32_t n_rot, int32_t mode, float freq_base,
                  float freq_scale);
    TensorId silu(TensorId a);
    TensorId attention(TensorId q, TensorId k, TensorId v, TensorId mask, float scale);
    // Writes `src` into `dst`, a view or external tensor of the same shape.
    TensorId copy(TensorId src, TensorId dst);

    // Keeps a node's memory alive to the end of the graph, to read it back.
    void mark_output(TensorId t);

    // Room for `tensors` tensors and `name_bytes` bytes of names, so that building a graph
    // of about that size allocates once.
    void reserve(size_t tensors, size_t name_bytes);

    const sl_tensor& operator[](TensorId t) const { return tensors_[t.index]; }
    sl_tensor& operator[](TensorId t) { return tensors_[t.index]; }
    std::span<const sl_tensor> tensors() const { return tensors_; }
    Placement placement(int32_t index) const { return meta_[index].placement; }
    // For views: the tensor viewed and the byte offset into it. For COPY nodes: the destination.
    int32_t base(int32_t index) const { return meta_[index].base; }
    uint64_t view_offset(int32_t index) const { return meta_[index].offset; }
    bool is_output(int32_t index) const { return meta_[index].output; }
    std::string_view name(int32_t index) const {
        return std::string_view(names_).substr(meta_[index].name_at, meta_[index].name_size);
    }
    int32_t size() const { return static_cast<int32_t>(tensors_.size()); }

    sl_graph as_c() const { return {tensors_.data(), static_cast<int32_t>(tensors_.size())}; }

private:
    struct Meta {
        Placement placement = Placement::Node;
        int32_t base = -1;
        uint64_t offset = 0;
        bool output = false;
        uint32_t name_at = 0, name_size = 0;  // in names_
    };
    TensorId push(sl_tensor t, Meta meta, std::string_view name = {});
    TensorId node(sl_op op, DType type, Shape shape, std::initializer_list<TensorId> srcs);
    void check(TensorId t) const;

    std::vector<sl_tensor> tensors_;
    std::vector<Meta> meta_;
    // The leaves' names end to end: one allocation now and then instead of one a name (with
    // reserve(), building a decode step's ~1000 tensors took ~30% less time).
    std::string names_;
};

// The op's name in lower case ("mul_mat"), or "unknown" for a value outside sl_op.
std::string_view op_name(int32_t op);

// True if the tensor's bytes are laid out densely in dimension order.
bool is_contiguous(const sl_tensor& t);
// Bytes spanned by a contiguous tensor.
uint64_t tensor_bytes(const sl_tensor& t);

}  // namespace suanli
