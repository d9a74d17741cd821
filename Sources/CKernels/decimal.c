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

// Four fields at once: 10^0 ... 10^15 (a field of 15 digits may have them all after the dot).
static const double four_field_powers[16] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7,
                                             1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};

#define FOUR_FIELD_TARGET \
    __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512vbmi,avx512vbmi2,avx512vpopcntdq,bmi,bmi2,popcnt")))

// `count` (1 to 4, a constant where inlined) comma-terminated fields inside the 64 bytes at
// p, each an optional '-', 1 to 15 digits and at most one '.'; out[count...] is untouched.
// The field boundaries come from one comma mask, not from each field's length in turn, and
// the conversions share one set of vector instructions. Each field's digit and decimal
// counts are differences of counts up to its comma, taken for all four commas at once by
// vector popcounts, each lane's placement is worked out in a vector register, and the powers
// of ten come from a table in two registers (no per-field scalar work: it was most of the
// instructions).
// The arithmetic is parse_window's (exact mantissa, one division by an exact power of ten).
FOUR_FIELD_TARGET static inline size_t parse_fields(const unsigned char *p, double out[4], const unsigned count) {
    const __m512i bytes = _mm512_loadu_si512((const void *)p);
    const __m512i digit_values = _mm512_sub_epi8(bytes, _mm512_set1_epi8('0'));
    const uint64_t commas = _mm512_cmpeq_epi8_mask(bytes, _mm512_set1_epi8(','));
    const uint64_t digits = _mm512_cmple_epu8_mask(digit_values, _mm512_set1_epi8(9));
    const uint64_t dots = _mm512_cmpeq_epi8_mask(bytes, _mm512_set1_epi8('.'));
    const uint64_t minuses = _mm512_cmpeq_epi8_mask(bytes, _mm512_set1_epi8('-'));
    uint64_t rest = commas;
    const unsigned c0 = (unsigned)_tzcnt_u64(rest);
    rest = _blsr_u64(rest);
    const unsigned c1 = (unsigned)_tzcnt_u64(rest);
    rest = _blsr_u64(rest);
    const unsigned c2 = (unsigned)_tzcnt_u64(rest);
    rest = _blsr_u64(rest);
    const unsigned c3 = (unsigned)_tzcnt_u64(rest);
    // The comma ending the last field read (tzcnt of nothing left is 64).
    const unsigned last = count == 4 ? c3 : count == 3 ? c2 : count == 2 ? c1 : c0;
    if (last >= 64) return 0;
    // Every byte up to that comma is a digit, a dot, a comma, or a '-' opening a field.
    const uint64_t span = last == 63 ? ~0ull : (2ull << last) - 1;
    const uint64_t field_starts = ((commas << 1) | 1) & span;
    if (((digits | dots | commas | (minuses & field_starts)) & span) != span) return 0;
    // At most one dot a field: among the span's commas and dots in order, no two dots in a row.
    const uint64_t dot_sequence = _pext_u64(dots, (commas | dots) & span);
    if (dot_sequence & (dot_sequence >> 1)) return 0;
    // The digits before each comma (e_k), and the digits after a dot before it: the bits from
    // each dot to its field's comma are the commas less the dots moved up one (each field's
    // difference is a run of its own bits, so the sum has no carries across fields).
    const uint64_t decimal_digits = ((commas & span) - ((dots & span) << 1)) & digits;
    // (Fields past `count` have no digits: their commas, if any, lie beyond the span.)
    const uint64_t span_digits = digits & span;
    // The first four commas' positions as four 64-bit lanes (0 where there is none), and the
    // bits below each: e_k and s_{k+1} are popcounts of the digit masks under them.
    const __m512i positions = _mm512_maskz_compress_epi8(commas, _mm512_set_epi8(
        63, 62, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47, 46, 45, 44, 43, 42, 41, 40, 39, 38, 37, 36,
        35, 34, 33, 32, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7,
        6, 5, 4, 3, 2, 1, 0));
    const __m256i comma_at = _mm256_cvtepu8_epi64(_mm512_castsi512_si128(positions));
    const __m256i one = _mm256_set1_epi64x(1);
    const __m256i below = _mm256_sub_epi64(_mm256_sllv_epi64(one, comma_at), one);
    const __m256i digit_counts = _mm256_popcnt_epi64(_mm256_and_si256(_mm256_set1_epi64x((long long)span_digits), below));
    const __m256i decimal_counts = _mm256_popcnt_epi64(_mm256_and_si256(_mm256_set1_epi64x((long long)decimal_digits), below));
    const __m128i ends = _mm256_cvtepi64_epi8(digit_counts);
    const __m128i starts = _mm_slli_epi32(ends, 8);
    const __m128i counts_less_one = _mm_sub_epi8(_mm_sub_epi8(ends, starts), _mm_set1_epi8(1));
    if (_mm_mask_cmpge_epu8_mask((__mmask16)((1u << count) - 1), counts_less_one, _mm_set1_epi8(15))) return 0;
    // Each field's decimals: the counts less the one before.
    const __m256i decimals = _mm256_sub_epi64(decimal_counts,
        _mm256_maskz_permutexvar_epi64(0xE, _mm256_setr_epi64x(0, 0, 1, 2), decimal_counts));

    // The digits of the four fields, in order, at the front; then byte j of lane k takes
    // compact[e_k - 16 + j] when that is one of field k's (at least e_{k-1}), else zero: the
    // n_k digits of field k in the lane's last n_k bytes.
    const __m512i compact = _mm512_maskz_compress_epi8(span_digits, digit_values);
    const __m512i lane_of_byte = _mm512_set_epi64(0x0303030303030303ll, 0x0303030303030303ll, 0x0202020202020202ll,
                                                  0x0202020202020202ll, 0x0101010101010101ll, 0x0101010101010101ll,
                                                  0, 0);
    const __m512i byte_in_lane_less_16 =
        _mm512_set_epi64(0xFFFEFDFCFBFAF9F8ll, 0xF7F6F5F4F3F2F1F0ll, 0xFFFEFDFCFBFAF9F8ll, 0xF7F6F5F4F3F2F1F0ll,
                         0xFFFEFDFCFBFAF9F8ll, 0xF7F6F5F4F3F2F1F0ll, 0xFFFEFDFCFBFAF9F8ll, 0xF7F6F5F4F3F2F1F0ll);
    const __m512i index =
        _mm512_add_epi8(byte_in_lane_less_16, _mm512_permutexvar_epi8(lane_of_byte, _mm512_castsi128_si512(ends)));
    const __mmask64 filled =
        _mm512_cmpge_epi8_mask(index, _mm512_permutexvar_epi8(lane_of_byte, _mm512_castsi128_si512(starts)));
    const __m512i aligned = _mm512_maskz_permutexvar_epi8(filled, index, compact);

    // parse_window's pairs, fours and eights, in each lane; then mantissa = high * 10^8 + low.
    const __m512i pairs = _mm512_maddubs_epi16(aligned, _mm512_set1_epi16(0x010A));
    const __m512i quads = _mm512_madd_epi16(pairs, _mm512_set1_epi32(0x00010064));
    const __m512i packed = _mm512_packus_epi32(quads, quads);
    const __m512i eights = _mm512_madd_epi16(packed, _mm512_set1_epi32(0x00012710));
    const __m512i mantissas = _mm512_add_epi64(_mm512_mul_epu32(eights, _mm512_set1_epi64(100000000)),
                                               _mm512_srli_epi64(eights, 32));
    const __m256i mantissa = _mm512_castsi512_si256(_mm512_maskz_compress_epi64(0x55, mantissas));

    const __m256d powers = _mm512_castpd512_pd256(_mm512_permutex2var_pd(
        _mm512_loadu_pd(four_field_powers), _mm512_castsi256_si512(decimals), _mm512_loadu_pd(four_field_powers + 8)));
    __m256d values = _mm256_div_pd(_mm256_cvtepu64_pd(mantissa), powers);
    // The '-' signs, one bit a field (they can only open a field: checked above).
    const __mmask8 negative = (__mmask8)_pext_u64(minuses, field_starts);
    values = _mm256_mask_or_pd(values, negative, values, _mm256_set1_pd(-0.0));
    _mm256_mask_storeu_pd(out, (__mmask8)((1u << count) - 1), values);
    return last + 1;
}

