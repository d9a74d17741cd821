#include "kernels.h"

#include <math.h>
#include <stdint.h>

// exp and log over arrays, eight values at a time with AVX-512, within one unit in the last
// place of libm's (which is within about half of one of the exact value), and the same
// doubles at every kernel level: the scalar versions below do the same IEEE operations (the
// fused multiply-adds are explicit; nothing else is contracted). Values outside the range the
// method covers (overflow, underflow, subnormals, zero, negatives, infinities, NaN) are left to
// libm, at every level.
#pragma clang fp contract(off)

// exp(x) = 2^m * 2^(j/16) * exp(r), with n = 16 m + j the integer nearest x * 16 / ln 2 and
// r = x - n ln2/16 (|r| <= ln2/32, in two steps so that it is exact to about 2^-110); 2^(j/16)
// as a sum of two doubles; exp(r) - 1 by its Taylor series to r^7 (the rest is below 2^-59).
static const double exp_scale = 0x1.71547652b82fep+4; // 16 / ln 2
static const double exp_step_high = 0x1.62e42fefa39efp-5; // ln 2 / 16, its leading bits
static const double exp_step_low = 0x1.abc9e3b39803fp-60; // and the rest
static const double exp_table_high[16] = {
    0x1.0000000000000p+0, 0x1.0b5586cf9890fp+0, 0x1.172b83c7d517bp+0, 0x1.2387a6e756238p+0,
    0x1.306fe0a31b715p+0, 0x1.3dea64c123422p+0, 0x1.4bfdad5362a27p+0, 0x1.5ab07dd485429p+0,
    0x1.6a09e667f3bcdp+0, 0x1.7a11473eb0187p+0, 0x1.8ace5422aa0dbp+0, 0x1.9c49182a3f090p+0,
    0x1.ae89f995ad3adp+0, 0x1.c199bdd85529cp+0, 0x1.d5818dcfba487p+0, 0x1.ea4afa2a490dap+0};
static const double exp_table_low[16] = {
    0x0.0p+0,               0x1.8a62e4adc610bp-54,  -0x1.19041b9d78a76p-55, 0x1.9b07eb6c70573p-54,
    0x1.6f46ad23182e4p-55,  0x1.ada0911f09ebcp-55,  0x1.d4397afec42e2p-56,  0x1.6324c054647adp-54,
    -0x1.bdd3413b26456p-54, -0x1.41577ee04992fp-55, 0x1.6e9f156864b27p-54,  0x1.c7c46b071f2bep-56,
    0x1.7a1cd345dcc81p-54,  0x1.11065895048ddp-55,  0x1.2ed02d75b3707p-55,  -0x1.e9c23179c2893p-54};
// 1/k! for k = 7 down to 2.
static const double exp_taylor[6] = {1.0 / 5040, 1.0 / 720, 1.0 / 120, 1.0 / 24, 1.0 / 6, 0.5};
// Where the method holds: exp(-708) is still a normal double, exp(709) still finite.
static const double exp_lowest = -708.0, exp_highest = 709.0;

static inline int exp_in_range(double x) { return x >= exp_lowest && x <= exp_highest; }

static double exp_scalar(double x) {
    if (!exp_in_range(x)) return exp(x);
    const double n = nearbyint(x * exp_scale);
    const int64_t whole = (int64_t)n;
    const int j = (int)(whole & 15);
    const int m = (int)(whole >> 4);
    double r = fma(-n, exp_step_high, x);
    r = fma(-n, exp_step_low, r);
    double q = exp_taylor[0];
    for (int k = 1; k < 6; k++) q = fma(q, r, exp_taylor[k]);
    const double p = fma(q, r * r, r);
    const double y = exp_table_high[j] + fma(exp_table_high[j], p, exp_table_low[j]);
    return ldexp(y, m);
}

// log(x) = e ln2 + log(1 + f), with x = 2^e (1 + f) and 1 + f in [0.75, 1.5); then
// log(1 + f) = 2 atanh(s) with s = f / (2 + f), |s| <= 0.2, written (as in fdlibm) as
// f - (f²/2 - s (f²/2 + R)), R = s² (2/3 + s² (2/5 + ... + s² 2/25)) (the rest is below 2^-59).
static const double log_two_high = 0x1.62e42fefa3800p-1; // ln 2, leading bits: e * it is exact
static const double log_two_low = 0x1.ef35793c76730p-45;
static const double log_series[12] = {2.0 / 25, 2.0 / 23, 2.0 / 21, 2.0 / 19, 2.0 / 17, 2.0 / 15,
                                      2.0 / 13, 2.0 / 11, 2.0 / 9,  2.0 / 7,  2.0 / 5,  2.0 / 3};

