// A tiny graph builder for backend tests: every tensor gets its own region of
// one host image (followed by sentinel bytes), the image travels to a backend
// buffer through the ABI, the graph runs, and the image comes back so the test
// can read any tensor and check that no sentinel was overwritten.
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/quant.h"
#include "suanli/backend.h"

namespace suanli::testing {

using Ne = std::array<int64_t, 4>;

inline int32_t fbits(float f) { return std::bit_cast<int32_t>(f); }

// Logical index of element (i0, i1, i2, i3) in a dense [ne] array.
inline int64_t flat(const Ne& ne, int64_t i0, int64_t i1 = 0, int64_t i2 = 0, int64_t i3 = 0) {
    return i0 + ne[0] * (i1 + ne[1] * (i2 + ne[2] * i3));
}

// Deterministic pseudo-random floats in [-1, 1).
inline std::vector<float> random_floats(size_t n, uint32_t seed) {
    std::vector<float> v(n);
    uint32_t s = seed * 2654435761u + 12345u;
    for (float& x : v) {
        s = s * 1664525u + 1013904223u;
        x = static_cast<float>(s >> 8) / static_cast<float>(1u << 23) - 1.0f;
    }
    return v;
}

class GraphHarness {
public:
    static constexpr size_t kGuard = 64;
    static constexpr std::byte kSentinel{0xA5};

    explicit GraphHarness(const sl_backend& backend, int32_t n_threads = 1) : be_(backend) {
        sl_device_config config{sizeof(sl_device_config), n_threads};
        EXPECT_EQ(be_.device_open(0, &config, &device_), SL_OK) << be_.last_error();
    }
    ~GraphHarness() {
        if (buffer_) be_.buffer_free(buffer_);
        if (device_) be_.device_close(device_);
    }
    GraphHarness(const GraphHarness&) = delete;
    GraphHarness& operator=(const GraphHarness&) = delete;

    sl_device device() const { return device_; }
    const sl_backend& backend() const { return be_; }
    std::vector<sl_tensor>& tensors() { return tensors_; }
    sl_tensor& operator[](int i) { return tensors_[static_cast<size_t>(i)]; }

    // A contiguous leaf holding `values` (dense order, ne[0] fastest) converted to `dtype`.
    int leaf(sl_dtype dtype, Ne ne, const std::vector<float>& values) {
        const int i = push(blank(dtype, ne), bytes_of(dtype, ne));
        EXPECT_EQ(values.size(), static_cast<size_t>(ne[0] * ne[1] * ne[2] * ne[3]));
        const size_t rb = row_bytes(static_cast<DType>(dtype), ne[0]);
        for (int64_t r = 0; r < ne[1] * ne[2] * ne[3]; ++r)
            quantize_row(static_cast<DType>(dtype), values.data() + r * ne[0], &image_[offset_[i] + r * rb], ne[0]);
        return i;
    }

    int leaf_i32(Ne ne, const std::vector<int32_t>& values) {
        const int i = push(blank(SL_DTYPE_I32, ne), bytes_of(SL_DTYPE_I32, ne));
        EXPECT_EQ(values.size(), static_cast<size_t>(ne[0] * ne[1] * ne[2] * ne[3]));
        std::memcpy(&image_[offset_[i]], values.data(), values.size() * 4);
        return i;
    }

    // A leaf viewing `base`'s bytes from `offset`, with its own shape and strides.
    int view(int base, Ne ne, Ne nb, size_t offset) {
        sl_tensor t = blank(static_cast<sl_dtype>(tensors_[base].dtype), ne);
        for (int d = 0; d < 4; ++d) t.nb[d] = nb[d];
        tensors_.push_back(t);
        offset_.push_back(offset_[base] + offset);
        return static_cast<int>(tensors_.size() - 1);
    }

    // A node with a contiguous output of its own.
    int node(sl_op op, Ne ne, std::vector<int32_t> srcs, std::vector<int32_t> params = {},
             sl_dtype dtype = SL_DTYPE_F32) {
        sl_tensor t = blank(dtype, ne);
        t.op = op;
        for (size_t s = 0; s < srcs.size(); ++s) t.src[s] = srcs[s];
        for (size_t p = 0; p < params.size(); ++p) t.params[p] = params[p];
        const int i = push(t, bytes_of(dtype, ne));
        std::memset(&image_[offset_[i]], 0xff, bytes_of(dtype, ne));  // NaN until written
        return i;
    }

    // A COPY node writing `src` into the bytes of view `dst`.
    int copy(int src, int dst) {
        sl_tensor t = tensors_[dst];
        t.op = SL_OP_COPY;
        t.src[0] = src;
        tensors_.push_back(t);
        offset_.push_back(offset_[dst]);
        return static_cast<int>(tensors_.size() - 1);
    }

