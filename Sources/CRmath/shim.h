// R's standalone math library (Debian r-mathlib): the distribution functions
// R itself uses, so p-values and AIC terms are bit-identical to R's.
#ifndef GLMFIT_CRMATH_SHIM_H
#define GLMFIT_CRMATH_SHIM_H
#define MATHLIB_STANDALONE 1
#include <Rmath.h>

// Rmath.h exposes pnorm/qnorm/dnorm as macros for pnorm5 etc.; Swift does not
// import function-like macros, so give them plain inline names.
static inline double rmath_pnorm(double x, double mu, double sigma, int lower, int log_p) {
    return pnorm5(x, mu, sigma, lower, log_p);
}
static inline double rmath_qnorm(double p, double mu, double sigma, int lower, int log_p) {
    return qnorm5(p, mu, sigma, lower, log_p);
}
static inline double rmath_dnorm(double x, double mu, double sigma, int give_log) {
    return dnorm4(x, mu, sigma, give_log);
}
#include <stdio.h>

// Standalone libRmath reports its warnings with printf() ("non-integer x = ...", "full
// precision may not have been achieved"): on standard output, where glmfit writes its
// results. glmfit checks the arguments that would warn itself; this discards anything
// that still reaches C's stdout stream (glmfit writes its own output to the file
// descriptor, not through stdio).
static inline void rmath_discard_stdio_output(void) {
    FILE *null_stream = fopen("/dev/null", "w");
    if (null_stream != NULL) {
        stdout = null_stream;
    }
}
#endif
