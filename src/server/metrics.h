// The server's counters and latency histograms, rendered in Prometheus' text
// format for GET /metrics. Thread-safe: the HTTP loop and the engine thread both record.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "engine/engine.h"

namespace suanli {

class Metrics {
public:
    void request_done(std::string_view endpoint, int status);
    void tokens(int64_t prompt, int64_t cached, int64_t generated);
    void time_to_first_token(double seconds);
    void inter_token_latency(double seconds);
    void request_duration(double seconds);

    // Everything, with the engine's gauges (queue, batch, KV blocks) as of now.
    std::string render(const EngineStats& engine) const;

private:
    // Cumulative buckets with fixed bounds, in seconds.
    struct Histogram {
        static constexpr std::array<double, 14> kBounds{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                                        1, 2, 4, 8, 16, 32, 64};
        std::array<uint64_t, kBounds.size() + 1> counts{};  // the last: above every bound
        double sum = 0;
        void add(double seconds);
        void render(std::string& out, std::string_view name, std::string_view help) const;
    };

    mutable std::mutex mutex_;
    std::map<std::pair<std::string, int>, uint64_t> requests_;
    int64_t prompt_tokens_ = 0, cached_tokens_ = 0, generated_tokens_ = 0;
    Histogram ttft_, itl_, duration_;
};

}  // namespace suanli
