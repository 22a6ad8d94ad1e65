// The whole conformance run: every case of the chosen ops, then the model checks.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "conformance/model_checks.h"
#include "conformance/runner.h"

namespace suanli::conformance {

struct SuiteOptions {
    std::vector<std::string> ops;  // op names ("mul_mat"); empty: every op
    uint64_t seed = 42;
    std::vector<std::filesystem::path> models;  // absent files are reported as skipped
    bool quick = false;  // skip the cases marked large
};

struct CaseOutcome {
    std::string op, dtype, name;
    double tolerance = 0.0;
    CaseResult result;
};

struct SuiteResult {
    std::string backend;       // the target's name
    std::string device;        // its device's name and description
    uint32_t abi_version = 0;  // the target's ABI version (checked when its device opened)
    uint64_t seed = 0;
    std::vector<CaseOutcome> cases;
    std::vector<ModelCheck> models;

    int failures() const;
    bool passed() const { return failures() == 0; }
};

// Throws Error for an unknown op name (listing the known ones).
SuiteResult run_suite(Device& reference, Device& target, const SuiteOptions& options);

// The known op names, comma-separated, for messages.
std::string op_names();

}  // namespace suanli::conformance
