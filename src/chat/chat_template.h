// Chat templates: the Jinja programs in Hugging Face tokenizer_config.json (and
// GGUF's tokenizer.chat_template) that turn a conversation into prompt text.
//
// The engine under it (jinja_*.h) runs the subset of Jinja these templates use;
// a template that needs more is refused when it is parsed, naming the construct
// and its line, rather than rendered into a silently wrong prompt.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "chat/jinja_render.h"
#include "chat/jinja_value.h"

namespace suanli {

struct ChatMessage {
    std::string role;
    std::string content;
};

class ChatTemplate {
public:
    // Parses the template. A syntax error or an unsupported construct throws
    // Error "chat template: <what> at line L, column C".
    explicit ChatTemplate(std::string source);
    ~ChatTemplate();
    ChatTemplate(ChatTemplate&&) noexcept;
    ChatTemplate& operator=(ChatTemplate&&) noexcept;

    // render() is const and keeps no state between calls: one ChatTemplate may
    // serve many threads at once.
    //
    // Renders with the variables transformers passes: messages (a list of
    // {role, content} dicts), add_generation_prompt, bos_token, eos_token, plus
    // `extra` (tools, documents, anything a template reads). raise_exception(msg)
    // in the template throws jinja::TemplateRaised (an Error) whose what() is msg.
    std::string render(std::span<const ChatMessage> messages, bool add_generation_prompt,
                       std::string_view bos_token, std::string_view eos_token,
                       const jinja::Object& extra = {}) const;

    // Renders with exactly these global variables (messages with tool calls and
    // other fields built by the caller).
    std::string render(const jinja::Object& globals) const;

    const std::string& source() const { return source_; }

private:
    std::string source_;
    std::unique_ptr<jinja::Body> body_;
};

}  // namespace suanli
