#include "chat/jinja_parser.h"

#include <algorithm>
#include <initializer_list>

#include "chat/jinja_builtins.h"
#include "chat/jinja_lexer.h"
#include "core/error.h"

namespace suanli::jinja {

namespace {

bool is_keyword(std::string_view s) {
    for (const char* k : {"and", "or", "not", "in", "is", "if", "else", "true", "false", "none", "True", "False",
                          "None"}) {
        if (s == k) return true;
    }
    return false;
}

class Parser {
public:
    explicit Parser(std::vector<Token> tokens) : toks_(std::move(tokens)) {}

    Body parse_template() {
        std::string ended_by;
        return parse_body({}, ended_by);
    }

private:
    // ---- statements ----

    // Parses nodes up to a block tag named in `terminators` (consumed: "{%" and
    // its name) or, when there are none, to the end of the template.
    Body parse_body(std::initializer_list<std::string_view> terminators, std::string& ended_by) {
        Body body;
        while (true) {
            const Token& t = peek();
            if (t.kind == Tok::End) {
                if (terminators.size() != 0) fail_at(t, cat("unclosed block: expected '{% ", *terminators.begin(), " %}'"));
                return body;
            }
            if (t.kind == Tok::Text) {
                Node n = node(NodeKind::Text, t);
                n.text = t.text;
                body.push_back(std::move(n));
                next();
            } else if (t.kind == Tok::VarBegin) {
                Node n = node(NodeKind::Output, t);
                next();
                n.expr = parse_expression();
                expect(Tok::VarEnd, "'}}'");
                body.push_back(std::move(n));
            } else if (t.kind == Tok::BlockBegin) {
                const Token& name = peek(1);
                if (name.kind != Tok::Name) fail_at(name, "expected a tag name after '{%'");
                if (std::find(terminators.begin(), terminators.end(), name.text) != terminators.end()) {
                    ended_by = name.text;
                    next();
                    next();
                    return body;
                }
                next();
                body.push_back(parse_statement());
            } else {
                fail_at(t, "unexpected token");
            }
        }
    }

    Node parse_statement() {
        const Token& t = next();  // the tag name
        const std::string& tag = t.text;
        if (tag == "if") return parse_if(t);
        if (tag == "for") return parse_for(t);
        if (tag == "set") return parse_set(t);
        if (tag == "break" || tag == "continue") {
            if (loop_depth_ == 0) fail_at(t, cat("'{% ", tag, " %}' outside a for loop"));
            Node n = node(tag == "break" ? NodeKind::Break : NodeKind::Continue, t);
            expect(Tok::BlockEnd, "'%}'");
            return n;
        }
        if (tag == "elif" || tag == "else" || tag.starts_with("end")) {
            fail_at(t, cat("unexpected '{% ", tag, " %}'"));
        }
        fail_at(t, cat("unsupported Jinja tag '", tag, "'"));
    }

    Node parse_if(const Token& t) {
        const NestGuard guard(*this, t);
        Node n = node(NodeKind::If, t);
        ExprPtr cond = parse_expression();
        while (true) {
            expect(Tok::BlockEnd, "'%}'");
            std::string ended_by;
            Body body = parse_body({"endif", "elif", "else"}, ended_by);
            n.branches.emplace_back(std::move(cond), std::move(body));
            if (ended_by == "elif") {
                cond = parse_expression();
                continue;
            }
            if (ended_by == "else") {
                expect(Tok::BlockEnd, "'%}'");
                Body else_body = parse_body({"endif"}, ended_by);
                n.branches.emplace_back(nullptr, std::move(else_body));
            }
            expect(Tok::BlockEnd, "'%}'");
            return n;
        }
    }

