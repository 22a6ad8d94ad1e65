// GET_ROWS: gather rows of a table (e.g. the token embeddings), dequantized to F32.
#include "backends/reference/ops.h"

namespace suanli::reference {

void run_get_rows(const Node& n, int) {
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
