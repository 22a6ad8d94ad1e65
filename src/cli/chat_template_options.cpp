#include "cli/chat_template_options.h"

#include <cstdio>
#include <optional>
#include <vector>

#include "cli/common.h"
#include "cli/options.h"
#include "core/error.h"
#include "runtime/chat_session.h"
#include "tokenizer/tokenizer.h"

namespace suanli {
namespace {

std::string template_names_list() {
    std::string out;
    for (std::string_view name : chat_template_names()) out += cat(out.empty() ? "" : ", ", name);
    return out;
}

// The template's source and where it came from (for messages).
struct TemplateChoice {
    std::string source, origin;
};

TemplateChoice choose_template(const Model& model, const ChatTemplateOptions& o) {
    if (!o.file.empty() && !o.name.empty()) throw UsageError("give --chat-template or --chat-template-name, not both");
    if (!o.file.empty()) return {read_text_file(o.file), o.file};
    if (!o.name.empty()) {
        const auto builtin = builtin_chat_template(o.name);
        if (!builtin)
            throw UsageError(cat("unknown chat template name '", o.name, "' (known: ", template_names_list(), ")"));
        return {std::string(*builtin), cat("built-in template '", o.name, "'")};
    }
    if (auto own = model_chat_template(model)) return {std::move(*own), "the model's chat template"};
    std::fputs("note: the model has no chat template; using ChatML (choose one with --chat-template FILE or "
               "--chat-template-name NAME)\n",
               stderr);
    return {std::string(*builtin_chat_template("chatml")), "built-in template 'chatml'"};
}

}  // namespace

void add_chat_template_options(OptionParser& p, ChatTemplateOptions& o) {
    p.option("--chat-template", &o.file, "FILE", "Jinja chat template to use instead of the model's");
    p.option("--chat-template-name", &o.name, "NAME", "built-in template instead of the model's: " + template_names_list());
}

LoadedChatTemplate load_chat_template(const Model& model, const Tokenizer& tokenizer, const ChatTemplateOptions& options,
                                      const std::string& system_prompt) {
    const TemplateChoice choice = choose_template(model, options);
    try {
        ChatTemplate chat_template(choice.source);
        std::vector<ChatMessage> probe;
        if (!system_prompt.empty()) probe.push_back({"system", system_prompt});
        probe.push_back({"user", "Hello"});
        chat_prompt_tokens(chat_template, tokenizer, probe);
        return {std::move(chat_template), choice.origin};
    } catch (const Error& e) {
        fail(choice.origin, ": ", e.what());
    }
}

}  // namespace suanli
