// The conformance suite: the reference passes against itself, and deliberately
// broken backends fail on exactly the op they break.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <ostream>
#include <set>
#include <string>

#include "backends/reference/reference_backend.h"
#include "broken_backends.h"
#include "conformance/cases.h"
#include "conformance/report.h"
#include "conformance/suite.h"
#include "conformance/tolerances.h"
#include "core/device.h"
#include "core/error.h"
#include "test_paths.h"

namespace suanli::conformance {
namespace {

using test::Breakage;
using test::broken_backend;

std::set<std::string> failing_ops(const SuiteResult& r) {
    std::set<std::string> ops;
    for (const CaseOutcome& c : r.cases)
        if (c.result.status == Status::Fail) ops.insert(c.op);
    return ops;
}

std::string failures(const SuiteResult& r) {
    std::string out;
    for (const CaseOutcome& c : r.cases)
        if (c.result.status == Status::Fail) out += c.op + " " + c.dtype + ": " + c.name + ": " + c.result.detail + "\n";
    for (const ModelCheck& m : r.models)
        if (m.status == Status::Fail) out += "model " + m.name + ": " + m.detail + "\n";
    return out;
}

// The broken-backend runs skip the large cases: they only need to see the op fail.
SuiteOptions quick(std::vector<std::string> ops = {}) {
    SuiteOptions o;
    o.ops = std::move(ops);
    o.quick = true;
    return o;
}

SuiteResult run_on(const sl_backend& target, SuiteOptions options = {}) {
    Device reference(reference_backend(), 0, 2);
    Device device(target, 0, 2);
    return run_suite(reference, device, options);
}

TEST(Conformance, EveryOpHasCasesOfEveryDtypeItTakes) {
    std::set<std::string> ops;
    for (const OpCases& o : all_op_cases()) {
        const std::vector<Case> cases = o.generate();
        EXPECT_GE(cases.size(), 10u) << o.op;
        ops.insert(std::string(o.op));
        std::set<std::string> dtypes;
        for (const Case& c : cases) {
            EXPECT_EQ(c.op, o.op);
            EXPECT_EQ(c.tolerance, op_tolerance(o.code));
            dtypes.insert(c.dtype);
        }
        if (o.code == SL_OP_MUL_MAT || o.code == SL_OP_GET_ROWS) {
            EXPECT_EQ(dtypes, (std::set<std::string>{"f32", "f16", "bf16", "q8_0", "q4_0", "q4_k", "q5_k", "q6_k"}))
                << o.op;
        }
        if (o.code == SL_OP_ATTENTION) {
            EXPECT_EQ(dtypes, (std::set<std::string>{"f32", "f16"}));
        }
        if (o.code == SL_OP_COPY) {
            EXPECT_EQ(dtypes, (std::set<std::string>{"f32", "f16", "bf16"}));
        }
    }
    EXPECT_EQ(ops.size(), static_cast<size_t>(SL_OP_COUNT - 1));  // every standard op but NONE
    size_t large = 0;
    for (const Case& c : mul_mat_cases()) large += c.large;
    EXPECT_EQ(large, 8u);  // the 4096 x 256 by 64 case, once per weight type
}

TEST(Conformance, ReferencePassesAgainstItself) {
    SuiteOptions options;
    for (const char* m : {"models/stories260K.gguf"}) options.models.push_back(test::source_dir() / m);
    options.models.push_back(test::shared("models/llama-tiny-random.gguf"));
    options.models.push_back(test::shared("models/qwen2-tiny-random.gguf"));
    const auto start = std::chrono::steady_clock::now();
    const SuiteResult r = run_on(reference_backend(), options);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_TRUE(r.passed()) << failures(r);
    EXPECT_GT(r.cases.size(), 300u);
    for (const CaseOutcome& c : r.cases) {
        EXPECT_EQ(c.result.status, Status::Pass) << c.op << ": " << c.name << ": " << c.result.detail;
        EXPECT_EQ(c.result.nmse, 0.0) << c.op << ": " << c.name;  // the same code gives the same bits
    }
    ASSERT_EQ(r.models.size(), 3u);
    EXPECT_FALSE(r.models[0].skipped) << r.models[0].detail;
    for (const ModelCheck& m : r.models) {
        if (!m.skipped) {
            EXPECT_EQ(m.positions, 8 + 2) << m.name;
        }
    }
    EXPECT_EQ(r.abi_version, SL_BACKEND_ABI_VERSION);
    RecordProperty("seconds", std::to_string(seconds));
    const std::string table = format_table(r, false);
    EXPECT_NE(table.find("result: PASS"), std::string::npos) << table;
    EXPECT_EQ(table.find("FAIL"), std::string::npos) << table;
}

TEST(Conformance, AbsentModelIsSkippedNotFailed) {
    SuiteOptions options;
    options.ops = {"silu"};
    options.models = {"/nonexistent/model.gguf"};
    const SuiteResult r = run_on(reference_backend(), options);
    ASSERT_EQ(r.models.size(), 1u);
    EXPECT_TRUE(r.models[0].skipped);
    EXPECT_TRUE(r.passed());
    EXPECT_NE(format_table(r, false).find("skipped"), std::string::npos);
}

TEST(Conformance, UnknownOpIsAnError) {
    SuiteOptions options;
    options.ops = {"softmax"};
    EXPECT_THROW(run_on(reference_backend(), options), Error);
}

struct BrokenCase {
    Breakage breakage;
    const char* op;
    const char* expected_detail;  // a piece of the first failure's message
};

void PrintTo(const BrokenCase& c, std::ostream* os) { *os << "broken " << c.op; }

class BrokenBackend : public ::testing::TestWithParam<BrokenCase> {};

TEST_P(BrokenBackend, FailsOnlyTheBrokenOp) {
    const BrokenCase& p = GetParam();
    const SuiteResult r = run_on(broken_backend(p.breakage), quick());
    EXPECT_FALSE(r.passed());
    EXPECT_EQ(failing_ops(r), std::set<std::string>{p.op}) << failures(r);
    bool found = false;
    for (const CaseOutcome& c : r.cases)
        if (c.result.status == Status::Fail && c.result.detail.find(p.expected_detail) != std::string::npos) found = true;
    EXPECT_TRUE(found) << "no failure mentions '" << p.expected_detail << "':\n" << failures(r);
    // The matrix names the op as failing, and only that op.
    for (const MatrixCell& cell : support_matrix(r))
        EXPECT_EQ(cell.status() == Status::Fail, cell.op == p.op) << cell.op << " " << cell.dtype << ": " << cell.text();
    const std::string table = format_table(r, false);
    EXPECT_NE(table.find("result: FAIL"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(
    Conformance, BrokenBackend,
    ::testing::Values(BrokenCase{Breakage::MulMatDropsLastK, "mul_mat", "exceeds the tolerance"},
                      BrokenCase{Breakage::RopeSwappedPairing, "rope", "exceeds the tolerance"},
                      BrokenCase{Breakage::AttentionIgnoresMask, "attention", "exceeds the tolerance"},
                      BrokenCase{Breakage::SiluWritesPastEnd, "silu", "wrote past the end"},
                      BrokenCase{Breakage::NanInRmsNorm, "rms_norm", "is nan where the reference gives the finite"}),
    [](const ::testing::TestParamInfo<BrokenCase>& info) { return std::string(info.param.op); });

TEST(Conformance, BrokenMulMatFailsEveryWeightType) {
    const SuiteResult r = run_on(broken_backend(Breakage::MulMatDropsLastK), quick({"mul_mat"}));
    std::set<std::string> dtypes;
    for (const CaseOutcome& c : r.cases)
        if (c.result.status == Status::Fail) dtypes.insert(c.dtype);
    EXPECT_EQ(dtypes, (std::set<std::string>{"f32", "f16", "bf16", "q8_0", "q4_0", "q4_k", "q5_k", "q6_k"}));
}

TEST(Conformance, ModelCheckCatchesMissingCausalMask) {
    SuiteOptions options = quick({"silu"});
    options.models = {test::source_dir() / "models/stories260K.gguf"};
    const SuiteResult r = run_on(broken_backend(Breakage::AttentionIgnoresMask), options);
    ASSERT_EQ(r.models.size(), 1u);
    EXPECT_EQ(r.models[0].status, Status::Fail) << r.models[0].detail;
    EXPECT_FALSE(r.passed());
}

TEST(Conformance, UnsupportedIsReportedNotFailed) {
    const SuiteResult r = run_on(broken_backend(Breakage::NoF16Attention), quick({"attention", "rope"}));
    EXPECT_TRUE(r.passed()) << failures(r);
    for (const MatrixCell& cell : support_matrix(r)) {
        if (cell.op == "attention" && cell.dtype == "f16") {
            EXPECT_EQ(cell.status(), Status::Unsupported);
            EXPECT_EQ(cell.text(), "unsupported");
        } else {
            EXPECT_EQ(cell.status(), Status::Pass) << cell.op << " " << cell.dtype;
        }
    }
    const std::string table = format_table(r, false);
    EXPECT_NE(table.find("unsupported"), std::string::npos) << table;
    EXPECT_NE(table.find("result: PASS"), std::string::npos) << table;
}

TEST(Conformance, WrongAbiVersionIsRefused) {
    sl_backend future = reference_backend();
    future.abi_version = SL_BACKEND_ABI_VERSION + 1;
    EXPECT_THROW(Device(future, 0, 1), Error);
}

TEST(Conformance, CompareValues) {
    const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
    EXPECT_EQ(compare_values({1, 2, 3}, {1, 2, 3}, 1e-7).status, Status::Pass);
    EXPECT_EQ(compare_values({1, 2, 3}, {1, 2, 3.01f}, 1e-7).status, Status::Fail);
    EXPECT_EQ(compare_values({1, 2, 3}, {1, 2, 3.01f}, 1e-4).status, Status::Pass);
    EXPECT_EQ(compare_values({1, 2, 3}, {1, nan, 3}, 1.0).status, Status::Fail);
    EXPECT_EQ(compare_values({1, 2, 3}, {1, inf, 3}, 1.0).status, Status::Fail);
    EXPECT_EQ(compare_values({1, inf, 3}, {1, inf, 3}, 1e-7).status, Status::Pass);
    EXPECT_EQ(compare_values({1, inf, 3}, {1, 65504, 3}, 1e-7).status, Status::Fail);
    EXPECT_EQ(compare_values({0, 0}, {0, 0}, 1e-7).status, Status::Pass);
    EXPECT_EQ(compare_values({0, 0}, {0, 1e-3f}, 1e-7).status, Status::Fail);  // all-zero reference: absolute
    const CaseResult r = compare_values({3, 4}, {3, 5}, 1.0);
    EXPECT_DOUBLE_EQ(r.nmse, 1.0 / 25.0);
    EXPECT_DOUBLE_EQ(r.max_abs, 1.0);
}

}  // namespace
}  // namespace suanli::conformance
