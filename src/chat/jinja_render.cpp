#include "chat/jinja_render.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include "chat/jinja_builtins.h"
#include "chat/jinja_lexer.h"
#include "chat/jinja_strings.h"

namespace suanli::jinja {

namespace {

// How a statement list ended: normally, or by {% break %} / {% continue %}.
enum class Flow : uint8_t { Normal, Break, Continue };

using Frame = std::vector<std::pair<std::string, Value>>;

// "messages[0].role", for "... is undefined" messages.
std::string describe(const Expr& e) {
    switch (e.kind) {
        case ExprKind::Name: return e.name;
        case ExprKind::Attr: return describe(*e.args[0]) + "." + e.name;
        case ExprKind::Item:
            if (e.args[1]->kind == ExprKind::Literal) return describe(*e.args[0]) + "[" + to_repr(e.args[1]->value) + "]";
            return describe(*e.args[0]) + "[...]";
        default: return "value";
    }
}

// Python ints do not overflow; ours are 64-bit and say so instead of wrapping.
template <class Op>
int64_t checked(Op op, int64_t x, int64_t y) {
    int64_t r = 0;
    if (op(x, y, &r)) eval_fail("integer overflow");
    return r;
}
constexpr auto kAdd = [](int64_t x, int64_t y, int64_t* r) { return __builtin_add_overflow(x, y, r); };
constexpr auto kSub = [](int64_t x, int64_t y, int64_t* r) { return __builtin_sub_overflow(x, y, r); };
constexpr auto kMul = [](int64_t x, int64_t y, int64_t* r) { return __builtin_mul_overflow(x, y, r); };

// Python's slice of a sequence of `n` items: items start, start + step, ...
// (count of them), computed without building the index list.
struct SliceRange {
    int64_t start = 0;
    int64_t step = 1;
    size_t count = 0;

    size_t at(size_t k) const { return static_cast<size_t>(start + static_cast<int64_t>(k) * step); }
};

SliceRange slice_range(size_t n, const Value& start_v, const Value& stop_v, const Value& step_v) {
    auto get = [](const Value& v, const char* what) -> std::optional<int64_t> {
        if (v.is_undefined() || v.is_none()) return std::nullopt;
        if (!v.is_int() && !v.is_bool()) eval_fail("slice ", what, " must be an integer, not ", type_name(v));
        return v.as_int();
    };
    const int64_t size = static_cast<int64_t>(n);
    SliceRange r;
    r.step = get(step_v, "step").value_or(1);
    if (r.step == 0) eval_fail("slice step cannot be zero");
    auto clamp = [&](std::optional<int64_t> i, int64_t fallback) {
        if (!i) return fallback;
        int64_t v = *i;
        if (v < 0) v = v < -size ? -1 : v + size;
        if (r.step > 0) return std::min(std::max<int64_t>(v, 0), size);
        return std::min(v, size - 1);
    };
    r.start = clamp(get(start_v, "start"), r.step > 0 ? 0 : size - 1);
    const int64_t stop = clamp(get(stop_v, "stop"), r.step > 0 ? size : -1);
    // The span is at most n + 1, so neither difference overflows; the division
    // rounds towards zero, as the count of steps that fit needs.
    if (r.step > 0 && r.start < stop) r.count = static_cast<size_t>((stop - r.start - 1) / r.step + 1);
    if (r.step < 0 && r.start > stop) {
        const uint64_t span = static_cast<uint64_t>(r.start - stop - 1);
        r.count = static_cast<size_t>(span / (uint64_t{0} - static_cast<uint64_t>(r.step)) + 1);
    }
    return r;
}

class Renderer {
public:
    explicit Renderer(const Object& globals) {
        frames_.emplace_back(globals.items.begin(), globals.items.end());
    }

    std::string run(const Body& body) {
        exec(body);
        return std::move(out_);
    }

private:
    Flow exec(const Body& body) {
        for (const Node& n : body) {
            const Flow flow = exec(n);
            if (flow != Flow::Normal) return flow;
        }
        return Flow::Normal;
    }

