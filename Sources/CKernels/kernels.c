#include "kernels.h"

#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define GLM_HAVE_X86_KERNEL 1
#endif

// The portable kernel: one dot product at a time.
static double dot_plain(const double *x, const double *y, ptrdiff_t n) {
    double sum = 0;
    for (ptrdiff_t r = 0; r < n; r++) sum += x[r] * y[r];
    return sum;
}

static void rhs_plain(const double *a, ptrdiff_t rows, ptrdiff_t columns, const double *b, double *rhs) {
    for (ptrdiff_t j = 0; j < columns; j++) rhs[j] += dot_plain(a + j * rows, b, rows);
}

static void accumulate_plain(const double *a, ptrdiff_t rows, ptrdiff_t columns, const double *b, double *gram,
                             double *rhs) {
    for (ptrdiff_t j = 0; j < columns; j++) {
        const double *aj = a + j * rows;
        for (ptrdiff_t i = 0; i <= j; i++) gram[i + j * columns] += dot_plain(a + i * rows, aj, rows);
    }
    rhs_plain(a, rows, columns, b, rhs);
}

#ifdef GLM_HAVE_X86_KERNEL
__attribute__((target("avx2,fma"))) static inline double hsum(__m256d v) {
    __m128d low = _mm256_castpd256_pd128(v);
    __m128d high = _mm256_extractf128_pd(v, 1);
    low = _mm_add_pd(low, high);
    return _mm_cvtsd_f64(_mm_add_sd(low, _mm_unpackhi_pd(low, low)));
}

// Four columns x0..x3 against two columns y0, y1: eight dot products, eight independent
// accumulators (enough to hide the FMA latency), six loads per four rows.
__attribute__((target("avx2,fma"))) static void dot4x2(const double *x, ptrdiff_t ld, const double *y0,
                                                        const double *y1, ptrdiff_t n, double out[8]) {
    const double *x0 = x, *x1 = x + ld, *x2 = x + 2 * ld, *x3 = x + 3 * ld;
    __m256d s00 = _mm256_setzero_pd(), s10 = s00, s20 = s00, s30 = s00;
    __m256d s01 = s00, s11 = s00, s21 = s00, s31 = s00;
    ptrdiff_t r = 0;
    for (; r + 4 <= n; r += 4) {
        __m256d a0 = _mm256_loadu_pd(x0 + r), a1 = _mm256_loadu_pd(x1 + r);
        __m256d a2 = _mm256_loadu_pd(x2 + r), a3 = _mm256_loadu_pd(x3 + r);
        __m256d b0 = _mm256_loadu_pd(y0 + r), b1 = _mm256_loadu_pd(y1 + r);
        s00 = _mm256_fmadd_pd(a0, b0, s00);
        s10 = _mm256_fmadd_pd(a1, b0, s10);
        s20 = _mm256_fmadd_pd(a2, b0, s20);
        s30 = _mm256_fmadd_pd(a3, b0, s30);
        s01 = _mm256_fmadd_pd(a0, b1, s01);
        s11 = _mm256_fmadd_pd(a1, b1, s11);
        s21 = _mm256_fmadd_pd(a2, b1, s21);
        s31 = _mm256_fmadd_pd(a3, b1, s31);
    }
    double t[8] = {hsum(s00), hsum(s10), hsum(s20), hsum(s30), hsum(s01), hsum(s11), hsum(s21), hsum(s31)};
    for (; r < n; r++) {
        t[0] += x0[r] * y0[r]; t[1] += x1[r] * y0[r]; t[2] += x2[r] * y0[r]; t[3] += x3[r] * y0[r];
        t[4] += x0[r] * y1[r]; t[5] += x1[r] * y1[r]; t[6] += x2[r] * y1[r]; t[7] += x3[r] * y1[r];
    }
    for (int k = 0; k < 8; k++) out[k] = t[k];
}

