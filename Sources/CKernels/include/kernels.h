#ifndef GLMFIT_KERNELS_H
#define GLMFIT_KERNELS_H

#include <stddef.h>

/// gram[i + j * columns] += sum over r of a[r + i * rows] * a[r + j * rows], for i <= j (the
/// upper triangle of AᵀA), and rhs[j] += sum over r of a[r + j * rows] * b[r]: the normal
/// equations of one block of weighted rows, A column-major. Uses AVX2 and FMA when the CPU
/// has them (checked once at run time), plain loops otherwise.
void glm_accumulate_normal_equations(const double *a, ptrdiff_t rows, ptrdiff_t columns, const double *b,
                                     double *gram, double *rhs);

#endif
