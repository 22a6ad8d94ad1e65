// Whole-model checks: the same prompt through a model on the reference device and
// on the target device, then a few single-token decode steps, comparing logits.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "conformance/runner.h"
#include "core/device.h"

namespace suanli::conformance {

struct ModelCheck {
    std::string name;  // the file's name
    std::filesystem::path path;
    Status status = Status::Pass;
    bool skipped = false;    // the file is absent: not run, not a failure
    int steps = 0;           // decode steps compared (the prompt is step 0)
    int positions = 0;       // logit rows compared
    int argmax_mismatches = 0;
    double nmse = 0.0;       // the largest NMSE of a logit row
    double max_abs = 0.0;    // the largest |target - reference| logit difference
    std::string detail;
};

inline constexpr int kModelPromptTokens = 8;
inline constexpr int kModelDecodeSteps = 2;

// A prompt of kModelPromptTokens seeded token ids (all logits compared), then
// kModelDecodeSteps single tokens, each the reference's greedy choice. A model
// the target cannot load or run is a failure with the reason.
ModelCheck check_model(const std::filesystem::path& path, Device& reference, Device& target, uint64_t seed);

}  // namespace suanli::conformance
