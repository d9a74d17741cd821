// libbz2 (Debian's libbz2-dev), for reading bzip2 input: GLMCore/Data/Decompression.swift.
#ifndef GLMFIT_CBZIP2_SHIM_H
#define GLMFIT_CBZIP2_SHIM_H
#include <bzlib.h>
#endif
