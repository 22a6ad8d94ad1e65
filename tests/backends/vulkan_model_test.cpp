// The bundled model (stories260K) on the vulkan backend gives the cpu
// backend's greedy tokens, and logits close to them. Skipped where no Vulkan
// device exists.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "backends/cpu/cpu_backend.h"
#include "backends/vulkan/vk_backend.h"
#include "core/device.h"
#include "models/model.h"
#include "runtime/session.h"
#include "test_paths.h"
#include "tokenizer/tokenizer.h"

namespace suanli {
namespace {

int32_t argmax(std::span<const float> v) {
    return static_cast<int32_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

// The `n` greedy tokens after `prompt`, and the logits each was picked from.
struct GreedyRun {
    std::vector<int32_t> tokens;
    std::vector<std::vector<float>> logits;
};

GreedyRun greedy(const sl_backend& backend, const std::vector<int32_t>& prompt, int n) {
    Device device(backend, 0, 2);
    auto model = Model::load(test::source_dir() / "models" / "stories260K.gguf", device);
    Session session(*model, static_cast<int64_t>(prompt.size()) + n + 8);
    GreedyRun run;
    std::span<const float> logits = session.decode(prompt);
    for (int i = 0; i < n; ++i) {
        run.logits.emplace_back(logits.begin(), logits.end());
        const int32_t token = argmax(logits);
        run.tokens.push_back(token);
        logits = session.decode(std::span(&token, 1));
    }
    return run;
}

TEST(VulkanModel, Stories260KGreedyTokensEqualTheCpuBackends) {
    if (vulkan_backend().device_count() == 0) GTEST_SKIP() << "no Vulkan device on this machine";
    Device cpu_device(cpu_backend(), 0, 1);
    auto model = Model::load(test::source_dir() / "models" / "stories260K.gguf", cpu_device);
    const std::vector<int32_t> prompt = load_tokenizer(*model)->encode("Once upon a time", true, true);
    ASSERT_FALSE(prompt.empty());

    const GreedyRun want = greedy(cpu_backend(), prompt, 32);
    const GreedyRun got = greedy(vulkan_backend(), prompt, 32);
    EXPECT_EQ(got.tokens, want.tokens);
    double max_diff = 0;
    for (size_t s = 0; s < want.logits.size(); ++s)
        for (size_t k = 0; k < want.logits[s].size(); ++k)
            max_diff = std::max<double>(max_diff, std::abs(got.logits[s][k] - want.logits[s][k]));
    EXPECT_LE(max_diff, 1e-3);
}

}  // namespace
}  // namespace suanli
