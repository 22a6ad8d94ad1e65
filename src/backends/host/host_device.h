// What a device that is the host itself reports and accepts: its memory, and
// device_open's arguments.
#pragma once

#include <cstdint>

#include "suanli/backend.h"

namespace suanli::host {

// The host's memory in bytes (0 if unknown); available: what can be had without
// swapping (Linux's MemAvailable, which counts droppable page cache), else the free pages.
uint64_t physical_memory();
uint64_t available_memory();

// The argument checks of device_open for a backend with one device (index 0);
// throws OpError. Returns the thread count the config asks for, 0 for the
// backend's choice (a NULL config, or an older, shorter one without n_threads).
int32_t open_one_device(const char* backend, int32_t index, const sl_device_config* config, sl_device* out);

}  // namespace suanli::host
