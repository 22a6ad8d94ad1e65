#include "conformance/suite.h"

#include "conformance/cases.h"
#include "core/error.h"

namespace suanli::conformance {
namespace {

// A seed per case from the run's seed, the op and the case's index, so that
// restricting the run to one op gives each case the same inputs.
uint64_t case_seed(uint64_t seed, std::string_view op, size_t index) {
    uint64_t h = 1469598103934665603ull;  // FNV-1a of the op name
    for (char c : op) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
    Rng mix(seed ^ h ^ (index * 0x9e3779b97f4a7c15ull));
    return mix.next();
}

}  // namespace

int SuiteResult::failures() const {
    int n = 0;
    for (const CaseOutcome& c : cases) n += c.result.status == Status::Fail;
    for (const ModelCheck& m : models) n += !m.skipped && m.status == Status::Fail;
    return n;
}

std::string op_names() {
    std::string out;
    for (const OpCases& o : all_op_cases()) out += cat(out.empty() ? "" : ", ", o.op);
    return out;
}

SuiteResult run_suite(Device& reference, Device& target, const SuiteOptions& options) {
    std::vector<const OpCases*> ops;
    for (const std::string& name : options.ops) {
        const OpCases* o = find_op_cases(name);
        if (!o) fail("unknown op '", name, "' (known: ", op_names(), ")");
        ops.push_back(o);
    }
    if (ops.empty())
        for (const OpCases& o : all_op_cases()) ops.push_back(&o);

    SuiteResult result;
    result.backend = target.backend().name ? target.backend().name : "?";
    const sl_device_info info = target.info();
    result.device = cat(info.name, " (", info.description, ")");
    result.abi_version = target.backend().abi_version;
    result.seed = options.seed;

    for (const OpCases* o : ops) {
        const std::vector<Case> cases = o->generate();
        for (size_t i = 0; i < cases.size(); ++i) {
            const Case& c = cases[i];
            if (options.quick && c.large) continue;
            result.cases.push_back({c.op, c.dtype, c.name, c.tolerance,
                                    run_case(c, reference, target, case_seed(options.seed, o->op, i))});
        }
    }
    for (const std::filesystem::path& path : options.models)
        result.models.push_back(check_model(path, reference, target, options.seed));
    return result;
}

}  // namespace suanli::conformance
