// Dynamic values of the Jinja subset: Python's none, bool, int, float, str, list
// and dict, plus Jinja's Undefined. Lists and dicts are shared by reference, as
// in Python; only namespace() objects are ever changed after they are built.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace suanli::jinja {

class Value;
using List = std::vector<Value>;

// A dict with string keys in insertion order (Python 3.7+ dict order).
struct Object {
    std::vector<std::pair<std::string, Value>> items;
    bool is_namespace = false;  // made by namespace(): its attributes may be assigned

    const Value* find(std::string_view key) const;
    // Adds or replaces a key. For a namespace, `value` must obey Value's nesting rules.
    void set(std::string_view key, Value value);
};

struct Undefined {};
struct None {};

class Value {
public:
    enum class Kind : uint8_t { Undefined, None, Bool, Int, Float, String, List, Object };

    Value() = default;  // undefined
    Value(None) : v_(None{}) {}
    Value(bool b) : v_(b) {}
    Value(int i) : v_(int64_t{i}) {}
    Value(int64_t i) : v_(i) {}
    Value(double f) : v_(f) {}
    Value(std::string s) : v_(std::move(s)) {}
    Value(std::string_view s) : v_(std::string(s)) {}
    Value(const char* s) : v_(std::string(s)) {}
    // Lists and dicts nest at most kMaxDepth deep and never hold a namespace, so
    // no value is cyclic and every recursion over one (repr, json, ==) is bounded.
    // Both rules throw Error when broken.
    Value(List l);
    Value(Object o);

    Kind kind() const { return static_cast<Kind>(v_.index()); }
    bool is_undefined() const { return kind() == Kind::Undefined; }
    bool is_none() const { return kind() == Kind::None; }
    bool is_bool() const { return kind() == Kind::Bool; }
    bool is_int() const { return kind() == Kind::Int; }
    bool is_float() const { return kind() == Kind::Float; }
    bool is_number() const { return is_int() || is_float() || is_bool(); }  // Python: bool is an int
    bool is_string() const { return kind() == Kind::String; }
    bool is_list() const { return kind() == Kind::List; }
    bool is_object() const { return kind() == Kind::Object; }

    bool as_bool() const { return std::get<bool>(v_); }
    int64_t as_int() const { return is_bool() ? int64_t{as_bool()} : std::get<int64_t>(v_); }
    double as_float() const { return is_float() ? std::get<double>(v_) : static_cast<double>(as_int()); }
    const std::string& as_string() const { return std::get<std::string>(v_); }
    const List& as_list() const { return *std::get<std::shared_ptr<List>>(v_); }
    const Object& as_object() const { return *std::get<std::shared_ptr<Object>>(v_); }
    const std::shared_ptr<Object>& object_ptr() const { return std::get<std::shared_ptr<Object>>(v_); }

    // Python's bool(x); Undefined is false.
    bool truthy() const;
    int depth() const { return depth_; }

    static constexpr int kMaxDepth = 64;

private:
    std::variant<Undefined, None, bool, int64_t, double, std::string, std::shared_ptr<List>, std::shared_ptr<Object>> v_;
    uint8_t depth_ = 0;  // 0 for scalars, 1 + the deepest item for lists and dicts
};

// Python's type name, for error messages: "str", "list", "dict", "undefined"...
const char* type_name(const Value& v);

// Python's str(x) (Undefined renders as ""), repr(x), and float repr ("1.0", "1e-05").
std::string to_str(const Value& v);
std::string to_repr(const Value& v);
std::string float_repr(double f);

// json.dumps(x, ensure_ascii=False) with Python's default separators, or with
// `indent` spaces per level when indent >= 0. Throws Error on Undefined.
std::string to_json(const Value& v, int indent = -1);

// Python's ==, and < for numbers, strings and lists (throws Error on other
// types). With `steps`, each value visited costs one, and running out throws.
bool equals(const Value& a, const Value& b, int64_t* steps = nullptr);
bool less(const Value& a, const Value& b, int64_t* steps = nullptr);

// to_str, to_repr and to_json throw Error rather than build more than this.
inline constexpr size_t kMaxText = size_t{1} << 20;


}  // namespace suanli::jinja
