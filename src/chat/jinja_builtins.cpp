// Jinja's filters and tests.
#include "chat/jinja_builtins.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "chat/jinja_strings.h"

namespace suanli::jinja {

namespace {

constexpr std::string_view kFilters[] = {
    "abs", "capitalize", "count", "d", "default", "first", "float", "indent", "int", "items", "join", "last", "length",
    "list", "lower", "map", "reject", "rejectattr", "replace", "reverse", "safe", "select", "selectattr", "sort",
    "string", "title", "tojson", "trim", "unique", "upper"};
constexpr std::string_view kTests[] = {
    "boolean", "defined", "divisibleby", "eq", "equalto", "even", "false", "float", "integer", "iterable", "lower",
    "mapping", "ne", "none", "number", "odd", "sequence", "string", "true", "undefined", "upper"};
constexpr std::string_view kMethods[] = {
    "capitalize", "endswith", "get", "items", "join", "keys", "lower", "lstrip", "replace", "rstrip", "split",
    "startswith", "strip", "title", "upper", "values"};
constexpr std::string_view kFunctions[] = {"dict", "namespace", "range", "strftime_now"};

template <size_t N>
bool contains(const std::string_view (&names)[N], std::string_view name) {
    return std::find(std::begin(names), std::end(names), name) != std::end(names);
}

// The items a filter such as join or map walks over: a list's items, a dict's
// keys, a string's characters; undefined is empty.
List iterate(const Value& v, std::string_view what, Budget& budget) {
    budget.charge_size(v);
    switch (v.kind()) {
        case Value::Kind::Undefined: return {};
        case Value::Kind::List: return v.as_list();
        case Value::Kind::String: {
            List out;
            budget.charge(static_cast<int64_t>(v.as_string().size()));  // a string per character
            for (std::string& c : utf8_chars(v.as_string())) out.emplace_back(std::move(c));
            return out;
        }
        case Value::Kind::Object: {
            List out;
            for (const auto& [key, item] : v.as_object().items) out.emplace_back(key);
            return out;
        }
        default: eval_fail(what, " cannot iterate over ", type_name(v));
    }
}

// Jinja's environment.getattr for filters' `attribute=` arguments ("a.b" walks).
Value get_attribute(const Value& v, std::string_view path) {
    Value cur = v;
    while (true) {
        const size_t dot = path.find('.');
        const std::string_view key = path.substr(0, dot);
        Value next;
        if (cur.is_object()) {
            if (const Value* found = cur.as_object().find(key)) next = *found;
        } else if (cur.is_list() && !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
                       return c >= '0' && c <= '9';
                   })) {
            const size_t i = std::strtoull(std::string(key).c_str(), nullptr, 10);
            if (i < cur.as_list().size()) next = cur.as_list()[i];
        }
        cur = std::move(next);
        if (dot == std::string_view::npos) return cur;
        path.remove_prefix(dot + 1);
    }
}

size_t length(const Value& v) {
    switch (v.kind()) {
        case Value::Kind::Undefined: return 0;
        case Value::Kind::String: return utf8_length(v.as_string());
        case Value::Kind::List: return v.as_list().size();
        case Value::Kind::Object: return v.as_object().items.size();
        default: eval_fail("object of type '", type_name(v), "' has no length");
    }
}

// select/reject/selectattr/rejectattr: keep the items whose value (or attribute)
// passes the test named by the first remaining argument, or is truthy.
Value select(const Value& input, const Args& args, bool by_attribute, bool keep, Budget& budget) {
    size_t first = 0;
    std::string attribute;
    if (by_attribute) {
        attribute = need_string(args.get(0, "attribute"), "selectattr");
        first = 1;
    }
    std::string test;
    Args test_args;
    if (args.positional.size() > first) {
        test = need_string(args.positional[first], "select");
        if (!is_known_test(test)) eval_fail("unsupported Jinja test '", test, "'");
        test_args.positional.assign(args.positional.begin() + static_cast<std::ptrdiff_t>(first) + 1,
                                    args.positional.end());
    }
    List out;
    for (const Value& item : iterate(input, "select", budget)) {
        const Value subject = by_attribute ? get_attribute(item, attribute) : item;
        const bool pass = test.empty() ? subject.truthy() : apply_test(test, subject, test_args, budget);
        if (pass == keep) out.push_back(item);
        budget.charge(1);
    }
    return out;
}