// One dot product with four accumulators.
__attribute__((target("avx2,fma"))) static double dot1(const double *x, const double *y, ptrdiff_t n) {
    __m256d s0 = _mm256_setzero_pd(), s1 = s0, s2 = s0, s3 = s0;
    ptrdiff_t r = 0;
    for (; r + 16 <= n; r += 16) {
        s0 = _mm256_fmadd_pd(_mm256_loadu_pd(x + r), _mm256_loadu_pd(y + r), s0);
        s1 = _mm256_fmadd_pd(_mm256_loadu_pd(x + r + 4), _mm256_loadu_pd(y + r + 4), s1);
        s2 = _mm256_fmadd_pd(_mm256_loadu_pd(x + r + 8), _mm256_loadu_pd(y + r + 8), s2);
        s3 = _mm256_fmadd_pd(_mm256_loadu_pd(x + r + 12), _mm256_loadu_pd(y + r + 12), s3);
    }
    for (; r + 4 <= n; r += 4) s0 = _mm256_fmadd_pd(_mm256_loadu_pd(x + r), _mm256_loadu_pd(y + r), s0);
    double sum = hsum(_mm256_add_pd(_mm256_add_pd(s0, s1), _mm256_add_pd(s2, s3)));
    for (; r < n; r++) sum += x[r] * y[r];
    return sum;
}

// The right-hand side: four columns at a time against b (and b twice, as the pair).
__attribute__((target("avx2,fma"))) static void rhs_avx2(const double *a, ptrdiff_t rows, ptrdiff_t columns,
                                                          const double *b, double *rhs) {
    double out[8];
    ptrdiff_t k = 0;
    for (; k + 4 <= columns; k += 4) {
        dot4x2(a + k * rows, rows, b, b, rows, out);
        for (int m = 0; m < 4; m++) rhs[k + m] += out[m];
    }
    for (; k < columns; k++) rhs[k] += dot1(a + k * rows, b, rows);
}

// The columns j, j + 1 of the upper triangle from row i on (rows in blocks of four while the
// whole block is <= j, then one at a time, then the diagonal entry of j + 1).
__attribute__((target("avx2,fma"))) static void pair_from(const double *a, ptrdiff_t rows, ptrdiff_t columns,
                                                           ptrdiff_t j, ptrdiff_t i, double *gram) {
    double out[8];
    const double *y0 = a + j * rows, *y1 = y0 + rows;
    for (; i + 4 <= j + 1; i += 4) {
        dot4x2(a + i * rows, rows, y0, y1, rows, out);
        for (int k = 0; k < 4; k++) {
            gram[i + k + j * columns] += out[k];
            gram[i + k + (j + 1) * columns] += out[4 + k];
        }
    }
    for (; i <= j; i++) {
        gram[i + j * columns] += dot1(a + i * rows, y0, rows);
        gram[i + (j + 1) * columns] += dot1(a + i * rows, y1, rows);
    }
    gram[(j + 1) + (j + 1) * columns] += dot1(y1, y1, rows);
}

__attribute__((target("avx2,fma"))) static void accumulate_avx2(const double *a, ptrdiff_t rows, ptrdiff_t columns,
                                                                 const double *b, double *gram, double *rhs) {
    ptrdiff_t j = 0;
    for (; j + 2 <= columns; j += 2) pair_from(a, rows, columns, j, 0, gram);
    for (; j < columns; j++) {
        for (ptrdiff_t i = 0; i <= j; i++) gram[i + j * columns] += dot1(a + i * rows, a + j * rows, rows);
    }
    rhs_avx2(a, rows, columns, b, rhs);
}

// With AVX-512 the same sums, to the bit, faster (about a fifth less time at 51 columns):
// `dot4x2` is bound by the latency of its eight FMA chains more than by the FMA units. Each
// 512-bit accumulator below holds two of `dot4x2`'s 256-bit ones side by side (x_k against two
// columns), so every lane adds exactly the products, in the order, of the lane it stands for;
// there are just twice as many chains.