static int have_four_field_instructions(void) {
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
        && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl")
        && __builtin_cpu_supports("avx512vbmi") && __builtin_cpu_supports("avx512vbmi2")
        && __builtin_cpu_supports("avx512vpopcntdq") && __builtin_cpu_supports("bmi")
        && __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("popcnt");
}

// The loop over a record's fields in C, so that parse_fields is inlined and its values go
// from the vector register straight to the columns (a call a group from Swift, the values
// through the stack and an append each, was a third of the parse's time).
FOUR_FIELD_TARGET static size_t parse_record(const unsigned char *p, const unsigned char *end,
                                             double *const *columns, size_t row, size_t first, size_t count,
                                             size_t *reached) {
    const unsigned char *const start = p;
    size_t column = first;
    double values[4];
    while (column < count && end - p >= 64) {
        const size_t left = count - column;
        size_t taken;
        if (left >= 4) {
            taken = parse_fields(p, values, 4);
            if (taken == 0) break;
            columns[column][row] = values[0];
            columns[column + 1][row] = values[1];
            columns[column + 2][row] = values[2];
            columns[column + 3][row] = values[3];
            column += 4;
        } else {
            taken = left == 3 ? parse_fields(p, values, 3) : left == 2 ? parse_fields(p, values, 2) : parse_fields(p, values, 1);
            if (taken == 0) break;
            for (size_t k = 0; k < left; k++) columns[column + k][row] = values[k];
            column += left;
        }
        p += taken;
    }
    *reached = column;
    return (size_t)(p - start);
}

size_t glm_parse_decimal_record(const unsigned char *p, const unsigned char *end, double *const *columns,
                                size_t row, size_t first, size_t count, size_t *reached) {
    if (!have_four_field_instructions()) {
        *reached = first;
        return 0;
    }
    return parse_record(p, end, columns, row, first, count, reached);
}

int glm_parse_four_decimals_available(void) { return have_four_field_instructions(); }

#else

size_t glm_parse_short_decimal(const unsigned char *p, const unsigned char *end, double *value) {
    (void)p;
    (void)end;
    (void)value;
    return 0;
}

size_t glm_parse_decimal_record(const unsigned char *p, const unsigned char *end, double *const *columns,
                                size_t row, size_t first, size_t count, size_t *reached) {
    (void)p, (void)end, (void)columns, (void)row, (void)count;
    *reached = first;
    return 0;
}

int glm_parse_four_decimals_available(void) { return 0; }

#endif
