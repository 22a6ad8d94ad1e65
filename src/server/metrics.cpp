#include "server/metrics.h"

#include "core/error.h"

namespace suanli {

void Metrics::Histogram::add(double seconds) {
    size_t i = 0;
    while (i < kBounds.size() && seconds > kBounds[i]) ++i;
    ++counts[i];
    sum += seconds;
}

void Metrics::Histogram::render(std::string& out, std::string_view name, std::string_view help) const {
    out += cat("# HELP ", name, " ", help, "\n# TYPE ", name, " histogram\n");
    uint64_t cumulative = 0;
    for (size_t i = 0; i < kBounds.size(); ++i) {
        cumulative += counts[i];
        out += cat(name, "_bucket{le=\"", kBounds[i], "\"} ", cumulative, "\n");
    }
    cumulative += counts.back();
    out += cat(name, "_bucket{le=\"+Inf\"} ", cumulative, "\n", name, "_sum ", sum, "\n", name, "_count ", cumulative, "\n");
}

void Metrics::request_done(std::string_view endpoint, int status) {
    std::lock_guard lock(mutex_);
    ++requests_[{std::string(endpoint), status}];
}

void Metrics::tokens(int64_t prompt, int64_t cached, int64_t generated) {
    std::lock_guard lock(mutex_);
    prompt_tokens_ += prompt;
    cached_tokens_ += cached;
    generated_tokens_ += generated;
}

void Metrics::time_to_first_token(double s) {
    std::lock_guard lock(mutex_);
    ttft_.add(s);
}

void Metrics::inter_token_latency(double s) {
    std::lock_guard lock(mutex_);
    itl_.add(s);
}

void Metrics::request_duration(double s) {
    std::lock_guard lock(mutex_);
    duration_.add(s);
}

std::string Metrics::render(const EngineStats& e) const {
    std::lock_guard lock(mutex_);
    std::string out;
    auto metric = [&](std::string_view name, std::string_view type, std::string_view help, auto value) {
        out += cat("# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n", name, " ", value, "\n");
    };
    out += "# HELP suanli_requests_total HTTP requests answered, by endpoint and status.\n"
           "# TYPE suanli_requests_total counter\n";
    for (const auto& [key, n] : requests_)
        out += cat("suanli_requests_total{endpoint=\"", key.first, "\",status=\"", key.second, "\"} ", n, "\n");
    metric("suanli_prompt_tokens_total", "counter", "Prompt tokens of finished requests.", prompt_tokens_);
    metric("suanli_prompt_tokens_cached_total", "counter", "Prompt tokens served from the prefix cache.", cached_tokens_);
    metric("suanli_generated_tokens_total", "counter", "Tokens generated.", generated_tokens_);
    metric("suanli_queue_depth", "gauge", "Requests waiting for a place in the batch.", e.queued);
    metric("suanli_running_requests", "gauge", "Requests in the running batch.", e.running);
    metric("suanli_batch_tokens", "gauge", "Tokens evaluated in the last step.", e.last_batch_tokens);
    metric("suanli_kv_blocks_total", "gauge", "KV cache blocks.", e.kv_blocks);
    metric("suanli_kv_blocks_used", "gauge", "KV cache blocks held by requests.", e.kv_blocks_used);
    metric("suanli_kv_blocks_free", "gauge", "KV cache blocks free (including cached prefixes).", e.kv_blocks - e.kv_blocks_used);
    metric("suanli_kv_blocks_cached", "gauge", "Free KV cache blocks that hold a reusable prompt prefix.", e.kv_blocks_cached);
    metric("suanli_kv_cache_bytes", "gauge", "Memory of the KV cache.", e.kv_bytes);
    ttft_.render(out, "suanli_time_to_first_token_seconds", "From request arrival to its first generated token.");
    itl_.render(out, "suanli_inter_token_latency_seconds", "Between consecutive generated tokens of a request.");
    duration_.render(out, "suanli_request_duration_seconds", "From request arrival to its last token.");
    return out;
}

}  // namespace suanli
