// Which tensors of a graph are the same as in the graph before it: byte for byte equal at
// the same index and, for a node, reading only tensors that are the same too. Whatever held
// of such a node then (it passed the standard's checks, say) holds now, so checks look again
// at the others only (host/graph_check_cache.h). Successive decode steps differ in the KV
// views and the nodes that read them: ~190 of TinyLlama's ~980 tensors.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "suanli/backend.h"

namespace suanli {

// same[i] = 1 where now[i] is the same as before[i] as above (before may be shorter or empty).
void mark_unchanged(std::span<const sl_tensor> now, std::span<const sl_tensor> before, std::vector<uint8_t>& same);

}  // namespace suanli
