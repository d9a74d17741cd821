#ifndef GLMFIT_KERNELS_H
#define GLMFIT_KERNELS_H

#include <stddef.h>

// Named here too, so that a module cache built before these headers existed is rebuilt.
#include "files.h"
#include "scan.h"

/// gram[i + j * columns] += sum over r of a[r + i * rows] * a[r + j * rows], for i <= j (the
/// upper triangle of AᵀA), and rhs[j] += sum over r of a[r + j * rows] * b[r]: the normal
/// equations of one block of weighted rows, A column-major. Uses AVX-512, or AVX2 and FMA, when
/// the CPU has them (checked at run time), plain loops otherwise. Fastest with A on a 64-byte
/// boundary and rows a multiple of 8, and with b stored right after A (b == a + columns * rows):
/// Aᵀb then comes from the same tiles as AᵀA, with the same sums.
void glm_accumulate_normal_equations(const double *a, ptrdiff_t rows, ptrdiff_t columns, const double *b,
                                     double *gram, double *rhs);

/// `glm_accumulate_normal_equations`, asking meanwhile for the cache lines of the next block's
/// rows of X (`rows` of them from columns[k] + nextFirst, for k < nextCount; none when
/// nextColumns is NULL), so that they are in the second-level cache when it is read.
void glm_accumulate_normal_equations_prefetching(const double *a, ptrdiff_t rows, ptrdiff_t columns, const double *b,
                                                 double *gram, double *rhs, const double *const *nextColumns,
                                                 ptrdiff_t nextFirst, ptrdiff_t nextCount);

/// Only the rhs part of `glm_accumulate_normal_equations`, with the same arithmetic: for a
/// block whose XᵀWX is already known.
void glm_accumulate_right_hand_side(const double *a, ptrdiff_t rows, ptrdiff_t columns, const double *b, double *rhs);

/// The widest kernel this CPU runs: 0 plain loops, 1 AVX2 and FMA, 2 AVX-512 (the AVX2 and
/// AVX-512 kernels add in the same order and give the same sums to the bit).
int glm_kernel_level(void);

/// The two functions above with the kernel of `level` (at most `glm_kernel_level()`): for the
/// test that the levels agree.
void glm_accumulate_normal_equations_at(int level, const double *a, ptrdiff_t rows, ptrdiff_t columns, const double *b,
                                        double *gram, double *rhs);
void glm_accumulate_right_hand_side_at(int level, const double *a, ptrdiff_t rows, ptrdiff_t columns, const double *b,
                                       double *rhs);

/// eta[r] = offset[r] (0 when offset is NULL) plus columns[k][first + r] * coefficients[k] for
/// k = 0, 1, ... in order, each product rounded and then added (no fused multiply-add), for
/// r < rows: the linear predictor of a block of rows, the same doubles at every kernel level.
void glm_linear_predictor(const double *const *columns, ptrdiff_t first, ptrdiff_t rows, const double *coefficients,
                          ptrdiff_t count, const double *offset, double *eta);
void glm_linear_predictor_at(int level, const double *const *columns, ptrdiff_t first, ptrdiff_t rows,
                             const double *coefficients, ptrdiff_t count, const double *offset, double *eta);

/// block[c * rows + r] = columns[c][first + r] * factors[r] for c < count, r < rows.
void glm_scale_rows(const double *const *columns, ptrdiff_t first, ptrdiff_t rows, ptrdiff_t count,
                    const double *factors, double *block);

/// The logit link's means and dμ/dη from η and exp(η) (`values`, which then hold dμ/dη), as R's
/// linkinv and mu.eta compute them: mu[r] = c / (1 + c) with c = exp(η) clamped to
/// [ε, 1/ε] beyond |η| > 30, dμ/dη = exp(η) / (1 + exp(η))² (ε beyond |η| > 30). No overlap.
void glm_logit_mean_derivative(const double *eta, double *values, double *mu, ptrdiff_t rows);

/// out[i] = exp(x[i]) and out[i] = log(x[i]) for i < n (out may be x): within one unit in the
/// last place of libm's, the same doubles at every kernel level (AVX-512 eight at a time, else
/// the same operations one at a time), libm's own outside the range the method covers
/// (results that overflow or are subnormal; zero, negative, subnormal or non-finite inputs).
void glm_exp(const double *x, double *out, ptrdiff_t n);
void glm_log(const double *x, double *out, ptrdiff_t n);
/// With the kernel of `level` (at most `glm_kernel_level()`): for the test that levels agree.
void glm_exp_at(int level, const double *x, double *out, ptrdiff_t n);
void glm_log_at(int level, const double *x, double *out, ptrdiff_t n);

