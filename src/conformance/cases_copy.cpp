// Cases for COPY: every source type (F32, F16, BF16) into every destination type,
// contiguous and strided on either side, and values that test the rounding
// (ties, overflow to infinity, subnormals).
#include <limits>

#include "conformance/cases.h"
#include "conformance/tolerances.h"

namespace suanli::conformance {
namespace {

constexpr DType kTypes[] = {DType::F32, DType::F16, DType::BF16};

int64_t elt(DType t) { return static_cast<int64_t>(traits(t).block_bytes); }

// Values where conversions go wrong: ties of F16 and BF16 rounding, the F16
// range limit and overflow, subnormals, signed zero, infinities.
std::vector<float> edge_values() {
    const float inf = std::numeric_limits<float>::infinity();
    return {0.0f,        -0.0f,      1.0f,        -1.0f,         1.0f + 0x1p-11f, 1.0f + 3 * 0x1p-11f,
            1.0f + 0x1p-8f, 1.0f + 3 * 0x1p-8f, 65504.0f, 65520.0f, -65520.0f, 1e5f,
            -1e5f,       6e-8f,      3e-8f,       1e-10f,        -6.1e-5f,        3.0e38f,
            inf,         -inf,       0.333333f,   -2.71828f,     1e-40f,          123456.789f,
            0.1f,        -0.1f,      7.0f,        1024.5f,       2049.0f,         -4097.0f,
            0.5f,        1.5f};
}

Case make(DType src, DType dst, std::string name, std::function<void(CaseBuilder&)> build) {
    return Case{"copy", lower_name(dst), lower_name(src) + " -> " + lower_name(dst) + ", " + std::move(name),
                op_tolerance(SL_OP_COPY), std::move(build)};
}

}  // namespace

std::vector<Case> copy_cases() {
    std::vector<Case> out;
    for (DType src : kTypes)
        for (DType dst : kTypes) {
            for (Shape s : {Shape{1}, Shape{3}, Shape{17, 3}, Shape{33, 5, 2}, Shape{4096, 4}}) {
                out.push_back(make(src, dst, "contiguous " + shape_text(s), [=](CaseBuilder& b) {
                    const TensorId from = b.random(src, s, -4.0f, 4.0f);
                    const TensorId to = b.random(dst, s, -1.0f, 1.0f);
                    b.output(b.graph().copy(from, to));
                }));
            }
            out.push_back(make(src, dst, "edge values [32]", [=](CaseBuilder& b) {
                const TensorId from = b.leaf(src, {32}, edge_values());
                const TensorId to = b.random(dst, {32});
                b.output(b.graph().copy(from, to));
            }));
            // Into KV-cache slots 4..6 of a [8, 2, 10] destination: the other slots must stay.
            out.push_back(make(src, dst, "into slots 4..6 of a [8, 2, 10] cache", [=](CaseBuilder& b) {
                const TensorId from = b.random(src, {8, 2, 3});
                const TensorId cache = b.random(dst, {8, 2, 10});
                const int64_t e = elt(dst);
                b.output(b.graph().copy(from, b.view(cache, {8, 2, 3}, {e, 8 * e, 16 * e, 160 * e},
                                                     static_cast<uint64_t>(4 * 16 * e))));
            }));
            // A transposed destination: [17, 5] written with strides of a [5, 17] tensor.
            out.push_back(make(src, dst, "into a transposed [17, 5] view", [=](CaseBuilder& b) {
                const TensorId from = b.random(src, {17, 5});
                const TensorId to = b.random(dst, {5, 17});
                const int64_t e = elt(dst);
                b.output(b.graph().copy(from, b.view(to, {17, 5}, {5 * e, e, 85 * e, 85 * e}, 0)));
            }));
            // A transposed source made contiguous.
            out.push_back(make(src, dst, "from a transposed [17, 6] view", [=](CaseBuilder& b) {
                const TensorId base = b.random(src, {6, 17});
                const int64_t e = elt(src);
                const TensorId from = b.view(base, {17, 6}, {6 * e, e, 102 * e, 102 * e}, 0);
                b.output(b.graph().copy(from, b.random(dst, {17, 6})));
            }));
        }
    return out;
}

}  // namespace suanli::conformance
