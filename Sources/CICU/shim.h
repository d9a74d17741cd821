// The few ICU collation calls GLMCore/Data/LevelCollation.swift makes, as R makes them
// (R's Scollate: ucol_open with the collation locale and default attributes).
//
// ICU's own headers cannot be imported here: Swift's Foundation carries a private ICU whose
// types (UErrorCode, ...) would be defined twice. So, as CLapack does for LAPACK, this file
// declares the functions it calls, with ICU's C signatures (UErrorCode and the
// UCollationResult values are C enums, i.e. int; UChar is uint16_t in C), and nothing else.
// Debian builds ICU with versioned symbol names (ucol_open is ucol_open_72):
// U_ICU_ENTRY_POINT_RENAME from <unicode/uvernum.h> (macros only, no types) gives the
// installed version's names, and the static inline wrappers give Swift fixed ones.
#ifndef GLMFIT_CICU_SHIM_H
#define GLMFIT_CICU_SHIM_H
#include <stdint.h>
#include <unicode/uvernum.h>

/// ICU's opaque UCollator.
typedef struct glm_collator glm_collator;

glm_collator *U_ICU_ENTRY_POINT_RENAME(ucol_open)(const char *locale, int *status);
void U_ICU_ENTRY_POINT_RENAME(ucol_close)(glm_collator *collator);
int32_t U_ICU_ENTRY_POINT_RENAME(ucol_getSortKey)(const glm_collator *collator, const uint16_t *text, int32_t length,
                                                  uint8_t *key, int32_t capacity);
int U_ICU_ENTRY_POINT_RENAME(ucol_strcollUTF8)(const glm_collator *collator, const char *a, int32_t aLength,
                                               const char *b, int32_t bLength, int *status);
const char *U_ICU_ENTRY_POINT_RENAME(ucol_getLocaleByType)(const glm_collator *collator, int type, int *status);

// From <unicode/utypes.h> and <unicode/uloc.h>.
enum {
    GLM_U_USING_FALLBACK_WARNING = -128,
    GLM_U_USING_DEFAULT_WARNING = -127,
    GLM_U_ZERO_ERROR = 0,
    GLM_ULOC_ACTUAL_LOCALE = 0,
};

/// Opens the collator for `locale` (an ICU or POSIX locale name; "" for the root rules).
/// Returns NULL, with ICU's error code in `*error`, when ICU cannot open one; ICU's
/// fallback to a parent locale or to its root rules (a warning) is not an error, as in R.
static inline glm_collator *glm_collator_open(const char *locale, int32_t *error) {
    int status = GLM_U_ZERO_ERROR;
    glm_collator *collator = U_ICU_ENTRY_POINT_RENAME(ucol_open)(locale, &status);
    *error = status > GLM_U_ZERO_ERROR ? status : 0;
    if (status > GLM_U_ZERO_ERROR) {
        if (collator) U_ICU_ENTRY_POINT_RENAME(ucol_close)(collator);
        return 0;
    }
    return collator;
}

static inline void glm_collator_close(glm_collator *collator) {
    U_ICU_ENTRY_POINT_RENAME(ucol_close)(collator);
}

/// The sort key of UTF-16 `text` (`length` code units): comparing two keys byte by byte
/// orders the texts as ucol_strcoll does. Returns the key's length with its final zero
/// byte; when that exceeds `capacity`, call again with more room (0 on an error).
static inline int32_t glm_collator_sort_key(const glm_collator *collator, const uint16_t *text, int32_t length,
                                            uint8_t *key, int32_t capacity) {
    return U_ICU_ENTRY_POINT_RENAME(ucol_getSortKey)(collator, text, length, key, capacity);
}

/// ucol_strcollUTF8: -1, 0 or 1 as `a` sorts before, with or after `b`; 2 on an error.
static inline int32_t glm_collator_compare_utf8(const glm_collator *collator, const char *a, int32_t aLength,
                                                const char *b, int32_t bLength) {
    int status = GLM_U_ZERO_ERROR;
    int result = U_ICU_ENTRY_POINT_RENAME(ucol_strcollUTF8)(collator, a, aLength, b, bLength, &status);
    return status > GLM_U_ZERO_ERROR ? 2 : result;
}

/// The locale whose collation rules the collator uses ("root" for the root rules), as R's
/// icuGetCollate() reports it.
static inline const char *glm_collator_actual_locale(const glm_collator *collator) {
    int status = GLM_U_ZERO_ERROR;
    const char *name = U_ICU_ENTRY_POINT_RENAME(ucol_getLocaleByType)(collator, GLM_ULOC_ACTUAL_LOCALE, &status);
    return status > GLM_U_ZERO_ERROR || !name ? "" : name;
}

#endif
