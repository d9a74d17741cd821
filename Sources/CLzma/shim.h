// liblzma (Debian's liblzma-dev), for reading xz input: GLMCore/Data/Decompression.swift.
#ifndef GLMFIT_CLZMA_SHIM_H
#define GLMFIT_CLZMA_SHIM_H
#include <lzma.h>

/// LZMA_STREAM_INIT is a macro; Swift sees this function instead.
static inline lzma_stream glm_lzma_stream_init(void) {
    lzma_stream stream = LZMA_STREAM_INIT;
    return stream;
}

/// LZMA_CONCATENATED is a macro Swift cannot import: decode `cat a.xz b.xz` as one input.
static const uint32_t glm_lzma_concatenated = LZMA_CONCATENATED;
#endif
