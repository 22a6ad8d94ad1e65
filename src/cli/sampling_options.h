// The sampling options shared by the commands that generate text (run, chat).
#pragma once

#include "runtime/sampler.h"

namespace suanli {

class OptionParser;

// --temp, --top-k, --top-p, --min-p, --repeat-penalty, --repeat-last-n, --seed.
void add_sampling_options(OptionParser& parser, SamplerParams& params);

// After parsing: without --seed, a fresh random seed (printed by the caller so a run can be repeated).
void finish_sampling_options(const OptionParser& parser, SamplerParams& params);

}  // namespace suanli
