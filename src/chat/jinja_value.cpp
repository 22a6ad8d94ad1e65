#include "chat/jinja_value.h"

#include "core/json_string.h"

#include <charconv>
#include <cmath>
#include <cstdio>

#include "core/error.h"

namespace suanli::jinja {

namespace {

bool is_namespace(const Value& v) { return v.is_object() && v.as_object().is_namespace; }

void check_item(const Value& item, int& depth) {
    if (is_namespace(item)) fail("chat template: a namespace() object cannot be stored in a list, dict or namespace");
    if (item.depth() + 1 > depth) depth = item.depth() + 1;
}

void check_depth(int depth) {
    if (depth > Value::kMaxDepth) fail("chat template: lists and dicts nested deeper than ", Value::kMaxDepth);
}

void append_quoted_repr(std::string& out, const std::string& s) {
    // Python picks single quotes unless the text has one and no double quote.
    const char q = (s.find('\'') != std::string::npos && s.find('"') == std::string::npos) ? '"' : '\'';
    out.push_back(q);
    for (const char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (c == q || c == '\\') {
            out.push_back('\\');
            out.push_back(c);
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\r') {
            out += "\\r";
        } else if (c == '\t') {
            out += "\\t";
        } else if (u < 0x20 || u == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", u);
            out += buf;
        } else {
            out.push_back(c);
        }
    }
    out.push_back(q);
}


void append_repr(std::string& out, const Value& v);

void check_text(const std::string& out) {
    if (out.size() > kMaxText) fail("chat template: text longer than ", kMaxText, " bytes");
}

void spend(int64_t* steps) {
    if (steps && --*steps < 0) fail("chat template: template does too much work comparing values");
}

void append_str(std::string& out, const Value& v) {
    switch (v.kind()) {
        case Value::Kind::Undefined: return;
        case Value::Kind::String: out += v.as_string(); return;
        default: append_repr(out, v);
    }
}

void append_repr(std::string& out, const Value& v) {
    check_text(out);
    switch (v.kind()) {
        case Value::Kind::Undefined: out += "Undefined"; return;
        case Value::Kind::None: out += "None"; return;
        case Value::Kind::Bool: out += v.as_bool() ? "True" : "False"; return;
        case Value::Kind::Int: out += std::to_string(v.as_int()); return;
        case Value::Kind::Float: out += float_repr(v.as_float()); return;
        case Value::Kind::String: append_quoted_repr(out, v.as_string()); return;
        case Value::Kind::List: {
            out.push_back('[');
            bool first = true;
            for (const Value& item : v.as_list()) {
                if (!first) out += ", ";
                first = false;
                append_repr(out, item);
            }
            out.push_back(']');
            return;
        }
        case Value::Kind::Object: {
            const Object& o = v.as_object();
            if (o.is_namespace) out += "<Namespace ";
            out.push_back('{');
            bool first = true;
            for (const auto& [key, item] : o.items) {
                if (!first) out += ", ";
                first = false;
                append_quoted_repr(out, key);
                out += ": ";
                append_repr(out, item);
            }
            out.push_back('}');
            if (o.is_namespace) out.push_back('>');
            return;
        }
    }
}

void append_newline_indent(std::string& out, int indent, int level) {
    out.push_back('\n');
    out.append(static_cast<size_t>(indent) * level, ' ');
}

void append_json(std::string& out, const Value& v, int indent, int level) {
    check_text(out);
    switch (v.kind()) {
        case Value::Kind::Undefined: fail("chat template: tojson got an undefined value");
        case Value::Kind::None: out += "null"; return;
        case Value::Kind::Bool: out += v.as_bool() ? "true" : "false"; return;
        case Value::Kind::Int: out += std::to_string(v.as_int()); return;
        case Value::Kind::Float: {
            const double f = v.as_float();
            if (std::isnan(f)) out += "NaN";
            else if (std::isinf(f)) out += f > 0 ? "Infinity" : "-Infinity";
            else out += float_repr(f);
            return;
        }
        case Value::Kind::String: append_json_string(out, v.as_string()); return;
        case Value::Kind::List: {
            const List& l = v.as_list();
            if (l.empty()) {
                out += "[]";
                return;
            }
            out.push_back('[');
            for (size_t i = 0; i < l.size(); ++i) {
                if (i > 0) out += indent >= 0 ? "," : ", ";
                if (indent >= 0) append_newline_indent(out, indent, level + 1);
                append_json(out, l[i], indent, level + 1);
            }
            if (indent >= 0) append_newline_indent(out, indent, level);
            out.push_back(']');
            return;
        }
        case Value::Kind::Object: {
            const Object& o = v.as_object();
            if (o.items.empty()) {
                out += "{}";
                return;
            }
            out.push_back('{');
            for (size_t i = 0; i < o.items.size(); ++i) {
                if (i > 0) out += indent >= 0 ? "," : ", ";
                if (indent >= 0) append_newline_indent(out, indent, level + 1);
                append_json_string(out, o.items[i].first);
                out += ": ";
                append_json(out, o.items[i].second, indent, level + 1);
            }
            if (indent >= 0) append_newline_indent(out, indent, level);
            out.push_back('}');
            return;
        }
    }
}

}  // namespace

Value::Value(List l) {
    int depth = 1;
    for (const Value& item : l) check_item(item, depth);
    check_depth(depth);
    v_ = std::make_shared<List>(std::move(l));
    depth_ = static_cast<uint8_t>(depth);
}

Value::Value(Object o) {
    int depth = 1;
    for (const auto& [key, item] : o.items) check_item(item, depth);
    check_depth(depth);
    v_ = std::make_shared<Object>(std::move(o));
    depth_ = static_cast<uint8_t>(depth);
}

const Value* Object::find(std::string_view key) const {
    for (const auto& [k, v] : items) {
        if (k == key) return &v;
    }
    return nullptr;
}

void Object::set(std::string_view key, Value value) {
    int depth = 1;
    check_item(value, depth);
    check_depth(depth);
    for (auto& [k, v] : items) {
        if (k == key) {
            v = std::move(value);
            return;
        }
    }
    items.emplace_back(std::string(key), std::move(value));
}

bool Value::truthy() const {
    switch (kind()) {
        case Kind::Undefined:
        case Kind::None: return false;
        case Kind::Bool: return as_bool();
        case Kind::Int: return as_int() != 0;
        case Kind::Float: return as_float() != 0.0;
        case Kind::String: return !as_string().empty();
        case Kind::List: return !as_list().empty();
        case Kind::Object: return as_object().is_namespace || !as_object().items.empty();
    }
    return false;
}

const char* type_name(const Value& v) {
    switch (v.kind()) {
        case Value::Kind::Undefined: return "undefined";
        case Value::Kind::None: return "NoneType";
        case Value::Kind::Bool: return "bool";
        case Value::Kind::Int: return "int";
        case Value::Kind::Float: return "float";
        case Value::Kind::String: return "str";
        case Value::Kind::List: return "list";
        case Value::Kind::Object: return v.as_object().is_namespace ? "Namespace" : "dict";
    }
    return "?";
}

std::string float_repr(double f) {
    if (std::isnan(f)) return "nan";
    if (std::isinf(f)) return f > 0 ? "inf" : "-inf";
    // Shortest round-trip digits, then Python's layout: positional for exponents
    // in [-4, 16), scientific otherwise, and always a ".0" on whole numbers.
    char buf[64];
    const auto res = std::to_chars(buf, buf + sizeof buf, f, std::chars_format::scientific);
    const std::string sci(buf, res.ptr);
    const size_t e = sci.find('e');
    std::string mantissa = sci.substr(0, e);
    const int exp = std::stoi(sci.substr(e + 1));
    const bool negative = mantissa[0] == '-';
    if (negative) mantissa.erase(0, 1);
    std::string digits;
    for (const char c : mantissa) {
        if (c != '.') digits.push_back(c);
    }
    std::string out = negative ? "-" : "";
    if (exp >= -4 && exp < 16) {
        if (exp < 0) {
            out += "0.";
            out.append(static_cast<size_t>(-exp - 1), '0');
            out += digits;
        } else if (static_cast<int>(digits.size()) <= exp + 1) {
            out += digits;
            out.append(static_cast<size_t>(exp + 1) - digits.size(), '0');
            out += ".0";
        } else {
            out += digits.substr(0, static_cast<size_t>(exp) + 1);
            out += '.';
            out += digits.substr(static_cast<size_t>(exp) + 1);
        }
    } else {
        out += digits.substr(0, 1);
        if (digits.size() > 1) {
            out += '.';
            out += digits.substr(1);
        }
        char ebuf[16];
        std::snprintf(ebuf, sizeof ebuf, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
        out += ebuf;
    }
    return out;
}

std::string to_str(const Value& v) {
    std::string out;
    append_str(out, v);
    check_text(out);
    return out;
}

std::string to_repr(const Value& v) {
    if (v.is_undefined()) return "Undefined";
    std::string out;
    append_repr(out, v);
    check_text(out);
    return out;
}

std::string to_json(const Value& v, int indent) {
    std::string out;
    append_json(out, v, indent, 0);
    check_text(out);
    return out;
}

bool equals(const Value& a, const Value& b, int64_t* steps) {
    spend(steps);
    if (a.is_number() && b.is_number()) {
        if (a.is_float() || b.is_float()) return a.as_float() == b.as_float();
        return a.as_int() == b.as_int();
    }
    if (a.kind() != b.kind()) return false;
    switch (a.kind()) {
        case Value::Kind::Undefined:
        case Value::Kind::None: return true;
        case Value::Kind::String: return a.as_string() == b.as_string();
        case Value::Kind::List: {
            const List& x = a.as_list();
            const List& y = b.as_list();
            if (x.size() != y.size()) return false;
            for (size_t i = 0; i < x.size(); ++i) {
                if (!equals(x[i], y[i], steps)) return false;
            }
            return true;
        }
        case Value::Kind::Object: {
            const Object& x = a.as_object();
            const Object& y = b.as_object();
            if (x.is_namespace || y.is_namespace) return &x == &y;  // identity, like Python objects
            if (x.items.size() != y.items.size()) return false;
            for (const auto& [key, item] : x.items) {
                const Value* other = y.find(key);
                if (!other || !equals(item, *other, steps)) return false;
            }
            return true;
        }
        default: return false;
    }
}

bool less(const Value& a, const Value& b, int64_t* steps) {
    spend(steps);
    if (a.is_number() && b.is_number()) {
        if (a.is_float() || b.is_float()) return a.as_float() < b.as_float();
        return a.as_int() < b.as_int();
    }
    if (a.is_string() && b.is_string()) return a.as_string() < b.as_string();
    if (a.is_list() && b.is_list()) {
        const List& x = a.as_list();
        const List& y = b.as_list();
        for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
            if (less(x[i], y[i], steps)) return true;
            if (less(y[i], x[i], steps)) return false;
        }
        return x.size() < y.size();
    }
    fail("chat template: cannot compare ", type_name(a), " and ", type_name(b), " with '<'");
}

}  // namespace suanli::jinja
