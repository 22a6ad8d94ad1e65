// A conversation with a model through its chat template, evaluated incrementally:
// each turn renders the whole conversation, and the session decodes only the
// tokens after the prefix it already holds. The CLI's `chat` uses it; the server
// can give each conversation one.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "chat/chat_template.h"
#include "core/error.h"
#include "runtime/generate.h"

namespace suanli {

class Model;
class Session;
class Tokenizer;

// The model's own template: GGUF tokenizer.chat_template, or for a Hugging Face
// directory chat_template.jinja, else tokenizer_config.json's chat_template (a
// string, or a list of {name, template} from which "default" is taken).
// nullopt when the model has none. Throws Error for an unreadable config.
std::optional<std::string> model_chat_template(const Model& model);
std::optional<std::string> hf_chat_template(const std::filesystem::path& dir);

// Built-in templates by name ("chatml", "llama2", "llama3", "phi3", "gemma",
// "mistral"); nullopt for an unknown name. chat_template_names() lists them.
std::optional<std::string_view> builtin_chat_template(std::string_view name);
std::span<const std::string_view> chat_template_names();

// `messages` rendered by the template and tokenized as ChatSession does.
std::vector<int32_t> chat_prompt_tokens(const ChatTemplate& chat_template, const Tokenizer& tokenizer,
                                        std::span<const ChatMessage> messages, bool add_generation_prompt = true);

// The conversation no longer fits the context. The history is left as it was
// before the turn that did not fit.
class ContextFullError : public Error {
public:
    using Error::Error;
};

struct ChatTurn {
    std::string text;             // the reply as streamed
    std::vector<int32_t> tokens;  // its tokens (not the end-of-generation token)
    int64_t prompt_tokens = 0;    // the whole rendered conversation
    int64_t reused_tokens = 0;    // of those, already in the session
    double prompt_seconds = 0;    // decoding the new prompt tokens
    double generate_seconds = 0;
    bool stopped_by_eos = false;
    bool stopped_by_caller = false;
    bool context_full = false;    // the reply filled the context and was cut there
};

class ChatSession {
public:
    // `session`, `tokenizer` must outlive this. The session is reset here.
    ChatSession(Session& session, const Tokenizer& tokenizer, ChatTemplate chat_template,
                std::string system_prompt = "");

    // Adds {user, text}, evaluates the rendered conversation and streams the
    // reply; then adds {assistant, reply}. A reply stopped by the caller is kept
    // as far as it went. Sampling is seeded with options.sampling.seed plus the
    // turn number, so a conversation after reset() repeats a fresh one.
    // Throws ContextFullError when the prompt does not fit, and Error for a
    // template that fails to render (history unchanged in both cases).
    ChatTurn reply(std::string_view user_text, const GenerateOptions& options, const TextCallback& on_text);

    // Appends a message without generating: earlier turns restored from elsewhere
    // (a server request's history). Evaluated with the next reply.
    void add(ChatMessage message) { messages_.push_back(std::move(message)); }

    // Forgets the conversation (keeping the system prompt) and the session.
    void reset();

    // The rendered conversation (with the generation prompt) as tokens: BOS is
    // added when the vocabulary asks for it and the template did not write it.
    std::vector<int32_t> prompt_tokens(bool add_generation_prompt = true) const;
    std::string render(bool add_generation_prompt = true) const;

    // Evaluates `tokens`, reusing the longest prefix the session already holds
    // (at least the last token is decoded, for its logits). Returns the logits
    // of the last token. `reused`, if given, gets the number of tokens kept.
    std::span<const float> evaluate(std::span<const int32_t> tokens, int64_t* reused = nullptr);

    const std::vector<ChatMessage>& messages() const { return messages_; }
    // The tokens the session holds, in order (its KV cache).
    std::span<const int32_t> evaluated() const { return evaluated_; }
    const ChatTemplate& chat_template() const { return template_; }

private:
    Session& session_;
    const Tokenizer& tokenizer_;
    ChatTemplate template_;
    std::string bos_text_, eos_text_;
    std::vector<ChatMessage> messages_;
    size_t n_fixed_ = 0;  // messages kept by reset(): the system prompt
    std::vector<int32_t> evaluated_;
    uint64_t turn_ = 0;
};

}  // namespace suanli