// Four columns x0..x3 against four columns y, y + ld, y + 2 ld, y + 3 ld: sixteen dot products,
// out[4 m + k] = x_k . y_m, each exactly as `dot4x2` computes it.
__attribute__((target("avx512f,avx2,fma"))) static void dot4x4_avx512(const double *x, const double *y, ptrdiff_t ld,
                                                                      ptrdiff_t n, double out[16]) {
    const double *xs[4] = {x, x + ld, x + 2 * ld, x + 3 * ld};
    const double *ys[4] = {y, y + ld, y + 2 * ld, y + 3 * ld};
    __m512d s01[4], s23[4];
    for (int k = 0; k < 4; k++) s01[k] = s23[k] = _mm512_setzero_pd();
    ptrdiff_t r = 0;
    for (; r + 4 <= n; r += 4) {
        const __m512d b01 = _mm512_insertf64x4(_mm512_castpd256_pd512(_mm256_loadu_pd(ys[0] + r)), _mm256_loadu_pd(ys[1] + r), 1);
        const __m512d b23 = _mm512_insertf64x4(_mm512_castpd256_pd512(_mm256_loadu_pd(ys[2] + r)), _mm256_loadu_pd(ys[3] + r), 1);
        for (int k = 0; k < 4; k++) {
            const __m512d xk = _mm512_broadcast_f64x4(_mm256_loadu_pd(xs[k] + r));
            s01[k] = _mm512_fmadd_pd(xk, b01, s01[k]);
            s23[k] = _mm512_fmadd_pd(xk, b23, s23[k]);
        }
    }
    double t[16];
    for (int k = 0; k < 4; k++) {
        t[k] = hsum(_mm512_castpd512_pd256(s01[k]));
        t[4 + k] = hsum(_mm512_extractf64x4_pd(s01[k], 1));
        t[8 + k] = hsum(_mm512_castpd512_pd256(s23[k]));
        t[12 + k] = hsum(_mm512_extractf64x4_pd(s23[k], 1));
    }
    for (; r < n; r++) {
        for (int m = 0; m < 4; m++) {
            for (int k = 0; k < 4; k++) t[4 * m + k] += xs[k][r] * ys[m][r];
        }
    }
    for (int k = 0; k < 16; k++) out[k] = t[k];
}

// Eight columns x0..x7 against b: out[k] = x_k . b, each exactly as `dot4x2` computes it.
__attribute__((target("avx512f,avx2,fma"))) static void dot8x1_avx512(const double *x, ptrdiff_t ld, const double *b,
                                                                      ptrdiff_t n, double out[8]) {
    __m512d s[4];
    for (int m = 0; m < 4; m++) s[m] = _mm512_setzero_pd();
    ptrdiff_t r = 0;
    for (; r + 4 <= n; r += 4) {
        const __m512d bb = _mm512_broadcast_f64x4(_mm256_loadu_pd(b + r));
        for (int m = 0; m < 4; m++) {
            const double *low = x + 2 * m * ld + r;
            const __m512d pair = _mm512_insertf64x4(_mm512_castpd256_pd512(_mm256_loadu_pd(low)), _mm256_loadu_pd(low + ld), 1);
            s[m] = _mm512_fmadd_pd(pair, bb, s[m]);
        }
    }
    double t[8];
    for (int m = 0; m < 4; m++) {
        t[2 * m] = hsum(_mm512_castpd512_pd256(s[m]));
        t[2 * m + 1] = hsum(_mm512_extractf64x4_pd(s[m], 1));
    }
    for (; r < n; r++) {
        for (int k = 0; k < 8; k++) t[k] += x[k * ld + r] * b[r];
    }
    for (int k = 0; k < 8; k++) out[k] = t[k];
}

__attribute__((target("avx512f,avx2,fma"))) static void rhs_avx512(const double *a, ptrdiff_t rows, ptrdiff_t columns,
                                                                   const double *b, double *rhs) {
    double out[8];
    ptrdiff_t k = 0;
    for (; k + 8 <= columns; k += 8) {
        dot8x1_avx512(a + k * rows, rows, b, rows, out);
        for (int m = 0; m < 8; m++) rhs[k + m] += out[m];
    }
    // The rest as `rhs_avx2` would take it from column k.
    rhs_avx2(a + k * rows, rows, columns - k, b, rhs + k);
}

