// Partial offload: the layers split over two devices give what one device gives.
#include <gtest/gtest.h>

#include "backends/cpu/cpu_backend.h"
#include "backends/reference/reference_backend.h"
#include "core/device.h"
#include "model_test_util.h"
#include "models/model.h"
#include "runtime/session.h"
#include "test_paths.h"

namespace suanli {
namespace {

// Logits of a prompt and a few greedy steps.
std::vector<std::vector<float>> run(const Model& model, int steps) {
    std::unique_ptr<Tokenizer> tok = load_tokenizer(model);
    Session s(model, 64);
    std::vector<int32_t> next = tok->encode("Once upon a time", true, false);
    std::vector<std::vector<float>> out;
    for (int i = 0; i < steps; ++i) {
        const auto logits = s.decode(next);
        out.emplace_back(logits.begin(), logits.end());
        next = {test::argmax(logits)};
    }
    return out;
}

class Offload : public ::testing::TestWithParam<int32_t> {};

TEST_P(Offload, SplitLayersGiveTheSameLogits) {
    const auto path = test::source_dir() / "models/stories260K.gguf";
    Device reference(reference_backend(), 0, 1), cpu(cpu_backend(), 0, 1);
    const auto whole = Model::load(path, reference);
    const auto split = Model::load(path, DevicePlan{&cpu, &reference, GetParam()});

    const int32_t L = static_cast<int32_t>(split->config().n_layer);
    const int32_t on_reference = GetParam() < 0 ? L : std::min(GetParam(), L);
    ASSERT_EQ(split->stages().size(), on_reference == 0 || on_reference == L ? 1u : 2u);
    EXPECT_EQ(&split->layer_device(0), on_reference > 0 ? &reference : &cpu);
    EXPECT_EQ(&split->layer_device(L - 1), on_reference == L ? &reference : &cpu);

    const auto a = run(*whole, 12), b = run(*split, 12);
    for (size_t i = 0; i < a.size(); ++i) {
        EXPECT_EQ(test::argmax(a[i]), test::argmax(b[i])) << "step " << i;
        double diff = 0;
        for (size_t k = 0; k < a[i].size(); ++k) diff = std::max<double>(diff, std::abs(a[i][k] - b[i][k]));
        EXPECT_LT(diff, 1e-3) << "step " << i;
    }
}

INSTANTIATE_TEST_SUITE_P(Layers, Offload, ::testing::Values(0, 1, 3, 99, DevicePlan::kAll));

TEST(OffloadAuto, ADeviceThatReportsNoMemoryTakesEveryLayer) {
    Device reference(reference_backend(), 0, 1), cpu(cpu_backend(), 0, 1);
    const auto m = Model::load(test::source_dir() / "models/stories260K.gguf",
                               DevicePlan{&cpu, &reference, DevicePlan::kAuto, 512});
    ASSERT_EQ(m->stages().size(), 1u);
    EXPECT_EQ(m->stages()[0].device, &reference);
}

}  // namespace
}  // namespace suanli