Value map(const Value& input, const Args& args, Budget& budget) {
    const Value& attribute = args.get(99, "attribute");
    List out;
    if (!attribute.is_undefined()) {
        const std::string& path = need_string(attribute, "map");
        const Value& fallback = args.get(99, "default");
        for (const Value& item : iterate(input, "map", budget)) {
            Value v = get_attribute(item, path);
            out.push_back(v.is_undefined() && !fallback.is_undefined() ? fallback : v);
            budget.charge(1);
        }
        return out;
    }
    if (args.positional.empty()) eval_fail("map needs a filter name or attribute=");
    const std::string& filter = need_string(args.positional[0], "map");
    if (!is_known_filter(filter)) eval_fail("unsupported Jinja filter '", filter, "'");
    Args filter_args;
    filter_args.positional.assign(args.positional.begin() + 1, args.positional.end());
    filter_args.named = args.named;
    for (const Value& item : iterate(input, "map", budget)) {
        out.push_back(apply_filter(filter, item, filter_args, budget));
        budget.charge(1);
    }
    return out;
}

Value first_or_last(const Value& input, bool first, Budget& budget) {
    if (input.is_list()) {
        const List& l = input.as_list();
        if (l.empty()) return {};
        return first ? l.front() : l.back();
    }
    if (input.is_string()) {
        budget.charge_size(input);
        const std::string_view c = utf8_at(input.as_string(), first ? 0 : -1);
        if (c.empty()) return {};
        return std::string(c);
    }
    const List items = iterate(input, first ? "first" : "last", budget);
    if (items.empty()) return {};
    return first ? items.front() : items.back();
}

Value to_int(const Value& input, const Value& fallback) {
    const Value def = fallback.is_undefined() ? Value(0) : fallback;
    if (input.is_int() || input.is_bool()) return input.as_int();
    if (input.is_float()) {
        const double f = input.as_float();
        if (!std::isfinite(f) || std::fabs(f) >= 9.2e18) return def;
        return static_cast<int64_t>(f);
    }
    if (input.is_string()) {
        const std::string s = strip(input.as_string(), {}, true, true);
        if (s.empty()) return def;
        char* end = nullptr;
        errno = 0;
        const long long v = std::strtoll(s.c_str(), &end, 10);
        if (end == s.c_str() + s.size() && errno == 0) return int64_t{v};
        const double f = std::strtod(s.c_str(), &end);  // Jinja falls back to int(float(s))
        if (end == s.c_str() + s.size() && std::isfinite(f) && std::fabs(f) < 9.2e18) return static_cast<int64_t>(f);
    }
    return def;
}

Value to_float(const Value& input, const Value& fallback) {
    const Value def = fallback.is_undefined() ? Value(0.0) : fallback;
    if (input.is_number()) return input.as_float();
    if (input.is_string()) {
        const std::string s = strip(input.as_string(), {}, true, true);
        char* end = nullptr;
        const double f = std::strtod(s.c_str(), &end);
        if (!s.empty() && end == s.c_str() + s.size()) return f;
    }
    return def;
}

Value reverse(const Value& input, Budget& budget) {
    if (input.is_string()) {
        const std::string& s = input.as_string();
        const std::vector<size_t> at = utf8_offsets(s);
        budget.charge(static_cast<int64_t>(at.size() / 8));
        std::string out;
        out.reserve(s.size());
        for (size_t k = at.size() - 1; k > 0; --k) out.append(s, at[k - 1], at[k] - at[k - 1]);
        return out;
    }
    List items = iterate(input, "reverse", budget);
    std::reverse(items.begin(), items.end());
    return items;
}

// Jinja's indent: every line but the first (and, with first=true, that one too)
// gets `width` spaces; blank lines only with blank=true.
Value indent(const Value& input, const Args& args, Budget& budget) {
    const Value& width_v = args.get(0, "width");
    std::string pad;
    if (width_v.is_string()) pad = width_v.as_string();
    else pad.assign(static_cast<size_t>(std::clamp<int64_t>(width_v.is_undefined() ? 4 : need_int(width_v, "indent"), 0, 256)), ' ');
    const bool first = args.get(1, "first").truthy();
    const bool blank = args.get(2, "blank").truthy();
    std::vector<std::string> lines;
    const std::string text = to_str(input) + "\n";  // as Jinja does, so a final newline keeps its empty line
    size_t start = 0;
    while (start < text.size()) {  // Python's splitlines() on "\n", "\r\n" and "\r"
        size_t end = text.find_first_of("\r\n", start);
        if (end == std::string::npos) end = text.size();
        lines.push_back(text.substr(start, end - start));
        start = end + ((end + 1 < text.size() && text[end] == '\r' && text[end + 1] == '\n') ? 2 : 1);
    }
    std::string out;
    for (size_t i = 0; i < lines.size(); ++i) {
        if (i > 0) out.push_back('\n');
        if (i == 0 ? first : (blank || !lines[i].empty())) out += pad;
        out += lines[i];
        Budget::check_string_limit(out.size());
    }
    budget.check_string(out.size());
    return out;
}

