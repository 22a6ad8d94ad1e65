#include "core/huge_page_memory.h"

#include <cstdlib>
#include <new>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace suanli {

void HugePageFree::operator()(unsigned char* p) const { std::free(p); }

HugePageMemory allocate_huge_page_memory(size_t bytes) {
    constexpr size_t kHugePage = size_t{2} << 20;
    bytes = (bytes + kHugePage - 1) / kHugePage * kHugePage;
    HugePageMemory p(static_cast<unsigned char*>(std::aligned_alloc(kHugePage, bytes)));
    if (!p) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
    ::madvise(p.get(), bytes, MADV_HUGEPAGE);  // a hint: without it, 4 KB pages
#endif
    return p;
}

}  // namespace suanli
