// Minimal graphs that ask a backend, through supports_op, which op and dtype
// combinations it implements: one small node per probe, with valid shapes.
//
// Used by `suanli backends` to print op coverage, and reusable by anything
// that wants the same question answered (e.g. to skip unsupported cases).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/graph.h"
#include "suanli/backend.h"

namespace suanli {

class Device;

// One probe: an op with the dtypes it varies (see op_probe_variants).
struct OpProbeVariant {
    sl_op op = SL_OP_NONE;
    sl_dtype dtype = SL_DTYPE_F32;         // the varied operand: table, A, k/v, or COPY's source
    sl_dtype out_dtype = SL_DTYPE_F32;     // COPY's destination; F32 for every other op
    int32_t rope_mode = SL_ROPE_ADJACENT;  // ROPE only
    std::string label;                     // "Q8_0", "F16>BF16" (COPY), "halves" (ROPE)
};

// A probe graph: external leaves and then the one node, every tensor in its own
// 64-byte-aligned slice of a buffer of `bytes` bytes starting at `base`.
struct OpProbe {
    Graph graph;
    TensorId node;
    uint64_t bytes = 0;
};

// Lowercase op name as the standard spells it: "mul_mat", "rms_norm".
std::string_view op_probe_name(sl_op op);

// Every combination the standard allows for `op`: GET_ROWS and MUL_MAT over the
// eight weight types, ATTENTION over k/v F32 and F16, COPY over source x
// destination in F32/F16/BF16, ROPE over its two modes, the rest F32 only.
std::vector<OpProbeVariant> op_probe_variants(sl_op op);

// base: where the buffer the probe lives in starts (0 to learn `bytes` first).
OpProbe build_op_probe(const OpProbeVariant& variant, uint64_t base = 0);

// The coverage of one op on one device: which variants it supports.
struct OpCoverage {
    sl_op op = SL_OP_NONE;
    std::vector<std::string> supported, unsupported;  // labels
};

// Asks the device about every variant of every standard op. The probe graphs
// live in one buffer allocated on the device (so addresses are real ones).
std::vector<OpCoverage> probe_op_coverage(Device& device);

}  // namespace suanli
