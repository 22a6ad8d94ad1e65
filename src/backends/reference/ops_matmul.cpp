// MUL_MAT: out[m, n, i, j] = dot(A[:, m, i / (B2/A2), j / (B3/A3)], B[:, n, i, j]).
//
// Each A row is dequantized to float once per output row and dotted (dot() in
// ops.h) with every column of B in float. Output rows are split across the device's threads;
// every element is computed by the same code whichever thread runs it.
#include <cstring>

#include "backends/reference/ops.h"

namespace suanli::reference {
namespace {

// Below this many multiply-adds, starting threads costs more than it saves.
constexpr int64_t kMinWorkForThreads = int64_t{1} << 18;

}  // namespace

void run_mul_mat(const Node& n, int n_threads) {
    const sl_tensor& a = n.in(0);
    const sl_tensor& b = n.in(1);
    const int64_t K = a.ne[0], M = a.ne[1], N = b.ne[1], B2 = b.ne[2], B3 = b.ne[3];
    const int64_t r2 = B2 / a.ne[2], r3 = B3 / a.ne[3];

    // All of B as dense float columns: column (n, i2, i3) starts at ((i3 * B2 + i2) * N + n) * K.
    std::vector<float> bcols(static_cast<size_t>(K * N * B2 * B3));
    for (int64_t i3 = 0; i3 < B3; ++i3)
        for (int64_t i2 = 0; i2 < B2; ++i2)
            for (int64_t c = 0; c < N; ++c) load_row(b, c, i2, i3, &bcols[static_cast<size_t>(((i3 * B2 + i2) * N + c) * K)]);

    auto* out = reinterpret_cast<std::byte*>(n.out.addr);
    // Output row r is (m, i2, i3) with r = (i3 * B2 + i2) * M + m.
    auto rows = [&](int64_t first, int64_t last) {
        std::vector<float> arow(static_cast<size_t>(K));
        for (int64_t r = first; r < last; ++r) {
            const int64_t m = r % M, i2 = (r / M) % B2, i3 = r / (M * B2);
            load_row(a, m, i2 / r2, i3 / r3, arow.data());
            for (int64_t c = 0; c < N; ++c) {
                const float v = dot(arow.data(), &bcols[static_cast<size_t>(((i3 * B2 + i2) * N + c) * K)], K);
                std::memcpy(out + sizeof(float) * static_cast<size_t>(m + M * (c + N * (i2 + B2 * i3))), &v, sizeof v);
            }
        }
    };
    const int64_t total_rows = M * B2 * B3;
    const bool threaded = K * N * total_rows >= kMinWorkForThreads;
    parallel_for(threaded ? n_threads : 1, total_rows, rows);
}

}  // namespace suanli::reference
