#include "conformance/runner.h"

#include <cmath>
#include <cstring>
#include <exception>
#include <optional>

#include "conformance/tolerances.h"
#include "core/error.h"

namespace suanli::conformance {
namespace {

struct DeviceRun {
    std::vector<std::byte> image;  // the whole image after compute
    std::optional<std::string> unsupported;  // the first node it cannot run
    std::optional<std::string> error;        // compute (or a buffer call) failed
};

DeviceRun run_on(Device& device, const CaseData& data) {
    DeviceRun r;
    try {
        Buffer buffer = device.allocate(data.image.size());
        buffer.write(0, data.image);
        Graph graph = data.graph;
        for (int32_t i = 0; i < graph.size(); ++i) graph[TensorId{i}].addr += buffer.base();
        for (int32_t i = 0; i < graph.size(); ++i) {
            const sl_tensor& t = graph.tensors()[i];
            if (t.op == SL_OP_NONE || device.supports(graph, i)) continue;
            const char* why = device.backend().last_error ? device.backend().last_error() : "";
            r.unsupported = cat("node ", i, " not supported", why && *why ? cat(" (", why, ")") : std::string());
            return r;
        }
        device.compute(graph);
        r.image.resize(data.image.size());
        buffer.read(0, r.image);
    } catch (const std::exception& e) {
        r.error = e.what();
    }
    return r;
}

// The image bytes some node may write: the elements of every node's tensor.
std::vector<bool> writable_bytes(const CaseData& data) {
    std::vector<bool> covered(data.image.size(), false);
    for (int32_t i = 0; i < data.graph.size(); ++i)
        if (data.graph.tensors()[i].op != SL_OP_NONE) mark_footprint(data.graph.tensors()[i], 0, covered);
    return covered;
}

// The first byte a device changed that no node was allowed to write, described.
std::optional<std::string> stray_write(const CaseData& data, const std::vector<bool>& covered,
                                       const std::vector<std::byte>& after) {
    for (const CaseData::Region& region : data.regions) {
        const bool is_node = data.graph.tensors()[region.tensor].op != SL_OP_NONE;
        for (uint64_t b = region.offset; b < region.offset + region.bytes + kGuardBytes; ++b) {
            if (covered[b] || after[b] == data.image[b]) continue;
            if (b >= region.offset + region.bytes)
                return cat("wrote past the end of ", is_node ? "the output of node " : "tensor ", region.tensor,
                           " (guard byte +", b - region.offset - region.bytes, " changed)");
            return cat("wrote byte ", b - region.offset, " of ", is_node ? "node " : "input tensor ", region.tensor,
                       ", outside every node's output");
        }
    }
    return std::nullopt;
}

std::string coords(const sl_tensor& t, size_t flat) {
    int64_t i = static_cast<int64_t>(flat);
    std::string out = "[";
    for (int d = 0; d < 4; ++d) {
        out += cat(d ? ", " : "", i % t.ne[d]);
        i /= t.ne[d];
    }
    return out + "]";
}

}  // namespace

const char* status_name(Status s) {
    switch (s) {
        case Status::Pass: return "pass";
        case Status::Fail: return "FAIL";
        case Status::Unsupported: return "unsupported";
    }
    return "?";
}

CaseResult compare_values(const std::vector<float>& ref, const std::vector<float>& got, double tolerance,
                          const sl_tensor* shape) {
    CaseResult r;
    auto where = [&](size_t i) { return shape ? coords(*shape, i) : std::to_string(i); };
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < ref.size(); ++i) {
        const double a = got[i], b = ref[i];
        if (!std::isfinite(b)) {
            const bool same = std::isnan(b) ? std::isnan(a) : a == b;
            if (!same && r.status == Status::Pass) {
                r.status = Status::Fail;
                r.detail = cat("element ", where(i), " is ", a, " where the reference gives ", b);
            }
            continue;
        }
        if (!std::isfinite(a)) {
            if (r.status == Status::Pass) {
                r.status = Status::Fail;
                r.detail = cat("element ", where(i), " is ", a, " where the reference gives the finite ", b);
            }
            continue;
        }
        num += (a - b) * (a - b);
        den += b * b;
        r.max_abs = std::max(r.max_abs, std::fabs(a - b));
    }
    r.nmse = den > 0.0 ? num / den : num;
    if (r.status == Status::Pass && !(r.nmse <= tolerance)) {
        r.status = Status::Fail;
        r.detail = cat("NMSE ", r.nmse, " exceeds the tolerance ", tolerance, " (max |diff| ", r.max_abs, ")");
    }
    return r;
}

CaseResult run_case(const Case& c, Device& reference, Device& target, uint64_t seed) {
    CaseResult result;
    auto fail = [&](std::string why) {
        result.status = Status::Fail;
        result.detail = std::move(why);
        return result;
    };
    CaseData data;
    try {
        CaseBuilder builder(seed);
        c.build(builder);
        data = builder.finish();
    } catch (const std::exception& e) {
        return fail(cat("building the case failed: ", e.what()));
    }

    const DeviceRun ref = run_on(reference, data);
    if (ref.unsupported) return fail(cat("the reference backend cannot run this case: ", *ref.unsupported));
    if (ref.error) return fail(cat("the reference backend failed: ", *ref.error));
    const std::vector<bool> covered = writable_bytes(data);
    if (auto stray = stray_write(data, covered, ref.image)) return fail(cat("the reference backend ", *stray));

    const DeviceRun got = run_on(target, data);
    if (got.unsupported) {
        result.status = Status::Unsupported;
        result.detail = *got.unsupported;
        return result;
    }
    if (got.error) return fail(*got.error);
    if (auto stray = stray_write(data, covered, got.image)) return fail(*stray);

    for (int32_t out : data.outputs) {
        const sl_tensor& t = data.graph.tensors()[out];
        const CaseResult r = compare_values(read_values(t, ref.image, 0), read_values(t, got.image, 0), c.tolerance, &t);
        result.nmse = std::max(result.nmse, r.nmse);
        result.max_abs = std::max(result.max_abs, r.max_abs);
        if (r.status == Status::Fail && result.status == Status::Pass) {
            result.status = Status::Fail;
            result.detail = cat("node ", out, ": ", r.detail);
        }
    }
    return result;
}

}  // namespace suanli::conformance
