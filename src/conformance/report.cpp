#include "conformance/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "conformance/tolerances.h"
#include "core/error.h"

namespace suanli::conformance {
namespace {

const char* const kDtypeOrder[] = {"f32", "f16", "bf16", "q8_0", "q4_0", "q4_k", "q5_k", "q6_k"};

std::vector<std::string> columns(const std::vector<MatrixCell>& cells) {
    std::vector<std::string> cols;
    for (const char* d : kDtypeOrder)
        if (std::any_of(cells.begin(), cells.end(), [&](const MatrixCell& c) { return c.dtype == d; })) cols.push_back(d);
    for (const MatrixCell& c : cells)
        if (std::find(cols.begin(), cols.end(), c.dtype) == cols.end()) cols.push_back(c.dtype);
    return cols;
}

std::string sci(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3g", v);
    return buf;
}

std::string pad(std::string s, size_t width) {
    if (s.size() < width) s.append(width - s.size(), ' ');
    return s;
}

std::string csv_field(const std::string& s) {
    if (s.find_first_of(",\"\n") == std::string::npos) return s;
    std::string out = "\"";
    for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
}

std::string model_status(const ModelCheck& m) { return m.skipped ? "skipped" : status_name(m.status); }

}  // namespace

Status MatrixCell::status() const {
    if (fail > 0) return Status::Fail;
    if (pass == 0) return Status::Unsupported;
    return Status::Pass;
}

std::string MatrixCell::text() const {
    const int n = pass + fail + unsupported;
    if (fail > 0) return cat("FAIL ", fail, "/", n);
    if (pass == 0) return "unsupported";
    if (unsupported > 0) return cat("pass ", pass, ", unsup ", unsupported);
    return cat("pass ", pass);
}

std::vector<MatrixCell> support_matrix(const SuiteResult& result) {
    std::vector<MatrixCell> cells;
    for (const CaseOutcome& c : result.cases) {
        auto it = std::find_if(cells.begin(), cells.end(),
                               [&](const MatrixCell& m) { return m.op == c.op && m.dtype == c.dtype; });
        if (it == cells.end()) {
            cells.push_back({c.op, c.dtype});
            it = cells.end() - 1;
        }
        switch (c.result.status) {
            case Status::Pass: ++it->pass; break;
            case Status::Fail: ++it->fail; break;
            case Status::Unsupported: ++it->unsupported; break;
        }
        if (c.result.status != Status::Unsupported) it->max_nmse = std::max(it->max_nmse, c.result.nmse);
    }
    return cells;
}

std::string format_table(const SuiteResult& r, bool verbose) {
    const std::vector<MatrixCell> cells = support_matrix(r);
    const std::vector<std::string> cols = columns(cells);
    std::vector<std::string> ops;
    for (const MatrixCell& c : cells)
        if (std::find(ops.begin(), ops.end(), c.op) == ops.end()) ops.push_back(c.op);

    std::string out = cat("backend '", r.backend, "' (ABI v", r.abi_version, "), device ", r.device, ", seed ", r.seed,
                          "\n\n");
    size_t w0 = 2;
    for (const std::string& op : ops) w0 = std::max(w0, op.size());
    size_t w = 12;
    for (const MatrixCell& c : cells) w = std::max(w, c.text().size());
    std::string head = pad("op", w0 + 2);
    for (const std::string& col : cols) head += pad(col, w + 2);
    while (!head.empty() && head.back() == ' ') head.pop_back();
    out += head + "\n";
    for (const std::string& op : ops) {
        std::string line = pad(op, w0 + 2);
        for (const std::string& col : cols) {
            auto it = std::find_if(cells.begin(), cells.end(), [&](const MatrixCell& c) { return c.op == op && c.dtype == col; });
            line += pad(it == cells.end() ? "-" : it->text(), w + 2);
        }
        while (!line.empty() && line.back() == ' ') line.pop_back();
        out += line + "\n";
    }
    int pass = 0, fail = 0, unsup = 0;
    for (const CaseOutcome& c : r.cases) {
        pass += c.result.status == Status::Pass;
        fail += c.result.status == Status::Fail;
        unsup += c.result.status == Status::Unsupported;
    }
    out += cat("\ncases: ", r.cases.size(), " (", pass, " passed, ", fail, " failed, ", unsup, " unsupported)\n");

    bool header = false;
    for (const CaseOutcome& c : r.cases) {
        if (!verbose && c.result.status != Status::Fail) continue;
        if (!header) out += verbose ? "\nevery case:\n" : "\nfailed cases:\n";
        header = true;
        out += cat("  ", pad(status_name(c.result.status), 11), " ", c.op, " ", c.dtype, ": ", c.name);
        if (c.result.status != Status::Unsupported)
            out += cat("  nmse ", sci(c.result.nmse), " (tolerance ", sci(c.tolerance), "), max |diff| ",
                       sci(c.result.max_abs));
        if (!c.result.detail.empty()) out += "\n      " + c.result.detail;
        out += "\n";
    }

    if (!r.models.empty()) {
        out += "\nmodels (prompt of 8 tokens, then 2 decode steps; logits vs the reference):\n";
        for (const ModelCheck& m : r.models) {
            out += cat("  ", pad(model_status(m), 11), " ", m.name);
            if (!m.skipped && m.positions > 0)
                out += cat("  ", m.positions, " positions, nmse ", sci(m.nmse), " (tolerance ", sci(kNmseModelLogits),
                           "), max |diff| ", sci(m.max_abs), ", argmax mismatches ", m.argmax_mismatches);
            if (!m.detail.empty()) out += "\n      " + m.detail;
            out += "\n";
        }
    }
    out += r.passed() ? "\nresult: PASS\n" : cat("\nresult: FAIL (", r.failures(), " failures)\n");
    return out;
}

std::string format_csv(const SuiteResult& r, bool verbose) {
    std::string out = "kind,name,dtype,status,pass,fail,unsupported,nmse,max_abs,detail\n";
    for (const MatrixCell& c : support_matrix(r))
        out += cat("op,", csv_field(c.op), ",", csv_field(c.dtype), ",", status_name(c.status()), ",", c.pass, ",",
                   c.fail, ",", c.unsupported, ",", sci(c.max_nmse), ",,\n");
    if (verbose)
        for (const CaseOutcome& c : r.cases)
            out += cat("case,", csv_field(c.op + ": " + c.name), ",", csv_field(c.dtype), ",",
                       status_name(c.result.status), ",,,,", sci(c.result.nmse), ",", sci(c.result.max_abs), ",",
                       csv_field(c.result.detail), "\n");
    for (const ModelCheck& m : r.models)
        out += cat("model,", csv_field(m.name), ",,", model_status(m), ",,,,", sci(m.nmse), ",", sci(m.max_abs), ",",
                   csv_field(m.detail), "\n");
    return out;
}

std::string format_json(const SuiteResult& r, bool verbose) {
    using nlohmann::json;
    json j;
    j["backend"] = r.backend;
    j["device"] = r.device;
    j["abi_version"] = r.abi_version;
    j["seed"] = r.seed;
    j["passed"] = r.passed();
    j["failures"] = r.failures();
    json matrix = json::array();
    for (const MatrixCell& c : support_matrix(r))
        matrix.push_back({{"op", c.op},
                          {"dtype", c.dtype},
                          {"status", status_name(c.status())},
                          {"pass", c.pass},
                          {"fail", c.fail},
                          {"unsupported", c.unsupported},
                          {"max_nmse", c.max_nmse}});
    j["matrix"] = matrix;
    json cases = json::array();
    for (const CaseOutcome& c : r.cases) {
        if (!verbose && c.result.status != Status::Fail) continue;
        cases.push_back({{"op", c.op},
                         {"dtype", c.dtype},
                         {"name", c.name},
                         {"status", status_name(c.result.status)},
                         {"nmse", c.result.nmse},
                         {"tolerance", c.tolerance},
                         {"max_abs", c.result.max_abs},
                         {"detail", c.result.detail}});
    }
    j["cases"] = cases;  // every case with -v, else the failed ones
    json models = json::array();
    for (const ModelCheck& m : r.models)
        models.push_back({{"name", m.name},
                          {"path", m.path.string()},
                          {"status", model_status(m)},
                          {"positions", m.positions},
                          {"nmse", m.nmse},
                          {"max_abs", m.max_abs},
                          {"argmax_mismatches", m.argmax_mismatches},
                          {"detail", m.detail}});
    j["models"] = models;
    return j.dump(2) + "\n";
}

}  // namespace suanli::conformance
