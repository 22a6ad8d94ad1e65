// How close a target backend must come to the reference backend: every tolerance
// of the conformance suite, in one place.
//
// Outputs are compared by normalized mean squared error, as ggml's
// test-backend-ops does: nmse = sum (t - r)^2 / sum r^2 over the elements where
// the reference r is finite (t: the target). A reference that is all zeros
// makes the denominator 0; then the plain sum of squared differences counts.
#pragma once

#include "suanli/backend.h"

namespace suanli::conformance {

// Ops whose result is fixed up to float rounding: elementwise ops, rms_norm,
// get_rows (dequantization is exact), copy (round to nearest even is exact).
inline constexpr double kNmseDefault = 1e-7;
// Long dot products: any summation order, and quantized A multiplied in any
// way whose error stays this small (backend.h allows it).
inline constexpr double kNmseMulMat = 5e-4;
// Softmax plus two dot products per key; same allowance as mul_mat.
inline constexpr double kNmseAttention = 5e-4;
// Angles as pos * base^(-2i/n_rot): a pow per pair or ggml's running product
// differ by a few float ulps of the angle, which grows with the position. For
// the suite's positions (< 4096) that difference measures at most 7e-9, so rope
// keeps the default, as docs/backend-standard.md states.
inline constexpr double kNmseRope = kNmseDefault;

// Whole-model checks: logits of the target vs the reference, NMSE over all
// logits of a step. Errors of every layer add up, so looser than one op.
inline constexpr double kNmseModelLogits = 1e-3;
// The target's greedy token must equal the reference's, unless the reference's
// top two logits are within this (relative to the largest |logit|): a tie.
inline constexpr double kArgmaxTieRelative = 1e-4;

// Guard bytes after every tensor, filled with kGuardByte; any change fails.
inline constexpr uint64_t kGuardBytes = 64;
inline constexpr unsigned char kGuardByte = 0xA5;

constexpr double op_tolerance(sl_op op) {
    switch (op) {
        case SL_OP_MUL_MAT: return kNmseMulMat;
        case SL_OP_ATTENTION: return kNmseAttention;
        case SL_OP_ROPE: return kNmseRope;
        default: return kNmseDefault;
    }
}

}  // namespace suanli::conformance
