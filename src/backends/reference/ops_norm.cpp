// RMS_NORM over each row, computed as ggml does: squares in float, their sum
// in double, then y = x * (1 / sqrtf(mean + eps)) in float.
#include <cmath>

#include "backends/reference/ops.h"

namespace suanli::reference {

void run_rms_norm(const Node& n, int) {
    const sl_tensor& x = n.in(0);
    const float eps = n.param_f32(0);
    std::vector<float> row(static_cast<size_t>(x.ne[0]));
    for (int64_t i3 = 0; i3 < x.ne[3]; ++i3)
        for (int64_t i2 = 0; i2 < x.ne[2]; ++i2)
            for (int64_t i1 = 0; i1 < x.ne[1]; ++i1) {
                load_row(x, i1, i2, i3, row.data());
                double sum = 0.0;
                for (float v : row) sum += static_cast<double>(v * v);
                const float mean = static_cast<float>(sum / static_cast<double>(x.ne[0]));
                const float scale = 1.0f / std::sqrt(mean + eps);
                for (float& v : row) v *= scale;
                store_row(n.out, i1, i2, i3, row.data());
            }
}

}  // namespace suanli::reference