    Flow exec(const Node& n) {
        try {
            budget_.charge(1);
            switch (n.kind) {
                case NodeKind::Text: emit(n.text); return Flow::Normal;
                case NodeKind::Output: emit_value(eval(*n.expr)); return Flow::Normal;
                case NodeKind::If:
                    for (const auto& [cond, body] : n.branches) {
                        if (!cond || eval(*cond).truthy()) return exec(body);
                    }
                    return Flow::Normal;
                case NodeKind::For: return exec_for(n);
                case NodeKind::Set: exec_set(n); return Flow::Normal;
                case NodeKind::Break: return Flow::Break;
                case NodeKind::Continue: return Flow::Continue;
            }
        } catch (const EvalError& e) {
            fail("chat template: ", e.what(), " at ", position(n.line, n.column));
        }
        return Flow::Normal;
    }

    void emit(std::string_view s) {
        out_ += s;
        Budget::check_string_limit(out_.size());
        budget_.charge(static_cast<int64_t>(s.size() / 64));
    }

    void emit_value(const Value& v) {
        if (v.is_string()) emit(v.as_string());
        else emit(to_str(v));
    }

    void exec_set(const Node& n) {
        Value v = eval(*n.expr);
        if (n.names.size() == 1) {
            assign(n.names[0], std::move(v));
            return;
        }
        const Value target = lookup(n.names[0]);
        if (!target.is_object() || !target.as_object().is_namespace) {
            eval_fail("cannot set attribute '", n.names[1], "' of '", n.names[0], "': not a namespace()");
        }
        target.object_ptr()->set(n.names[1], std::move(v));
    }

    // Returns the flow of an `else` body, which belongs to the enclosing loop.
    Flow exec_for(const Node& n) {
        const Value iterable = eval(*n.expr);
        List items;
        switch (iterable.kind()) {
            case Value::Kind::Undefined: break;
            case Value::Kind::List: items = iterable.as_list(); break;
            case Value::Kind::Object:
                if (iterable.as_object().is_namespace) eval_fail("'Namespace' object is not iterable");
                for (const auto& [key, item] : iterable.as_object().items) items.emplace_back(key);
                break;
            case Value::Kind::String:
                budget_.charge(static_cast<int64_t>(iterable.as_string().size()));  // a string per character
                for (std::string& c : utf8_chars(iterable.as_string())) items.emplace_back(std::move(c));
                break;
            default: eval_fail("'", type_name(iterable), "' object is not iterable");
        }
        frames_.emplace_back();
        if (n.filter) {  // {% for x in xs if cond %}: loop.* count the kept items only
            List kept;
            for (const Value& item : items) {
                bind_targets(n, item);
                if (eval(*n.filter).truthy()) kept.push_back(item);
            }
            items = std::move(kept);
        }
        const int64_t length = static_cast<int64_t>(items.size());
        for (int64_t i = 0; i < length; ++i) {
            budget_.charge(16);  // an iteration builds `loop`: dearer than one expression
            // Jinja enters the loop's scope afresh each iteration: a {% set %} in
            // the body lasts until the end of its iteration only.
            frames_.back().clear();
            bind_targets(n, items[static_cast<size_t>(i)]);
            Object loop;
            loop.items.reserve(9);
            loop.items.emplace_back("index", i + 1);
            loop.items.emplace_back("index0", i);
            loop.items.emplace_back("revindex", length - i);
            loop.items.emplace_back("revindex0", length - i - 1);
            loop.items.emplace_back("first", i == 0);
            loop.items.emplace_back("last", i == length - 1);
            loop.items.emplace_back("length", length);
            if (i > 0) loop.items.emplace_back("previtem", items[static_cast<size_t>(i - 1)]);
            if (i + 1 < length) loop.items.emplace_back("nextitem", items[static_cast<size_t>(i + 1)]);
            assign("loop", Value(std::move(loop)));
            if (exec(n.body) == Flow::Break) break;
        }
        const Flow flow = length == 0 ? exec(n.else_body) : Flow::Normal;
        frames_.pop_back();
        return flow;
    }

    void bind_targets(const Node& n, const Value& item) {
        if (n.names.size() == 1) {
            assign(n.names[0], item);
            return;
        }
        if (!item.is_list() || item.as_list().size() != n.names.size()) {
            eval_fail("cannot unpack ", type_name(item), " into ", n.names.size(), " loop variables");
        }
        for (size_t i = 0; i < n.names.size(); ++i) assign(n.names[i], item.as_list()[i]);
    }

    void assign(const std::string& name, Value v) {
        for (auto& [k, slot] : frames_.back()) {
            if (k == name) {
                slot = std::move(v);
                return;
            }
        }
        frames_.back().emplace_back(name, std::move(v));
    }

