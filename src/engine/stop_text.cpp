#include "engine/stop_text.h"

#include <algorithm>

namespace suanli {

StopText::StopText(std::vector<std::string> stops) : stops_(std::move(stops)) {
    std::erase_if(stops_, [](const std::string& s) { return s.empty(); });
}

std::string StopText::push(std::string_view piece) {
    if (stopped_) return {};
    held_ += utf8_.push(piece);
    size_t cut = std::string::npos;
    for (const std::string& s : stops_) cut = std::min(cut, held_.find(s));
    if (cut != std::string::npos) {
        stopped_ = true;
        std::string out = held_.substr(0, cut);
        held_.clear();
        return out;
    }
    // Keep the longest tail of held_ that some stop sequence begins with.
    size_t keep = 0;
    for (const std::string& s : stops_)
        for (size_t n = std::min(s.size() - 1, held_.size()); n > keep; --n)
            if (std::string_view(held_).substr(held_.size() - n) == std::string_view(s).substr(0, n)) {
                keep = n;
                break;
            }
    std::string out = held_.substr(0, held_.size() - keep);
    held_.erase(0, held_.size() - keep);
    return out;
}

std::string StopText::finish() {
    if (stopped_) return {};
    std::string out = held_ + utf8_.finish();
    held_.clear();
    // The flushed bytes may complete a stop sequence too.
    for (const std::string& s : stops_)
        if (size_t at = out.find(s); at != std::string::npos) {
            out.resize(at);
            stopped_ = true;
        }
    return out;
}

}  // namespace suanli
