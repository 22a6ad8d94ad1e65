// --chat-template / --chat-template-name, shared by chat and serve.
#pragma once

#include <string>

#include "chat/chat_template.h"

namespace suanli {

class Model;
class OptionParser;
class Tokenizer;

struct ChatTemplateOptions {
    std::string file;  // a Jinja file instead of the model's template
    std::string name;  // a built-in template instead of the model's
};

void add_chat_template_options(OptionParser& parser, ChatTemplateOptions& options);

// The template to use: the file, the built-in, the model's own, else ChatML (with
// a note on stderr). A first turn (with `system_prompt` if given) is rendered at
// once, so a template that cannot take a conversation fails here, naming where
// it came from. Throws UsageError for conflicting or unknown choices.
struct LoadedChatTemplate {
    ChatTemplate chat_template;
    std::string origin;  // "the model's chat template", "built-in template 'chatml'", a file name
};
LoadedChatTemplate load_chat_template(const Model& model, const Tokenizer& tokenizer, const ChatTemplateOptions& options,
                                      const std::string& system_prompt = {});

}  // namespace suanli
