// C++ ownership of the C ABI's handles: a backend device and its buffers.
// Failed calls throw Error with the backend's own message.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "suanli/backend.h"

namespace suanli {

class Graph;

class Buffer {
public:
    Buffer() = default;
    Buffer(const sl_backend* backend, sl_buffer handle, uint64_t base, uint64_t size)
        : backend_(backend), handle_(handle), base_(base), size_(size) {}
    Buffer(Buffer&& other) noexcept { *this = std::move(other); }
    Buffer& operator=(Buffer&& other) noexcept;
    Buffer(const Buffer&) = delete;
    Buffer& operator=(const Buffer&) = delete;
    ~Buffer() { reset(); }

    uint64_t base() const { return base_; }
    uint64_t size() const { return size_; }
    explicit operator bool() const { return handle_ != nullptr; }

    void write(uint64_t offset, std::span<const std::byte> bytes);
    void read(uint64_t offset, std::span<std::byte> out) const;
    // Writes zeros over the whole buffer.
    void zero();
    void reset();

private:
    const sl_backend* backend_ = nullptr;
    sl_buffer handle_ = nullptr;
    uint64_t base_ = 0;
    uint64_t size_ = 0;
};

class Device {
public:
    // Opens device `index` of `backend`, after checking its ABI version.
    Device(const sl_backend& backend, int32_t index, int32_t n_threads);
    Device(const Device&) = delete;
    Device& operator=(const Device&) = delete;
    ~Device();

    const sl_backend& backend() const { return *backend_; }
    sl_device_info info() const;

    Buffer allocate(uint64_t size);
    // Lets the device read `bytes` in place when it can; otherwise copies them into a new buffer.
    Buffer wrap_or_upload(std::span<const std::byte> bytes);
    // Tells the backend that `tensor` (2-D, in a buffer from wrap_or_upload) holds constant
    // weights for MUL_MAT, so it may repack them; a no-op where the backend does not offer it.
    void prepare_weight(const sl_tensor& tensor);
    bool supports(const Graph& graph, int32_t node) const;
    void compute(const Graph& graph);

private:
    const sl_backend* backend_;
    sl_device handle_ = nullptr;
};

// Throws Error "<backend>: <what>: <message>" unless status is SL_OK.
void check_status(const sl_backend& backend, sl_status status, const char* what);

}  // namespace suanli