/// The families whose unit deviance takes logs, for glm_deviance_sum.
enum { GLM_DEVIANCE_BINOMIAL = 1, GLM_DEVIANCE_POISSON = 2, GLM_DEVIANCE_GAMMA = 3 };

/// The sum, row by row in order, of Family.unitDeviance(y[r], mu[r], prior[r] or 1 when prior
/// is NULL) for r < rows, with the same operations, the logs by glm_log. scratch: 3 * rows.
double glm_deviance_sum(int family, const double *y, const double *mu, const double *prior, double *scratch,
                        ptrdiff_t rows);

/// How many of the n bytes at p equal `byte` (AVX2 when the CPU has it).
size_t glm_count_byte(const unsigned char *p, size_t n, unsigned char byte);

/// target[i] = source[i] for i < count; returns 1 when every value is finite (no NaN, no
/// infinity), else 0.
int glm_copy_checking_finite(const double *source, double *target, ptrdiff_t count);

/// A plain decimal at p: an optional '-', digits with at most one '.', at most 15 digits, ending
/// inside the 16 bytes at p (which must all be readable: end - p >= 16) and not followed by an
/// exponent. Returns the bytes it takes and sets *value to the correctly rounded double (the
/// exact mantissa, then one division by an exact power of ten); 0 when the general parser must
/// read it instead (also on a CPU without SSE4.1, and on other architectures).
size_t glm_parse_short_decimal(const unsigned char *p, const unsigned char *end, double *value);

/// Whether this CPU has what glm_parse_decimal_record needs: AVX-512 (F, BW, DQ, VL, VBMI,
/// VBMI2, VPOPCNTDQ), BMI1/2 and POPCNT.
int glm_parse_four_decimals_available(void);

/// Fields first..<count of a record, up to four at a time from one 64-byte window, field c
/// stored at columns[c][row]. Each field is an optional '-', 1 to 15 digits and at most one
/// '.', ending in a comma: the same double as one field at a time. Stops before the first
/// group (four fields, or the one to three left) that is not all such fields or does not end
/// within 64 bytes, writing none of it (also when fewer than 64 bytes are left), and sets
/// *reached to its column (first when none was read, as without those instructions).
/// Returns the bytes read, through the last field's comma.
size_t glm_parse_decimal_record(const unsigned char *p, const unsigned char *end, double *const *columns,
                                size_t row, size_t first, size_t count, size_t *reached);

/// The variance functions `glm_working_weights` computes itself: 1, mu, mu (1 - mu), mu².
enum { GLM_VARIANCE_ONE = 0, GLM_VARIANCE_MU = 1, GLM_VARIANCE_BINOMIAL = 2, GLM_VARIANCE_SQUARE = 3 };

/// One block of rows of an IRLS step (`rows` long each; `prior`, `offset` NULL when all 1 or
/// 0; `derivative` NULL when dmu/deta is mu itself, as for the log link).
typedef struct {
    ptrdiff_t rows;
    const double *eta, *mu, *y, *derivative, *prior, *offset;
    int variance;
} glm_weights_input;

typedef struct {
    double *weights, *roots, *scaledResponses;
} glm_weights_output;

/// Added to, never reset: R's checks on the rows with positive prior weight, and R's `good`.
typedef struct {
    int varianceNaN, varianceZero, derivativeNaN;
    long long good;
} glm_weights_checks;

/// R's working weights and responses (glm.fit): for a row with prior weight > 0 and
/// d = dmu/deta != 0, w = prior · d² / V(mu) and z = (eta − offset) + (y − mu) / d; else
/// w = z = 0. Writes sqrt(w)² (R's fit$weights), sqrt(w) and sqrt(w) · z. The same doubles at
/// every kernel level (each operation rounded, none fused).
void glm_working_weights(const glm_weights_input *in, glm_weights_output *out, glm_weights_checks *checks);
void glm_working_weights_at(int level, const glm_weights_input *in, glm_weights_output *out,
                            glm_weights_checks *checks);

#endif
