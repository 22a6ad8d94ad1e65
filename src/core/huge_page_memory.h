// Large, long-lived host allocations backed by transparent huge pages where
// the kernel grants them: one TLB entry per 2 MiB instead of per 4 KB, and a
// few hundred page faults instead of one per 4 KB when the memory is first
// written. Streams that read such memory (packed weights) run faster, so the
// bandwidth they are measured against is read from the same kind of memory.
#pragma once

#include <cstddef>
#include <memory>

namespace suanli {

struct HugePageFree {
    void operator()(unsigned char* p) const;
};
using HugePageMemory = std::unique_ptr<unsigned char[], HugePageFree>;

// `bytes` rounded up to 2 MiB, 2 MiB aligned, contents uninitialized; huge
// pages are asked for (madvise), never required. Throws std::bad_alloc.
HugePageMemory allocate_huge_page_memory(size_t bytes);

}  // namespace suanli
