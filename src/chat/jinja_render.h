// Runs a parsed template against a set of global variables.
#pragma once

#include <string>

#include "chat/jinja_parser.h"
#include "chat/jinja_value.h"
#include "core/error.h"

namespace suanli::jinja {

// What raise_exception(message) in a template throws: what() is the template's
// own message, word for word (a bad request, not a broken template).
class TemplateRaised : public Error {
public:
    using Error::Error;
};

// Renders `body` with `globals` as the outermost scope. Throws TemplateRaised
// for raise_exception, and Error "chat template: <what> at line L, column C"
// for anything the template does wrong at run time (a type error, an output
// over 1 MiB, a loop that runs too long...).
std::string render(const Body& body, const Object& globals);

}  // namespace suanli::jinja
