#ifndef BACKSTOP_BYTE_SCAN_H
#define BACKSTOP_BYTE_SCAN_H

#include <stdint.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/// For the 16 bytes at `p`: bit k (k < 16) set when byte k is an ASCII digit, and bit 16 + k when it is a digit
/// other than '0'. Inline, so that the compiler folds it into the caller's loop (one vector compare per mask on
/// x86-64, a plain loop elsewhere).
static inline uint32_t backstop_digit_masks16(const uint8_t *p) {
#if defined(__SSE2__)
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i d = _mm_sub_epi8(v, _mm_set1_epi8('0'));
    __m128i digit = _mm_cmpeq_epi8(_mm_min_epu8(d, _mm_set1_epi8(9)), d);
    __m128i zero = _mm_cmpeq_epi8(v, _mm_set1_epi8('0'));
    uint32_t digits = (uint32_t)_mm_movemask_epi8(digit);
    uint32_t nonzero = (uint32_t)_mm_movemask_epi8(_mm_andnot_si128(zero, digit));
    return digits | nonzero << 16;
#else
    uint32_t digits = 0, nonzero = 0;
    for (int k = 0; k < 16; k++) {
        uint8_t d = (uint8_t)(p[k] - '0');
        digits |= (uint32_t)(d < 10) << k;
        nonzero |= (uint32_t)(d < 10 && d != 0) << k;
    }
    return digits | nonzero << 16;
#endif
}

#endif
