// The conformance cases: per standard op, a generator of many small graphs
// (every dtype the op takes, odd and large sizes, strided views, broadcasting,
// edge values). Adding an op to the suite = writing one generator and adding
// its row to the table in cases.cpp.
#pragma once

#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "conformance/case_builder.h"
#include "suanli/backend.h"

namespace suanli::conformance {

struct Case {
    std::string op;     // the op's name, e.g. "mul_mat": the row of the support matrix
    std::string dtype;  // its column: the weight type, K/V type or destination type
    std::string name;   // what this case exercises, e.g. "A [4096, 256] x B [4096, 64]"
    double tolerance;   // the largest NMSE that passes
    // Builds the graph and its inputs; the builder's random numbers come from the seed.
    std::function<void(CaseBuilder&)> build;
    // Costly on a plain-loop backend (e.g. mul_mat 4096 x 256 by 64): skipped by a quick run.
    bool large = false;
};

using CaseGenerator = std::vector<Case> (*)();

struct OpCases {
    std::string_view op;
    sl_op code;
    CaseGenerator generate;
};

// Every op of the standard, in the order the matrix shows them.
std::span<const OpCases> all_op_cases();
// The entry named `op` ("mul_mat"), or nullptr.
const OpCases* find_op_cases(std::string_view op);

// The generators, one per op (cases_*.cpp).
std::vector<Case> get_rows_cases();
std::vector<Case> mul_mat_cases();
std::vector<Case> add_cases();
std::vector<Case> mul_cases();
std::vector<Case> scale_cases();
std::vector<Case> rms_norm_cases();
std::vector<Case> rope_cases();
std::vector<Case> silu_cases();
std::vector<Case> attention_cases();
std::vector<Case> copy_cases();

// Helpers shared by the generators.
std::string lower_name(DType type);  // "q4_0"
std::string shape_text(const Shape& s);  // "[4096, 256]" (trailing 1s dropped)
std::string num(double v);               // "1e-06", "0.25": %g

}  // namespace suanli::conformance
