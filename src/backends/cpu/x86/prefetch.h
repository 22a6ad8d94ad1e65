// Software prefetch for the packed weight streams, shared by the AVX2 and
// AVX-512 kernels. Internal linkage only (see kquant_unpack.h and kernels.h).
//
// Packed weights are streams read once per token, one per group of 16 rows:
// each kernel asks for its bytes ahead of use, as it goes. Under memory
// contention (other tenants of a shared machine) the hardware prefetchers alone
// fall behind. The K-quants ask at two distances, 1 KB ahead into L1 and 8 KB
// into L2: decode read 5-10% faster with 4 KB into L1, and the second, farther
// stream into L2 added ~6% to that, as it keeps more lines in flight than L1's
// few miss buffers hold. The Q8_0/Q4_0 pairs and float rows ask 4 KB ahead into L2 alone.
#pragma once

#include <immintrin.h>

namespace suanli::cpu {
namespace {

constexpr int kPrefetchL1Bytes = 1024;
constexpr int kPrefetchL2Bytes = 8192;

// Prefetches the Bytes at p + each distance (the K-quant super-blocks).
template <int Bytes>
inline __attribute__((always_inline)) void prefetch_ahead(const void* p) {
    const char* c = static_cast<const char*>(p);
    #pragma GCC unroll 64
    for (int l = 0; l < Bytes; l += 64) {
        _mm_prefetch(c + kPrefetchL1Bytes + l, _MM_HINT_T0);
        _mm_prefetch(c + kPrefetchL2Bytes + l, _MM_HINT_T1);
    }
}

// The Q8_0/Q4_0 pairs (kernels.h, PackedQ0) stream as one run of vectors per group, and for
// them L2 alone, 4 KB ahead, was best: alternating products within one decode (TinyLlama Q4_0),
// the pairs with it read 0.3-12% faster than the blocks with quants and scales as two streams
// and the prefetches above (more on a quiet machine), while a prefetch into L1 as well made
// them 1-5% slower and none at all 2% slower. Float weights are read the same way in a decode
// step, row after row of one range per thread: with the same prefetch, TinyLlama F16 tokens
// took 7-21% less time on a loaded machine and 1-7% on a quieter one (AVX-512; AVX2 8-11%;
// alternated within one decode; 2 KB ahead: 5-8% under load, 8 KB: -2 to 6%).
constexpr int kPrefetchStreamL2Bytes = 4096;

// Prefetches the Bytes at p + kPrefetchStreamL2Bytes into L2.
template <int Bytes>
inline __attribute__((always_inline)) void prefetch_stream_ahead(const void* p) {
    const char* c = static_cast<const char*>(p);
    #pragma GCC unroll 64
    for (int l = 0; l < Bytes; l += 64) _mm_prefetch(c + kPrefetchStreamL2Bytes + l, _MM_HINT_T1);
}

}  // namespace
}  // namespace suanli::cpu