    Node parse_for(const Token& t) {
        const NestGuard guard(*this, t);
        Node n = node(NodeKind::For, t);
        do {
            const Token& target = next();
            if (target.kind != Tok::Name || is_keyword(target.text)) fail_at(target, "expected a loop variable name");
            n.names.push_back(target.text);
        } while (accept_op(","));
        if (!accept_name("in")) fail_at(peek(), "expected 'in' in for loop");
        n.expr = parse_expression(false);
        if (accept_name("if")) n.filter = parse_expression(false);
        if (peek().kind == Tok::Name && peek().text == "recursive") fail_at(peek(), "unsupported Jinja construct 'recursive' loop");
        expect(Tok::BlockEnd, "'%}'");
        ++loop_depth_;
        std::string ended_by;
        n.body = parse_body({"endfor", "else"}, ended_by);
        --loop_depth_;
        if (ended_by == "else") {
            expect(Tok::BlockEnd, "'%}'");
            n.else_body = parse_body({"endfor"}, ended_by);
        }
        expect(Tok::BlockEnd, "'%}'");
        return n;
    }

    Node parse_set(const Token& t) {
        Node n = node(NodeKind::Set, t);
        const Token& target = next();
        if (target.kind != Tok::Name || is_keyword(target.text)) fail_at(target, "expected a variable name after 'set'");
        n.names.push_back(target.text);
        if (accept_op(".")) {
            const Token& attr = next();
            if (attr.kind != Tok::Name) fail_at(attr, "expected an attribute name");
            n.names.push_back(attr.text);
        }
        if (peek().kind == Tok::BlockEnd) fail_at(t, "unsupported Jinja construct '{% set %}' block (with '{% endset %}')");
        if (is_op(",")) fail_at(peek(), "unsupported Jinja construct: '{% set %}' with several targets");
        if (!accept_op("=")) fail_at(peek(), "expected '=' in set");
        n.expr = parse_expression();
        expect(Tok::BlockEnd, "'%}'");
        return n;
    }

    // ---- expressions, loosest binding first (Jinja's precedence) ----

    ExprPtr parse_expression(bool with_condition = true) {
        const NestGuard guard(*this, peek());
        ExprPtr e = parse_or();
        if (with_condition && peek().kind == Tok::Name && peek().text == "if") {
            const Token& t = next();
            ExprPtr cond = parse_or();
            ExprPtr otherwise;
            if (accept_name("else")) otherwise = parse_expression();
            std::vector<ExprPtr> args;
            args.push_back(std::move(e));
            args.push_back(std::move(cond));
            args.push_back(std::move(otherwise));
            e = make(ExprKind::Cond, t, std::move(args));
        }
        return e;
    }

    ExprPtr parse_or() {
        ExprPtr e = parse_and();
        while (peek().kind == Tok::Name && peek().text == "or") {
            const Token& t = next();
            e = binary(t, "or", std::move(e), parse_and());
        }
        return e;
    }

    ExprPtr parse_and() {
        ExprPtr e = parse_not();
        while (peek().kind == Tok::Name && peek().text == "and") {
            const Token& t = next();
            e = binary(t, "and", std::move(e), parse_not());
        }
        return e;
    }

    ExprPtr parse_not() {
        if (peek().kind == Tok::Name && peek().text == "not") {
            const Token& t = next();
            const NestGuard guard(*this, t);
            std::vector<ExprPtr> args;
            args.push_back(parse_not());
            ExprPtr e = make(ExprKind::Unary, t, std::move(args));
            e->name = "not";
            return e;
        }
        return parse_compare();
    }

    ExprPtr parse_compare() {
        ExprPtr first = parse_math1();
        std::vector<ExprPtr> operands;
        std::vector<std::string> ops;
        const Token& start = peek();
        while (true) {
            const Token& t = peek();
            std::string op;
            if (t.kind == Tok::Op && (t.text == "==" || t.text == "!=" || t.text == "<" || t.text == ">" ||
                                      t.text == "<=" || t.text == ">=")) {
                op = t.text;
                next();
            } else if (t.kind == Tok::Name && t.text == "in") {
                op = "in";
                next();
            } else if (t.kind == Tok::Name && t.text == "not" && peek(1).kind == Tok::Name && peek(1).text == "in") {
                op = "not in";
                next();
                next();
            } else {
                break;
            }
            if (operands.empty()) operands.push_back(std::move(first));
            ops.push_back(op);
            operands.push_back(parse_math1());
        }
        if (operands.empty()) return first;
        ExprPtr e = make(ExprKind::Compare, start, std::move(operands));
        e->ops = std::move(ops);
        return e;
    }

