// Running one conformance case on the reference device and on the target
// device, and judging the target: supported or not, its outputs against the
// reference's (NMSE, NaN/Inf), and every byte it should not have written.
#pragma once

#include <cstdint>
#include <string>

#include "conformance/cases.h"
#include "core/device.h"

namespace suanli::conformance {

enum class Status { Pass, Fail, Unsupported };

const char* status_name(Status s);  // "pass", "FAIL", "unsupported"

struct CaseResult {
    Status status = Status::Pass;
    double nmse = 0.0;     // the largest over the case's outputs
    double max_abs = 0.0;  // the largest |target - reference| over finite elements
    std::string detail;    // why it failed or is unsupported; empty on a pass
};

// Builds the case from `seed` and runs it on both devices. Never throws for
// what the target does (errors, NaN, stray writes are failures); a case the
// reference itself cannot run is a failure naming the reference.
CaseResult run_case(const Case& c, Device& reference, Device& target, uint64_t seed);

// Compares a target's values with the reference's (same length): NaN/Inf where the
// reference is finite, a different non-finite value, or NMSE above `tolerance` fail.
// With `shape`, a bad element is named by its coordinates, else by its index.
CaseResult compare_values(const std::vector<float>& reference, const std::vector<float>& target, double tolerance,
                          const sl_tensor* shape = nullptr);

}  // namespace suanli::conformance
