#include "core/device.h"

#include <algorithm>
#include <cstddef>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/graph.h"

namespace suanli {

void check_status(const sl_backend& backend, sl_status status, const char* what) {
    if (status == SL_OK) return;
    const char* message = backend.last_error ? backend.last_error() : nullptr;
    fail(backend.name, ": ", what, " failed: ", message && *message ? message : "no message");
}

Buffer& Buffer::operator=(Buffer&& other) noexcept {
    if (this != &other) {
        reset();
        backend_ = std::exchange(other.backend_, nullptr);
        handle_ = std::exchange(other.handle_, nullptr);
        base_ = std::exchange(other.base_, 0);
        size_ = std::exchange(other.size_, 0);
    }
    return *this;
}

void Buffer::reset() {
    if (handle_) backend_->buffer_free(handle_);
    handle_ = nullptr;
    base_ = size_ = 0;
}

void Buffer::write(uint64_t offset, std::span<const std::byte> bytes) {
    check_status(*backend_, backend_->buffer_write(handle_, offset, bytes.data(), bytes.size()), "buffer write");
}

void Buffer::zero() {
    static const std::vector<std::byte> zeros(uint64_t{1} << 20);
    for (uint64_t offset = 0; offset < size_; offset += zeros.size())
        write(offset, std::span(zeros).first(static_cast<size_t>(std::min<uint64_t>(zeros.size(), size_ - offset))));
}

void Buffer::read(uint64_t offset, std::span<std::byte> out) const {
    check_status(*backend_, backend_->buffer_read(handle_, offset, out.data(), out.size()), "buffer read");
}

Device::Device(const sl_backend& backend, int32_t index, int32_t n_threads) : backend_(&backend) {
    if (backend.abi_version != SL_BACKEND_ABI_VERSION)
        fail("backend '", backend.name ? backend.name : "?", "' was built for backend ABI version ",
             backend.abi_version, "; this suanli speaks version ", SL_BACKEND_ABI_VERSION);
    sl_device_config config{sizeof(sl_device_config), n_threads};
    check_status(backend, backend.device_open(index, &config, &handle_), "device open");
}

Device::~Device() {
    if (handle_) backend_->device_close(handle_);
}

sl_device_info Device::info() const {
    sl_device_info out{};
    check_status(*backend_, backend_->device_info(handle_, &out), "device info");
    return out;
}

Buffer Device::allocate(uint64_t size) {
    sl_buffer handle = nullptr;
    uint64_t base = 0;
    check_status(*backend_, backend_->buffer_alloc(handle_, size, &handle, &base), "buffer allocation");
    return Buffer(backend_, handle, base, size);
}

Buffer Device::wrap_or_upload(std::span<const std::byte> bytes) {
    if (backend_->buffer_from_host) {
        sl_buffer handle = nullptr;
        uint64_t base = 0;
        check_status(*backend_, backend_->buffer_from_host(handle_, bytes.data(), bytes.size(), &handle, &base),
                     "wrapping host memory");
        return Buffer(backend_, handle, base, bytes.size());
    }
    Buffer buffer = allocate(bytes.size());
    buffer.write(0, bytes);
    return buffer;
}

void Device::prepare_weight(const sl_tensor& tensor) {
    // Appended to the table after ABI version 1 shipped: older tables end before it.
    constexpr size_t kEnd = offsetof(sl_backend, weight_prepare) + sizeof(sl_backend::weight_prepare);
    if (backend_->struct_size < kEnd || !backend_->weight_prepare) return;
    const sl_status status = backend_->weight_prepare(handle_, &tensor);
    if (status != SL_ERR_UNSUPPORTED) check_status(*backend_, status, "weight preparation");
}

bool Device::supports(const Graph& graph, int32_t node) const {
    const sl_graph g = graph.as_c();
    return backend_->supports_op(handle_, &g, node) != 0;
}

void Device::compute(const Graph& graph) {
    const sl_graph g = graph.as_c();
    check_status(*backend_, backend_->graph_compute(handle_, &g), "graph compute");
}

}  // namespace suanli