    ExprPtr parse_math1() {
        ExprPtr e = parse_concat();
        while (is_op("+") || is_op("-")) {
            const Token& t = next();
            e = binary(t, t.text, std::move(e), parse_concat());
        }
        return e;
    }

    ExprPtr parse_concat() {
        ExprPtr e = parse_math2();
        while (is_op("~")) {
            const Token& t = next();
            e = binary(t, "~", std::move(e), parse_math2());
        }
        return e;
    }

    ExprPtr parse_math2() {
        ExprPtr e = parse_pow();
        while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
            const Token& t = next();
            e = binary(t, t.text, std::move(e), parse_pow());
        }
        return e;
    }

    ExprPtr parse_pow() {
        ExprPtr e = parse_unary(true);
        while (is_op("**")) {
            const Token& t = next();
            e = binary(t, "**", std::move(e), parse_unary(true));
        }
        return e;
    }

    ExprPtr parse_unary(bool with_filter) {
        const Token& t = peek();
        const NestGuard guard(*this, t);
        ExprPtr e;
        if (is_op("-") || is_op("+")) {
            next();
            std::vector<ExprPtr> args;
            args.push_back(parse_unary(false));
            e = make(ExprKind::Unary, t, std::move(args));
            e->name = t.text;
        } else {
            e = parse_primary();
        }
        e = parse_postfix(std::move(e));
        if (with_filter) e = parse_filters(std::move(e));
        return e;
    }

    ExprPtr parse_primary() {
        const Token& t = next();
        switch (t.kind) {
            case Tok::Name: {
                if (t.text == "true" || t.text == "True") return literal(t, true);
                if (t.text == "false" || t.text == "False") return literal(t, false);
                if (t.text == "none" || t.text == "None") return literal(t, Value(None{}));
                if (is_keyword(t.text)) fail_at(t, cat("unexpected '", t.text, "'"));
                ExprPtr e = make(ExprKind::Name, t, {});
                e->name = t.text;
                return e;
            }
            case Tok::String: {
                std::string s = t.text;
                while (peek().kind == Tok::String) s += next().text;  // 'a' 'b' is 'ab', as in Python
                return literal(t, Value(std::move(s)));
            }
            case Tok::Int: return literal(t, Value(t.int_value));
            case Tok::Float: return literal(t, Value(t.float_value));
            case Tok::Op:
                if (t.text == "(") {
                    if (accept_op(")")) return make(ExprKind::List, t, {});  // the empty tuple
                    ExprPtr e = parse_expression();
                    if (!is_op(",")) {
                        expect_op(")");
                        return e;
                    }
                    std::vector<ExprPtr> items;  // a tuple: a list here
                    items.push_back(std::move(e));
                    while (accept_op(",")) {
                        if (is_op(")")) break;
                        items.push_back(parse_expression());
                    }
                    expect_op(")");
                    return make(ExprKind::List, t, std::move(items));
                }
                if (t.text == "[") {
                    std::vector<ExprPtr> items;
                    while (!is_op("]")) {
                        items.push_back(parse_expression());
                        if (!accept_op(",")) break;
                    }
                    expect_op("]");
                    return make(ExprKind::List, t, std::move(items));
                }
                if (t.text == "{") {
                    std::vector<ExprPtr> items;
                    while (!is_op("}")) {
                        items.push_back(parse_expression());
                        expect_op(":");
                        items.push_back(parse_expression());
                        if (!accept_op(",")) break;
                    }
                    expect_op("}");
                    return make(ExprKind::Dict, t, std::move(items));
                }
                break;
            default: break;
        }
        fail_at(t, t.kind == Tok::VarEnd || t.kind == Tok::BlockEnd || t.kind == Tok::End
                       ? std::string("expected an expression")
                       : cat("unexpected '", t.text, "'"));
    }

    ExprPtr parse_postfix(ExprPtr e) {
        while (true) {
            if (is_op(".")) {
                const Token& dot = next();
                const Token& attr = next();
                std::vector<ExprPtr> args;
                args.push_back(std::move(e));
                if (attr.kind == Tok::Name) {
                    e = make(ExprKind::Attr, dot, std::move(args));
                    e->name = attr.text;
                } else if (attr.kind == Tok::Int) {  // foo.0 is foo[0]
                    args.push_back(literal(attr, Value(attr.int_value)));
                    e = make(ExprKind::Item, dot, std::move(args));
                } else {
                    fail_at(attr, "expected an attribute name after '.'");
                }
            } else if (is_op("[")) {
                e = parse_subscript(std::move(e));
            } else if (is_op("(")) {
                e = parse_call(std::move(e));
            } else {
                return e;
            }
        }
    }

