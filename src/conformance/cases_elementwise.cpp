// Cases for the F32 elementwise ops and row norms: ADD, MUL (with broadcasting),
// SCALE, SILU, RMS_NORM.
#include <cmath>

#include "conformance/cases.h"
#include "conformance/tolerances.h"

namespace suanli::conformance {
namespace {

Case make(std::string op, sl_op code, std::string name, std::function<void(CaseBuilder&)> build) {
    return Case{std::move(op), "f32", std::move(name), op_tolerance(code), std::move(build)};
}

std::vector<float> zeros(const Shape& s) { return std::vector<float>(static_cast<size_t>(s.elements()), 0.0f); }

// A [17, 6] F32 tensor that is a transposed view of a [6, 17] leaf (nb0 = 24).
TensorId transposed_17x6(CaseBuilder& b, float lo, float hi) {
    const TensorId base = b.random(DType::F32, {6, 17}, lo, hi);
    return b.view(base, {17, 6}, {24, 4, 408, 408}, 0);
}

// ---- add, mul ----

using BinaryFn = TensorId (Graph::*)(TensorId, TensorId);

std::vector<Case> binary_cases(const std::string& op, sl_op code, BinaryFn fn, float big) {
    std::vector<Case> out;
    auto add = [&](Shape a, Shape b, std::string note = "", float mag = 1.0f) {
        out.push_back(make(op, code, "a " + shape_text(a) + ", b " + shape_text(b) + note, [=](CaseBuilder& bl) {
            const TensorId ta = bl.random(DType::F32, a, -mag, mag);
            const TensorId tb = bl.random(DType::F32, b, -mag, mag);
            bl.output((bl.graph().*fn)(ta, tb));
        }));
    };
    add({1}, {1});
    add({3}, {3});
    add({17, 3}, {17, 3});
    add({33, 5, 2, 3}, {33, 5, 2, 3});
    add({4096, 16}, {4096, 16}, ", large");
    add({17, 6}, {17, 1}, ", b broadcast over rows");
    add({17, 6}, {1, 6}, ", b broadcast along rows (ne0 = 1)");
    add({33, 5, 2, 3}, {1}, ", b a scalar");
    add({16, 4, 2, 3}, {16, 1, 2, 1}, ", b broadcast in dims 1 and 3");
    add({32, 4}, {8, 2}, ", b repeated (ne divides)");
    add({64, 3}, {64, 3}, ", values up to " + num(big),
        big);
    out.push_back(make(op, code, "a, b zeros [17, 3]", [=](CaseBuilder& bl) {
        const TensorId ta = bl.leaf(DType::F32, {17, 3}, zeros({17, 3}));
        const TensorId tb = bl.leaf(DType::F32, {17, 3}, zeros({17, 3}));
        bl.output((bl.graph().*fn)(ta, tb));
    }));
    out.push_back(make(op, code, "a [17, 6] transposed view, b [17, 1]", [=](CaseBuilder& bl) {
        const TensorId ta = transposed_17x6(bl, -1, 1);
        bl.output((bl.graph().*fn)(ta, bl.random(DType::F32, {17, 1})));
    }));
    out.push_back(make(op, code, "a [17, 6], b [17, 6] sliced from [40, 6]", [=](CaseBuilder& bl) {
        const TensorId ta = bl.random(DType::F32, {17, 6});
        const TensorId base = bl.random(DType::F32, {40, 6});
        bl.output((bl.graph().*fn)(ta, bl.view(base, {17, 6}, {4, 160, 960, 960}, 8)));
    }));
    return out;
}

// ---- scale, silu ----

template <class MakeNode>
std::vector<Case> unary_cases(const std::string& op, sl_op code, MakeNode node, float lo, float hi,
                              std::vector<std::pair<float, float>> edges) {
    std::vector<Case> out;
    auto add = [&](Shape s, float l, float h, std::string note = "") {
        out.push_back(make(op, code, "x " + shape_text(s) + note, [=](CaseBuilder& b) {
            b.output(node(b, b.random(DType::F32, s, l, h)));
        }));
    };
    add({1}, lo, hi);
    add({3}, lo, hi);
    add({17, 3}, lo, hi);
    add({33, 5, 2, 3}, lo, hi);
    add({4096, 8}, lo, hi, ", large");
    for (auto [l, h] : edges) add({64, 2}, l, h, ", values in [" + num(l) + ", " + num(h) + ")");
    out.push_back(make(op, code, "x zeros [17, 3]", [=](CaseBuilder& b) {
        b.output(node(b, b.leaf(DType::F32, {17, 3}, zeros({17, 3}))));
    }));
    out.push_back(make(op, code, "x [17, 6] transposed view", [=](CaseBuilder& b) {
        b.output(node(b, transposed_17x6(b, lo, hi)));
    }));
    return out;
}

}  // namespace

std::vector<Case> add_cases() { return binary_cases("add", SL_OP_ADD, &Graph::add, 1e30f); }
std::vector<Case> mul_cases() { return binary_cases("mul", SL_OP_MUL, &Graph::mul, 1e18f); }

std::vector<Case> scale_cases() {
    std::vector<Case> out;
    for (float s : {2.0f, -0.5f, 0.0f, 1e-3f, 1e6f}) {
        std::vector<Case> cs = unary_cases(
            "scale", SL_OP_SCALE, [s](CaseBuilder& b, TensorId x) { return b.graph().scale(x, s); }, -1.0f, 1.0f,
            s == 2.0f ? std::vector<std::pair<float, float>>{{-1e30f, 1e30f}} : std::vector<std::pair<float, float>>{});
        for (Case& c : cs) {
            c.name += ", s = " + num(s);
            out.push_back(std::move(c));
        }
    }
    return out;
}

std::vector<Case> silu_cases() {
    return unary_cases(
        "silu", SL_OP_SILU, [](CaseBuilder& b, TensorId x) { return b.graph().silu(x); }, -8.0f, 8.0f,
        {{-100.0f, 100.0f}, {-1e4f, 1e4f}, {-1e-6f, 1e-6f}});
}

std::vector<Case> rms_norm_cases() {
    std::vector<Case> out;
    auto add = [&](Shape s, float eps, float lo, float hi, std::string note = "") {
        out.push_back(make("rms_norm", SL_OP_RMS_NORM, "x " + shape_text(s) + ", eps " + num(eps) + note,
                           [=](CaseBuilder& b) { b.output(b.graph().rms_norm(b.random(DType::F32, s, lo, hi), eps)); }));
    };
    add({17, 3}, 1e-6f, -1, 1);
    add({1, 5}, 1e-5f, -1, 1, ", one-element rows");
    add({3}, 1e-5f, -1, 1);
    add({33, 5, 2, 3}, 1e-5f, -2, 2);
    add({4096, 2}, 1e-5f, -1, 1, ", long rows");
    add({64, 3}, 1e-6f, -1e15f, 1e15f, ", values up to 1e15");
    add({64, 3}, 1e-6f, -1e-20f, 1e-20f, ", values far below eps");
    add({64, 3}, 0.0f, 1.0f, 2.0f, ", eps 0");
    out.push_back(make("rms_norm", SL_OP_RMS_NORM, "x zeros [32, 2], eps 1e-5", [](CaseBuilder& b) {
        b.output(b.graph().rms_norm(b.leaf(DType::F32, {32, 2}, zeros({32, 2})), 1e-5f));
    }));
    out.push_back(make("rms_norm", SL_OP_RMS_NORM, "x [17, 6] transposed view, eps 1e-5", [](CaseBuilder& b) {
        b.output(b.graph().rms_norm(transposed_17x6(b, -1, 1), 1e-5f));
    }));
    return out;
}

}  // namespace suanli::conformance
