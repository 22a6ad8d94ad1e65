// The probe graphs of `suanli backends`: valid, runnable graphs whose every
// tensor lies in the probe's buffer, and supports_op answers that agree with
// what graph_compute then does, on the reference backend and the example plugin.
#include <gtest/gtest.h>

#include <vector>

#include "backends/op_probe.h"
#include "backends/plugin.h"
#include "backends/registry.h"
#include "core/device.h"
#include "core/error.h"

namespace suanli {
namespace {

const sl_backend& example() { return load_backend_plugin(EXAMPLE_PLUGIN); }

TEST(OpProbe, EveryStandardOpHasVariantsAndEveryTensorLiesInTheBuffer) {
    for (int op = SL_OP_NONE + 1; op < SL_OP_COUNT; ++op) {
        const auto variants = op_probe_variants(static_cast<sl_op>(op));
        ASSERT_FALSE(variants.empty()) << op;
        for (const OpProbeVariant& v : variants) {
            const uint64_t base = 1 << 20;
            const OpProbe p = build_op_probe(v, base);
            EXPECT_EQ(p.graph[p.node].op, op);
            EXPECT_EQ(p.node.index, p.graph.size() - 1);
            for (const sl_tensor& t : p.graph.tensors()) {
                EXPECT_GE(t.addr, base) << op_probe_name(v.op) << " " << v.label;
                EXPECT_LE(t.addr + tensor_bytes(t), base + p.bytes) << op_probe_name(v.op) << " " << v.label;
            }
        }
    }
}

// Runs every probe whose answer is `yes` on zeroed memory: supported means it runs.
void expect_answers_hold(const sl_backend& backend) {
    Device device(backend, 0, 1);
    for (int op = SL_OP_NONE + 1; op < SL_OP_COUNT; ++op)
        for (const OpProbeVariant& v : op_probe_variants(static_cast<sl_op>(op))) {
            SCOPED_TRACE(std::string(op_probe_name(v.op)) + " " + v.label);
            const uint64_t bytes = build_op_probe(v).bytes;
            Buffer buffer = device.allocate(bytes);
            buffer.write(0, std::vector<std::byte>(bytes));
            const OpProbe p = build_op_probe(v, buffer.base());
            const sl_graph g = p.graph.as_c();
            const bool supported = device.supports(p.graph, p.node.index);
            const sl_status s = backend.graph_compute(nullptr, &g);  // a NULL device is refused, not a crash
            EXPECT_EQ(s, SL_ERR_INVALID_ARGUMENT);
            if (supported) {
                EXPECT_NO_THROW(device.compute(p.graph));
            } else {
                EXPECT_THROW(device.compute(p.graph), Error);
            }
        }
}

TEST(OpProbe, BuiltInBackendsAnswersHold) {
    for (const sl_backend* b : builtin_backends()) {
        SCOPED_TRACE(b->name);
        expect_answers_hold(*b);
    }
}
TEST(OpProbe, ExampleAnswersHold) { expect_answers_hold(example()); }

TEST(OpProbe, ExampleCoverage) {
    Device device(example(), 0, 1);
    const std::vector<OpCoverage> coverage = probe_op_coverage(device);
    ASSERT_EQ(coverage.size(), static_cast<size_t>(SL_OP_COUNT - 1));
    for (const OpCoverage& c : coverage) {
        SCOPED_TRACE(std::string(op_probe_name(c.op)));
        if (c.op == SL_OP_MUL_MAT || c.op == SL_OP_GET_ROWS) {
            EXPECT_EQ(c.supported, (std::vector<std::string>{"F32", "F16", "BF16", "Q8_0", "Q4_0"}));
            EXPECT_EQ(c.unsupported, (std::vector<std::string>{"Q4_K", "Q5_K", "Q6_K"}));
        } else {
            EXPECT_TRUE(c.unsupported.empty());
        }
    }
}

}  // namespace
}  // namespace suanli
