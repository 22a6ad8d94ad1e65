// Token text -> id lookup: an open-addressing hash table over one blob of all
// token texts, so building it for 50k+ tokens is one pass without a node per
// token, and a lookup by string_view allocates nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace suanli {

class TokenIndex {
public:
    // Indexes tokens[i] -> i. For a text that occurs more than once the last id
    // wins, as in llama.cpp's token_to_id map.
    void build(const std::vector<std::string>& tokens);

    // The id of `text`, or -1.
    int32_t find(std::string_view text) const;

private:
    struct Slot {
        uint32_t hash;
        int32_t id;  // -1: empty
    };
    std::string_view text_of(int32_t id) const {
        return std::string_view(blob_).substr(offsets_[id], offsets_[id + 1] - offsets_[id]);
    }

    std::string blob_;               // all texts, back to back
    std::vector<uint64_t> offsets_;  // text i is blob_[offsets_[i], offsets_[i+1])
    std::vector<Slot> slots_;        // power-of-two size, at most half full
};

}  // namespace suanli
