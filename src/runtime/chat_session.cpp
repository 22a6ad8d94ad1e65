#include "runtime/chat_session.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "formats/gguf.h"
#include "models/model.h"
#include "runtime/sampler.h"
#include "runtime/session.h"
#include "tokenizer/tokenizer.h"

namespace suanli {
namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::optional<std::string> read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The common forms, as the model families' tokenizer_config.json write them.
struct Builtin {
    std::string_view name, source;
};

constexpr Builtin kBuiltins[] = {
    {"chatml",
     R"J({% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %})J"},
    {"llama2",
     R"J({% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\n' + system_message + '\n<</SYS>>\n\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %})J"},
    {"llama3",
     R"J({% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %})J"},
    {"phi3",
     R"J({% for message in messages %}{% if message['role'] == 'system' %}{{'<|system|>\n' + message['content'] + '<|end|>\n'}}{% elif message['role'] == 'user' %}{{'<|user|>\n' + message['content'] + '<|end|>\n'}}{% elif message['role'] == 'assistant' %}{{'<|assistant|>\n' + message['content'] + '<|end|>\n'}}{% endif %}{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% else %}{{ eos_token }}{% endif %})J"},
    {"gemma",
     R"J({{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %})J"},
    {"mistral",
     R"J({{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %})J"},
};

constexpr std::array<std::string_view, std::size(kBuiltins)> kBuiltinNames = [] {
    std::array<std::string_view, std::size(kBuiltins)> names{};
    for (size_t i = 0; i < names.size(); ++i) names[i] = kBuiltins[i].name;
    return names;
}();

std::string token_string(const Tokenizer& tokenizer, int32_t id) {
    return id >= 0 ? std::string(tokenizer.token_text(id)) : std::string();
}

// The template writes the special tokens it wants (parse_special); add BOS only
// when the vocabulary wants one and the template did not write it, so a
// template that starts with bos_token does not get two.
std::vector<int32_t> render_to_tokens(const Tokenizer& tokenizer, const std::string& rendered) {
    std::vector<int32_t> tokens = tokenizer.encode(rendered, /*add_special=*/false, /*parse_special=*/true);
    const int32_t bos = tokenizer.bos();
    if (tokenizer.add_bos() && bos >= 0 && (tokens.empty() || tokens.front() != bos)) tokens.insert(tokens.begin(), bos);
    return tokens;
}

}  // namespace

std::optional<std::string> model_chat_template(const Model& model) {
    if (const GgufFile* file = model.gguf()) {
        if (auto s = file->get_string("tokenizer.chat_template")) return std::string(*s);
        return std::nullopt;
    }
    return hf_chat_template(model.path());
}

std::optional<std::string> hf_chat_template(const std::filesystem::path& dir) {
    // transformers >= 4.43 may save the template beside the config; it wins.
    if (auto s = read_file(dir / "chat_template.jinja")) return s;
    const auto config_text = read_file(dir / "tokenizer_config.json");
    if (!config_text) return std::nullopt;
    nlohmann::json config;
    try {
        config = nlohmann::json::parse(*config_text);
    } catch (const nlohmann::json::exception& e) {
        fail((dir / "tokenizer_config.json").string(), ": not valid JSON: ", e.what());
    }
    if (!config.is_object() || !config.contains("chat_template")) return std::nullopt;
    const nlohmann::json& t = config["chat_template"];
    if (t.is_string()) return t.get<std::string>();
    if (t.is_array()) {
        for (const nlohmann::json& entry : t)
            if (entry.is_object() && entry.value("name", "") == "default" && entry.contains("template") &&
                entry["template"].is_string())
                return entry["template"].get<std::string>();
        fail((dir / "tokenizer_config.json").string(), ": chat_template is a list without a \"default\" entry");
    }
    if (t.is_null()) return std::nullopt;
    fail((dir / "tokenizer_config.json").string(), ": chat_template is neither a string nor a list of {name, template}");
}

std::optional<std::string_view> builtin_chat_template(std::string_view name) {
    for (const Builtin& b : kBuiltins)
        if (b.name == name) return b.source;
    return std::nullopt;
}

std::span<const std::string_view> chat_template_names() { return kBuiltinNames; }

ChatSession::ChatSession(Session& session, const Tokenizer& tokenizer, ChatTemplate chat_template,
                         std::string system_prompt)
    : session_(session),
      tokenizer_(tokenizer),
      template_(std::move(chat_template)),
      bos_text_(token_string(tokenizer, tokenizer.bos())),
      eos_text_(token_string(tokenizer, tokenizer.eos())) {
    if (!system_prompt.empty()) messages_.push_back({"system", std::move(system_prompt)});
    n_fixed_ = messages_.size();
    session_.reset();
}

