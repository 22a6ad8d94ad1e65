#include "cli/options.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <optional>
#include <stdexcept>

namespace suanli {
namespace {

constexpr std::string_view kHelpShort = "-h", kHelpLong = "--help";
constexpr size_t kHelpColumn = 30;  // help text starts here unless the names are longer

std::string quoted(std::string_view s) { return cat("'", s, "'"); }

// The shortest text that reads back as the same float: 0.8f prints as "0.8".
std::string float_text(float v) {
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, end);
}

// from_chars takes no leading '+'; people type one.
std::string_view strip_plus(std::string_view s) {
    return s.size() > 1 && s[0] == '+' && s[1] != '-' && s[1] != '+' ? s.substr(1) : s;
}

template <class T>
std::string range_text(T min, T max, T lowest, T highest, std::string (*text)(T)) {
    if (min != lowest && max == highest) return ">= " + text(min);
    if (min == lowest && max != highest) return "<= " + text(max);
    return cat("between ", text(min), " and ", text(max));
}

std::string int_text(int64_t v) { return std::to_string(v); }
std::string uint_text(uint64_t v) { return std::to_string(v); }

[[noreturn]] void out_of_range(std::string_view typed, const std::string& range,
                               std::string_view value) {
    throw UsageError(cat("option ", quoted(typed), " must be ", range, ", got ", value));
}

int32_t parse_int32(std::string_view typed, std::string_view value, int32_t min, int32_t max) {
    std::string_view digits = strip_plus(value);
    int64_t v = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
    bool integer = !digits.empty() && end == digits.data() + digits.size();
    if (ec == std::errc::invalid_argument || !integer)
        throw UsageError(cat("option ", quoted(typed), " expects an integer, got ", quoted(value)));
    if (ec == std::errc::result_out_of_range || v < min || v > max)
        out_of_range(typed, range_text<int64_t>(min, max, INT32_MIN, INT32_MAX, int_text), value);
    return static_cast<int32_t>(v);
}

uint64_t parse_uint64(std::string_view typed, std::string_view value) {
    std::string_view digits = strip_plus(value);
    uint64_t v = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
    bool integer = !digits.empty() && end == digits.data() + digits.size();
    if (ec == std::errc::invalid_argument || !integer)
        throw UsageError(cat("option ", quoted(typed), " expects a non-negative integer, got ",
                             quoted(value)));
    if (ec == std::errc::result_out_of_range)
        out_of_range(typed, cat("<= ", uint_text(UINT64_MAX)), value);
    return v;
}

float parse_float(std::string_view typed, std::string_view value, float min, float max) {
    std::string_view digits = strip_plus(value);
    const char* first = digits.data();
    const char* last = first + digits.size();
    float v = 0;
    auto [end, ec] = std::from_chars(first, last, v);
    if (ec == std::errc::invalid_argument || digits.empty() || end != last)
        throw UsageError(cat("option ", quoted(typed), " expects a number, got ", quoted(value)));
    if (ec == std::errc::result_out_of_range) {
        // Beyond float (from_chars leaves v alone): tiny reads as 0, huge as infinite.
        double d = 0;
        bool tiny = std::from_chars(first, last, d).ec == std::errc()
                        ? std::abs(d) < 1.0
                        : digits.find_first_of("eE") != std::string_view::npos &&
                              digits.find('-', digits.find_first_of("eE")) != std::string_view::npos;
        v = tiny ? 0.0f : (digits[0] == '-' ? -HUGE_VALF : HUGE_VALF);
    } else if (!std::isfinite(v)) {
        throw UsageError(
            cat("option ", quoted(typed), " must be a finite number, got ", quoted(value)));
    }
    if (!(v >= min && v <= max))
        out_of_range(typed, range_text<float>(min, max, -3.4e38f, 3.4e38f, float_text), value);
    return v;
}

// Optimal string alignment distance: edits, plus swaps of adjacent letters ("tmep").
size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
    for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
    for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
    for (size_t i = 1; i <= a.size(); ++i)
        for (size_t j = 1; j <= b.size(); ++j) {
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
        }
    return d[a.size()][b.size()];
}

std::string_view strip_dashes(std::string_view s) {
    size_t i = s.find_first_not_of('-');
    return i == std::string_view::npos ? std::string_view() : s.substr(i);
}

std::vector<std::string> split_names(std::string_view names) {
    std::vector<std::string> out;
    while (true) {
        size_t comma = names.find(',');
        std::string_view name = names.substr(0, comma);
        while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
        while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
        bool ok = name.size() >= 2 && name[0] == '-' && name != "--" &&
                  name.find_first_of("= ") == std::string_view::npos &&
                  !(name[1] == '-' && name.size() == 2);
        if (!ok) throw std::logic_error(cat("OptionParser: bad option name '", name, "'"));
        out.emplace_back(name);
        if (comma == std::string_view::npos) return out;
        names.remove_prefix(comma + 1);
    }
}

}  // namespace

