// Which tokens of which sequences one forward pass evaluates, and where their
// keys and values live in a KV cache shared by all sequences.
//
// The cache is a pool of cells (one token's K and V per layer). A sequence owns
// a list of cells in position order: position p of the sequence is cell
// cells[p]. A batch appends tokens to one or more sequences; each new token's K
// and V go to its cell, and it attends to its own sequence's cells up to its
// position. Each sequence's attention is computed on its cells gathered in
// position order, so a token's result never depends on what else is in the batch.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace suanli {

struct SequenceSlice {
    int64_t first_token = 0;     // batch columns [first_token, first_token + n_tokens)
    int64_t n_tokens = 0;
    std::vector<int32_t> cells;  // the sequence's cells through its last new token; the new tokens are the last n_tokens
    int64_t n_past() const { return static_cast<int64_t>(cells.size()) - n_tokens; }
    // True when the cells are one run n, n+1, ...: attention reads them in place.
    bool contiguous() const;
};

struct BatchLayout {
    int64_t n_tokens = 0;
    std::vector<SequenceSlice> sequences;  // in batch column order, covering every column once
    std::vector<int32_t> outputs;          // batch columns whose logits are wanted, ascending

    // One sequence whose cells are 0..n_past + n_tokens - 1 (a private cache);
    // logits of every token or of the last one.
    static BatchLayout single(int64_t n_past, int64_t n_tokens, bool all_logits);
    // Throws Error unless the slices tile [0, n_tokens), every cell is in
    // [0, n_cells) and the outputs are valid columns.
    void validate(int64_t n_cells) const;
};

// The host-side data a batch's graph inputs need.
struct BatchInputs {
    std::vector<int32_t> positions;   // [n_tokens]
    std::vector<int32_t> lengths;     // [n_tokens]: the length of the token's sequence after this batch
    std::vector<float> mask;          // per sequence, [n_past + n_tokens, n_tokens] row-major, back to back
    std::vector<int32_t> kv_ids;      // per gathered sequence, its cells, back to back
    std::vector<int32_t> outputs;     // the output columns
};
BatchInputs make_batch_inputs(const BatchLayout& layout);

}  // namespace suanli
