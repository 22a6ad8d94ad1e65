#include "core/graph_diff.h"

#include <algorithm>
#include <cstring>

namespace suanli {

void mark_unchanged(std::span<const sl_tensor> now, std::span<const sl_tensor> before, std::vector<uint8_t>& same) {
    same.assign(now.size(), 0);
    const size_t known = std::min(now.size(), before.size());
    for (size_t i = 0; i < known; ++i) {
        const sl_tensor& t = now[i];
        bool unchanged = std::memcmp(&t, &before[i], sizeof t) == 0;
        if (unchanged && t.op != SL_OP_NONE)
            for (const int32_t s : t.src)
                unchanged = unchanged && (s == -1 || (s >= 0 && static_cast<size_t>(s) < i && same[static_cast<size_t>(s)]));
        same[i] = unchanged;
    }
}

}  // namespace suanli
