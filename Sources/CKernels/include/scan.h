#ifndef GLMFIT_SCAN_H
#define GLMFIT_SCAN_H

/// The first quote, LF or CR in [p, end), or end: where a CSV record without quotes ends
/// (`CSVTokenizer.stepOverRecord`'s fast path). Sixteen bytes at a time with SSE2.
const unsigned char *glm_find_line_end_or_quote(const unsigned char *p, const unsigned char *end);

#endif