    Value lookup(const std::string& name) const {
        for (auto frame = frames_.rbegin(); frame != frames_.rend(); ++frame) {
            for (const auto& [k, v] : *frame) {
                if (k == name) return v;
            }
        }
        return {};
    }

    Value eval(const Expr& e) {
        try {
            budget_.charge(1);
            Value v = eval_inner(e);
            budget_.charge_size(v);  // every big operand is some expression's result: pay per use
            return v;
        } catch (const EvalError& err) {
            fail("chat template: ", err.what(), " at ", position(e.line, e.column));
        } catch (const TemplateRaised&) {
            throw;
        } catch (const Error& err) {
            // From jinja_value (nesting, comparisons, text size): add the position once.
            const std::string_view what = err.what();
            if (what.find(" at line ") != std::string_view::npos) throw;
            fail(what, " at ", position(e.line, e.column));
        }
    }

    Args eval_args(const Expr& e, size_t first) {
        Args args;
        for (size_t i = first; i < e.args.size(); ++i) args.positional.push_back(eval(*e.args[i]));
        for (const auto& [name, arg] : e.kwargs) args.named.emplace_back(name, eval(*arg));
        return args;
    }

    Value eval_inner(const Expr& e) {
        switch (e.kind) {
            case ExprKind::Literal: return e.value;
            case ExprKind::Name: return lookup(e.name);
            case ExprKind::List: {
                List items;
                for (const ExprPtr& a : e.args) items.push_back(eval(*a));
                return items;
            }
            case ExprKind::Dict: {
                Object o;
                for (size_t i = 0; i + 1 < e.args.size(); i += 2) {
                    const Value key = eval(*e.args[i]);
                    if (!key.is_string()) eval_fail("dict keys must be strings here, not ", type_name(key));
                    o.set(key.as_string(), eval(*e.args[i + 1]));
                }
                return o;
            }
            case ExprKind::Attr: {
                const Value target = eval(*e.args[0]);
                if (target.is_object()) {
                    if (const Value* v = target.as_object().find(e.name)) return *v;
                }
                return {};  // Undefined, as is an attribute of Undefined here
            }
            case ExprKind::Item: return item(eval(*e.args[0]), eval(*e.args[1]));
            case ExprKind::Slice: {
                const Value target = eval(*e.args[0]);
                const Value start = e.args[1] ? eval(*e.args[1]) : Value();
                const Value stop = e.args[2] ? eval(*e.args[2]) : Value();
                const Value step = e.args[3] ? eval(*e.args[3]) : Value();
                return slice(target, start, stop, step);
            }
            case ExprKind::Call: return call(e);
            case ExprKind::Filter: {
                const Value input = eval(*e.args[0]);
                return apply_filter(e.name, input, eval_args(e, 1), budget_);
            }
            case ExprKind::Test: {
                const Value input = eval(*e.args[0]);
                return apply_test(e.name, input, eval_args(e, 1), budget_) != e.negated;
            }
            case ExprKind::Unary: {
                const Value v = eval(*e.args[0]);
                if (e.name == "not") return !v.truthy();
                if (!v.is_number()) {
                    if (v.is_undefined()) eval_fail("'", describe(*e.args[0]), "' is undefined");
                    eval_fail("bad operand type for unary ", e.name, ": '", type_name(v), "'");
                }
                if (e.name == "+") return v.is_float() ? Value(v.as_float()) : Value(v.as_int());
                if (v.is_float()) return -v.as_float();
                return checked(kSub, 0, v.as_int());
            }
            case ExprKind::Binary: return binary(e);
            case ExprKind::Compare: {
                Value left = eval(*e.args[0]);
                for (size_t i = 0; i < e.ops.size(); ++i) {
                    Value right = eval(*e.args[i + 1]);
                    if (!compare(e.ops[i], left, right)) return false;
                    left = std::move(right);
                }
                return true;
            }
            case ExprKind::Cond:
                if (eval(*e.args[1]).truthy()) return eval(*e.args[0]);
                return e.args[2] ? eval(*e.args[2]) : Value();
        }
        return {};
    }

