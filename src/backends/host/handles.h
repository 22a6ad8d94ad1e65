// Opaque ABI handles that are pointers to C++ objects, with the set of live
// ones: a handle is looked up before use, so a stale or foreign handle is an
// error message, not a crash.
#pragma once

#include <memory>
#include <mutex>
#include <set>

#include "backends/host/abi_errors.h"

namespace suanli::host {

template <class T>
class Handles {
public:
    // Takes ownership; the object lives until destroy().
    T* add(std::unique_ptr<T> object) {
        std::lock_guard lock(mutex_);
        live_.insert(object.get());
        return object.release();
    }

    // The live object behind `handle`; throws OpError ("not <what> of this backend") otherwise.
    T& get(const void* handle, const char* what) const {
        auto* p = static_cast<const T*>(handle);
        std::lock_guard lock(mutex_);
        if (!p || !live_.contains(p)) invalid("not ", what, " of this backend");
        return *const_cast<T*>(p);
    }

    // The live object behind `handle`, or null.
    const T* find(const void* handle) const {
        auto* p = static_cast<const T*>(handle);
        std::lock_guard lock(mutex_);
        return live_.contains(p) ? p : nullptr;
    }

    // Deletes the object if `handle` is live; anything else is ignored.
    void destroy(const void* handle) {
        auto* p = static_cast<const T*>(handle);
        {
            std::lock_guard lock(mutex_);
            if (live_.erase(p) != 1) return;
        }
        delete p;
    }

    // Calls fn(const T&) for every live object, holding the lock throughout.
    template <class Fn>
    void for_each(Fn&& fn) const {
        std::lock_guard lock(mutex_);
        for (const T* p : live_) fn(*p);
    }

private:
    mutable std::mutex mutex_;
    std::set<const T*> live_;
};

}  // namespace suanli::host
