#include "backends/cpu/node_profile.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace suanli::cpu {

NodeProfile::NodeProfile() {
    const char* env = std::getenv("SUANLI_CPU_PROFILE");
    enabled_ = env && *env && std::strcmp(env, "0") != 0;
}

NodeProfile::~NodeProfile() {
    if (!enabled_ || graphs_ == 0) return;
    const auto us = [](std::chrono::steady_clock::duration t) {
        return std::chrono::duration<double, std::micro>(t).count();
    };
    const double n = static_cast<double>(graphs_), total = us(graph_time_);
    double nodes = 0;
    for (const auto& t : time_) nodes += us(t);
    std::fprintf(stderr, "cpu profile: %llu graphs, %.0f us each: nodes %.0f us, checks and the rest %.0f us\n",
                 static_cast<unsigned long long>(graphs_), total / n, nodes / n, (total - nodes) / n);
    static const char* const kNames[SL_OP_COUNT] = {"none", "get_rows", "mul_mat", "add",   "mul",      "scale",
                                                    "rms_norm", "rope", "silu",    "attention", "copy"};
    for (int op = 0; op < SL_OP_COUNT; ++op)
        if (count_[op] > 0)
            std::fprintf(stderr, "  %-10s %7.1f nodes in %7.1f runs, %8.1f us per graph (%4.1f%%), %7.2f us per run\n",
                         kNames[op], static_cast<double>(count_[op]) / n, static_cast<double>(runs_[op]) / n,
                         us(time_[op]) / n, 100.0 * us(time_[op]) / total, us(time_[op]) / static_cast<double>(runs_[op]));
}

}  // namespace suanli::cpu
