// libzstd (Debian's libzstd-dev), for reading zstd input: GLMCore/Data/Decompression.swift.
#ifndef GLMFIT_CZSTD_SHIM_H
#define GLMFIT_CZSTD_SHIM_H
#include <zstd.h>
#endif
