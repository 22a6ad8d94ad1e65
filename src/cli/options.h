// Declarative command-line options: parsing, validation and --help text.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace suanli {

// A bad command line. The message names the option: "unknown option '--foo'",
// "option '-n' expects an integer, got 'abc'", "option '--temp' must be >= 0".
class UsageError : public Error {
public:
    using Error::Error;
};

class OptionParser {
public:
    // command: "suanli run"; summary: one line; the help text lists the options in order.
    OptionParser(std::string command, std::string summary);
    ~OptionParser();
    OptionParser(OptionParser&&) noexcept;
    OptionParser& operator=(OptionParser&&) noexcept;

    // `names` is a comma-separated list such as "-n,--n-predict". The help text shows the
    // bound variable's value at registration as "(default: X)" (not for flags or empty
    // strings). A name registered twice, or one not starting with '-', is a logic_error.
    void flag(std::string_view names, bool* out, std::string help);
    void option(std::string_view names, std::string* out, std::string metavar, std::string help);
    void option(std::string_view names, int32_t* out, std::string metavar, std::string help,
                int32_t min = INT32_MIN, int32_t max = INT32_MAX);
    void option(std::string_view names, uint64_t* out, std::string metavar, std::string help);
    void option(std::string_view names, float* out, std::string metavar, std::string help,
                float min = -3.4e38f, float max = 3.4e38f);
    // Positional arguments, in order; a required one that is missing is a UsageError.
    void positional(std::string name, std::string* out, std::string help, bool required = true);
    // Text printed after the option list (examples, notes).
    void epilog(std::string text);

    // Parses the arguments after the command name. Accepts "--name value", "--name=value",
    // "-n value", "-n=value" and, for one-letter short names, "-n5". A value may begin with
    // '-' ("-n -1"). Flags take no value. "--" ends the options; a lone "-" is positional.
    // Later occurrences override earlier ones. "-h"/"--help" anywhere before "--" wins:
    // it sets help_requested() and nothing else is parsed or checked. Throws UsageError.
    void parse(std::span<const std::string_view> args);
    bool help_requested() const { return help_requested_; }
    // True if the option (any of its names) appeared on the command line.
    bool was_set(std::string_view name) const;

    std::string help() const;
    // "usage: suanli run [options] MODEL [PROMPT]"
    std::string usage() const;

private:
    struct Option;
    struct Positional;
    Option& add(std::string_view names, std::string metavar, std::string help);
    const Option* find(std::string_view name) const;
    // Splits one argument that starts with '-' into the option it names and an inline
    // value ("--temp=1", "-n5"); option is null when no option matches.
    struct Match;
    Match match(std::string_view arg) const;
    bool asks_for_help(std::span<const std::string_view> args) const;
    std::string command_, summary_, epilog_;
    std::vector<Option> options_;
    std::vector<Positional> positionals_;
    bool help_requested_ = false;
};

// The candidate closest to `word` (optimal string alignment distance, leading dashes
// ignored) if that distance is at most 2 and less than the length of `word` without dashes;
// otherwise empty. Ties go to the earlier candidate. For "did you mean '--temp'?".
std::string_view closest_match(std::string_view word, std::span<const std::string_view> candidates);

}  // namespace suanli
