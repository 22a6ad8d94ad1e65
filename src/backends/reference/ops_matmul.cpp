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

void check_mul_mat(const Node& n) {
    const sl_tensor& a = n.in(0);
    const sl_tensor& b = n.in(1);
    if (!is_weight_type(a))
        unsupported("A has dtype ", dtype_name(dtype_of(a)), "; expected a weight type (F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K)");
    expect_dtype(b, "src1 (B)", {SL_DTYPE_F32});
    if (a.ne[0] != b.ne[0])
        invalid("inner dimensions differ: A ", shape_str(a), " has K = ", a.ne[0], ", B ", shape_str(b),
                " has K = ", b.ne[0]);
    if (b.ne[2] % a.ne[2] != 0 || b.ne[3] % a.ne[3] != 0)
        invalid("B ", shape_str(b), " batch dims are not multiples of A ", shape_str(a));
    if (!dense_rows(a)) invalid("A's rows must be contiguous (nb[0] = ", a.nb[0], ")");
    expect_f32_output(n, {a.ne[1], b.ne[1], b.ne[2], b.ne[3]});
}

void run_mul_mat(const Node& n) {
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
    parallel_for(threaded ? n.n_threads : 1, total_rows, rows);
}

}  // namespace suanli::reference
