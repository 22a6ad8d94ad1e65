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

    // `names` is a comma-separated list such as "-n,--n-predict".
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

    // Parses the arguments after the command name. "-h"/"--help" sets help_requested()
    // and stops. Accepts "--name value" and "--name=value". Throws UsageError.
    void parse(std::span<const std::string_view> args);
    bool help_requested() const { return help_requested_; }
    // True if the option (any of its names) appeared on the command line.
    bool was_set(std::string_view name) const;

    std::string help() const;

private:
    struct Option;
    struct Positional;
    std::string command_, summary_, epilog_;
    std::vector<Option> options_;
    std::vector<Positional> positionals_;
    bool help_requested_ = false;
};

}  // namespace suanli
