#include "chat/chat_template.h"

#include "chat/jinja_parser.h"

namespace suanli {

ChatTemplate::ChatTemplate(std::string source)
    : source_(std::move(source)), body_(std::make_unique<jinja::Body>(jinja::parse(source_))) {}

ChatTemplate::~ChatTemplate() = default;
ChatTemplate::ChatTemplate(ChatTemplate&&) noexcept = default;
ChatTemplate& ChatTemplate::operator=(ChatTemplate&&) noexcept = default;

std::string ChatTemplate::render(std::span<const ChatMessage> messages, bool add_generation_prompt,
                                 std::string_view bos_token, std::string_view eos_token,
                                 const jinja::Object& extra) const {
    jinja::List list;
    list.reserve(messages.size());
    for (const ChatMessage& m : messages) {
        jinja::Object message;
        message.items.emplace_back("role", m.role);
        message.items.emplace_back("content", m.content);
        list.emplace_back(std::move(message));
    }
    jinja::Object globals;
    globals.items.reserve(4 + extra.items.size());
    globals.items.emplace_back("messages", std::move(list));
    globals.items.emplace_back("add_generation_prompt", add_generation_prompt);
    globals.items.emplace_back("bos_token", bos_token);
    globals.items.emplace_back("eos_token", eos_token);
    for (const auto& [name, value] : extra.items) globals.set(name, value);
    return render(globals);
}

std::string ChatTemplate::render(const jinja::Object& globals) const { return jinja::render(*body_, globals); }

}  // namespace suanli
