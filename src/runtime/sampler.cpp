// The sampling chain, in llama.cpp's order: repetition penalty -> top-k -> top-p -> min-p
// -> temperature -> softmax -> draw. Top-p and min-p see the temperature-1 distribution.
//
// Cost for a 150k vocabulary: O(n) passes, plus O(k log k) for top-k (nth_element, then a
// sort of the k kept) and an O(n) expected quickselect on probability mass for top-p without
// top-k; nothing sorts the whole vocabulary.
//
// Reproducibility: the RNG is std::mt19937_64, whose raw output the standard fixes; the
// uniform double, the partition and the cumulative scan are ours, and every sort is under a
// total order (logit desc, then id asc), so a seed gives the same tokens with any standard
// library. The scan never runs over the unspecified order nth_element leaves behind it.
#include "runtime/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"

namespace suanli {
namespace {

using Candidate = std::pair<float, int32_t>;  // (logit, token id)

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// Higher logit first; among equal logits the lower id, so every order we use is total.
struct Better {
    bool operator()(const Candidate& a, const Candidate& b) const {
        return a.first > b.first || (a.first == b.first && a.second < b.second);
    }
};
constexpr Better better;

// Uniform double in [0, 1) from the top 53 bits of one raw 64-bit draw.
double uniform01(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

// Unnormalised temperature-1 probability; the best candidate has weight 1.
float weight(const Candidate& c, float max_logit) { return std::exp(c.first - max_logit); }

double mass(std::span<const Candidate> c, float max_logit) {
    double sum = 0.0;
    for (const Candidate& x : c) sum += weight(x, max_logit);
    return sum;
}

// Makes c[0, k) the k best of c[0, n), in order.
void sort_best(std::vector<Candidate>& c, size_t n, size_t k) {
    auto first = c.begin(), nth = c.begin() + ptrdiff_t(k), last = c.begin() + ptrdiff_t(n);
    if (nth < last) std::nth_element(first, nth, last, better);
    std::sort(first, nth, better);
}

// Top-p: returns m such that c[0, m) is the smallest set of best candidates of c[0, n) whose
// mass reaches `target`, rearranging c[0, n). Sorted input: one scan. Otherwise a quickselect
// on mass: partition around a pivot; if the better side alone reaches what is still needed,
// the answer lies inside it, else it is all kept and the search goes on in the rest.
size_t keep_top_p(std::vector<Candidate>& c, size_t n, bool sorted, float max_logit,
                  double target) {
    size_t lo = 0, hi = n;  // c[0, lo) is kept for sure; the boundary lies in c[lo, hi)
    double kept = 0.0;      // mass of c[0, lo)
    while (!sorted && hi - lo > 32) {
        // Median of three by rank: never the worst of the range, so the range shrinks.
        Candidate a = c[lo], b = c[lo + (hi - lo) / 2], z = c[hi - 1];
        if (better(b, a)) std::swap(a, b);
        if (better(z, b)) b = better(z, a) ? a : z;
        const Candidate pivot = b;
        size_t i = lo, j = hi;  // c[lo, i) rank at or above the pivot, c[j, hi) below it
        while (true) {
            while (i < j && !better(pivot, c[i])) ++i;
            while (i < j && better(pivot, c[j - 1])) --j;
            if (i >= j) break;
            std::swap(c[i++], c[--j]);
        }
        double upper = mass(std::span(c).subspan(lo, i - lo), max_logit);
        if (kept + upper >= target) {
            hi = i;
        } else {
            kept += upper;
            lo = i;
        }
    }
    if (!sorted) std::sort(c.begin() + ptrdiff_t(lo), c.begin() + ptrdiff_t(hi), better);
    for (size_t i = lo; i < hi; ++i) {
        kept += weight(c[i], max_logit);
        if (kept >= target) return i + 1;
    }
    return std::max<size_t>(hi, 1);  // rounding: the whole range is needed
}

}  // namespace

Sampler::Sampler(const SamplerParams& params, int32_t n_vocab)
    : params_(params), n_vocab_(n_vocab), rng_(params.seed) {
    if (n_vocab <= 0) fail("sampler: vocabulary size must be positive, got ", n_vocab);
    if (!(params.repeat_penalty > 0.0f) || !std::isfinite(params.repeat_penalty))
        fail("sampler: repeat penalty must be a positive number, got ",
             static_cast<double>(params.repeat_penalty));
    if (std::isnan(params.temperature) || std::isnan(params.top_p) || std::isnan(params.min_p))
        fail("sampler: temperature, top-p and min-p must be numbers");
    if (!std::isfinite(params.presence_penalty) || !std::isfinite(params.frequency_penalty))
        fail("sampler: presence and frequency penalties must be finite numbers");
    candidates_.reserve(static_cast<size_t>(n_vocab));
}

void Sampler::accept(int32_t token) {
    if (token < 0 || token >= n_vocab_)
        fail("sampler: token ", token, " is outside the vocabulary of ", n_vocab_);
    if (params_.repeat_last_n == 0) return;
    recent_.push_back(token);
    if (params_.repeat_last_n > 0)
        while (recent_.size() > static_cast<size_t>(params_.repeat_last_n)) recent_.pop_front();
}

void Sampler::reset() {
    recent_.clear();
    rng_.seed(params_.seed);
}

void Sampler::apply_repetition_penalty() {
    const float penalty = params_.repeat_penalty, presence = params_.presence_penalty,
                frequency = params_.frequency_penalty;
    if ((penalty == 1.0f && presence == 0.0f && frequency == 0.0f) || recent_.empty()) return;
    // The repetition penalty and the presence penalty hit each distinct token in the
    // window once; the frequency penalty once per occurrence.
    window_.assign(recent_.begin(), recent_.end());
    std::sort(window_.begin(), window_.end());
    for (size_t i = 0; i < window_.size();) {
        size_t j = i;
        while (j < window_.size() && window_[j] == window_[i]) ++j;
        float& logit = candidates_[static_cast<size_t>(window_[i])].first;
        logit = logit > 0.0f ? logit / penalty : logit * penalty;
        logit -= presence + frequency * static_cast<float>(j - i);
        i = j;
    }
}

int32_t Sampler::sample(std::span<const float> logits) {
    if (logits.size() != static_cast<size_t>(n_vocab_))
        fail("sampler: got ", logits.size(), " logits for a vocabulary of ", n_vocab_);

    candidates_.resize(logits.size());
    for (size_t i = 0; i < logits.size(); ++i)
        candidates_[i] = {logits[i], static_cast<int32_t>(i)};
    apply_repetition_penalty();
    // NaN is "never pick"; +inf becomes the largest float so that differences stay finite.
    float max_logit = kNegInf;
    int32_t best_id = 0;
    for (Candidate& c : candidates_) {
        if (std::isnan(c.first)) c.first = kNegInf;
        c.first = std::min(c.first, std::numeric_limits<float>::max());
        if (c.first > max_logit) {  // strict: the lowest id wins ties
            max_logit = c.first;
            best_id = c.second;
        }
    }
    if (params_.temperature <= 0.0f) return best_id;

    const double draw = uniform01(rng_);    // exactly one draw per non-greedy sample
    if (max_logit == kNegInf) return best_id;  // nothing is possible: the lowest id

    size_t n = candidates_.size();
    bool sorted = false;  // candidates_[0, n) in rank order (else in id order or our own)
    if (params_.top_k > 0 && static_cast<size_t>(params_.top_k) < n) {
        n = static_cast<size_t>(params_.top_k);
        sort_best(candidates_, candidates_.size(), n);
        sorted = true;
    }
    if (params_.top_p < 1.0f) {
        double total = mass(std::span(candidates_).first(n), max_logit);
        n = keep_top_p(candidates_, n, sorted, max_logit, double(params_.top_p) * total);
    }
    // Min-p: p < min_p * p_max  <=>  logit < max_logit + log(min_p). Keeps the order.
    if (params_.min_p > 0.0f) {
        const double threshold = double(max_logit) + std::log(double(params_.min_p));
        auto end = std::remove_if(candidates_.begin(), candidates_.begin() + ptrdiff_t(n),
                                  [&](const Candidate& c) { return double(c.first) < threshold; });
        n = static_cast<size_t>(end - candidates_.begin());
        if (n == 0) {  // min_p > 1 drops even the best; keep it
            candidates_[0] = {max_logit, best_id};
            n = 1;
        }
    }

    // Temperature, softmax and the draw; the best has weight 1, so total >= 1.
    const float inv_temp = 1.0f / params_.temperature;
    weights_.resize(n);
    double total = 0.0;
    for (size_t i = 0; i < n; ++i) {
        float d = candidates_[i].first - max_logit;
        weights_[i] = d == kNegInf ? 0.0f : std::exp(d * inv_temp);  // -inf * 0 would be NaN
        total += weights_[i];
    }
    const double target = draw * total;
    double cum = 0.0;
    int32_t last_possible = best_id;
    for (size_t i = 0; i < n; ++i) {
        if (weights_[i] <= 0.0f) continue;
        cum += weights_[i];
        last_possible = candidates_[i].second;
        if (target < cum) return last_possible;
    }
    return last_possible;  // rounding left target == total
}

}  // namespace suanli
