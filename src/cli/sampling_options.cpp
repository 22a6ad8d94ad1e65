#include "cli/sampling_options.h"

#include <random>

#include "cli/options.h"

namespace suanli {

void add_sampling_options(OptionParser& p, SamplerParams& s) {
    p.option("--temp", &s.temperature, "T", "temperature; 0 = greedy", 0.0f, 100.0f);
    p.option("--top-k", &s.top_k, "K", "keep the K most likely tokens; 0 = off", 0);
    p.option("--top-p", &s.top_p, "P", "keep the smallest set with probability >= P; 1 = off", 0.0f, 1.0f);
    p.option("--min-p", &s.min_p, "M", "drop tokens below M times the top probability; 0 = off", 0.0f, 1.0f);
    p.option("--repeat-penalty", &s.repeat_penalty, "R", "penalise recently seen tokens; 1 = off", 0.0f, 100.0f);
    p.option("--repeat-last-n", &s.repeat_last_n, "N", "how many recent tokens the penalty considers", 0);
    p.option("--seed", &s.seed, "S", "random seed (default: a new one each run, printed at the end)");
}

void finish_sampling_options(const OptionParser& p, SamplerParams& s) {
    if (!p.was_set("--seed")) s.seed = std::random_device{}();
}

}  // namespace suanli
