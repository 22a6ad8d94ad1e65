#include "runtime/perplexity.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>

#include "core/error.h"
#include "core/fp16.h"
#include "runtime/session.h"

namespace suanli {
namespace {

constexpr char kMagic[8] = {'S', 'L', 'L', 'O', 'G', 'P', '0', '1'};

// log-softmax in double, written into `out`.
void log_softmax(std::span<const float> logits, std::vector<double>& out) {
    const float max = *std::max_element(logits.begin(), logits.end());
    double sum = 0;
    for (float l : logits) sum += std::exp(static_cast<double>(l) - max);
    const double log_sum = std::log(sum) + max;
    out.resize(logits.size());
    for (size_t i = 0; i < logits.size(); ++i) out[i] = logits[i] - log_sum;
}

// Mean and the standard error of the mean.
std::pair<double, double> mean_and_stderr(double sum, double sum_sq, int64_t n) {
    const double mean = sum / static_cast<double>(n);
    if (n < 2) return {mean, 0};
    const double var = std::max(0.0, sum_sq / static_cast<double>(n) - mean * mean);
    return {mean, std::sqrt(var / static_cast<double>(n - 1))};
}

}  // namespace

void SavedLogProbs::save(const std::filesystem::path& path) const {
    std::ofstream out(path, std::ios::binary);
    if (!out) fail("cannot write ", path.string());
    const int64_t header[2] = {n_vocab, static_cast<int64_t>(targets.size())};
    out.write(kMagic, sizeof kMagic);
    out.write(reinterpret_cast<const char*>(header), sizeof header);
    out.write(reinterpret_cast<const char*>(targets.data()), static_cast<std::streamsize>(targets.size() * 4));
    out.write(reinterpret_cast<const char*>(logp.data()), static_cast<std::streamsize>(logp.size() * 2));
    if (!out) fail("cannot write ", path.string());
}

SavedLogProbs SavedLogProbs::load(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) fail("cannot read ", path.string());
    char magic[8];
    int64_t header[2];
    in.read(magic, sizeof magic);
    in.read(reinterpret_cast<char*>(header), sizeof header);
    if (!in || std::memcmp(magic, kMagic, sizeof kMagic) != 0)
        fail(path.string(), ": not a suanli log-probability file (made with --save-logits)");
    const auto size = std::filesystem::file_size(path);
    const uint64_t n_vocab = static_cast<uint64_t>(header[0]), n = static_cast<uint64_t>(header[1]);
    if (header[0] <= 0 || header[1] < 0 || n_vocab > (1u << 24) || n > (1u << 28) ||
        size != sizeof magic + sizeof header + n * 4 + n * n_vocab * 2)
        fail(path.string(), ": header does not match the file size (damaged or truncated)");
    SavedLogProbs s;
    s.n_vocab = header[0];
    s.targets.resize(n);
    s.logp.resize(n * n_vocab);
    in.read(reinterpret_cast<char*>(s.targets.data()), static_cast<std::streamsize>(n * 4));
    in.read(reinterpret_cast<char*>(s.logp.data()), static_cast<std::streamsize>(n * n_vocab * 2));
    if (!in) fail("cannot read ", path.string());
    return s;
}

PerplexityResult compute_perplexity(Session& session, std::span<const int32_t> tokens, int32_t bos,
                                    const PerplexityOptions& options, SavedLogProbs* save,
                                    const SavedLogProbs* base,
                                    const std::function<void(const PerplexityResult&)>& on_chunk) {
    const int64_t ctx = options.ctx;
    if (ctx < 4) fail("the perplexity context must be at least 4 tokens, got ", ctx);
    if (ctx > session.n_ctx()) fail("the perplexity context ", ctx, " exceeds the session's ", session.n_ctx());
    PerplexityResult r;
    r.n_chunks = static_cast<int64_t>(tokens.size()) / ctx;
    if (r.n_chunks == 0)
        fail("the text has ", tokens.size(), " tokens, fewer than one chunk of ", ctx, " (lower -c)");
    const int64_t n_vocab = session.model().config().n_vocab;
    const int64_t first = ctx / 2, per_chunk = ctx - 1 - first;
    if (base) {
        if (base->n_vocab != n_vocab) fail("the base log-probabilities have ", base->n_vocab, " tokens per position; this model has ", n_vocab);
        if (static_cast<int64_t>(base->targets.size()) != r.n_chunks * per_chunk)
            fail("the base log-probabilities cover ", base->targets.size(), " positions; this run scores ",
                 r.n_chunks * per_chunk, " (use the same text and -c)");
        r.has_base = true;
    }
    if (save) {
        save->n_vocab = n_vocab;
        save->targets.clear();
        save->logp.clear();
    }

    double nll_sum = 0, nll_sq = 0, kl_sum = 0, kl_sq = 0, base_nll = 0;
    int64_t agree = 0;
    std::vector<double> logp;
    std::vector<int32_t> chunk(static_cast<size_t>(ctx));
    for (int64_t c = 0; c < r.n_chunks; ++c) {
        std::copy_n(tokens.begin() + c * ctx, ctx, chunk.begin());
        chunk[0] = bos;
        session.reset();
        const std::span<const float> logits = session.decode(chunk, /*all_logits=*/true);
        for (int64_t j = first; j < ctx - 1; ++j) {
            const int32_t target = chunk[static_cast<size_t>(j + 1)];
            log_softmax(logits.subspan(static_cast<size_t>(j * n_vocab), static_cast<size_t>(n_vocab)), logp);
            const double nll = -logp[static_cast<size_t>(target)];
            nll_sum += nll;
            nll_sq += nll * nll;
            const int64_t pos = r.n_scored++;
            if (save) {
                save->targets.push_back(target);
                for (double v : logp) save->logp.push_back(f32_to_f16(static_cast<float>(std::max(v, -65000.0))));
            }
            if (base) {
                if (base->targets[static_cast<size_t>(pos)] != target)
                    fail("the base log-probabilities were computed on a different text (position ", pos, ")");
                const uint16_t* b = base->logp.data() + pos * n_vocab;
                double kl = 0;
                int32_t best_base = 0, best = 0;
                for (int64_t i = 0; i < n_vocab; ++i) {
                    const double lb = f16_to_f32(b[i]);
                    kl += std::exp(lb) * (lb - logp[static_cast<size_t>(i)]);
                    if (lb > f16_to_f32(b[best_base])) best_base = static_cast<int32_t>(i);
                    if (logp[static_cast<size_t>(i)] > logp[static_cast<size_t>(best)]) best = static_cast<int32_t>(i);
                }
                kl = std::max(kl, 0.0);
                kl_sum += kl;
                kl_sq += kl * kl;
                r.kl_max = std::max(r.kl_max, kl);
                agree += best == best_base;
                base_nll -= f16_to_f32(b[base->targets[static_cast<size_t>(pos)]]);
            }
        }
        r.running_ppl.push_back(std::exp(nll_sum / static_cast<double>(r.n_scored)));
        const auto [mean, err] = mean_and_stderr(nll_sum, nll_sq, r.n_scored);
        r.ppl = std::exp(mean);
        r.ppl_stderr = r.ppl * err;
        if (base) {
            std::tie(r.kl_mean, r.kl_stderr) = mean_and_stderr(kl_sum, kl_sq, r.n_scored);
            r.top1_agreement = static_cast<double>(agree) / static_cast<double>(r.n_scored);
            r.base_ppl = std::exp(base_nll / static_cast<double>(r.n_scored));
        }
        if (on_chunk) on_chunk(r);
    }
    return r;
}

}  // namespace suanli
