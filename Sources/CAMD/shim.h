// SuiteSparse's AMD (Debian's libsuitesparse-dev): the fill-reducing order of the sparse
// normal equations of several large factors, GLMCore/Model/SparseLDL.swift.
#ifndef GLMFIT_CAMD_SHIM_H
#define GLMFIT_CAMD_SHIM_H
#include <suitesparse/amd.h>

/// AMD_OK and friends are macros; Swift sees these constants instead.
static const int glm_amd_ok = AMD_OK;
static const int glm_amd_ok_but_jumbled = AMD_OK_BUT_JUMBLED;
#endif