__attribute__((target("avx512f,avx2,fma"))) static void accumulate_avx512(const double *a, ptrdiff_t rows,
                                                                          ptrdiff_t columns, const double *b,
                                                                          double *gram, double *rhs) {
    double out[16];
    ptrdiff_t j = 0;
    // Columns j..j + 3: the row blocks `dot4x2` would take for both pairs (j, j + 1) and
    // (j + 2, j + 3) in one sweep, then each pair's own rest.
    for (; j + 4 <= columns; j += 4) {
        ptrdiff_t i = 0;
        for (; i + 4 <= j + 1; i += 4) {
            dot4x4_avx512(a + i * rows, a + j * rows, rows, rows, out);
            for (int m = 0; m < 4; m++) {
                for (int k = 0; k < 4; k++) gram[i + k + (j + m) * columns] += out[4 * m + k];
            }
        }
        pair_from(a, rows, columns, j, i, gram);
        pair_from(a, rows, columns, j + 2, i, gram);
    }
    for (; j + 2 <= columns; j += 2) pair_from(a, rows, columns, j, 0, gram);
    for (; j < columns; j++) {
        for (ptrdiff_t i = 0; i <= j; i++) gram[i + j * columns] += dot1(a + i * rows, a + j * rows, rows);
    }
    rhs_avx512(a, rows, columns, b, rhs);
}

#endif

int glm_kernel_level(void) {
#ifdef GLM_HAVE_X86_KERNEL
    // What libgcc read from cpuid at start-up: a load and a test, cheap at once per block.
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        return __builtin_cpu_supports("avx512f") ? 2 : 1;
    }
#endif
    return 0;
}

// eta[r] = offset[r] (0 without one), then eta[r] = eta[r] + x_k[first + r] * coefficient_k
// for each listed column k in order: a multiply and an add, never fused, so every kernel level
// gives the plain loop's doubles. Several rows at once, each row's sum in a register.
static void linear_predictor_plain(const double *const *columns, ptrdiff_t first, ptrdiff_t rows,
                                   const double *coefficients, ptrdiff_t count, const double *offset, double *eta,
                                   ptrdiff_t from) {
#pragma clang fp contract(off)
    for (ptrdiff_t r = from; r < rows; r++) {
        double sum = offset ? offset[r] : 0.0;
        for (ptrdiff_t k = 0; k < count; k++) {
            const double term = columns[k][first + r] * coefficients[k];
            sum = sum + term;
        }
        eta[r] = sum;
    }
}

// Inlined into the AVX2 version below, which is this loop vectorised by the compiler.
static inline __attribute__((always_inline)) void scale_rows_plain(const double *const *columns, ptrdiff_t first,
                                                                   ptrdiff_t rows, ptrdiff_t count,
                                                                   const double *factors, double *block) {
    for (ptrdiff_t c = 0; c < count; c++) {
        const double *column = columns[c] + first;
        for (ptrdiff_t r = 0; r < rows; r++) block[c * rows + r] = column[r] * factors[r];
    }
}

