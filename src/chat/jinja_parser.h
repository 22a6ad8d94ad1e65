// The syntax tree of the Jinja subset, and the parser that builds it.
//
// Statements: text, {{ expr }}, if/elif/else, for (with tuple targets, an `if`
// filter, else, loop.*, break, continue), set (a name or a namespace attribute).
// Anything else, and any filter or test the renderer does not know, is refused
// here, at parse time, with the construct's name and line.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "chat/jinja_value.h"

namespace suanli::jinja {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

enum class ExprKind : uint8_t {
    Literal,  // value
    Name,     // name
    List,     // args: items
    Dict,     // args: key0, value0, key1, value1...
    Attr,     // args[0].name
    Item,     // args[0][args[1]]
    Slice,    // args[0][args[1]:args[2]:args[3]], each bound may be null
    Call,     // args[0](args[1..], kwargs); args[0] is a Name (a function) or an Attr (a method)
    Filter,   // args[0] | name(args[1..], kwargs)
    Test,     // args[0] is [not] name(args[1..]); negated
    Unary,    // name ("not", "-", "+") args[0]
    Binary,   // args[0] name args[1]; name is an operator, "and", "or", "in" or "not in"
    Compare,  // args[0] ops[0] args[1] ops[1] args[2]...: Python's chained comparison
    Cond,     // args[0] if args[1] else args[2] (args[2] may be null)
};

struct Expr {
    ExprKind kind = ExprKind::Literal;
    int line = 0;
    int column = 0;
    int depth = 1;  // of the subtree: bounded by kMaxExprDepth
    Value value;
    std::string name;
    bool negated = false;
    std::vector<ExprPtr> args;
    std::vector<std::pair<std::string, ExprPtr>> kwargs;
    std::vector<std::string> ops;
};

struct Node;
using Body = std::vector<Node>;

enum class NodeKind : uint8_t { Text, Output, If, For, Set, Break, Continue };

struct Node {
    NodeKind kind = NodeKind::Text;
    int line = 0;
    int column = 0;
    std::string text;                 // Text
    std::vector<std::string> names;   // For: loop targets; Set: the name, or the name and the attribute
    ExprPtr expr;                     // Output: the value; For: the iterable; Set: the value
    ExprPtr filter;                   // For: the `if` condition, or null
    std::vector<std::pair<ExprPtr, Body>> branches;  // If: condition and body; `else` has no condition
    Body body;                        // For
    Body else_body;                   // For
};

// Blocks and expressions may nest this deep; deeper is an Error (a guard for
// the recursion of the parser and the renderer).
inline constexpr int kMaxNesting = 64;
inline constexpr int kMaxExprDepth = 256;

// Parses a template; throws Error "chat template: <what> at line L, column C".
Body parse(std::string_view source);

}  // namespace suanli::jinja
