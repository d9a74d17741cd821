#include "kernels.h"

#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

// 10^0 ... 10^14: the most decimals a 16-byte window can hold, each exact as a double.
static const double exact_powers_of_ten[15] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7,
                                               1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14};

// popcnt: without it the digit count is a dozen-instruction software popcount.
__attribute__((target("sse4.1,popcnt"))) static inline size_t parse_window(const unsigned char *p, double *value) {
    const __m128i bytes = _mm_loadu_si128((const __m128i *)p);
    const __m128i digit_values = _mm_sub_epi8(bytes, _mm_set1_epi8('0'));
    // A byte is a digit when its value less '0' is at most 9 as an unsigned byte.
    const __m128i is_digit = _mm_cmpeq_epi8(_mm_min_epu8(digit_values, _mm_set1_epi8(9)), digit_values);
    const unsigned digit_mask = (unsigned)_mm_movemask_epi8(is_digit);
    unsigned dot_mask = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(bytes, _mm_set1_epi8('.')));
    const unsigned negative = p[0] == '-';
    const unsigned stop = ~(digit_mask | dot_mask | negative) & 0xFFFFu;
    // No byte ends the number inside the window: longer than this path reads.
    if (stop == 0) return 0;
    const unsigned length = (unsigned)__builtin_ctz(stop);
    const unsigned inside = (1u << length) - 1;
    dot_mask &= inside;
    // Two dots, or an exponent next: the general parser decides.
    if (dot_mask & (dot_mask - 1)) return 0;
    if ((p[length] | 0x20) == 'e') return 0;
    const int digits = __builtin_popcount(digit_mask & inside);
    if (digits == 0) return 0;
    const int dot = dot_mask ? __builtin_ctz(dot_mask) : 16;
    const int decimals = dot_mask ? (int)length - dot - 1 : 0;

    // Move the digits, without the sign and the dot, to the last `digits` lanes (the first
    // lanes become 0): lane j takes digit k = j - (16 - digits), found at byte
    // negative + k, plus one when that is at or after the dot.
    const __m128i lanes = _mm_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m128i ordinal = _mm_sub_epi8(lanes, _mm_set1_epi8((char)(16 - digits)));
    __m128i source = _mm_add_epi8(ordinal, _mm_set1_epi8((char)negative));
    source = _mm_sub_epi8(source, _mm_cmpgt_epi8(source, _mm_set1_epi8((char)(dot - 1))));
    source = _mm_or_si128(source, _mm_cmpgt_epi8(_mm_setzero_si128(), ordinal));
    const __m128i aligned = _mm_shuffle_epi8(digit_values, source);

    // Pairs, then groups of four, then of eight digits; then the two halves.
    const __m128i pairs = _mm_maddubs_epi16(aligned, _mm_setr_epi8(10, 1, 10, 1, 10, 1, 10, 1, 10, 1, 10, 1, 10, 1, 10, 1));
    const __m128i quads = _mm_madd_epi16(pairs, _mm_setr_epi16(100, 1, 100, 1, 100, 1, 100, 1));
    const __m128i packed = _mm_packus_epi32(quads, quads);
    const __m128i eights = _mm_madd_epi16(packed, _mm_setr_epi16(10000, 1, 10000, 1, 10000, 1, 10000, 1));
    const uint64_t high = (uint32_t)_mm_cvtsi128_si32(eights);
    const uint64_t low = (uint32_t)_mm_extract_epi32(eights, 1);
    const uint64_t mantissa = high * 100000000u + low;

    // At most 15 digits: the mantissa is below 2^53, so the conversion is exact and one
    // correctly rounded division gives the correctly rounded value (Clinger's fast path).
    // No branches on the data: dividing by 10^0 = 1 is exact, and the sign is one bit (a
    // branch on it is mispredicted half the time in a column of random signs).
    const double magnitude = (double)mantissa / exact_powers_of_ten[decimals];
    uint64_t bits;
    memcpy(&bits, &magnitude, sizeof bits);
    bits |= (uint64_t)negative << 63;
    memcpy(value, &bits, sizeof bits);
    return length;
}

static int have_window_instructions(void) {
    return __builtin_cpu_supports("sse4.1") && __builtin_cpu_supports("popcnt");
}

size_t glm_parse_short_decimal(const unsigned char *p, const unsigned char *end, double *value) {
    if (end - p < 16 || !have_window_instructions()) return 0;
    return parse_window(p, value);
}

#else

size_t glm_parse_short_decimal(const unsigned char *p, const unsigned char *end, double *value) {
    (void)p;
    (void)end;
    (void)value;
    return 0;
}

#endif
