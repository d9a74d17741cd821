#include "cff.h"
#include <fast_float/fast_float.h>

extern "C" size_t cff_parse_double(const char *first, const char *last, double *value) {
    auto result = fast_float::from_chars(first, last, *value);
    if (result.ec != std::errc() && result.ec != std::errc::result_out_of_range) {
        return 0;
    }
    return static_cast<size_t>(result.ptr - first);
}
