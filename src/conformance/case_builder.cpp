#include "conformance/case_builder.h"

#include <cstring>
#include <stdexcept>

#include "conformance/tolerances.h"
#include "core/quant.h"

namespace suanli::conformance {
namespace {

constexpr uint64_t kAlign = 64;

bool is_block_type(DType type) { return traits(type).block_elements > 1; }

}  // namespace

uint64_t Rng::next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

float Rng::uniform(float lo, float hi) {
    const float u = static_cast<float>(next() >> 40) * 0x1p-24f;  // [0, 1)
    return lo + (hi - lo) * u;
}

int32_t Rng::below(int32_t n) { return static_cast<int32_t>(next() % static_cast<uint64_t>(n)); }

std::vector<float> Rng::uniform(size_t n, float lo, float hi) {
    std::vector<float> v(n);
    for (float& x : v) x = uniform(lo, hi);
    return v;
}

uint64_t CaseBuilder::add_region(uint64_t bytes, int32_t tensor) {
    const uint64_t at = (data_.image.size() + kAlign - 1) / kAlign * kAlign;
    data_.image.resize(at + bytes + kGuardBytes, std::byte{kGuardByte});
    data_.regions.push_back({at, bytes, tensor});
    return at;
}

TensorId CaseBuilder::leaf(DType type, Shape shape, std::span<const float> values) {
    if (values.size() != static_cast<size_t>(shape.elements()))
        throw std::logic_error("CaseBuilder::leaf: value count differs from the shape");
    const uint64_t rb = row_bytes(type, shape.ne[0]);
    const int64_t rows = shape.ne[1] * shape.ne[2] * shape.ne[3];
    const uint64_t at = add_region(rb * static_cast<uint64_t>(rows), data_.graph.size());
    for (int64_t r = 0; r < rows; ++r)
        quantize_row(type, values.data() + r * shape.ne[0], &data_.image[at + r * rb], shape.ne[0]);
    return data_.graph.external(type, shape, at, "leaf");
}

TensorId CaseBuilder::random(DType type, Shape shape, float lo, float hi) {
    const std::vector<float> v = rng_.uniform(static_cast<size_t>(shape.elements()), lo, hi);
    return leaf(type, shape, v);
}

TensorId CaseBuilder::leaf_i32(Shape shape, std::span<const int32_t> values) {
    if (values.size() != static_cast<size_t>(shape.elements()))
        throw std::logic_error("CaseBuilder::leaf_i32: value count differs from the shape");
    const uint64_t at = add_region(values.size_bytes(), data_.graph.size());
    std::memcpy(&data_.image[at], values.data(), values.size_bytes());
    return data_.graph.external(DType::I32, shape, at, "ids");
}

TensorId CaseBuilder::view(TensorId base, Shape shape, std::initializer_list<int64_t> nb, uint64_t offset) {
    return data_.graph.view(base, shape, nb, offset);
}

TensorId CaseBuilder::output(TensorId node) {
    sl_tensor& t = data_.graph[node];
    if (t.op == SL_OP_NONE) throw std::logic_error("CaseBuilder::output: not a node");
    if (t.op != SL_OP_COPY) {
        const uint64_t bytes = tensor_bytes(t);
        const uint64_t at = add_region(bytes, node.index);
        std::memset(&data_.image[at], 0xff, bytes);  // NaN in F32/F16/BF16 until written
        t.addr = at;
    }
    data_.outputs.push_back(node.index);
    return node;
}

std::vector<float> read_values(const sl_tensor& t, std::span<const std::byte> image, uint64_t image_base) {
    const auto type = static_cast<DType>(t.dtype);
    std::vector<float> out(static_cast<size_t>(t.ne[0] * t.ne[1] * t.ne[2] * t.ne[3]));
    const uint64_t start = t.addr - image_base;
    size_t at = 0;
    for (int64_t i3 = 0; i3 < t.ne[3]; ++i3)
        for (int64_t i2 = 0; i2 < t.ne[2]; ++i2)
            for (int64_t i1 = 0; i1 < t.ne[1]; ++i1, at += static_cast<size_t>(t.ne[0])) {
                const uint64_t row = start + i1 * t.nb[1] + i2 * t.nb[2] + i3 * t.nb[3];
                if (is_block_type(type)) {
                    dequantize_row(type, &image[row], &out[at], t.ne[0]);
                } else {
                    for (int64_t i0 = 0; i0 < t.ne[0]; ++i0)
                        dequantize_row(type, &image[row + i0 * t.nb[0]], &out[at + i0], 1);
                }
            }
    return out;
}

void mark_footprint(const sl_tensor& t, uint64_t image_base, std::vector<bool>& covered) {
    const auto type = static_cast<DType>(t.dtype);
    const uint64_t start = t.addr - image_base;
    const uint64_t elem = static_cast<uint64_t>(traits(type).block_bytes);
    auto mark = [&](uint64_t from, uint64_t n) {
        for (uint64_t b = from; b < from + n && b < covered.size(); ++b) covered[b] = true;
    };
    for (int64_t i3 = 0; i3 < t.ne[3]; ++i3)
        for (int64_t i2 = 0; i2 < t.ne[2]; ++i2)
            for (int64_t i1 = 0; i1 < t.ne[1]; ++i1) {
                const uint64_t row = start + i1 * t.nb[1] + i2 * t.nb[2] + i3 * t.nb[3];
                if (is_block_type(type)) {
                    mark(row, row_bytes(type, t.ne[0]));
                } else {
                    for (int64_t i0 = 0; i0 < t.ne[0]; ++i0) mark(row + i0 * t.nb[0], elem);
                }
            }
}

}  // namespace suanli::conformance