#ifdef GLM_HAVE_X86_KERNEL
__attribute__((target("avx2,fma"))) static void linear_predictor_avx2(const double *const *columns, ptrdiff_t first,
                                                                       ptrdiff_t rows, const double *coefficients,
                                                                       ptrdiff_t count, const double *offset,
                                                                       double *eta) {
    ptrdiff_t r = 0;
    for (; r + 16 <= rows; r += 16) {
        __m256d s0, s1, s2, s3;
        if (offset) {
            s0 = _mm256_loadu_pd(offset + r), s1 = _mm256_loadu_pd(offset + r + 4);
            s2 = _mm256_loadu_pd(offset + r + 8), s3 = _mm256_loadu_pd(offset + r + 12);
        } else {
            s0 = s1 = s2 = s3 = _mm256_setzero_pd();
        }
        for (ptrdiff_t k = 0; k < count; k++) {
            const double *column = columns[k] + first + r;
            const __m256d factor = _mm256_set1_pd(coefficients[k]);
            s0 = _mm256_add_pd(s0, _mm256_mul_pd(_mm256_loadu_pd(column), factor));
            s1 = _mm256_add_pd(s1, _mm256_mul_pd(_mm256_loadu_pd(column + 4), factor));
            s2 = _mm256_add_pd(s2, _mm256_mul_pd(_mm256_loadu_pd(column + 8), factor));
            s3 = _mm256_add_pd(s3, _mm256_mul_pd(_mm256_loadu_pd(column + 12), factor));
        }
        _mm256_storeu_pd(eta + r, s0), _mm256_storeu_pd(eta + r + 4, s1);
        _mm256_storeu_pd(eta + r + 8, s2), _mm256_storeu_pd(eta + r + 12, s3);
    }
    linear_predictor_plain(columns, first, rows, coefficients, count, offset, eta, r);
}

__attribute__((target("avx512f"))) static void linear_predictor_avx512(const double *const *columns, ptrdiff_t first,
                                                                        ptrdiff_t rows, const double *coefficients,
                                                                        ptrdiff_t count, const double *offset,
                                                                        double *eta) {
    ptrdiff_t r = 0;
    for (; r + 32 <= rows; r += 32) {
        __m512d s0, s1, s2, s3;
        if (offset) {
            s0 = _mm512_loadu_pd(offset + r), s1 = _mm512_loadu_pd(offset + r + 8);
            s2 = _mm512_loadu_pd(offset + r + 16), s3 = _mm512_loadu_pd(offset + r + 24);
        } else {
            s0 = s1 = s2 = s3 = _mm512_setzero_pd();
        }
        for (ptrdiff_t k = 0; k < count; k++) {
            const double *column = columns[k] + first + r;
            const __m512d factor = _mm512_set1_pd(coefficients[k]);
            s0 = _mm512_add_pd(s0, _mm512_mul_pd(_mm512_loadu_pd(column), factor));
            s1 = _mm512_add_pd(s1, _mm512_mul_pd(_mm512_loadu_pd(column + 8), factor));
            s2 = _mm512_add_pd(s2, _mm512_mul_pd(_mm512_loadu_pd(column + 16), factor));
            s3 = _mm512_add_pd(s3, _mm512_mul_pd(_mm512_loadu_pd(column + 24), factor));
        }
        _mm512_storeu_pd(eta + r, s0), _mm512_storeu_pd(eta + r + 8, s1);
        _mm512_storeu_pd(eta + r + 16, s2), _mm512_storeu_pd(eta + r + 24, s3);
    }
    linear_predictor_plain(columns, first, rows, coefficients, count, offset, eta, r);
}

__attribute__((target("avx2"))) static void scale_rows_avx2(const double *const *columns, ptrdiff_t first,
                                                             ptrdiff_t rows, ptrdiff_t count, const double *factors,
                                                             double *block) {
    scale_rows_plain(columns, first, rows, count, factors, block);
}

__attribute__((target("avx512f"))) static void scale_rows_avx512(const double *const *columns, ptrdiff_t first,
                                                                  ptrdiff_t rows, ptrdiff_t count,
                                                                  const double *factors, double *block) {
    for (ptrdiff_t c = 0; c < count; c++) {
        const double *column = columns[c] + first;
        double *target = block + c * rows;
        ptrdiff_t r = 0;
        for (; r + 8 <= rows; r += 8) {
            _mm512_storeu_pd(target + r, _mm512_mul_pd(_mm512_loadu_pd(column + r), _mm512_loadu_pd(factors + r)));
        }
        if (r < rows) {
            const __mmask8 tail = (__mmask8)((1u << (rows - r)) - 1);
            _mm512_mask_storeu_pd(target + r, tail,
                                  _mm512_mul_pd(_mm512_maskz_loadu_pd(tail, column + r),
                                                _mm512_maskz_loadu_pd(tail, factors + r)));
        }
    }
}
#endif

