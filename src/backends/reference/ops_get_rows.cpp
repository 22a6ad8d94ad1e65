// GET_ROWS: gather rows of a table (e.g. the token embeddings), dequantized to F32.
#include "backends/reference/ops.h"

namespace suanli::reference {

void check_get_rows(const Node& n) {
    const sl_tensor& table = n.in(0);
    const sl_tensor& ids = n.in(1);
    if (!is_weight_type(table))
        unsupported("table has dtype ", dtype_name(dtype_of(table)), "; expected a weight type (F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K)");
    expect_dtype(ids, "src1 (ids)", {SL_DTYPE_I32});
    if (table.ne[2] != 1 || table.ne[3] != 1) invalid("table ", shape_str(table), " must be [E, R]");
    if (ids.ne[3] != 1) invalid("ids ", shape_str(ids), " must be [N, B2, B3]");
    expect_f32_output(n, {table.ne[0], ids.ne[0], ids.ne[1], ids.ne[2]});
}

void run_get_rows(const Node& n) {
    const sl_tensor& table = n.in(0);
    const sl_tensor& ids = n.in(1);
    // Every id is checked before anything is written.
    for (int64_t b3 = 0; b3 < ids.ne[2]; ++b3)
        for (int64_t b2 = 0; b2 < ids.ne[1]; ++b2)
            for (int64_t i = 0; i < ids.ne[0]; ++i) {
                const int32_t id = load_i32(ids, i, b2, b3, 0);
                if (id < 0 || id >= table.ne[1])
                    invalid("ids[", i, ", ", b2, ", ", b3, "] = ", id, " is outside the table's rows [0, ",
                            table.ne[1], ")");
            }
    std::vector<float> row(static_cast<size_t>(table.ne[0]));
    for (int64_t b3 = 0; b3 < ids.ne[2]; ++b3)
        for (int64_t b2 = 0; b2 < ids.ne[1]; ++b2)
            for (int64_t i = 0; i < ids.ne[0]; ++i) {
                load_row(table, load_i32(ids, i, b2, b3, 0), 0, 0, row.data());
                store_row(n.out, i, b2, b3, row.data());
            }
}

}  // namespace suanli::reference
