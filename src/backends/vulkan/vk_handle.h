// Owned<H>: a Vulkan handle that is destroyed when its owner goes away, so
// every object of the backend is released in reverse order of creation,
// on every path, including failures halfway through device_open.
#pragma once

#include "vk_loader.h"

#include <functional>
#include <utility>

namespace suanli::vk {

template <class H>
class Owned {
public:
    Owned() = default;
    Owned(H handle, std::function<void(H)> destroy) : handle_(handle), destroy_(std::move(destroy)) {}
    Owned(Owned&& other) noexcept
        : handle_(std::exchange(other.handle_, H{})), destroy_(std::move(other.destroy_)) {}
    Owned& operator=(Owned&& other) noexcept {
        if (this != &other) {
            reset();
            handle_ = std::exchange(other.handle_, H{});
            destroy_ = std::move(other.destroy_);
        }
        return *this;
    }
    Owned(const Owned&) = delete;
    Owned& operator=(const Owned&) = delete;
    ~Owned() { reset(); }

    void reset() {
        if (handle_ != H{} && destroy_) destroy_(handle_);
        handle_ = H{};
    }
    H get() const { return handle_; }
    operator H() const { return handle_; }
    explicit operator bool() const { return handle_ != H{}; }

private:
    H handle_{};
    std::function<void(H)> destroy_;
};

}  // namespace suanli::vk
