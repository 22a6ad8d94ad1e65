// A read-only memory map of a whole file, unmapped when the object dies.
#pragma once

#include <cstddef>
#include <filesystem>
#include <span>

namespace suanli {

class MappedFile {
public:
    // Throws Error naming the path when the file cannot be opened or mapped.
    explicit MappedFile(const std::filesystem::path& path);
    MappedFile(MappedFile&& other) noexcept;
    MappedFile& operator=(MappedFile&& other) noexcept;
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;
    ~MappedFile();

    std::span<const std::byte> bytes() const { return {data_, size_}; }

private:
    const std::byte* data_ = nullptr;
    size_t size_ = 0;
};

// Maps the pages under `bytes` (of a MappedFile, or any memory) into the page
// tables now, in one call, so that later reads do not fault page by page: a
// table read a row at a time (the token embedding) otherwise pays a page fault
// for most rows, 40-80 us each on a virtual machine. Best effort: a kernel
// without MADV_POPULATE_READ (before Linux 5.14) leaves it to the faults.
void populate(std::span<const std::byte> bytes);

}  // namespace suanli
