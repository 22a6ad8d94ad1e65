// libFuzzer target for the safetensors reader.
//
// Any input must parse or throw suanli::Error. When it parses, every tensor's
// data lies inside the file, has the size its shape and dtype say, and no two
// tensors overlap. Anything else (a crash, a sanitizer report, another
// exception) is a finding.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "core/error.h"
#include "formats/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
    try {
        const suanli::SafetensorsFile f = suanli::SafetensorsFile::parse(bytes, "fuzz");
        unsigned sum = 0;
        for (const suanli::SafetensorsTensor& t : f.tensors()) {
            if (f.find(t.name) != &t) std::abort();
            if (t.offset + t.size > size || t.offset < 8) std::abort();
            uint64_t elements = 1;
            for (int64_t d : t.shape) elements *= static_cast<uint64_t>(d);
            if (elements * suanli::traits(t.type).block_bytes != t.size) std::abort();
            const auto d = f.tensor_data(t);
            if (!d.empty()) sum += static_cast<unsigned>(d.front()) + static_cast<unsigned>(d.back());
        }
        volatile unsigned sink = sum;
        (void)sink;
    } catch (const suanli::Error&) {
        // A damaged file: the expected outcome for most inputs.
    }
    return 0;
}
