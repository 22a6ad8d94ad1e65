// ROPE: rotary position embedding, modes ADJACENT (GPT-J / llama) and HALVES (NeoX).
//
// The angles are computed as ggml computes them, so that we stay close to
// llama.cpp: theta_0 = pos, theta_{i+1} = theta_i * base^(-2/n_rot) in float
// (the iterated product rather than one pow per pair), angle_i = freq_scale * theta_i,
// then cosf/sinf.
#include <cmath>

#include "backends/reference/ops.h"

namespace suanli::reference {

void run_rope(const Node& n, int) {
    const sl_tensor& x = n.in(0);
    const sl_tensor& pos = n.in(1);
    const int64_t n_rot = n.param_i32(0);
    const int32_t mode = n.param_i32(1);
    const float freq_base = n.param_f32(2);
    const float freq_scale = n.param_f32(3);
    const int64_t half = n_rot / 2;
    const float theta_scale = n_rot > 0 ? std::pow(freq_base, -2.0f / static_cast<float>(n_rot)) : 1.0f;

    std::vector<float> cos_t(static_cast<size_t>(half)), sin_t(static_cast<size_t>(half));
    std::vector<float> row(static_cast<size_t>(x.ne[0]));
    for (int64_t t = 0; t < x.ne[2]; ++t) {
        float theta = static_cast<float>(load_i32(pos, t, 0, 0, 0));
        for (int64_t i = 0; i < half; ++i) {
            const float angle = freq_scale * theta;
            cos_t[i] = std::cos(angle);
            sin_t[i] = std::sin(angle);
            theta *= theta_scale;
        }
        for (int64_t h = 0; h < x.ne[1]; ++h) {
            load_row(x, h, t, 0, row.data());
            for (int64_t i = 0; i < half; ++i) {
                // The pair (a, b) that pair i rotates; elements from n_rot on stay as they are.
                const int64_t ia = mode == SL_ROPE_ADJACENT ? 2 * i : i;
                const int64_t ib = mode == SL_ROPE_ADJACENT ? 2 * i + 1 : i + half;
                const float a = row[ia], b = row[ib];
                row[ia] = a * cos_t[i] - b * sin_t[i];
                row[ib] = a * sin_t[i] + b * cos_t[i];
            }
            store_row(n.out, h, t, 0, row.data());
        }
    }
}

}  // namespace suanli::reference