    ExprPtr parse_subscript(ExprPtr target) {
        const Token& t = next();  // [
        std::vector<ExprPtr> args;
        args.push_back(std::move(target));
        ExprPtr start = is_op(":") ? nullptr : parse_expression();
        if (!accept_op(":")) {
            expect_op("]");
            args.push_back(std::move(start));
            return make(ExprKind::Item, t, std::move(args));
        }
        ExprPtr stop = is_op(":") || is_op("]") ? nullptr : parse_expression();
        ExprPtr step;
        if (accept_op(":") && !is_op("]")) step = parse_expression();
        expect_op("]");
        args.push_back(std::move(start));
        args.push_back(std::move(stop));
        args.push_back(std::move(step));
        return make(ExprKind::Slice, t, std::move(args));
    }

    ExprPtr parse_call(ExprPtr callee) {
        const Token& t = peek();
        if (callee->kind == ExprKind::Name) {
            if (callee->name != "raise_exception" && !is_known_function(callee->name)) {
                fail_at(t, cat("unsupported Jinja function '", callee->name, "'"));
            }
        } else if (callee->kind == ExprKind::Attr) {
            if (!is_known_method(callee->name)) fail_at(t, cat("unsupported method '.", callee->name, "()'"));
        } else {
            fail_at(t, "only functions and methods can be called");
        }
        std::vector<ExprPtr> args;
        args.push_back(std::move(callee));
        std::vector<std::pair<std::string, ExprPtr>> kwargs;
        parse_arguments(args, kwargs);
        ExprPtr e = make(ExprKind::Call, t, std::move(args));
        add_kwargs(*e, std::move(kwargs), t);
        return e;
    }

    // "(a, b, name=c)" after the callee; appends to args and kwargs.
    void parse_arguments(std::vector<ExprPtr>& args, std::vector<std::pair<std::string, ExprPtr>>& kwargs) {
        expect_op("(");
        while (!is_op(")")) {
            if (peek().kind == Tok::Name && peek(1).kind == Tok::Op && peek(1).text == "=") {
                std::string name = next().text;
                next();
                kwargs.emplace_back(std::move(name), parse_expression());
            } else {
                if (!kwargs.empty()) fail_at(peek(), "positional argument after a keyword argument");
                args.push_back(parse_expression());
            }
            if (!accept_op(",")) break;
        }
        expect_op(")");
    }

    void add_kwargs(Expr& e, std::vector<std::pair<std::string, ExprPtr>> kwargs, const Token& t) {
        for (const auto& [name, arg] : kwargs) e.depth = std::max(e.depth, arg->depth + 1);
        if (e.depth > kMaxExprDepth) fail_at(t, "expression nested too deeply");
        e.kwargs = std::move(kwargs);
    }

    ExprPtr parse_filters(ExprPtr e) {
        while (true) {
            if (is_op("|")) {
                next();
                const Token& name = next();
                if (name.kind != Tok::Name) fail_at(name, "expected a filter name after '|'");
                if (!is_known_filter(name.text)) fail_at(name, cat("unsupported Jinja filter '", name.text, "'"));
                std::vector<ExprPtr> args;
                args.push_back(std::move(e));
                std::vector<std::pair<std::string, ExprPtr>> kwargs;
                if (is_op("(")) parse_arguments(args, kwargs);
                e = make(ExprKind::Filter, name, std::move(args));
                e->name = name.text;
                add_kwargs(*e, std::move(kwargs), name);
            } else if (peek().kind == Tok::Name && peek().text == "is") {
                next();
                const bool negated = accept_name("not");
                const Token& name = next();
                if (name.kind != Tok::Name) fail_at(name, "expected a test name after 'is'");
                std::string test = name.text;
                if (test == "none" || test == "None") test = "none";
                else if (test == "true" || test == "True") test = "true";
                else if (test == "false" || test == "False") test = "false";
                if (!is_known_test(test)) fail_at(name, cat("unsupported Jinja test '", name.text, "'"));
                std::vector<ExprPtr> args;
                args.push_back(std::move(e));
                std::vector<std::pair<std::string, ExprPtr>> kwargs;
                if (is_op("(")) {
                    parse_arguments(args, kwargs);
                } else if (starts_test_argument()) {
                    args.push_back(parse_unary(false));  // "x is divisibleby 3"
                }
                e = make(ExprKind::Test, name, std::move(args));
                e->name = std::move(test);
                e->negated = negated;
                add_kwargs(*e, std::move(kwargs), name);
            } else {
                return e;
            }
        }
    }

