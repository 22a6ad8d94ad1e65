// Deliberately wrong backends for testing the conformance suite: each is the
// reference backend's table with a graph_compute that gets one op wrong.
#pragma once

#include "suanli/backend.h"

namespace suanli::test {

enum class Breakage {
    MulMatDropsLastK,      // mul_mat sums k in [0, K-1): off by one
    RopeSwappedPairing,    // rope pairs halves where it should pair neighbours, and back
    AttentionIgnoresMask,  // attention runs as if src3 were -1
    SiluWritesPastEnd,     // silu writes one float past the end of its output
    NanInRmsNorm,          // rms_norm's first output element is NaN
    NoF16Attention,        // honest, but supports_op says no to attention with F16 K/V
};

const sl_backend& broken_backend(Breakage b);

}  // namespace suanli::test