std::string_view closest_match(std::string_view word, std::span<const std::string_view> candidates) {
    std::string_view body = strip_dashes(word), best;
    size_t best_distance = 3;
    for (std::string_view c : candidates) {
        size_t d = edit_distance(body, strip_dashes(c));
        if (d < best_distance && d < body.size()) {
            best = c;
            best_distance = d;
        }
    }
    return best;
}

struct OptionParser::Option {
    std::vector<std::string> names;
    std::string metavar;  // empty for a flag
    std::string help;
    std::string default_text;
    // Parses and stores the value; `typed` is the name as the user wrote it, for messages.
    std::function<void(std::string_view typed, std::string_view value)> set;
    bool seen = false;

    bool is_flag() const { return metavar.empty(); }
};

struct OptionParser::Positional {
    std::string name;
    std::string* out;
    std::string help;
    bool required;
};

struct OptionParser::Match {
    const Option* option = nullptr;  // null: unknown, or the built-in help
    std::string_view name;           // as typed, without any inline value
    std::optional<std::string_view> value;
    bool help = false;
};

OptionParser::OptionParser(std::string command, std::string summary)
    : command_(std::move(command)), summary_(std::move(summary)) {}
OptionParser::~OptionParser() = default;
OptionParser::OptionParser(OptionParser&&) noexcept = default;
OptionParser& OptionParser::operator=(OptionParser&&) noexcept = default;

OptionParser::Option& OptionParser::add(std::string_view names, std::string metavar,
                                        std::string help) {
    Option opt;
    opt.names = split_names(names);
    for (const std::string& name : opt.names)
        if (name == kHelpShort || name == kHelpLong || find(name))
            throw std::logic_error(cat("OptionParser: option '", name, "' registered twice"));
    opt.metavar = std::move(metavar);
    opt.help = std::move(help);
    options_.push_back(std::move(opt));
    return options_.back();
}

void OptionParser::flag(std::string_view names, bool* out, std::string help) {
    Option& opt = add(names, "", std::move(help));
    opt.set = [out](std::string_view, std::string_view) { *out = true; };
}

void OptionParser::option(std::string_view names, std::string* out, std::string metavar,
                          std::string help) {
    Option& opt = add(names, metavar.empty() ? "VALUE" : std::move(metavar), std::move(help));
    opt.default_text = *out;
    opt.set = [out](std::string_view, std::string_view value) { *out = value; };
}

void OptionParser::option(std::string_view names, int32_t* out, std::string metavar,
                          std::string help, int32_t min, int32_t max) {
    if (min > max) throw std::logic_error("OptionParser: min > max");
    Option& opt = add(names, metavar.empty() ? "N" : std::move(metavar), std::move(help));
    opt.default_text = std::to_string(*out);
    opt.set = [out, min, max](std::string_view typed, std::string_view value) {
        *out = parse_int32(typed, value, min, max);
    };
}

void OptionParser::option(std::string_view names, uint64_t* out, std::string metavar,
                          std::string help) {
    Option& opt = add(names, metavar.empty() ? "N" : std::move(metavar), std::move(help));
    opt.default_text = std::to_string(*out);
    opt.set = [out](std::string_view typed, std::string_view value) {
        *out = parse_uint64(typed, value);
    };
}

void OptionParser::option(std::string_view names, float* out, std::string metavar,
                          std::string help, float min, float max) {
    if (!(min <= max)) throw std::logic_error("OptionParser: min > max");
    Option& opt = add(names, metavar.empty() ? "X" : std::move(metavar), std::move(help));
    opt.default_text = float_text(*out);
    opt.set = [out, min, max](std::string_view typed, std::string_view value) {
        *out = parse_float(typed, value, min, max);
    };
}

void OptionParser::positional(std::string name, std::string* out, std::string help,
                              bool required) {
    if (!positionals_.empty() && !positionals_.back().required && required)
        throw std::logic_error("OptionParser: a required positional after an optional one");
    positionals_.push_back({std::move(name), out, std::move(help), required});
}

void OptionParser::epilog(std::string text) { epilog_ = std::move(text); }

const OptionParser::Option* OptionParser::find(std::string_view name) const {
    for (const Option& opt : options_)
        for (const std::string& n : opt.names)
            if (n == name) return &opt;
    return nullptr;
}

OptionParser::Match OptionParser::match(std::string_view arg) const {
    Match m;
    size_t eq = arg.find('=');
    m.name = arg.substr(0, eq);
    if (eq != std::string_view::npos) m.value = arg.substr(eq + 1);
    if (m.name == kHelpShort || m.name == kHelpLong) {
        m.help = true;
        return m;
    }
    m.option = find(m.name);
    // "-n5": a one-letter short option that takes a value, with the value attached.
    if (!m.option && arg[1] != '-' && arg.size() > 2) {
        const Option* prefix = find(arg.substr(0, 2));
        if (prefix && !prefix->is_flag()) {
            m = Match{prefix, arg.substr(0, 2), arg.substr(2)};
        }
    }
    return m;
}

