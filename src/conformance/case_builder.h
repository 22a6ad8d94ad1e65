// Building one conformance case: a small graph of standard ops whose every
// tensor lives in its own region of a host image, each region followed by
// guard bytes. The image is device independent; the runner copies it into a
// buffer of each device and adds the buffer's base to every address.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string_view>
#include <vector>

#include "core/graph.h"

namespace suanli::conformance {

// Deterministic pseudo-random numbers (splitmix64): the same seed gives the same
// inputs on every machine and standard library.
class Rng {
public:
    explicit Rng(uint64_t seed) : state_(seed) {}
    uint64_t next();
    float uniform(float lo, float hi);  // in [lo, hi)
    int32_t below(int32_t n);           // in [0, n)
    std::vector<float> uniform(size_t n, float lo, float hi);

private:
    uint64_t state_;
};

// A built case: the graph with addresses relative to the image's start.
struct CaseData {
    struct Region {
        uint64_t offset = 0;  // in the image
        uint64_t bytes = 0;   // the tensor's bytes; kGuardBytes of guard follow
        int32_t tensor = -1;  // the leaf or node it was made for
    };
    Graph graph;
    std::vector<std::byte> image;
    std::vector<Region> regions;
    std::vector<int32_t> outputs;  // nodes whose values are compared
};

class CaseBuilder {
public:
    explicit CaseBuilder(uint64_t seed) : rng_(seed) {}

    Rng& rng() { return rng_; }
    Graph& graph() { return data_.graph; }

    // A leaf holding `values` (dense order, ne[0] fastest) converted to `type`.
    TensorId leaf(DType type, Shape shape, std::span<const float> values);
    // A leaf of uniform random values in [lo, hi).
    TensorId random(DType type, Shape shape, float lo = -1.0f, float hi = 1.0f);
    TensorId leaf_i32(Shape shape, std::span<const int32_t> values);
    // A view of a leaf (or of a view): its own shape and byte strides, `offset` bytes in.
    TensorId view(TensorId base, Shape shape, std::initializer_list<int64_t> nb, uint64_t offset = 0);

    // Gives a node (made with graph()'s op functions) a region of its own, filled
    // with NaN bytes, and marks it as compared. A COPY node keeps its destination.
    TensorId output(TensorId node);

    CaseData finish() { return std::move(data_); }

private:
    uint64_t add_region(uint64_t bytes, int32_t tensor);

    Rng rng_;
    CaseData data_;
};

// Row-major dense values of a tensor read from an image through its ne/nb/dtype.
std::vector<float> read_values(const sl_tensor& t, std::span<const std::byte> image, uint64_t image_base);

// Marks the bytes of `covered` (indexed from image_base) that tensor t's elements occupy.
void mark_footprint(const sl_tensor& t, uint64_t image_base, std::vector<bool>& covered);

}  // namespace suanli::conformance