// The key that sort and unique compare: the item or its attribute, lowercased
// unless case_sensitive.
Value sort_key(const Value& item, const Value& attribute, bool case_sensitive) {
    Value key = attribute.is_undefined() || attribute.is_none() ? item : get_attribute(item, need_string(attribute, "sort"));
    if (!case_sensitive && key.is_string()) return lower(key.as_string());
    return key;
}

Value sort(const Value& input, const Args& args, Budget& budget) {
    args.check("sort", 3, {"reverse", "case_sensitive", "attribute"});
    const bool reverse = args.get(0, "reverse").truthy();
    const bool case_sensitive = args.get(1, "case_sensitive").truthy();
    const Value& attribute = args.get(2, "attribute");
    std::vector<std::pair<Value, Value>> keyed;  // key, item
    for (const Value& item : iterate(input, "sort", budget)) keyed.emplace_back(sort_key(item, attribute, case_sensitive), item);
    std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& a, const auto& b) {
        return reverse ? less(b.first, a.first, &budget.steps_left) : less(a.first, b.first, &budget.steps_left);
    });
    List out;
    for (auto& [key, item] : keyed) out.push_back(std::move(item));
    return out;
}

Value unique(const Value& input, const Args& args, Budget& budget) {
    args.check("unique", 2, {"case_sensitive", "attribute"});
    const bool case_sensitive = args.get(0, "case_sensitive").truthy();
    const Value& attribute = args.get(1, "attribute");
    List out;
    List seen;
    for (const Value& item : iterate(input, "unique", budget)) {
        Value key = sort_key(item, attribute, case_sensitive);
        bool found = false;
        for (const Value& k : seen) {
            if (equals(k, key, &budget.steps_left)) {
                found = true;
                break;
            }
        }
        if (found) continue;
        seen.push_back(std::move(key));
        out.push_back(item);
    }
    return out;
}

}  // namespace

const Value& Args::get(size_t index, std::string_view name) const {
    static const Value undefined;
    if (index < positional.size()) return positional[index];
    for (const auto& [n, v] : named) {
        if (n == name) return v;
    }
    return undefined;
}

void Args::check(std::string_view what, size_t max_positional, std::initializer_list<std::string_view> allowed) const {
    if (positional.size() > max_positional) eval_fail(what, " takes at most ", max_positional, " positional arguments");
    for (const auto& [n, v] : named) {
        if (std::find(allowed.begin(), allowed.end(), n) == allowed.end()) {
            eval_fail(what, " got an unexpected keyword argument '", n, "'");
        }
    }
}

Value dict_items(const Value& v, Budget& budget) {
    if (v.is_undefined()) return List{};
    if (!v.is_object()) eval_fail("items needs a dict, not ", type_name(v));
    List out;
    for (const auto& [key, item] : v.as_object().items) out.emplace_back(List{Value(key), item});
    budget.check_list(out.size());
    return out;
}

Value join_items(const Value& input, const Args& args, Budget& budget) {
    const Value& sep_v = args.get(0, "d");
    const std::string sep = sep_v.is_undefined() ? std::string() : to_str(sep_v);
    const Value& attribute = args.get(1, "attribute");
    std::string out;
    bool first = true;
    for (const Value& item : iterate(input, "join", budget)) {
        if (!first) out += sep;
        first = false;
        const size_t before = out.size();
        out += to_str(attribute.is_undefined() ? item : get_attribute(item, need_string(attribute, "join")));
        Budget::check_string_limit(out.size());
        budget.charge(1 + static_cast<int64_t>((out.size() - before) / 64));
    }
    return out;
}

bool is_known_filter(std::string_view name) { return contains(kFilters, name); }
bool is_known_test(std::string_view name) { return contains(kTests, name); }
bool is_known_method(std::string_view name) { return contains(kMethods, name); }
bool is_known_function(std::string_view name) { return contains(kFunctions, name); }

