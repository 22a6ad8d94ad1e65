#include "backends/host/abi_errors.h"

#include <new>

namespace suanli::host {

LastError::LastError(const char* backend)
    : prefix_(cat(backend, ": ")), out_of_memory_(cat(backend, ": out of memory while reporting an error")) {}

void LastError::set(const std::string& message) {
    message_ = prefix_ + message;
    text_ = message_.c_str();
}

sl_status LastError::record_current_exception(const char* where) noexcept {
    sl_status status = SL_ERR_DEVICE;
    try {
        try {
            throw;
        } catch (const OpError& e) {
            status = e.status;
            set(cat(where, ": ", e.what()));
        } catch (const std::bad_alloc&) {
            status = SL_ERR_OUT_OF_MEMORY;
            set(cat(where, ": out of host memory"));
        } catch (const std::exception& e) {
            set(cat(where, ": internal error: ", e.what()));
        } catch (...) {
            set(cat(where, ": internal error: unknown exception"));
        }
    } catch (...) {  // building the message itself failed
        text_ = out_of_memory_.c_str();
    }
    return status;
}

}  // namespace suanli::host
