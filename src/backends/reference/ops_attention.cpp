// ATTENTION: softmax(scale * q.k + mask) . v with grouped KV heads.
//
// For each (query t, head h): scores over the S keys of KV head g = h / (Hq/Hkv),
// softmax with the maximum subtracted (exp in float, the sum in double, weights
// p_j * (1/sum) as ggml's soft_max computes them), then the weighted sum of v
// rows in float. A key whose mask entry is -inf is skipped entirely (its k and
// v are not read, so they may hold anything, e.g. unwritten KV cache slots),
// as llama.cpp's CPU flash attention does. A query that sees no key gives zeros.
#include <cmath>
#include <limits>

#include "backends/reference/ops.h"

namespace suanli::reference {

void run_attention(const Node& n, int n_threads) {
    const sl_tensor& q = n.in(0);
    const sl_tensor& k = n.in(1);
    const sl_tensor& v = n.in(2);
    const sl_tensor* mask = n.src[3];
    const float scale = n.param_f32(0);
    const int64_t D = q.ne[0], Hq = q.ne[1], T = q.ne[2], Hkv = k.ne[1], S = k.ne[2];
    const int64_t group = Hq / Hkv;
    constexpr float kNegInf = -std::numeric_limits<float>::infinity();

    // k and v as dense float rows: row (g, j) starts at (g * S + j) * D.
    std::vector<float> kf(static_cast<size_t>(Hkv * S * D)), vf(kf.size());
    for (int64_t g = 0; g < Hkv; ++g)
        for (int64_t j = 0; j < S; ++j) {
            load_row(k, g, j, 0, &kf[static_cast<size_t>((g * S + j) * D)]);
            load_row(v, g, j, 0, &vf[static_cast<size_t>((g * S + j) * D)]);
        }

    // Work item i is (head h, query t) with i = t * Hq + h.
    auto items = [&](int64_t first, int64_t last) {
        std::vector<float> qrow(static_cast<size_t>(D)), out(static_cast<size_t>(D));
        std::vector<float> mrow(static_cast<size_t>(S), 0.0f), s(static_cast<size_t>(S));
        for (int64_t i = first; i < last; ++i) {
            const int64_t h = i % Hq, t = i / Hq, g = h / group;
            load_row(q, h, t, 0, qrow.data());
            if (mask) load_row(*mask, t, 0, 0, mrow.data());

            float max = kNegInf;
            for (int64_t j = 0; j < S; ++j) {
                if (mrow[j] == kNegInf) {
                    s[j] = kNegInf;
                    continue;
                }
                s[j] = scale * dot(qrow.data(), &kf[static_cast<size_t>((g * S + j) * D)], D) + mrow[j];
                if (s[j] > max) max = s[j];
            }

            std::fill(out.begin(), out.end(), 0.0f);
            if (max != kNegInf) {
                double sum = 0.0;
                for (int64_t j = 0; j < S; ++j) {
                    s[j] = s[j] == kNegInf ? 0.0f : std::exp(s[j] - max);
                    sum += s[j];
                }
                const float inv_sum = static_cast<float>(1.0 / sum);
                for (int64_t j = 0; j < S; ++j) {
                    if (mrow[j] == kNegInf) continue;
                    const float w = s[j] * inv_sum;
                    const float* vrow = &vf[static_cast<size_t>((g * S + j) * D)];
                    for (int64_t d = 0; d < D; ++d) out[d] += w * vrow[d];
                }
            }
            store_row(n.out, h, t, 0, out.data());
        }
    };
    const bool threaded = Hq * T * S * D >= (int64_t{1} << 16);
    parallel_for(threaded ? n_threads : 1, Hq * T, items);
}

}  // namespace suanli::reference
