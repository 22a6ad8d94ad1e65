// Cases for the attention block's ops: ROPE (both pairings, n_rot < D, frequency
// parameters, large positions) and ATTENTION (F32 and F16 K/V, GQA ratios 1/2/4,
// causal / no / fully-masked / random masks, NaN in masked KV slots, strided views).
#include <cmath>
#include <limits>

#include "conformance/cases.h"
#include "conformance/tolerances.h"

namespace suanli::conformance {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// ---- rope ----

struct RopeCase {
    int64_t D, H, T;
    int32_t n_rot;
    float base = 10000.0f, scale = 1.0f;
    int32_t max_pos = 16;  // positions: random in [0, max_pos), the first one 0
    bool fused_view = false;  // x is the K slice of a fused [3 * D * H, T] QKV tensor
};

Case rope_case(const RopeCase& r, int32_t mode) {
    std::string name = std::string(mode == SL_ROPE_ADJACENT ? "adjacent" : "halves") + ", x " +
                       shape_text({r.D, r.H, r.T}) + ", n_rot " + std::to_string(r.n_rot) + ", base " + num(r.base) +
                       ", freq_scale " + num(r.scale) + ", positions < " + std::to_string(r.max_pos) +
                       (r.fused_view ? ", x a strided view" : "");
    return Case{"rope", "f32", name, op_tolerance(SL_OP_ROPE), [r, mode](CaseBuilder& b) {
                    std::vector<int32_t> pos(static_cast<size_t>(r.T));
                    for (size_t t = 0; t < pos.size(); ++t) pos[t] = t == 0 ? 0 : b.rng().below(r.max_pos);
                    TensorId x;
                    if (r.fused_view) {
                        const TensorId qkv = b.random(DType::F32, {3 * r.D * r.H, r.T});
                        const int64_t row = 3 * r.D * r.H * 4;
                        x = b.view(qkv, {r.D, r.H, r.T}, {4, r.D * 4, row, row * r.T},
                                   static_cast<uint64_t>(r.D * r.H * 4));
                    } else {
                        x = b.random(DType::F32, {r.D, r.H, r.T});
                    }
                    const TensorId p = b.leaf_i32({r.T}, pos);
                    b.output(b.graph().rope(x, p, r.n_rot, mode, r.base, r.scale));
                }};
}

// ---- attention ----

enum class Mask { None, Zeros, Causal, FullyMaskedRow, Random };

struct AttnCase {
    int64_t D, Hq, Hkv, T, S;
    Mask mask = Mask::Causal;
    float scale = 0.0f;       // 0: 1/sqrt(D)
    float q_magnitude = 1.0f;
    bool nan_in_masked = false;  // K/V of keys no query sees hold NaN
    bool strided = false;        // q a slice of a fused tensor; K/V stored [D, S, Hkv]
};

const char* mask_name(Mask m) {
    switch (m) {
        case Mask::None: return "no mask";
        case Mask::Zeros: return "zero mask";
        case Mask::Causal: return "causal mask";
        case Mask::FullyMaskedRow: return "causal mask, query 0 fully masked";
        case Mask::Random: return "random mask with -inf";
    }
    return "?";
}

// Mask [S, T]: query t sits at position S - T + t.
std::vector<float> make_mask(const AttnCase& c, Rng& rng) {
    std::vector<float> m(static_cast<size_t>(c.S * c.T), 0.0f);
    // With NaN in masked K/V the last 3 slots are unwritten KV cache: no query sees them.
    const int64_t used = c.nan_in_masked ? c.S - 3 : c.S;
    const int64_t n_past = used - c.T;
    for (int64_t t = 0; t < c.T; ++t)
        for (int64_t j = 0; j < c.S; ++j) {
            float& v = m[static_cast<size_t>(t * c.S + j)];
            switch (c.mask) {
                case Mask::Causal:
                case Mask::FullyMaskedRow:
                    v = j <= n_past + t ? 0.0f : kNegInf;
                    if (c.mask == Mask::FullyMaskedRow && t == 0) v = kNegInf;
                    break;
                case Mask::Random: v = rng.below(4) == 0 ? kNegInf : rng.uniform(-3.0f, 0.0f); break;
                default: break;
            }
            if (j >= used) v = kNegInf;
        }
    return m;
}

Case attention_case(const AttnCase& c, DType kv) {
    std::string name = "q " + shape_text({c.D, c.Hq, c.T}) + ", k/v " + shape_text({c.D, c.Hkv, c.S}) + " (GQA " +
                       std::to_string(c.Hq / c.Hkv) + "), " + mask_name(c.mask);
    if (c.scale != 0.0f) name += ", scale " + num(c.scale);
    if (c.q_magnitude != 1.0f) name += ", |q| up to " + num(c.q_magnitude);
    if (c.nan_in_masked) name += ", NaN in masked K/V";
    if (c.strided) name += ", strided q/k/v views";
    return Case{"attention", lower_name(kv), name, op_tolerance(SL_OP_ATTENTION), [c, kv](CaseBuilder& b) {
                    const float scale = c.scale != 0.0f ? c.scale : 1.0f / std::sqrt(static_cast<float>(c.D));
                    const std::vector<float> mask = make_mask(c, b.rng());
                    TensorId q;
                    if (c.strided) {
                        const int64_t row = 2 * c.D * c.Hq * 4;
                        const TensorId fused =
                            b.random(DType::F32, {2 * c.D * c.Hq, c.T}, -c.q_magnitude, c.q_magnitude);
                        q = b.view(fused, {c.D, c.Hq, c.T}, {4, c.D * 4, row, row * c.T}, 0);
                    } else {
                        q = b.random(DType::F32, {c.D, c.Hq, c.T}, -c.q_magnitude, c.q_magnitude);
                    }
                    // K and V values in dense [D, Hkv, S] order; NaN where no query looks.
                    auto kv_values = [&] {
                        std::vector<float> v = b.rng().uniform(static_cast<size_t>(c.D * c.Hkv * c.S), -1.0f, 1.0f);
                        if (c.nan_in_masked) {
                            for (int64_t j = 0; j < c.S; ++j) {
                                bool seen = false;
                                for (int64_t t = 0; t < c.T; ++t) seen |= mask[static_cast<size_t>(t * c.S + j)] != kNegInf;
                                if (seen) continue;
                                for (int64_t g = 0; g < c.Hkv; ++g)
                                    for (int64_t d = 0; d < c.D; ++d)
                                        v[static_cast<size_t>((j * c.Hkv + g) * c.D + d)] =
                                            std::numeric_limits<float>::quiet_NaN();
                            }
                        }
                        return v;
                    };
                    auto kv_tensor = [&] {
                        const std::vector<float> v = kv_values();
                        if (!c.strided) return b.leaf(kv, {c.D, c.Hkv, c.S}, v);
                        // Stored as [D, S, Hkv] (head-major), viewed as [D, Hkv, S].
                        std::vector<float> stored(v.size());
                        for (int64_t j = 0; j < c.S; ++j)
                            for (int64_t g = 0; g < c.Hkv; ++g)
                                for (int64_t d = 0; d < c.D; ++d)
                                    stored[static_cast<size_t>((g * c.S + j) * c.D + d)] =
                                        v[static_cast<size_t>((j * c.Hkv + g) * c.D + d)];
                        const TensorId base = b.leaf(kv, {c.D, c.S, c.Hkv}, stored);
                        const int64_t e = static_cast<int64_t>(traits(kv).block_bytes);
                        return b.view(base, {c.D, c.Hkv, c.S}, {e, c.D * c.S * e, c.D * e, c.D * c.S * c.Hkv * e}, 0);
                    };
                    const TensorId k = kv_tensor();
                    const TensorId v = kv_tensor();
                    TensorId m;
                    if (c.mask != Mask::None) m = b.leaf(DType::F32, {c.S, c.T}, mask);
                    b.output(b.graph().attention(q, k, v, m, scale));
                }};
}

}  // namespace