    bool starts_test_argument() const {
        const Token& t = peek();
        if (t.kind == Tok::String || t.kind == Tok::Int || t.kind == Tok::Float) return true;
        if (t.kind == Tok::Name) return !is_keyword(t.text) || t.text == "true" || t.text == "false" || t.text == "none";
        return t.kind == Tok::Op && (t.text == "[" || t.text == "{");
    }

    // ---- helpers ----

    // Counts nesting of blocks and of recursive expression parsing.
    struct NestGuard {
        NestGuard(Parser& p, const Token& t) : parser(p) {
            if (++parser.nesting_ > kMaxNesting) parser.fail_at(t, cat("nested deeper than ", kMaxNesting, " levels"));
        }
        ~NestGuard() { --parser.nesting_; }
        Parser& parser;
    };

    static Node node(NodeKind kind, const Token& t) {
        Node n;
        n.kind = kind;
        n.line = t.line;
        n.column = t.column;
        return n;
    }

    static int depth_of(const std::vector<ExprPtr>& args) {
        int depth = 0;
        for (const ExprPtr& a : args) {
            if (a) depth = std::max(depth, a->depth);
        }
        return depth;
    }

    ExprPtr make(ExprKind kind, const Token& t, std::vector<ExprPtr> args) {
        auto e = std::make_unique<Expr>();
        e->kind = kind;
        e->line = t.line;
        e->column = t.column;
        e->depth = depth_of(args) + 1;
        if (e->depth > kMaxExprDepth) fail_at(t, "expression nested too deeply");
        e->args = std::move(args);
        return e;
    }

    ExprPtr literal(const Token& t, Value v) {
        ExprPtr e = make(ExprKind::Literal, t, {});
        e->value = std::move(v);
        return e;
    }

    ExprPtr binary(const Token& t, std::string op, ExprPtr a, ExprPtr b) {
        std::vector<ExprPtr> args;
        args.push_back(std::move(a));
        args.push_back(std::move(b));
        ExprPtr e = make(ExprKind::Binary, t, std::move(args));
        e->name = std::move(op);
        return e;
    }

    const Token& peek(size_t ahead = 0) const {
        return toks_[std::min(pos_ + ahead, toks_.size() - 1)];
    }
    const Token& next() {
        const Token& t = peek();
        if (pos_ < toks_.size() - 1) ++pos_;
        return t;
    }
    bool is_op(std::string_view op) const { return peek().kind == Tok::Op && peek().text == op; }
    bool accept_op(std::string_view op) {
        if (!is_op(op)) return false;
        next();
        return true;
    }
    bool accept_name(std::string_view name) {
        if (peek().kind != Tok::Name || peek().text != name) return false;
        next();
        return true;
    }
    void expect_op(std::string_view op) {
        if (!accept_op(op)) fail_at(peek(), cat("expected '", op, "'"));
    }
    void expect(Tok kind, std::string_view what) {
        if (peek().kind != kind) fail_at(peek(), cat("expected ", what));
        next();
    }

    [[noreturn]] void fail_at(const Token& t, const std::string& what) const {
        fail("chat template: ", what, " at ", position(t.line, t.column));
    }

    std::vector<Token> toks_;
    size_t pos_ = 0;
    int nesting_ = 0;
    int loop_depth_ = 0;
};

}  // namespace

Body parse(std::string_view source) { return Parser(tokenize(source)).parse_template(); }

}  // namespace suanli::jinja
