// Fortran LAPACK/BLAS symbols used by GLMCore/Model/LinearAlgebra.swift.
// Every argument is passed by pointer; each CHARACTER argument has a hidden
// length argument (size_t) appended at the end, as gfortran expects.
// Integers are 32-bit (LP64 LAPACK). Matrices are column-major.
#ifndef GLMFIT_CLAPACK_SHIM_H
#define GLMFIT_CLAPACK_SHIM_H
#include <stddef.h>

// QR factorisation and its use.
void dgeqrf_(const int *m, const int *n, double *a, const int *lda, double *tau,
             double *work, const int *lwork, int *info);
void dormqr_(const char *side, const char *trans, const int *m, const int *n,
             const int *k, const double *a, const int *lda, const double *tau,
             double *c, const int *ldc, double *work, const int *lwork, int *info,
             size_t side_len, size_t trans_len);
void dtrtrs_(const char *uplo, const char *trans, const char *diag, const int *n,
             const int *nrhs, const double *a, const int *lda, double *b,
             const int *ldb, int *info, size_t uplo_len, size_t trans_len,
             size_t diag_len);

// One Householder reflector: generated (dlarfg) and applied from the left (dlarf).
void dlarfg_(const int *n, double *alpha, double *x, const int *incx, double *tau);
void dlarf_(const char *side, const int *m, const int *n, const double *v, const int *incv,
            const double *tau, double *c, const int *ldc, double *work, size_t side_len);
// A block of reflectors as I − V T Vᵀ (dlarft) and its product with a matrix (dlarfb):
// dormqr uses the unblocked dlarf when it has no more reflectors than its block size.
void dlarft_(const char *direct, const char *storev, const int *n, const int *k, const double *v,
             const int *ldv, const double *tau, double *t, const int *ldt, size_t direct_len,
             size_t storev_len);
void dlarfb_(const char *side, const char *trans, const char *direct, const char *storev,
             const int *m, const int *n, const int *k, const double *v, const int *ldv,
             const double *t, const int *ldt, double *c, const int *ldc, double *work,
             const int *ldwork, size_t side_len, size_t trans_len, size_t direct_len,
             size_t storev_len);

// Cholesky factorisation, solve and inverse.
void dpotrf_(const char *uplo, const int *n, double *a, const int *lda, int *info,
             size_t uplo_len);
void dpotrs_(const char *uplo, const int *n, const int *nrhs, const double *a,
             const int *lda, double *b, const int *ldb, int *info, size_t uplo_len);
void dpocon_(const char *uplo, const int *n, const double *a, const int *lda,
             const double *anorm, double *rcond, double *work, int *iwork, int *info,
             size_t uplo_len);
void dpotri_(const char *uplo, const int *n, double *a, const int *lda, int *info,
             size_t uplo_len);

// Level-3 and level-2 BLAS.
void dsyrk_(const char *uplo, const char *trans, const int *n, const int *k,
            const double *alpha, const double *a, const int *lda, const double *beta,
            double *c, const int *ldc, size_t uplo_len, size_t trans_len);
void dgemv_(const char *trans, const int *m, const int *n, const double *alpha,
            const double *a, const int *lda, const double *x, const int *incx,
            const double *beta, double *y, const int *incy, size_t trans_len);
void dgemm_(const char *transa, const char *transb, const int *m, const int *n,
            const int *k, const double *alpha, const double *a, const int *lda,
            const double *b, const int *ldb, const double *beta, double *c,
            const int *ldc, size_t transa_len, size_t transb_len);

#endif