    // Uploads the image, runs the graph, downloads the image.
    sl_status run() {
        if (buffer_) be_.buffer_free(buffer_);
        uint64_t base = 0;
        sl_status s = be_.buffer_alloc(device_, image_.size(), &buffer_, &base);
        if (s != SL_OK) return s;
        EXPECT_EQ(be_.buffer_write(buffer_, 0, image_.data(), image_.size()), SL_OK) << be_.last_error();
        std::vector<sl_tensor> placed = tensors_;
        for (size_t i = 0; i < placed.size(); ++i)
            if (placed[i].addr == 0) placed[i].addr = base + offset_[i];
        const sl_graph graph{placed.data(), static_cast<int32_t>(placed.size())};
        s = be_.graph_compute(device_, &graph);
        EXPECT_EQ(be_.buffer_read(buffer_, 0, image_.data(), image_.size()), SL_OK) << be_.last_error();
        return s;
    }

    // Runs and expects success.
    void run_ok() { ASSERT_EQ(run(), SL_OK) << be_.last_error(); }

    int32_t supports(int node) {
        const sl_graph graph{tensors_.data(), static_cast<int32_t>(tensors_.size())};
        return be_.supports_op(device_, &graph, node);
    }

    std::string error() const { return be_.last_error(); }

    // Tensor i's elements in dense logical order, read from the image by its ne/nb.
    std::vector<float> values(int i) const {
        const sl_tensor& t = tensors_[static_cast<size_t>(i)];
        const auto type = static_cast<DType>(t.dtype);
        const bool blocks = traits(type).block_elements > 1;
        std::vector<float> out(static_cast<size_t>(t.ne[0] * t.ne[1] * t.ne[2] * t.ne[3]));
        for (int64_t i3 = 0; i3 < t.ne[3]; ++i3)
            for (int64_t i2 = 0; i2 < t.ne[2]; ++i2)
                for (int64_t i1 = 0; i1 < t.ne[1]; ++i1) {
                    const size_t row = offset_[i] + i1 * t.nb[1] + i2 * t.nb[2] + i3 * t.nb[3];
                    float* dst = &out[flat(ne_of(t), 0, i1, i2, i3)];
                    if (blocks) {
                        dequantize_row(type, &image_[row], dst, t.ne[0]);
                    } else {
                        for (int64_t i0 = 0; i0 < t.ne[0]; ++i0)
                            dequantize_row(type, &image_[row + i0 * t.nb[0]], dst + i0, 1);
                    }
                }
        return out;
    }

    // True if every sentinel after every allocated region is intact.
    bool guards_intact() const {
        for (size_t g : guards_)
            for (size_t k = 0; k < kGuard; ++k)
                if (image_[g + k] != kSentinel) return false;
        return true;
    }

    static Ne ne_of(const sl_tensor& t) { return {t.ne[0], t.ne[1], t.ne[2], t.ne[3]}; }

    static sl_tensor blank(sl_dtype dtype, Ne ne) {
        sl_tensor t{};
        t.dtype = dtype;
        t.op = SL_OP_NONE;
        for (int d = 0; d < 4; ++d) t.ne[d] = ne[d];
        for (int s = 0; s < SL_MAX_SRC; ++s) t.src[s] = -1;
        const DTypeTraits& tr = traits(static_cast<DType>(dtype));
        t.nb[0] = static_cast<int64_t>(tr.block_bytes);
        t.nb[1] = static_cast<int64_t>(row_bytes(static_cast<DType>(dtype), ne[0]));
        t.nb[2] = t.nb[1] * ne[1];
        t.nb[3] = t.nb[2] * ne[2];
        return t;
    }

private:
    static size_t bytes_of(sl_dtype dtype, Ne ne) {
        return row_bytes(static_cast<DType>(dtype), ne[0]) * static_cast<size_t>(ne[1] * ne[2] * ne[3]);
    }

    int push(sl_tensor t, size_t bytes) {
        const size_t at = (image_.size() + 63) / 64 * 64;
        image_.resize(at + bytes + kGuard, kSentinel);
        guards_.push_back(at + bytes);
        tensors_.push_back(t);
        offset_.push_back(at);
        return static_cast<int>(tensors_.size() - 1);
    }

    const sl_backend& be_;
    sl_device device_ = nullptr;
    sl_buffer buffer_ = nullptr;
    std::vector<sl_tensor> tensors_;
    std::vector<size_t> offset_;
    std::vector<size_t> guards_;
    std::vector<std::byte> image_;
};

}  // namespace suanli::testing
