#include "conformance/model_checks.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <memory>
#include <vector>

#include "conformance/case_builder.h"
#include "conformance/tolerances.h"
#include "core/error.h"
#include "models/model.h"
#include "runtime/session.h"

namespace suanli::conformance {
namespace {

constexpr int64_t kContext = 64;

size_t argmax(std::span<const float> v) { return static_cast<size_t>(std::max_element(v.begin(), v.end()) - v.begin()); }

// Compares one row of logits and the greedy token; the first failure sets check.detail.
void compare_row(ModelCheck& check, std::span<const float> ref, std::span<const float> got, int position) {
    ++check.positions;
    const CaseResult r = compare_values(std::vector<float>(ref.begin(), ref.end()),
                                        std::vector<float>(got.begin(), got.end()), kNmseModelLogits);
    check.nmse = std::max(check.nmse, r.nmse);
    check.max_abs = std::max(check.max_abs, r.max_abs);
    if (r.status == Status::Fail && check.status == Status::Pass) {
        check.status = Status::Fail;
        check.detail = cat("logits at position ", position, ": ", r.detail);
    }
    const size_t ar = argmax(ref), ag = argmax(got);
    if (ar == ag) return;
    float largest = 0.0f;
    for (float x : ref) largest = std::max(largest, std::fabs(x));
    if (std::fabs(ref[ar] - ref[ag]) <= kArgmaxTieRelative * largest) return;  // a tie
    ++check.argmax_mismatches;
    if (check.status == Status::Pass) {
        check.status = Status::Fail;
        check.detail = cat("greedy token at position ", position, " is ", ag, ", the reference's is ", ar);
    }
}

}  // namespace

ModelCheck check_model(const std::filesystem::path& path, Device& reference, Device& target, uint64_t seed) {
    ModelCheck check;
    check.name = path.filename().string();
    check.path = path;
    if (!std::filesystem::exists(path)) {
        check.skipped = true;
        check.detail = "not found: " + path.string();
        return check;
    }

    std::unique_ptr<Model> ref_model;
    try {
        ref_model = Model::load(path, reference);
    } catch (const std::exception& e) {
        check.status = Status::Fail;
        check.detail = cat("the reference backend cannot load it: ", e.what());
        return check;
    }
    const int64_t n_vocab = ref_model->config().n_vocab;
    Rng rng(seed);
    std::vector<int32_t> prompt(kModelPromptTokens);
    for (int32_t& t : prompt) t = rng.below(static_cast<int32_t>(n_vocab));

    Session ref_session(*ref_model, kContext);
    std::vector<std::vector<float>> ref_logits;  // per step, [tokens][n_vocab]
    std::vector<int32_t> next_tokens;
    try {
        std::span<const float> l = ref_session.decode(prompt, /*all_logits=*/true);
        ref_logits.emplace_back(l.begin(), l.end());
        for (int s = 0; s < kModelDecodeSteps; ++s) {
            const std::span<const float> last(ref_logits.back().end() - n_vocab, ref_logits.back().end());
            next_tokens.push_back(static_cast<int32_t>(argmax(last)));
            l = ref_session.decode(std::span(&next_tokens.back(), 1), false);
            ref_logits.emplace_back(l.begin(), l.end());
        }
    } catch (const std::exception& e) {
        check.status = Status::Fail;
        check.detail = cat("the reference backend cannot run it: ", e.what());
        return check;
    }

    try {
        const std::unique_ptr<Model> model = Model::load(path, target);
        Session session(*model, kContext);
        int position = 0;
        for (size_t step = 0; step < ref_logits.size(); ++step) {
            const std::span<const float> got =
                step == 0 ? session.decode(prompt, true) : session.decode(std::span(&next_tokens[step - 1], 1), false);
            if (got.size() != ref_logits[step].size()) fail("step ", step, " gave ", got.size(), " logits");
            for (size_t row = 0; row * n_vocab < got.size(); ++row, ++position)
                compare_row(check, std::span(ref_logits[step]).subspan(row * n_vocab, n_vocab),
                            got.subspan(row * n_vocab, n_vocab), position);
            ++check.steps;
        }
    } catch (const std::exception& e) {
        check.status = Status::Fail;
        check.detail = cat("the target cannot run it: ", e.what());
    }
    return check;
}

}  // namespace suanli::conformance
