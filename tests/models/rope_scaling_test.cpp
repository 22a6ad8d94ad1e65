// The RoPE scaling arithmetic: llama3 factors and dynamic bases against values
// worked out by hand from Hugging Face's formulas.
#include <gtest/gtest.h>

#include <cmath>

#include "models/model_config.h"

namespace suanli {
namespace {

TEST(RopeScaling, Llama3FactorsKeepShortSlowLongAndBlendBetween) {
    // base 1e4, 16 rotated dims, factor 8, low 1, high 4, original context 8192:
    // wavelengths 2*pi*1e4^(i/8); below 2048 kept, above 8192 divided by 8, between blended.
    const std::vector<float> f = llama3_rope_factors(16, 10000.0f, 8.0f, 1.0f, 4.0f, 8192);
    ASSERT_EQ(f.size(), 8u);
    for (int i = 0; i < 6; ++i) EXPECT_EQ(f[i], 1.0f) << i;
    EXPECT_NEAR(f[6], 4.681482597, 1e-5);  // wavelength 6283: smooth = (8192/6283.19 - 1) / 3
    EXPECT_NEAR(f[7], 8.0, 1e-6);          // wavelength 62832
}

TEST(RopeScaling, TablesFollowPositionFactorsAndDynamicBase) {
    ModelConfig c;
    c.n_rot = 4;
    c.rope_freq_base = 100.0f;
    const RopeTables plain = rope_tables(c, {3}, {4});
    ASSERT_EQ(plain.cos.size(), 2u);
    EXPECT_NEAR(plain.cos[0], std::cos(3.0), 1e-6);
    EXPECT_NEAR(plain.sin[1], std::sin(3.0 / 10.0), 1e-6);  // 100^(-2/4) = 0.1
    EXPECT_EQ(plain.neg_sin[1], -plain.sin[1]);

    c.rope_freq_factors = {1.0f, 4.0f};
    EXPECT_NEAR(rope_tables(c, {3}, {4}).sin[1], std::sin(3.0 / 10.0 / 4.0), 1e-6);

    c.rope_freq_factors.clear();
    c.rope_dynamic_factor = 2.0f;
    c.rope_dynamic_ctx = 8;
    EXPECT_EQ(rope_tables(c, {3}, {8}).sin, plain.sin);  // within the context: unchanged
    // Length 16: base 100 * (2 * 16/8 - 1)^(4/2) = 900.
    EXPECT_NEAR(rope_tables(c, {3}, {16}).sin[1], std::sin(3.0 / 30.0), 1e-6);
}

}  // namespace
}  // namespace suanli