std::vector<Case> rope_cases() {
    const RopeCase cases[] = {
        {64, 4, 7, 64},
        {64, 2, 5, 32, 10000.0f, 1.0f, 2048},
        {128, 3, 3, 128, 1000000.0f, 1.0f, 4096},
        {32, 2, 4, 32, 10000.0f, 0.25f, 64},
        {6, 1, 1, 4, 10000.0f, 1.0f, 32},
        {5, 2, 2, 2},
        {2, 1, 1, 2},
        {8, 2, 3, 0},
        {64, 4, 3, 48, 500000.0f, 1.0f, 512, true},
    };
    std::vector<Case> out;
    for (int32_t mode : {SL_ROPE_ADJACENT, SL_ROPE_HALVES})
        for (const RopeCase& r : cases) out.push_back(rope_case(r, mode));
    return out;
}

std::vector<Case> attention_cases() {
    const AttnCase cases[] = {
        {64, 4, 4, 7, 7},
        {64, 8, 4, 5, 12},
        {32, 8, 2, 1, 33, Mask::None},
        {16, 4, 1, 3, 3, Mask::Zeros, 1.0f},
        {64, 4, 2, 4, 9, Mask::FullyMaskedRow},
        {32, 2, 1, 2, 8, Mask::Causal, 0.0f, 1.0f, true},
        {32, 4, 2, 6, 6, Mask::Random},
        {64, 4, 4, 3, 10, Mask::Causal, 0.0f, 30.0f},
        {32, 4, 2, 3, 7, Mask::Causal, 0.05f, 1.0f, false, true},
        {3, 2, 2, 2, 3},
        {1, 1, 1, 1, 1, Mask::None},
        {128, 8, 2, 16, 256},
    };
    std::vector<Case> out;
    for (DType kv : {DType::F32, DType::F16})
        for (const AttnCase& c : cases) {
            out.push_back(attention_case(c, kv));
            out.back().large = c.S >= 256;
        }
    return out;
}

}  // namespace suanli::conformance
