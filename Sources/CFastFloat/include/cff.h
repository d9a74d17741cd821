#ifndef GLMFIT_CFF_H
#define GLMFIT_CFF_H
#include <stddef.h>
#ifdef __cplusplus
extern "C" {
#endif

/// Parses one double from [first, last) with fast_float (round-to-nearest, as strtod).
/// Returns the number of bytes consumed, or 0 when no number starts at `first`.
size_t cff_parse_double(const char *first, const char *last, double *value);

#ifdef __cplusplus
}
#endif
#endif