static inline int log_in_range(double x) { return x >= 0x1p-1022 && x <= 0x1.fffffffffffffp+1023; }

static inline double log_reduced(double f, double e) {
    const double s = f / (2.0 + f);
    const double z = s * s;
    double series = log_series[0];
    for (int k = 1; k < 12; k++) series = fma(series, z, log_series[k]);
    const double big_r = z * series;
    const double half_square = 0.5 * f * f;
    return e * log_two_high - ((half_square - (s * (half_square + big_r) + e * log_two_low)) - f);
}

static double log_scalar(double x) {
    if (!log_in_range(x)) return log(x);
    int exponent;
    const double fraction = frexp(x, &exponent); // x = fraction * 2^exponent, fraction in [0.5, 1)
    double m = fraction;
    double e = exponent;
    if (fraction < 0.75) {
        m = 2.0 * fraction;
        e = exponent - 1;
    }
    return log_reduced(m - 1.0, e);
}

static void exp_plain(const double *x, double *out, ptrdiff_t n, ptrdiff_t from) {
    for (ptrdiff_t i = from; i < n; i++) out[i] = exp_scalar(x[i]);
}

static void log_plain(const double *x, double *out, ptrdiff_t n, ptrdiff_t from) {
    for (ptrdiff_t i = from; i < n; i++) out[i] = log_scalar(x[i]);
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define GLM_ELEMENTARY_X86 1
#endif

#ifdef GLM_ELEMENTARY_X86
#include <immintrin.h>

#define GLM_ELEMENTARY_TARGET __attribute__((target("avx512f,avx512dq")))

// Lanes whose input is outside the method's range get libm's value (from `inputs`, saved
// before `out` was written: the two may be the same memory).
static inline void patch_with_libm(double *out, const double *inputs, unsigned lanes, int is_log) {
    while (lanes) {
        const int lane = __builtin_ctz(lanes);
        out[lane] = is_log ? log(inputs[lane]) : exp(inputs[lane]);
        lanes &= lanes - 1;
    }
}

GLM_ELEMENTARY_TARGET static void exp_avx512(const double *x, double *out, ptrdiff_t n) {
    const __m512d table_high_0 = _mm512_loadu_pd(exp_table_high), table_high_1 = _mm512_loadu_pd(exp_table_high + 8);
    const __m512d table_low_0 = _mm512_loadu_pd(exp_table_low), table_low_1 = _mm512_loadu_pd(exp_table_low + 8);
    ptrdiff_t i = 0;
    for (; i + 8 <= n; i += 8) {
        double inputs[8];
        const __m512d given = _mm512_loadu_pd(x + i);
        _mm512_storeu_pd(inputs, given);
        const __mmask8 inside = _mm512_cmp_pd_mask(given, _mm512_set1_pd(exp_lowest), _CMP_GE_OQ) &
                                _mm512_cmp_pd_mask(given, _mm512_set1_pd(exp_highest), _CMP_LE_OQ);
        // Lanes outside get 0 here and libm's value after.
        const __m512d v = _mm512_maskz_mov_pd(inside, given);
        const __m512d nearest = _mm512_roundscale_pd(_mm512_mul_pd(v, _mm512_set1_pd(exp_scale)),
                                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        const __m512i whole = _mm512_cvtpd_epi64(nearest);
        const __m512i j = _mm512_and_si512(whole, _mm512_set1_epi64(15));
        const __m512d m = _mm512_cvtepi64_pd(_mm512_srai_epi64(whole, 4));
        const __m512d negated = _mm512_castsi512_pd(
            _mm512_xor_si512(_mm512_castpd_si512(nearest), _mm512_set1_epi64((long long)0x8000000000000000ULL)));
        __m512d r = _mm512_fmadd_pd(negated, _mm512_set1_pd(exp_step_high), v);
        r = _mm512_fmadd_pd(negated, _mm512_set1_pd(exp_step_low), r);
        __m512d q = _mm512_set1_pd(exp_taylor[0]);
        for (int k = 1; k < 6; k++) q = _mm512_fmadd_pd(q, r, _mm512_set1_pd(exp_taylor[k]));
        const __m512d p = _mm512_fmadd_pd(q, _mm512_mul_pd(r, r), r);
        const __m512d high = _mm512_permutex2var_pd(table_high_0, j, table_high_1);
        const __m512d low = _mm512_permutex2var_pd(table_low_0, j, table_low_1);
        const __m512d y = _mm512_add_pd(high, _mm512_fmadd_pd(high, p, low));
        _mm512_storeu_pd(out + i, _mm512_scalef_pd(y, m));
        const unsigned outside = (unsigned)(uint8_t)~inside;
        if (outside) patch_with_libm(out + i, inputs, outside, 0);
    }
    exp_plain(x, out, n, i);
}

GLM_ELEMENTARY_TARGET static void log_avx512(const double *x, double *out, ptrdiff_t n) {
    ptrdiff_t i = 0;
    for (; i + 8 <= n; i += 8) {
        double inputs[8];
        const __m512d given = _mm512_loadu_pd(x + i);
        _mm512_storeu_pd(inputs, given);
        const __mmask8 inside = _mm512_cmp_pd_mask(given, _mm512_set1_pd(0x1p-1022), _CMP_GE_OQ) &
                                _mm512_cmp_pd_mask(given, _mm512_set1_pd(0x1.fffffffffffffp+1023), _CMP_LE_OQ);
        const __m512d v = _mm512_mask_mov_pd(_mm512_set1_pd(1.0), inside, given);
        // The significand in [0.75, 1.5) and the exponent that goes with it (exact).
        const __m512d m = _mm512_getmant_pd(v, _MM_MANT_NORM_p75_1p5, _MM_MANT_SIGN_src);
        const __m512d e = _mm512_sub_pd(_mm512_getexp_pd(v), _mm512_getexp_pd(m));
        const __m512d f = _mm512_sub_pd(m, _mm512_set1_pd(1.0));
        const __m512d s = _mm512_div_pd(f, _mm512_add_pd(_mm512_set1_pd(2.0), f));
        const __m512d z = _mm512_mul_pd(s, s);
        __m512d series = _mm512_set1_pd(log_series[0]);
        for (int k = 1; k < 12; k++) series = _mm512_fmadd_pd(series, z, _mm512_set1_pd(log_series[k]));
        const __m512d big_r = _mm512_mul_pd(z, series);
        const __m512d half_square = _mm512_mul_pd(_mm512_mul_pd(_mm512_set1_pd(0.5), f), f);
        const __m512d inner = _mm512_add_pd(_mm512_mul_pd(s, _mm512_add_pd(half_square, big_r)),
                                            _mm512_mul_pd(e, _mm512_set1_pd(log_two_low)));
        const __m512d result = _mm512_sub_pd(_mm512_mul_pd(e, _mm512_set1_pd(log_two_high)),
                                             _mm512_sub_pd(_mm512_sub_pd(half_square, inner), f));
        _mm512_storeu_pd(out + i, result);
        const unsigned outside = (unsigned)(uint8_t)~inside;
        if (outside) patch_with_libm(out + i, inputs, outside, 1);
    }
    log_plain(x, out, n, i);
}
#endif

// AVX-512 F and DQ (the conversions between doubles and 64-bit integers).
static int elementary_avx512(void) {
#ifdef GLM_ELEMENTARY_X86
    return glm_kernel_level() >= 2 && __builtin_cpu_supports("avx512dq");
#else
    return 0;
#endif
}

// exp (is_log 0) or log (1) by the kernel of `level`.
static void elementary_at(int level, int is_log, const double *x, double *out, ptrdiff_t n) {
#ifdef GLM_ELEMENTARY_X86
    if (level >= 2 && elementary_avx512()) {
        if (is_log) log_avx512(x, out, n);
        else exp_avx512(x, out, n);
        return;
    }
#endif
    (void)level;
    if (is_log) log_plain(x, out, n, 0);
    else exp_plain(x, out, n, 0);
}

void glm_exp_at(int level, const double *x, double *out, ptrdiff_t n) { elementary_at(level, 0, x, out, n); }

void glm_log_at(int level, const double *x, double *out, ptrdiff_t n) { elementary_at(level, 1, x, out, n); }

void glm_exp(const double *x, double *out, ptrdiff_t n) { glm_exp_at(glm_kernel_level(), x, out, n); }

void glm_log(const double *x, double *out, ptrdiff_t n) { glm_log_at(glm_kernel_level(), x, out, n); }

// The unit deviances of Family.unitDeviance for the families whose deviance takes logs, with
// the same operations in the same order (the logs by glm_log), added up row by row in order.
static inline __attribute__((always_inline)) void deviance_log_arguments(int family, const double *restrict y,
                                                                         const double *restrict mu,
                                                                         double *restrict first,
                                                                         double *restrict second, ptrdiff_t rows) {
    for (ptrdiff_t r = 0; r < rows; r++) {
        const double value = y[r], mean = mu[r];
        if (family == GLM_DEVIANCE_BINOMIAL) {
            first[r] = value != 0 ? value / mean : 1.0;
            second[r] = 1 - value != 0 ? (1 - value) / (1 - mean) : 1.0;
        } else if (family == GLM_DEVIANCE_POISSON) {
            first[r] = value > 0 ? value / mean : 1.0;
        } else {
            first[r] = value == 0 ? 1.0 : value / mean;
        }
    }
}

static inline __attribute__((always_inline)) void deviance_units(int family, const double *restrict y,
                                                                 const double *restrict mu,
                                                                 const double *restrict prior,
                                                                 double *restrict first,
                                                                 const double *restrict second, ptrdiff_t rows) {
    for (ptrdiff_t r = 0; r < rows; r++) {
        const double value = y[r], mean = mu[r], weight = prior[r];
        double unit;
        if (family == GLM_DEVIANCE_BINOMIAL) {
            const double successes = value != 0 ? value * first[r] : 0.0;
            const double failures = 1 - value != 0 ? (1 - value) * second[r] : 0.0;
            unit = 2 * weight * (successes + failures);
        } else if (family == GLM_DEVIANCE_POISSON) {
            unit = value > 0 ? 2 * weight * (value * first[r] - (value - mean)) : 2 * mean * weight;
        } else {
            unit = -2 * weight * (first[r] - (value - mean) / mean);
        }
        first[r] = unit;
    }
}

// Each family's loops compiled on their own (the family a constant, so no lane computes
// another family's expression).
#define GLM_DEVIANCE_BY_FAMILY(BODY)                                                                                   \
    switch (family) {                                                                                                  \
    case GLM_DEVIANCE_BINOMIAL: BODY(GLM_DEVIANCE_BINOMIAL); break;                                                    \
    case GLM_DEVIANCE_POISSON: BODY(GLM_DEVIANCE_POISSON); break;                                                      \
    default: BODY(GLM_DEVIANCE_GAMMA); break;                                                                          \
    }
#define GLM_LOG_ARGUMENTS(F) deviance_log_arguments(F, y, mu, first, second, rows)
#define GLM_UNITS(F) deviance_units(F, y, mu, prior, first, second, rows)

static void deviance_log_arguments_plain(int family, const double *y, const double *mu, double *first, double *second,
                                         ptrdiff_t rows) {
    GLM_DEVIANCE_BY_FAMILY(GLM_LOG_ARGUMENTS)
}

static void deviance_units_plain(int family, const double *y, const double *mu, const double *prior, double *first,
                                 const double *second, ptrdiff_t rows) {
    GLM_DEVIANCE_BY_FAMILY(GLM_UNITS)
}

#ifdef GLM_ELEMENTARY_X86
__attribute__((target("avx512f"))) static void deviance_log_arguments_avx512(int family, const double *y,
                                                                            const double *mu, double *first,
                                                                            double *second, ptrdiff_t rows) {
    GLM_DEVIANCE_BY_FAMILY(GLM_LOG_ARGUMENTS)
}

__attribute__((target("avx512f"))) static void deviance_units_avx512(int family, const double *y, const double *mu,
                                                                    const double *prior, double *first,
                                                                    const double *second, ptrdiff_t rows) {
    GLM_DEVIANCE_BY_FAMILY(GLM_UNITS)
}
#endif

double glm_deviance_sum(int family, const double *y, const double *mu, const double *prior, double *scratch,
                        ptrdiff_t rows) {
    double *first = scratch, *second = scratch + rows, *ones = scratch + 2 * rows;
    // Weights of 1 in memory rather than a test of prior in the loop: a select between a load
    // through NULL (masked off) and 1 is a masked load from address 0, which some CPUs run
    // through a slow microcode path.
    if (!prior) {
        for (ptrdiff_t r = 0; r < rows; r++) ones[r] = 1.0;
        prior = ones;
    }
#ifdef GLM_ELEMENTARY_X86
    const int wide = elementary_avx512();
    if (wide) deviance_log_arguments_avx512(family, y, mu, first, second, rows);
    else
#endif
        deviance_log_arguments_plain(family, y, mu, first, second, rows);
    glm_log(first, first, rows);
    if (family == GLM_DEVIANCE_BINOMIAL) glm_log(second, second, rows);
#ifdef GLM_ELEMENTARY_X86
    if (wide) deviance_units_avx512(family, y, mu, prior, first, second, rows);
    else
#endif
        deviance_units_plain(family, y, mu, prior, first, second, rows);
    double total = 0.0;
    for (ptrdiff_t r = 0; r < rows; r++) total += first[r];
    return total;
}
