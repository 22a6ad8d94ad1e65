#include "models/batch_layout.h"

#include <algorithm>
#include <limits>
#include <numeric>

#include "core/error.h"

namespace suanli {

bool SequenceSlice::contiguous() const {
    for (size_t i = 1; i < cells.size(); ++i)
        if (cells[i] != cells[i - 1] + 1) return false;
    return true;
}

BatchLayout BatchLayout::single(int64_t n_past, int64_t n_tokens, bool all_logits) {
    BatchLayout b;
    b.n_tokens = n_tokens;
    SequenceSlice& s = b.sequences.emplace_back();
    s.n_tokens = n_tokens;
    s.cells.resize(static_cast<size_t>(n_past + n_tokens));
    std::iota(s.cells.begin(), s.cells.end(), 0);
    if (all_logits) {
        b.outputs.resize(static_cast<size_t>(n_tokens));
        std::iota(b.outputs.begin(), b.outputs.end(), 0);
    } else {
        b.outputs.push_back(static_cast<int32_t>(n_tokens - 1));
    }
    return b;
}

void BatchLayout::validate(int64_t n_cells) const {
    if (n_tokens <= 0) fail("batch: no tokens");
    int64_t next = 0;
    for (const SequenceSlice& s : sequences) {
        if (s.first_token != next || s.n_tokens <= 0 || s.n_past() < 0)
            fail("batch: sequence slices must tile the batch (slice at ", s.first_token, " of ", s.n_tokens, ")");
        for (int32_t c : s.cells)
            if (c < 0 || c >= n_cells) fail("batch: KV cell ", c, " is outside the cache (", n_cells, " cells)");
        next += s.n_tokens;
    }
    if (next != n_tokens) fail("batch: slices cover ", next, " of ", n_tokens, " tokens");
    for (size_t i = 0; i < outputs.size(); ++i)
        if (outputs[i] < 0 || outputs[i] >= n_tokens || (i > 0 && outputs[i] <= outputs[i - 1]))
            fail("batch: output columns must be ascending batch columns");
}

BatchInputs make_batch_inputs(const BatchLayout& layout) {
    BatchInputs in;
    in.positions.reserve(static_cast<size_t>(layout.n_tokens));
    for (const SequenceSlice& s : layout.sequences) {
        const int64_t S = static_cast<int64_t>(s.cells.size()), past = s.n_past();
        for (int64_t i = 0; i < s.n_tokens; ++i) {
            in.positions.push_back(static_cast<int32_t>(past + i));
            in.lengths.push_back(static_cast<int32_t>(S));
        }
        // Causal: new token i (at position past + i) sees positions 0..past + i.
        const size_t at = in.mask.size();
        in.mask.resize(at + static_cast<size_t>(S * s.n_tokens), -std::numeric_limits<float>::infinity());
        for (int64_t i = 0; i < s.n_tokens; ++i) std::fill_n(in.mask.begin() + at + i * S, past + i + 1, 0.0f);
        if (!s.contiguous()) in.kv_ids.insert(in.kv_ids.end(), s.cells.begin(), s.cells.end());
    }
    in.outputs = layout.outputs;
    return in;
}

}  // namespace suanli
