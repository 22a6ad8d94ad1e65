// Errors at the C ABI. Code behind an entry point throws OpError (a status and
// a message); the entry point runs inside guarded(), which turns whatever was
// thrown into a status plus a message for last_error(). Nothing may throw or
// longjmp across the ABI (backend-standard.md, section 5).
#pragma once

#include <stdexcept>
#include <string>

#include "core/error.h"
#include "suanli/backend.h"

namespace suanli::host {

// A failure to hand back through the ABI: a status and a message.
class OpError : public std::runtime_error {
public:
    OpError(sl_status status, const std::string& message) : std::runtime_error(message), status(status) {}
    sl_status status;
};

// A malformed call or graph: breaks a rule of backend.h.
template <class... Parts>
[[noreturn]] void invalid(const Parts&... parts) {
    throw OpError(SL_ERR_INVALID_ARGUMENT, cat(parts...));
}

// Well-formed, but outside what this backend implements (an op, dtype, mode).
template <class... Parts>
[[noreturn]] void unsupported(const Parts&... parts) {
    throw OpError(SL_ERR_UNSUPPORTED, cat(parts...));
}

// The message last_error() returns: one per backend and thread (declare it
// thread_local), so one backend's failure never overwrites another's message.
class LastError {
public:
    explicit LastError(const char* backend);
    const char* c_str() const noexcept { return text_; }
    // Called from inside a catch block: records the exception being handled as
    // "<backend>: <where>: <what>" and returns its status.
    sl_status record_current_exception(const char* where) noexcept;

private:
    void set(const std::string& message);

    std::string prefix_;
    std::string out_of_memory_;  // built up front: reporting must not need memory
    std::string message_;
    const char* text_ = "no error";
};

// Runs fn; any exception becomes a status and a message in `error`.
template <class Fn>
sl_status guarded(LastError& error, const char* where, Fn&& fn) noexcept {
    try {
        fn();
        return SL_OK;
    } catch (...) {
        return error.record_current_exception(where);
    }
}

}  // namespace suanli::host
