// Cases for the ops that read weights: GET_ROWS and MUL_MAT, for every weight type.

#include "conformance/cases.h"
#include "conformance/tolerances.h"

namespace suanli::conformance {
namespace {

// The weight types of the standard (what quant.h can produce).
constexpr DType kWeightTypes[] = {DType::F32,  DType::F16,  DType::BF16, DType::Q8_0,
                                  DType::Q4_0, DType::Q4_K, DType::Q5_K, DType::Q6_K};

bool is_block(DType t) { return traits(t).block_elements > 1; }
// `want` rounded up to a whole number of the type's blocks (256 for the K-quants).
int64_t fit(DType t, int64_t want) {
    const int64_t b = traits(t).block_elements;
    return (want + b - 1) / b * b;
}
int64_t elt(DType t) { return static_cast<int64_t>(traits(t).block_bytes); }  // nb[0] of plain types

Case make(const char* op, DType type, std::string name, std::function<void(CaseBuilder&)> build) {
    const sl_op code = std::string_view(op) == "mul_mat" ? SL_OP_MUL_MAT : SL_OP_GET_ROWS;
    return Case{op, lower_name(type), std::move(name), op_tolerance(code), std::move(build)};
}

// ---- get_rows ----

void add_get_rows(std::vector<Case>& out, DType type, int64_t E, int64_t R, std::vector<int32_t> ids, Shape id_shape,
                  float magnitude = 1.0f, std::string note = "") {
    std::string name = "table " + shape_text({E, R}) + " ids " + shape_text(id_shape) + note;
    out.push_back(make("get_rows", type, name, [=](CaseBuilder& b) {
        const TensorId table = b.random(type, {E, R}, -magnitude, magnitude);
        const TensorId idt = b.leaf_i32(id_shape, ids);
        b.output(b.graph().get_rows(table, idt));
    }));
}

std::vector<int32_t> random_ids(int64_t n, int32_t rows, uint64_t seed) {
    Rng rng(seed);
    std::vector<int32_t> v(static_cast<size_t>(n));
    for (int32_t& x : v) x = rng.below(rows);
    return v;
}

// ---- mul_mat ----

void add_mul_mat(std::vector<Case>& out, DType type, Shape a, Shape b, std::string note = "", float magnitude = 1.0f,
                 bool zero_b = false, bool large = false) {
    std::string name = "A " + shape_text(a) + " x B " + shape_text(b) + note;
    out.push_back(make("mul_mat", type, name, [=](CaseBuilder& bl) {
        const TensorId ta = bl.random(type, a, -magnitude, magnitude);
        TensorId tb;
        if (zero_b) tb = bl.leaf(DType::F32, b, std::vector<float>(static_cast<size_t>(b.elements()), 0.0f));
        else tb = bl.random(DType::F32, b, -magnitude, magnitude);
        bl.output(bl.graph().mul_mat(ta, tb));
    }));
    out.back().large = large;
}

}  // namespace

std::vector<Case> get_rows_cases() {
    std::vector<Case> out;
    for (DType t : kWeightTypes) {
        add_get_rows(out, t, fit(t, 32), 10, {0, 9, 3, 3, 7}, {5}, 1.0f, ", first/last/repeated rows");
        add_get_rows(out, t, fit(t, 32), 3, {2}, {1});
        add_get_rows(out, t, fit(t, 64), 33, random_ids(42, 33, 7), {7, 2, 3}, 1.0f, ", batched ids");
        add_get_rows(out, t, 256, 4, {3, 1}, {2}, 1000.0f, ", values up to 1e3");
        add_get_rows(out, t, 4096, 17, random_ids(9, 17, 8), {9});
        if (!is_block(t)) {
            add_get_rows(out, t, 17, 5, {4, 0, 2}, {3});
            add_get_rows(out, t, 1, 3, {2, 0}, {2});
        }
        // Strided ids: every other element of a longer array.
        const int64_t E = fit(t, 32);
        out.push_back(make("get_rows", t, "table " + shape_text({E, 6}) + " ids [4] strided (nb0 = 8)", [t, E](CaseBuilder& b) {
            const TensorId table = b.random(t, {E, 6});
            const std::vector<int32_t> ids = {5, -1, 0, -1, 3, -1, 5, -1};
            const TensorId base = b.leaf_i32({8}, ids);
            b.output(b.graph().get_rows(table, b.view(base, {4}, {8, 32, 32, 32}, 0)));
        }));
    }
    return out;
}

std::vector<Case> mul_mat_cases() {
    std::vector<Case> out;
    for (DType t : kWeightTypes) {
        const int64_t k32 = fit(t, 32), k64 = fit(t, 64), k96 = fit(t, 96);
        add_mul_mat(out, t, {k32, 1}, {k32, 1}, ", tiny");
        add_mul_mat(out, t, {k64, 3}, {k64, 17});
        add_mul_mat(out, t, {k96, 33}, {k96, 1}, ", matrix x vector");
        add_mul_mat(out, t, {4096, 256}, {4096, 64}, ", large", 1.0f, false, true);
        add_mul_mat(out, t, {k64, 16, 2, 1}, {k64, 7, 6, 3}, ", batch broadcast");
        add_mul_mat(out, t, {k64, 8, 2, 3}, {k64, 5, 4, 6}, ", batch broadcast in both dims");
        add_mul_mat(out, t, {256, 16}, {256, 4}, ", values up to 100", 100.0f);
        add_mul_mat(out, t, {k64, 5}, {k64, 3}, ", B all zeros", 1.0f, true);
        if (!is_block(t)) {
            add_mul_mat(out, t, {17, 3}, {17, 5}, ", odd K");
            add_mul_mat(out, t, {1, 4}, {1, 3}, ", K = 1");
            add_mul_mat(out, t, {33, 1}, {33, 1}, ", odd K");
        }
        const int64_t K = k64, e = elt(t), rb = static_cast<int64_t>(row_bytes(t, K));
        out.push_back(make("mul_mat", t, "A " + shape_text({K, 8}) + " x B " + shape_text({K, 5}) + " transposed view (nb0 = 20)",
                           [=](CaseBuilder& b) {
                               const TensorId a = b.random(t, {K, 8});
                               const TensorId base = b.random(DType::F32, {5, K});
                               b.output(b.graph().mul_mat(a, b.view(base, {K, 5}, {20, 4, 20 * K, 20 * K}, 0)));
                           }));
        out.push_back(make("mul_mat", t, "A " + shape_text({K, 8}) + " x B " + shape_text({K, 7}) + " sliced from " +
                                             shape_text({K + 16, 9}),
                           [=](CaseBuilder& b) {
                               const TensorId a = b.random(t, {K, 8});
                               const TensorId base = b.random(DType::F32, {K + 16, 9});
                               const int64_t row = (K + 16) * 4;
                               b.output(b.graph().mul_mat(a, b.view(base, {K, 7}, {4, row, 9 * row, 9 * row}, 64)));
                           }));
        out.push_back(make("mul_mat", t, "A " + shape_text({K, 8, 2}) + " permuted batch (nb2 < nb1) x B " + shape_text({K, 3, 2}),
                           [=](CaseBuilder& b) {
                               const TensorId base = b.random(t, {K, 2, 8});
                               const TensorId a = b.view(base, {K, 8, 2}, {e, 2 * rb, rb, 16 * rb}, 0);
                               b.output(b.graph().mul_mat(a, b.random(DType::F32, {K, 3, 2})));
                           }));
        out.push_back(make("mul_mat", t, "A " + shape_text({K, 6}) + " every other row of " + shape_text({K, 12}) + " x B " + shape_text({K, 4}),
                           [=](CaseBuilder& b) {
                               const TensorId base = b.random(t, {K, 12});
                               const TensorId a = b.view(base, {K, 6}, {e, 2 * rb, 12 * rb, 12 * rb}, static_cast<uint64_t>(rb));
                               b.output(b.graph().mul_mat(a, b.random(DType::F32, {K, 4})));
                           }));
    }
    return out;
}

}  // namespace suanli::conformance
