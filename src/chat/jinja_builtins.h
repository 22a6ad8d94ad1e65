// Jinja's filters and tests (jinja_builtins.cpp), Python's string and dict methods
// and the global functions (jinja_methods.cpp) of the subset, on already
// evaluated values. Errors here carry no position; the renderer adds the line.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "chat/jinja_value.h"
#include "core/error.h"

namespace suanli::jinja {

// An error in an expression, before the renderer adds where it is.
class EvalError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

template <class... Parts>
[[noreturn]] void eval_fail(const Parts&... parts) {
    throw EvalError(cat(parts...));
}

struct Args {
    std::vector<Value> positional;
    std::vector<std::pair<std::string, Value>> named;

    // The argument at `index`, or the one called `name`, or undefined.
    const Value& get(size_t index, std::string_view name) const;
    // Fails when there are more positional arguments than `max_positional`, or
    // named ones not in `allowed`.
    void check(std::string_view what, size_t max_positional, std::initializer_list<std::string_view> allowed) const;
};

// Bounds on what one render may build: the renderer charges every step and
// every string it makes, so no template can run or grow without end.
struct Budget {
    static constexpr size_t kMaxString = size_t{1} << 20;  // output and any one string: 1 MiB
    static constexpr size_t kMaxList = size_t{1} << 16;    // items in a list built by the template
    int64_t steps_left = 5'000'000;  // about half a second of the dearest steps; a real template needs < 1%

    void charge(int64_t steps) {
        steps_left -= steps;
        if (steps_left < 0) eval_fail("template does too much work (a loop that does not end?)");
    }
    // A string or list of `size` was just built: fail past the limit, and pay
    // for the bytes or items copied.
    void check_string(size_t size) {
        if (size > kMaxString) eval_fail("template builds a string longer than ", kMaxString, " bytes");
        charge(static_cast<int64_t>(size / 16));
    }
    void check_list(size_t size) {
        if (size > kMaxList) eval_fail("template builds a list longer than ", kMaxList, " items");
        charge(static_cast<int64_t>(size / 16));
    }
    // What handling `v` costs: its bytes or items, not counting what it holds.
    void charge_size(const Value& v) {
        if (v.is_string()) charge(static_cast<int64_t>(v.as_string().size() / 64));
        else if (v.is_list()) charge(static_cast<int64_t>(v.as_list().size() / 16));
        else if (v.is_object()) charge(static_cast<int64_t>(v.as_object().items.size() / 16));
    }
    // Only the limits, for something growing piece by piece (paid per piece).
    static void check_string_limit(size_t size) {
        if (size > kMaxString) eval_fail("template builds a string longer than ", kMaxString, " bytes");
    }
    static void check_list_limit(size_t size) {
        if (size > kMaxList) eval_fail("template builds a list longer than ", kMaxList, " items");
    }
};

bool is_known_filter(std::string_view name);
bool is_known_test(std::string_view name);
bool is_known_method(std::string_view name);
bool is_known_function(std::string_view name);  // raise_exception is the renderer's own

Value apply_filter(std::string_view name, const Value& input, const Args& args, Budget& budget);
bool apply_test(std::string_view name, const Value& input, const Args& args, Budget& budget);
Value call_method(const Value& self, std::string_view name, const Args& args, Budget& budget);
Value call_function(std::string_view name, const Args& args, Budget& budget);

// dict.items() as a list of [key, value] pairs, and sep.join(items) (with
// `attribute=` taken from each item): shared by filters and methods.
Value dict_items(const Value& v, Budget& budget);
Value join_items(const Value& input, const Args& args, Budget& budget);

}  // namespace suanli::jinja