Value apply_filter(std::string_view name, const Value& input, const Args& args, Budget& budget) {
    if (name == "trim") {
        args.check(name, 1, {"chars"});
        return strip(to_str(input), args.get(0, "chars"), true, true);  // Jinja's filters take str(x)
    }
    if (name == "length" || name == "count") {
        args.check(name, 0, {});
        return static_cast<int64_t>(length(input));
    }
    if (name == "upper" || name == "lower" || name == "capitalize" || name == "title") {
        args.check(name, 0, {});
        const std::string s = to_str(input);
        if (name == "upper") return upper(s);
        if (name == "lower") return lower(s);
        if (name == "capitalize") return capitalize(s);
        return title(s);
    }
    if (name == "tojson") {
        args.check(name, 1, {"indent", "ensure_ascii", "separators", "sort_keys"});
        const Value& indent = args.get(0, "indent");
        if (!args.get(99, "separators").is_undefined() || args.get(99, "sort_keys").truthy() ||
            args.get(99, "ensure_ascii").truthy()) {
            eval_fail("tojson supports only the indent argument");
        }
        const int64_t n = indent.is_undefined() || indent.is_none() ? -1 : need_int(indent, "tojson indent");
        if (n > 64) eval_fail("tojson indent too large");
        std::string out = to_json(input, static_cast<int>(n));
        budget.check_string(out.size());
        budget.charge(static_cast<int64_t>(out.size() / 8));  // built value by value: dearer than a copy
        return out;
    }
    if (name == "string") {
        args.check(name, 0, {});
        std::string out = to_str(input);
        budget.check_string(out.size());
        if (!input.is_string()) budget.charge(static_cast<int64_t>(out.size() / 8));  // a repr
        return out;
    }
    if (name == "safe") return input;
    if (name == "join") {
        args.check(name, 2, {"d", "attribute"});
        return join_items(input, args, budget);
    }
    if (name == "first" || name == "last") {
        args.check(name, 0, {});
        return first_or_last(input, name == "first", budget);
    }
    if (name == "default" || name == "d") {
        args.check(name, 2, {"default_value", "boolean"});
        const bool boolean = args.get(1, "boolean").truthy();
        if (input.is_undefined() || (boolean && !input.truthy())) {
            const Value& fallback = args.get(0, "default_value");
            return fallback.is_undefined() ? Value("") : fallback;
        }
        return input;
    }
    if (name == "replace") {
        args.check(name, 3, {"old", "new", "count"});
        const Value& count = args.get(2, "count");
        return replace(to_str(input), need_string(args.get(0, "old"), "replace"),
                       need_string(args.get(1, "new"), "replace"),
                       count.is_undefined() || count.is_none() ? -1 : need_int(count, "replace"), budget);
    }
    if (name == "list") {
        args.check(name, 0, {});
        return iterate(input, "list", budget);
    }
    if (name == "int") {
        args.check(name, 1, {"default", "base"});
        if (!args.get(99, "base").is_undefined()) eval_fail("int supports no base argument");
        return to_int(input, args.get(0, "default"));
    }
    if (name == "float") {
        args.check(name, 1, {"default"});
        return to_float(input, args.get(0, "default"));
    }
    if (name == "abs") {
        args.check(name, 0, {});
        if (input.is_float()) return std::fabs(input.as_float());
        const int64_t v = need_int(input, "abs");
        if (v == INT64_MIN) eval_fail("integer overflow");
        return v < 0 ? -v : v;
    }
    if (name == "items") {
        args.check(name, 0, {});
        return dict_items(input, budget);
    }
    if (name == "reverse") {
        args.check(name, 0, {});
        return reverse(input, budget);
    }
    if (name == "select" || name == "reject") return select(input, args, false, name == "select", budget);
    if (name == "selectattr" || name == "rejectattr") {
        return select(input, args, true, name == "selectattr", budget);
    }
    if (name == "map") return map(input, args, budget);
    if (name == "indent") {
        args.check(name, 3, {"width", "first", "blank"});
        return indent(input, args, budget);
    }
    if (name == "sort") return sort(input, args, budget);
    if (name == "unique") return unique(input, args, budget);
    eval_fail("unsupported Jinja filter '", name, "'");
}

bool apply_test(std::string_view name, const Value& input, const Args& args, Budget& budget) {
    if (name == "defined") return !input.is_undefined();
    if (name == "undefined") return input.is_undefined();
    if (name == "none") return input.is_none();
    if (name == "string") return input.is_string();
    if (name == "number") return input.is_number();
    if (name == "integer") return input.is_int();
    if (name == "float") return input.is_float();
    if (name == "boolean") return input.is_bool();
    if (name == "true") return input.is_bool() && input.as_bool();
    if (name == "false") return input.is_bool() && !input.as_bool();
    if (name == "mapping") return input.is_object() && !input.as_object().is_namespace;
    if (name == "iterable") return input.is_string() || input.is_list() || input.is_object() || input.is_undefined();
    if (name == "sequence") return input.is_string() || input.is_list() || input.is_object();
    if (name == "lower") return input.is_string() && lower(input.as_string()) == input.as_string();
    if (name == "upper") return input.is_string() && upper(input.as_string()) == input.as_string();
    if (name == "even" || name == "odd") {
        const int64_t v = need_int(input, name);
        return (v % 2 == 0) == (name == "even");
    }
    if (name == "divisibleby") {
        const int64_t d = need_int(args.get(0, "num"), name);
        if (d == 0) eval_fail("divisibleby 0");
        if (d == -1) return true;
        return need_int(input, name) % d == 0;
    }
    if (name == "eq" || name == "equalto") return equals(input, args.get(0, "other"), &budget.steps_left);
    if (name == "ne") return !equals(input, args.get(0, "other"), &budget.steps_left);
    eval_fail("unsupported Jinja test '", name, "'");
}

}  // namespace suanli::jinja