void glm_linear_predictor_at(int level, const double *const *columns, ptrdiff_t first, ptrdiff_t rows,
                             const double *coefficients, ptrdiff_t count, const double *offset, double *eta) {
    const int available = glm_kernel_level();
    const int usable = level < available ? level : available;
#ifdef GLM_HAVE_X86_KERNEL
    if (usable == 2) {
        linear_predictor_avx512(columns, first, rows, coefficients, count, offset, eta);
        return;
    }
    if (usable == 1) {
        linear_predictor_avx2(columns, first, rows, coefficients, count, offset, eta);
        return;
    }
#endif
    (void)usable;
    linear_predictor_plain(columns, first, rows, coefficients, count, offset, eta, 0);
}

void glm_linear_predictor(const double *const *columns, ptrdiff_t first, ptrdiff_t rows, const double *coefficients,
                          ptrdiff_t count, const double *offset, double *eta) {
    glm_linear_predictor_at(glm_kernel_level(), columns, first, rows, coefficients, count, offset, eta);
}

void glm_scale_rows(const double *const *columns, ptrdiff_t first, ptrdiff_t rows, ptrdiff_t count,
                    const double *factors, double *block) {
#ifdef GLM_HAVE_X86_KERNEL
    const int level = glm_kernel_level();
    if (level == 2) {
        scale_rows_avx512(columns, first, rows, count, factors, block);
        return;
    }
    if (level == 1) {
        scale_rows_avx2(columns, first, rows, count, factors, block);
        return;
    }
#endif
    scale_rows_plain(columns, first, rows, count, factors, block);
}

void glm_accumulate_normal_equations_at(int level, const double *a, ptrdiff_t rows, ptrdiff_t columns, const double *b,
                                        double *gram, double *rhs) {
    const int available = glm_kernel_level();
    const int usable = level < available ? level : available;
#ifdef GLM_HAVE_X86_KERNEL
    if (usable == 2) {
        accumulate_avx512(a, rows, columns, b, gram, rhs);
        return;
    }
    if (usable == 1) {
        accumulate_avx2(a, rows, columns, b, gram, rhs);
        return;
    }
#endif
    (void)usable;
    accumulate_plain(a, rows, columns, b, gram, rhs);
}

void glm_accumulate_right_hand_side_at(int level, const double *a, ptrdiff_t rows, ptrdiff_t columns, const double *b,
                                       double *rhs) {
    const int available = glm_kernel_level();
    const int usable = level < available ? level : available;
#ifdef GLM_HAVE_X86_KERNEL
    if (usable == 2) {
        rhs_avx512(a, rows, columns, b, rhs);
        return;
    }
    if (usable == 1) {
        rhs_avx2(a, rows, columns, b, rhs);
        return;
    }
#endif
    (void)usable;
    rhs_plain(a, rows, columns, b, rhs);
}

void glm_accumulate_normal_equations(const double *a, ptrdiff_t rows, ptrdiff_t columns, const double *b,
                                     double *gram, double *rhs) {
    glm_accumulate_normal_equations_at(glm_kernel_level(), a, rows, columns, b, gram, rhs);
}

void glm_accumulate_right_hand_side(const double *a, ptrdiff_t rows, ptrdiff_t columns, const double *b, double *rhs) {
    glm_accumulate_right_hand_side_at(glm_kernel_level(), a, rows, columns, b, rhs);
}

int glm_copy_checking_finite(const double *source, double *target, ptrdiff_t count) {
    // The exponent bits all set: NaN or an infinity. Branch-free, so the loop vectorises.
    const uint64_t exponent = 0x7FF0000000000000ull;
    uint64_t found = 0;
    for (ptrdiff_t i = 0; i < count; i++) {
        uint64_t bits;
        memcpy(&bits, source + i, sizeof bits);
        memcpy(target + i, &bits, sizeof bits);
        found |= (bits & exponent) == exponent;
    }
    return found == 0;
}
