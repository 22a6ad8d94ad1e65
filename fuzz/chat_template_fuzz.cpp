// libFuzzer target for the chat-template engine (src/chat).
//
// The input is a template. It must parse or throw suanli::Error; when it parses,
// it is rendered with a small conversation and a tools list, and must finish
// (the engine's step budget and 1 MiB output cap make every template end) with
// text or an Error. Anything else (a crash, a sanitizer report, another
// exception, a hang past libFuzzer's -timeout) is a finding.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "chat/chat_template.h"
#include "core/error.h"

namespace {

using suanli::ChatMessage;
using suanli::ChatTemplate;
using suanli::Error;
namespace jinja = suanli::jinja;

jinja::Object make_extra() {
    jinja::Object property;
    property.set("type", "string");
    jinja::Object properties;
    properties.set("city", jinja::Value(property));
    jinja::Object function;
    function.set("name", "get_weather");
    function.set("parameters", jinja::Value(properties));
    jinja::Object tool;
    tool.set("type", "function");
    tool.set("function", jinja::Value(function));
    jinja::Object extra;
    extra.set("tools", jinja::List{jinja::Value(tool)});
    return extra;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const std::vector<ChatMessage> messages = {
        {"system", "You are helpful."}, {"user", " Hi "}, {"assistant", "Hello!"}, {"user", "How are you?"}};
    static const jinja::Object extra = make_extra();
    try {
        const ChatTemplate t(std::string(reinterpret_cast<const char*>(data), size));
        try {
            const std::string out = t.render(messages, true, "<s>", "</s>", extra);
            if (out.size() > jinja::kMaxText) std::abort();  // the cap must hold
        } catch (const Error&) {
        }
        try {
            t.render({}, false, "", "");
        } catch (const Error&) {
        }
    } catch (const Error&) {
    }
    return 0;
}
