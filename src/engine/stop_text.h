// Streams generated text while watching for stop sequences: text that could be
// the start of a stop sequence is held back until it is clear that it is not,
// so a client never sees part of a stop sequence.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace suanli {

class StopText {
public:
    explicit StopText(std::vector<std::string> stops);

    // Adds a token's bytes; returns the text that is now safe to show. After a stop
    // sequence completes, returns the text before it, and stopped() is true.
    std::string push(std::string_view piece);
    // The held-back rest at the end of generation (nothing once stopped).
    std::string finish();
    bool stopped() const { return stopped_; }

private:
    std::vector<std::string> stops_;
    Utf8Stream utf8_;
    std::string held_;
    bool stopped_ = false;
};

}  // namespace suanli
