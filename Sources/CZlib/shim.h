// zlib (Debian's zlib1g-dev), for reading gzip input: GLMCore/Data/Decompression.swift.
#ifndef GLMFIT_CZLIB_SHIM_H
#define GLMFIT_CZLIB_SHIM_H
#include <zlib.h>

/// inflateInit2 is a macro; Swift sees this function instead. 15 + 32: any window size,
/// gzip or zlib header detected automatically.
static inline int glm_inflate_init_gzip(z_stream *stream) {
    return inflateInit2(stream, 15 + 32);
}
#endif