    Value call(const Expr& e) {
        const Expr& callee = *e.args[0];
        Args args = eval_args(e, 1);
        if (callee.kind == ExprKind::Name) {
            if (callee.name == "raise_exception") {
                throw TemplateRaised(args.positional.empty() ? std::string("raise_exception() called")
                                                             : to_str(args.positional[0]));
            }
            return call_function(callee.name, args, budget_);
        }
        const Value self = eval(*callee.args[0]);
        if (self.is_undefined()) eval_fail("'", describe(*callee.args[0]), "' is undefined");
        return call_method(self, callee.name, args, budget_);
    }

    static Value item(const Value& target, const Value& key) {
        if (target.is_object()) {
            if (key.is_string()) {
                if (const Value* v = target.as_object().find(key.as_string())) return *v;
            }
            return {};
        }
        if ((target.is_list() || target.is_string()) && (key.is_int() || key.is_bool())) {
            if (target.is_list()) {
                const List& l = target.as_list();
                int64_t i = key.as_int();
                if (i < 0) i += static_cast<int64_t>(l.size());
                if (i < 0 || i >= static_cast<int64_t>(l.size())) return {};
                return l[static_cast<size_t>(i)];
            }
            const std::string_view c = utf8_at(target.as_string(), key.as_int());
            if (c.empty()) return {};
            return std::string(c);
        }
        return {};
    }

    Value slice(const Value& target, const Value& start, const Value& stop, const Value& step) {
        if (target.is_list()) {
            const List& l = target.as_list();
            const SliceRange range = slice_range(l.size(), start, stop, step);
            List out;
            out.reserve(range.count);
            for (size_t k = 0; k < range.count; ++k) out.push_back(l[range.at(k)]);
            return out;
        }
        if (target.is_string()) {
            const std::string& s = target.as_string();
            std::string out;
            if (utf8_length(s) == s.size()) {  // ASCII: bytes are characters
                const SliceRange range = slice_range(s.size(), start, stop, step);
                if (range.step == 1) return s.substr(static_cast<size_t>(range.start), range.count);
                out.reserve(range.count);
                for (size_t k = 0; k < range.count; ++k) out.push_back(s[range.at(k)]);
                return out;
            }
            const std::vector<size_t> at = utf8_offsets(s);
            budget_.charge(static_cast<int64_t>(at.size() / 8));
            const SliceRange range = slice_range(at.size() - 1, start, stop, step);
            out.reserve(s.size());
            for (size_t k = 0; k < range.count; ++k) {
                const size_t i = range.at(k);
                out.append(s, at[i], at[i + 1] - at[i]);
            }
            return out;
        }
        if (target.is_undefined()) return {};
        eval_fail("'", type_name(target), "' object is not subscriptable");
    }

    Value binary(const Expr& e) {
        const std::string& op = e.name;
        if (op == "and" || op == "or") {  // Python: the deciding operand itself
            Value left = eval(*e.args[0]);
            if (left.truthy() == (op == "or")) return left;
            return eval(*e.args[1]);
        }
        const Value a = eval(*e.args[0]);
        const Value b = eval(*e.args[1]);
        if (op == "~") {
            std::string s = to_str(a);
            s += to_str(b);
            budget_.check_string(s.size());
            return s;
        }
        if (a.is_undefined() || b.is_undefined()) {
            eval_fail("'", describe(*e.args[a.is_undefined() ? 0 : 1]), "' is undefined");
        }
        if (a.is_number() && b.is_number()) return arithmetic(op, a, b);
        if (op == "+" && a.is_string() && b.is_string()) {
            budget_.check_string(a.as_string().size() + b.as_string().size());
            return a.as_string() + b.as_string();
        }
        if (op == "+" && a.is_list() && b.is_list()) {
            budget_.check_list(a.as_list().size() + b.as_list().size());
            List out = a.as_list();
            out.insert(out.end(), b.as_list().begin(), b.as_list().end());
            return out;
        }
        if (op == "*" && (a.is_string() || a.is_list() || b.is_string() || b.is_list())) {
            const Value& seq = a.is_number() ? b : a;
            const Value& count = a.is_number() ? a : b;
            if (count.is_int() || count.is_bool()) return repeat(seq, count.as_int());
        }
        if (op == "%" && a.is_string()) eval_fail("unsupported Jinja construct: string formatting with '%'");
        eval_fail("unsupported operand types for ", op, ": '", type_name(a), "' and '", type_name(b), "'");
    }

