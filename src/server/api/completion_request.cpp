#include "server/api/completion_request.h"

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "server/api/api_error.h"

namespace suanli::api {
namespace {

using nlohmann::json;

const char* type_name(const json& v) {
    switch (v.type()) {
        case json::value_t::null: return "null";
        case json::value_t::boolean: return "a boolean";
        case json::value_t::string: return "a string";
        case json::value_t::array: return "an array";
        case json::value_t::object: return "an object";
        default: return "a number";
    }
}

[[noreturn]] void wrong_type(const std::string& name, const char* expected, const json& v) {
    throw invalid_request(cat("'", name, "' must be ", expected, ", not ", type_name(v)), name);
}

// The fields of the body; a null value counts as absent, as OpenAI treats it.
class Fields {
public:
    explicit Fields(const json& body) : body_(body) {}

    const json* find(const std::string& name) const {
        const auto it = body_.find(name);
        return it == body_.end() || it->is_null() ? nullptr : &*it;
    }
    bool boolean(const std::string& name, bool fallback) const {
        const json* v = find(name);
        if (!v) return fallback;
        if (!v->is_boolean()) wrong_type(name, "a boolean", *v);
        return v->get<bool>();
    }
    double number(const std::string& name, double fallback, double lo, double hi) const {
        const json* v = find(name);
        if (!v) return fallback;
        if (!v->is_number()) wrong_type(name, "a number", *v);
        const double x = v->get<double>();
        if (!(x >= lo && x <= hi)) throw invalid_request(cat("'", name, "' must be between ", lo, " and ", hi, ", got ", x), name);
        return x;
    }
    int64_t integer(const std::string& name, int64_t fallback, int64_t lo, int64_t hi) const {
        const json* v = find(name);
        if (!v) return fallback;
        if (!v->is_number_integer()) wrong_type(name, "an integer", *v);
        const bool huge = v->is_number_unsigned() && v->get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max());
        const int64_t x = huge ? 0 : v->get<int64_t>();
        if (huge) throw invalid_request(cat("'", name, "' is out of range"), name);
        if (x < lo || x > hi) throw invalid_request(cat("'", name, "' must be between ", lo, " and ", hi, ", got ", x), name);
        return x;
    }

private:
    const json& body_;
};

// A message's content: a string, or an array of parts of which only text is understood.
std::string message_content(const json& content, const std::string& where) {
    if (content.is_string()) return content.get<std::string>();
    if (content.is_null()) return {};
    if (!content.is_array()) wrong_type(where, "a string or an array of content parts", content);
    std::string text;
    for (const json& part : content) {
        if (!part.is_object()) wrong_type(where + "[]", "an object", part);
        const auto type = part.find("type");
        if (type == part.end() || !type->is_string() || *type != "text")
            throw invalid_request(cat(where, ": only parts of type 'text' are supported"), where);
        const auto t = part.find("text");
        if (t == part.end() || !t->is_string()) throw invalid_request(cat(where, "[].text must be a string"), where);
        text += t->get<std::string>();
    }
    return text;
}

std::vector<ChatMessage> parse_messages(const Fields& f) {
    const json* v = f.find("messages");
    if (!v) throw invalid_request("'messages' is required", "messages");
    if (!v->is_array()) wrong_type("messages", "an array", *v);
    if (v->empty()) throw invalid_request("'messages' must not be empty", "messages");
    std::vector<ChatMessage> out;
    for (size_t i = 0; i < v->size(); ++i) {
        const json& m = (*v)[i];
        const std::string where = cat("messages[", i, "]");
        if (!m.is_object()) wrong_type(where, "an object", m);
        const auto role = m.find("role");
        if (role == m.end() || !role->is_string()) throw invalid_request(where + ".role must be a string", where + ".role");
        const std::string r = role->get<std::string>();
        if (r != "system" && r != "user" && r != "assistant" && r != "developer" && r != "tool")
            throw invalid_request(cat(where, ".role '", r, "' is not one of system, developer, user, assistant, tool"),
                                  where + ".role");
        const auto content = m.find("content");
        // Only an assistant turn may lack content (it may have carried tool calls instead).
        if ((content == m.end() || content->is_null()) && r != "assistant")
            throw invalid_request(cat(where, ".content is required for role '", r, "'"), where + ".content");
        out.push_back({r == "developer" ? "system" : r,
                       content == m.end() ? std::string() : message_content(*content, where + ".content")});
    }
    return out;
}

std::variant<std::string, std::vector<int32_t>> parse_prompt(const Fields& f) {
    const json* v = f.find("prompt");
    if (!v) throw invalid_request("'prompt' is required", "prompt");
    if (v->is_string()) return v->get<std::string>();
    if (v->is_array() && v->size() == 1 && (*v)[0].is_string()) return (*v)[0].get<std::string>();
    if (v->is_array() && !v->empty() && std::all_of(v->begin(), v->end(), [](const json& x) { return x.is_number_integer(); })) {
        std::vector<int32_t> ids;
        for (const json& x : *v) {
            const int64_t id = x.get<int64_t>();
            if (id < 0 || id > std::numeric_limits<int32_t>::max())
                throw invalid_request(cat("prompt token id ", id, " is out of range"), "prompt");
            ids.push_back(static_cast<int32_t>(id));
        }
        return ids;
    }
    throw invalid_request("'prompt' must be a string, an array of one string, or an array of token ids", "prompt");
}

std::vector<std::string> parse_stop(const Fields& f) {
    const json* v = f.find("stop");
    if (!v) return {};
    if (v->is_string()) return {v->get<std::string>()};
    if (!v->is_array()) wrong_type("stop", "a string or an array of strings", *v);
    if (v->size() > 4) throw invalid_request("'stop' holds at most 4 sequences", "stop");
    std::vector<std::string> out;
    for (const json& s : *v) {
        if (!s.is_string()) wrong_type("stop[]", "a string", s);
        out.push_back(s.get<std::string>());
    }
    return out;
}

}  // namespace