bool OptionParser::asks_for_help(std::span<const std::string_view> args) const {
    for (size_t i = 0; i < args.size(); ++i) {
        std::string_view arg = args[i];
        if (arg == "--") return false;
        if (arg.size() < 2 || arg[0] != '-') continue;
        Match m = match(arg);
        if (m.help && !m.value) return true;
        if (m.option && !m.option->is_flag() && !m.value) ++i;  // skip the option's value
    }
    return false;
}

void OptionParser::parse(std::span<const std::string_view> args) {
    help_requested_ = asks_for_help(args);
    if (help_requested_) return;

    size_t next_positional = 0;
    bool options_ended = false;
    for (size_t i = 0; i < args.size(); ++i) {
        std::string_view arg = args[i];
        if (!options_ended && arg == "--") {
            options_ended = true;
            continue;
        }
        if (options_ended || arg.size() < 2 || arg[0] != '-') {
            if (next_positional == positionals_.size())
                throw UsageError(cat("unexpected argument ", quoted(arg)));
            *positionals_[next_positional++].out = arg;
            continue;
        }
        Match m = match(arg);
        if (m.help)  // only "--help=x" gets here
            throw UsageError(cat("option ", quoted(m.name), " does not take a value"));
        if (!m.option) {
            std::vector<std::string_view> known{kHelpShort, kHelpLong};
            for (const Option& opt : options_)
                for (const std::string& n : opt.names) known.push_back(n);
            std::string message = cat("unknown option ", quoted(m.name));
            std::string_view guess = closest_match(m.name, known);
            if (!guess.empty()) message += cat(", did you mean ", quoted(guess), "?");
            throw UsageError(message);
        }
        Option& opt = options_[static_cast<size_t>(m.option - options_.data())];
        if (opt.is_flag() && m.value)
            throw UsageError(cat("option ", quoted(m.name), " does not take a value"));
        if (!opt.is_flag() && !m.value) {
            if (i + 1 == args.size())
                throw UsageError(cat("option ", quoted(m.name), " needs a value"));
            m.value = args[++i];
        }
        opt.set(m.name, m.value.value_or(""));
        opt.seen = true;
    }
    for (size_t p = next_positional; p < positionals_.size(); ++p)
        if (positionals_[p].required) throw UsageError(cat("missing ", positionals_[p].name));
}

bool OptionParser::was_set(std::string_view name) const {
    if (name == kHelpShort || name == kHelpLong) return help_requested_;
    const Option* opt = find(name);
    if (!opt) throw std::logic_error(cat("OptionParser::was_set: no option '", name, "'"));
    return opt->seen;
}

std::string OptionParser::usage() const {
    std::string out = cat("usage: ", command_, " [options]");
    for (const Positional& p : positionals_)
        out += p.required ? cat(" ", p.name) : cat(" [", p.name, "]");
    return out;
}

std::string OptionParser::help() const {
    // Each row: the left column ("  -n, --n-predict N") and its help text.
    struct Row {
        std::string left, text;
    };
    bool any_short = false;
    for (const Option& opt : options_) any_short |= opt.names[0].size() > 1 && opt.names[0][1] != '-';
    std::vector<Row> arguments, options;
    for (const Positional& p : positionals_) arguments.push_back({"  " + p.name, p.help});
    options.push_back({"  -h, --help", "show this help and exit"});
    for (const Option& opt : options_) {
        // Long-only options line up with the long names of "-x, --long" rows.
        std::string left = any_short && opt.names[0].starts_with("--") ? "      " : "  ";
        for (size_t i = 0; i < opt.names.size(); ++i) left += (i ? ", " : "") + opt.names[i];
        if (!opt.is_flag()) left += " " + opt.metavar;
        std::string text = opt.help;
        // A help text that names its default in words ("the model's, at most 4096") keeps it
        // alone: the registered value (0 for "unset") would only contradict it.
        if (!opt.default_text.empty() && text.find("(default: ") == std::string::npos)
            text += cat(text.empty() ? "" : " ", "(default: ", opt.default_text, ")");
        options.push_back({left, text});
    }

    size_t column = 0;
    for (const auto* rows : {&arguments, &options})
        for (const Row& r : *rows)
            if (r.left.size() + 2 <= kHelpColumn) column = std::max(column, r.left.size() + 2);
    if (column == 0) column = kHelpColumn;
    auto print = [&](std::string& out, const Row& r) {
        out += r.left;
        if (r.text.empty()) {
            out += "\n";
            return;
        }
        if (r.left.size() + 2 > column) {
            out += "\n";
            out.append(column, ' ');
        } else {
            out.append(column - r.left.size(), ' ');
        }
        for (char c : r.text) {  // continuation lines of the help text keep the column
            out += c;
            if (c == '\n') out.append(column, ' ');
        }
        out += "\n";
    };

    std::string out = usage() + "\n";
    if (!summary_.empty()) out += "\n" + summary_ + "\n";
    if (!arguments.empty()) {
        out += "\narguments:\n";
        for (const Row& r : arguments) print(out, r);
    }
    out += "\noptions:\n";
    for (const Row& r : options) print(out, r);
    if (!epilog_.empty()) out += "\n" + epilog_ + (epilog_.ends_with('\n') ? "" : "\n");
    return out;
}

}  // namespace suanli
