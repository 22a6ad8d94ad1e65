// Python's str and dict methods, and the global functions of the subset.
#include "chat/jinja_builtins.h"

#include <algorithm>
#include <cstdint>
#include <ctime>

#include "chat/jinja_strings.h"

namespace suanli::jinja {

namespace {

bool starts_or_ends(const std::string& s, const Value& affix, bool start) {
    auto one = [&](const Value& a) {
        const std::string& x = need_string(a, start ? "startswith" : "endswith");
        return start ? s.starts_with(x) : s.ends_with(x);
    };
    if (affix.is_list()) {
        for (const Value& a : affix.as_list()) {
            if (one(a)) return true;
        }
        return false;
    }
    return one(affix);
}

}  // namespace

Value call_method(const Value& self, std::string_view name, const Args& args, Budget& budget) {
    if (self.is_string()) {
        const std::string& s = self.as_string();
        if (name == "strip" || name == "lstrip" || name == "rstrip") {
            args.check(name, 1, {});
            return strip(s, args.get(0, ""), name != "rstrip", name != "lstrip");
        }
        if (name == "startswith" || name == "endswith") {
            args.check(name, 1, {});
            return starts_or_ends(s, args.get(0, ""), name == "startswith");
        }
        if (name == "split") {
            args.check(name, 2, {"sep", "maxsplit"});
            const Value& maxsplit = args.get(1, "maxsplit");
            return split(s, args.get(0, "sep"), maxsplit.is_undefined() ? -1 : need_int(maxsplit, "split"), budget);
        }
        if (name == "upper" || name == "lower" || name == "title" || name == "capitalize") {
            args.check(name, 0, {});
            return apply_filter(name, self, args, budget);
        }
        if (name == "replace") {
            args.check(name, 3, {});
            const Value& count = args.get(2, "");
            return replace(s, need_string(args.get(0, ""), "replace"), need_string(args.get(1, ""), "replace"),
                           count.is_undefined() ? -1 : need_int(count, "replace"), budget);
        }
        if (name == "join") {
            args.check(name, 1, {});
            Args join_args;
            join_args.positional.push_back(self);
            return join_items(args.get(0, ""), join_args, budget);
        }
    } else if (self.is_object() && !self.as_object().is_namespace) {
        const Object& o = self.as_object();
        if (name == "items") {
            args.check(name, 0, {});
            return dict_items(self, budget);
        }
        if (name == "keys" || name == "values") {
            args.check(name, 0, {});
            List out;
            for (const auto& [key, item] : o.items) out.push_back(name == "keys" ? Value(key) : item);
            return out;
        }
        if (name == "get") {
            args.check(name, 2, {});
            const Value& key = args.get(0, "");
            const Value* found = key.is_string() ? o.find(key.as_string()) : nullptr;
            if (found) return *found;
            const Value& fallback = args.get(1, "");
            return fallback.is_undefined() ? Value(None{}) : fallback;
        }
    }
    eval_fail("'", type_name(self), "' object has no method '", name, "'");
}

Value call_function(std::string_view name, const Args& args, Budget& budget) {
    if (name == "range") {
        args.check(name, 3, {});
        if (args.positional.empty()) eval_fail("range expected at least 1 argument");
        int64_t start = 0;
        int64_t stop = 0;
        int64_t step = 1;
        if (args.positional.size() == 1) {
            stop = need_int(args.positional[0], "range");
        } else {
            start = need_int(args.positional[0], "range");
            stop = need_int(args.positional[1], "range");
            if (args.positional.size() == 3) step = need_int(args.positional[2], "range");
        }
        if (step == 0) eval_fail("range() arg 3 must not be zero");
        // The count first (in unsigned arithmetic: no overflow), so that a huge
        // range fails before anything is built.
        uint64_t count = 0;
        if (step > 0 && start < stop) {
            count = (static_cast<uint64_t>(stop) - static_cast<uint64_t>(start) - 1) / static_cast<uint64_t>(step) + 1;
        } else if (step < 0 && start > stop) {
            count = (static_cast<uint64_t>(start) - static_cast<uint64_t>(stop) - 1) /
                        (uint64_t{0} - static_cast<uint64_t>(step)) + 1;
        }
        budget.check_list(count);
        List out;
        out.reserve(count);
        for (uint64_t k = 0; k < count; ++k) {
            out.emplace_back(static_cast<int64_t>(static_cast<uint64_t>(start) + k * static_cast<uint64_t>(step)));
        }
        return out;
    }
    if (name == "namespace" || name == "dict") {
        Object o;
        o.is_namespace = name == "namespace";
        if (args.positional.size() > 1) eval_fail(name, " takes at most one positional argument");
        if (args.positional.size() == 1) {
            if (!args.positional[0].is_object()) eval_fail(name, " needs a dict as its positional argument");
            for (const auto& [key, item] : args.positional[0].as_object().items) o.set(key, item);
        }
        for (const auto& [key, item] : args.named) o.set(key, item);
        return Value(std::move(o));
    }
    if (name == "strftime_now") {  // transformers' helper (Llama 3.1+ date lines): local time
        args.check(name, 1, {});
        const std::string& format = need_string(args.get(0, ""), "strftime_now");
        if (format.size() > 256) eval_fail("strftime_now format too long");
        const std::time_t now = std::time(nullptr);
        std::tm local{};
        localtime_r(&now, &local);
        char buf[1024];
        const size_t n = format.empty() ? 0 : std::strftime(buf, sizeof buf, format.c_str(), &local);
        return std::string(buf, n);
    }
    eval_fail("unsupported Jinja function '", name, "'");
}

}  // namespace suanli::jinja