CompletionRequest parse_completion_request(std::string_view body, Endpoint endpoint, uint64_t default_seed) {
    const json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded()) throw invalid_request("the request body is not valid JSON");
    if (!doc.is_object()) throw invalid_request("the request body must be a JSON object");
    const Fields f(doc);

    CompletionRequest r;
    r.endpoint = endpoint;
    const json* model = f.find("model");
    if (!model) throw invalid_request("'model' is required", "model");
    if (!model->is_string()) wrong_type("model", "a string", *model);
    r.model = model->get<std::string>();
    if (endpoint == Endpoint::Chat)
        r.messages = parse_messages(f);
    else
        r.prompt = parse_prompt(f);

    if (f.integer("n", 1, 1, 1) != 1) throw invalid_request("only n = 1 is supported", "n");
    r.stream = f.boolean("stream", false);
    if (const json* so = f.find("stream_options")) {
        if (!so->is_object()) wrong_type("stream_options", "an object", *so);
        r.include_usage = Fields(*so).boolean("include_usage", false);
    }

    GenerationParams& g = r.generation;
    constexpr int64_t kMaxTokens = int64_t{1} << 30;
    // Chat replies run to the end of the turn by default; completions stop at 16 tokens, as OpenAI's do.
    const int64_t fallback = endpoint == Endpoint::Chat ? -1 : 16;
    g.max_tokens = static_cast<int32_t>(
        f.integer("max_completion_tokens", f.integer("max_tokens", fallback, 1, kMaxTokens), 1, kMaxTokens));
    SamplerParams& s = g.sampling;
    s.temperature = static_cast<float>(f.number("temperature", 1.0, 0.0, 2.0));
    s.top_p = static_cast<float>(f.number("top_p", 1.0, 0.0, 1.0));
    s.top_k = 0;
    s.min_p = 0.0f;
    s.repeat_penalty = 1.0f;
    s.repeat_last_n = -1;  // the penalties look at every generated token
    s.presence_penalty = static_cast<float>(f.number("presence_penalty", 0.0, -2.0, 2.0));
    s.frequency_penalty = static_cast<float>(f.number("frequency_penalty", 0.0, -2.0, 2.0));
    s.seed = static_cast<uint64_t>(f.integer("seed", static_cast<int64_t>(default_seed >> 1),
                                             std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()));
    g.stop = parse_stop(f);

    if (endpoint == Endpoint::Chat) {
        r.logprobs = f.boolean("logprobs", false);
        const int64_t top = f.integer("top_logprobs", 0, 0, 20);
        if (f.find("top_logprobs") && !r.logprobs)
            throw invalid_request("'top_logprobs' needs 'logprobs': true", "top_logprobs");
        g.top_logprobs = r.logprobs ? static_cast<int32_t>(top) : -1;
    } else {
        const json* lp = f.find("logprobs");
        if (lp && lp->is_boolean()) wrong_type("logprobs", "an integer", *lp);
        const int64_t top = f.integer("logprobs", -1, 0, 5);
        r.logprobs = top >= 0;
        g.top_logprobs = static_cast<int32_t>(top);
    }
    return r;
}

}  // namespace suanli::api
