// Printing a conformance run: the support matrix (op x dtype: pass / FAIL /
// unsupported with counts) and the model checks, as a table, CSV or JSON.
#pragma once

#include <string>
#include <vector>

#include "conformance/suite.h"

namespace suanli::conformance {

// One cell of the matrix: the cases of one op and dtype.
struct MatrixCell {
    std::string op, dtype;
    int pass = 0, fail = 0, unsupported = 0;
    double max_nmse = 0.0;
    Status status() const;  // Fail if any failed, Unsupported if none ran, else Pass
    std::string text() const;  // "pass 12", "FAIL 2/12", "unsupported", "pass 10, unsup 2"
};

// Cells in op order (as run), dtypes in the order f32, f16, bf16, q8_0, q4_0, q4_k, q5_k, q6_k, others.
std::vector<MatrixCell> support_matrix(const SuiteResult& result);

// verbose: every case with its shapes and NMSE; otherwise only the failed ones.
std::string format_table(const SuiteResult& result, bool verbose);
std::string format_csv(const SuiteResult& result, bool verbose);
std::string format_json(const SuiteResult& result, bool verbose);

}  // namespace suanli::conformance