    Value repeat(const Value& seq, int64_t n) {
        if (n <= 0) return seq.is_string() ? Value("") : Value(List{});
        if (seq.is_string()) {
            const std::string& s = seq.as_string();
            if (!s.empty() && n > static_cast<int64_t>(Budget::kMaxString / s.size())) budget_.check_string(Budget::kMaxString + 1);
            budget_.check_string(s.size() * static_cast<size_t>(n));
            std::string out;
            for (int64_t i = 0; i < n; ++i) out += s;
            return out;
        }
        const List& l = seq.as_list();
        if (!l.empty() && n > static_cast<int64_t>(Budget::kMaxList / l.size())) budget_.check_list(Budget::kMaxList + 1);
        budget_.check_list(l.size() * static_cast<size_t>(n));
        List out;
        for (int64_t i = 0; i < n; ++i) out.insert(out.end(), l.begin(), l.end());
        return out;
    }

    static Value arithmetic(const std::string& op, const Value& a, const Value& b) {
        if (op == "/") {
            if (b.as_float() == 0.0) eval_fail("division by zero");
            return a.as_float() / b.as_float();
        }
        if (a.is_float() || b.is_float()) {
            const double x = a.as_float();
            const double y = b.as_float();
            if (op == "+") return x + y;
            if (op == "-") return x - y;
            if (op == "*") return x * y;
            if (op == "**") return std::pow(x, y);
            if (y == 0.0) eval_fail(op == "//" ? "float floor division by zero" : "float modulo");
            if (op == "//") return std::floor(x / y);
            double r = std::fmod(x, y);
            if (r != 0.0 && ((r < 0) != (y < 0))) r += y;
            return r;
        }
        const int64_t x = a.as_int();
        const int64_t y = b.as_int();
        if (op == "+") return checked(kAdd, x, y);
        if (op == "-") return checked(kSub, x, y);
        if (op == "*") return checked(kMul, x, y);
        if (op == "**") {
            if (y < 0) return std::pow(static_cast<double>(x), static_cast<double>(y));
            int64_t r = 1;
            int64_t base = x;
            for (int64_t e = y; e > 0; e >>= 1) {
                if (e & 1) r = checked(kMul, r, base);
                if (e > 1) base = checked(kMul, base, base);
            }
            return r;
        }
        if (y == 0) eval_fail("integer division or modulo by zero");
        if (x == INT64_MIN && y == -1) eval_fail("integer overflow");
        int64_t q = x / y;
        int64_t m = x % y;
        if (m != 0 && ((m < 0) != (y < 0))) {  // Python floors; C++ truncates
            --q;
            m += y;
        }
        return op == "//" ? q : m;
    }

    bool contains(const Value& container, const Value& needle) {
        switch (container.kind()) {
            case Value::Kind::Undefined: return false;
            case Value::Kind::String:
                if (!needle.is_string()) eval_fail("'in <string>' requires a string as left operand, not ", type_name(needle));
                return container.as_string().find(needle.as_string()) != std::string::npos;
            case Value::Kind::List:
                for (const Value& v : container.as_list()) {
                    if (equals(v, needle, &budget_.steps_left)) return true;
                }
                return false;
            case Value::Kind::Object:
                return needle.is_string() && container.as_object().find(needle.as_string()) != nullptr;
            default: eval_fail("argument of type '", type_name(container), "' is not iterable");
        }
    }

    bool compare(const std::string& op, const Value& a, const Value& b) {
        if (op == "==") return equals(a, b, &budget_.steps_left);
        if (op == "!=") return !equals(a, b, &budget_.steps_left);
        if (op == "in") return contains(b, a);
        if (op == "not in") return !contains(b, a);
        if (op == "<") return less_than(a, b);
        if (op == ">") return less_than(b, a);
        if (op == "<=") return !less_than(b, a);
        return !less_than(a, b);  // >=
    }

    bool less_than(const Value& a, const Value& b) {
        const bool ordered = (a.is_number() && b.is_number()) || (a.is_string() && b.is_string()) ||
                             (a.is_list() && b.is_list());
        if (!ordered) eval_fail("'<' not supported between '", type_name(a), "' and '", type_name(b), "'");
        return less(a, b, &budget_.steps_left);
    }

    std::vector<Frame> frames_;
    std::string out_;
    Budget budget_;
};

}  // namespace

std::string render(const Body& body, const Object& globals) { return Renderer(globals).run(body); }

}  // namespace suanli::jinja