void ChatSession::reset() {
    messages_.resize(n_fixed_);
    evaluated_.clear();
    session_.reset();
    turn_ = 0;
}

std::string ChatSession::render(bool add_generation_prompt) const {
    return template_.render(messages_, add_generation_prompt, bos_text_, eos_text_);
}

std::vector<int32_t> chat_prompt_tokens(const ChatTemplate& chat_template, const Tokenizer& tokenizer,
                                        std::span<const ChatMessage> messages, bool add_generation_prompt) {
    const std::string text = chat_template.render(messages, add_generation_prompt, token_string(tokenizer, tokenizer.bos()),
                                                  token_string(tokenizer, tokenizer.eos()));
    return render_to_tokens(tokenizer, text);
}

std::vector<int32_t> ChatSession::prompt_tokens(bool add_generation_prompt) const {
    return render_to_tokens(tokenizer_, render(add_generation_prompt));
}

std::span<const float> ChatSession::evaluate(std::span<const int32_t> tokens, int64_t* reused) {
    if (tokens.empty()) fail("nothing to evaluate: the prompt has no tokens");
    // Someone else moved the session: trust nothing it holds.
    if (session_.n_past() != static_cast<int64_t>(evaluated_.size())) {
        session_.reset();
        evaluated_.clear();
    }
    size_t common = static_cast<size_t>(
        std::mismatch(evaluated_.begin(), evaluated_.end(), tokens.begin(), tokens.end()).first - evaluated_.begin());
    if (common == tokens.size()) --common;  // decode at least the last token, for its logits
    if (reused) *reused = static_cast<int64_t>(common);
    session_.truncate(static_cast<int64_t>(common));
    evaluated_.resize(common);
    try {
        std::span<const float> logits = session_.decode(tokens.subspan(common));
        evaluated_.assign(tokens.begin(), tokens.end());
        return logits;
    } catch (...) {
        session_.reset();
        evaluated_.clear();
        throw;
    }
}

ChatTurn ChatSession::reply(std::string_view user_text, const GenerateOptions& options, const TextCallback& on_text) {
    messages_.push_back({"user", std::string(user_text)});
    std::vector<int32_t> prompt;
    try {
        prompt = prompt_tokens(true);
    } catch (...) {
        messages_.pop_back();
        throw;
    }
    const int64_t n_ctx = session_.n_ctx();
    if (static_cast<int64_t>(prompt.size()) >= n_ctx) {
        messages_.pop_back();
        throw ContextFullError(cat("the conversation is ", prompt.size(), " tokens; the context holds ", n_ctx));
    }

    ChatTurn turn;
    turn.prompt_tokens = static_cast<int64_t>(prompt.size());
    SamplerParams params = options.sampling;
    params.seed += turn_++;
    Sampler sampler(params, static_cast<int32_t>(session_.model().config().n_vocab));
    for (int32_t t : prompt) sampler.accept(t);

    auto start = std::chrono::steady_clock::now();
    std::span<const float> logits = evaluate(prompt, &turn.reused_tokens);
    turn.prompt_seconds = seconds_since(start);

    start = std::chrono::steady_clock::now();
    Utf8Stream stream;
    auto emit = [&](std::string_view s) {
        if (s.empty()) return;
        turn.text += s;
        if (on_text && !turn.stopped_by_caller && !on_text(s)) turn.stopped_by_caller = true;
    };
    while (options.max_tokens < 0 || static_cast<int32_t>(turn.tokens.size()) < options.max_tokens) {
        const int32_t token = sampler.sample(logits);
        if (!options.ignore_eos && tokenizer_.is_end_of_generation(token)) {
            turn.stopped_by_eos = true;
            break;
        }
        sampler.accept(token);
        turn.tokens.push_back(token);
        emit(stream.push(tokenizer_.token_to_piece(token)));
        if (turn.stopped_by_caller) break;
        if (options.max_tokens >= 0 && static_cast<int32_t>(turn.tokens.size()) >= options.max_tokens) break;
        if (session_.n_past() >= n_ctx) {
            turn.context_full = true;
            break;
        }
        logits = session_.decode(std::span(&token, 1));
        evaluated_.push_back(token);
    }
    emit(stream.finish());
    turn.generate_seconds = seconds_since(start);
    messages_.push_back({"assistant", turn.text});
    return turn;
}

}  // namespace suanli
