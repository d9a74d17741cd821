#include "kernels.h"

#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define GLM_HAVE_X86_KERNEL 1
#endif

// The portable kernel: one dot product at a time.
static double dot_plain(const double *x, const double *y, ptrdiff_t n) {
    double sum = 0;
    for (ptrdiff_t r = 0; r < n; r++) sum += x[r] * y[r];
    return sum;
}

static void rhs_plain(const double *a, ptrdiff_t rows, ptrdiff_t columns, const double *b, double *rhs) {
    for (ptrdiff_t j = 0; j < columns; j++) rhs[j] += dot_plain(a + j * rows, b, rows);
}

static void accumulate_plain(const double *a, ptrdiff_t rows, ptrdiff_t columns, const double *b, double *gram,
                             double *rhs) {
    for (ptrdiff_t j = 0; j < columns; j++) {
        const double *aj = a + j * rows;
        for (ptrdiff_t i = 0; i <= j; i++) gram[i + j * columns] += dot_plain(a + i * rows, aj, rows);
    }
    rhs_plain(a, rows, columns, b, rhs);
}

#ifdef GLM_HAVE_X86_KERNEL
// The order of every sum at both x86 levels, so that AVX2 and AVX-512 give the same doubles:
// eight lanes, lane l adding by fused multiply-add the products of rows l, l + 8, l + 16, ... of
// the block in turn (rows past its end count as 0 * 0); then ((l0 + l4) + (l2 + l6)) +
// ((l1 + l5) + (l3 + l7)), added to the total.
//
// A tile kernel computes such sums for x columns xs + u * ld (u < NI) against y columns
// ys + v * ld (v < NJ) into out[u + v * NI], every sum held in registers for the whole block:
// NI + NJ loads per NI * NJ fused multiply-adds, where one dot product at a time needs two per
// one. One sum's eight lanes are one AVX-512 register, or two AVX2 registers.
//
// Each tile also asks for the cache lines of n doubles at `ahead`, one line for each eight rows
// it reads (the next block's rows of one column of X, or its own data when there are none):
// spread over the tile's work, the requests overlap memory with the multiply-adds.
typedef void (*glm_tile)(const double *xs, const double *ys, ptrdiff_t ld, ptrdiff_t n, double *out,
                         const double *ahead);

__attribute__((target("avx2,fma"))) static inline double lanes_total_256(__m256d low, __m256d high) {
    const __m256d pairs = _mm256_add_pd(low, high);
    const __m128d halves = _mm_add_pd(_mm256_castpd256_pd128(pairs), _mm256_extractf128_pd(pairs, 1));
    return _mm_cvtsd_f64(_mm_add_sd(halves, _mm_unpackhi_pd(halves, halves)));
}

__attribute__((target("avx512f,avx2,fma"))) static inline double lanes_total_512(__m512d lanes) {
    return lanes_total_256(_mm512_castpd512_pd256(lanes), _mm512_extractf64x4_pd(lanes, 1));
}

// The totals of `count` sums, lanes_total_512's adds for each, eight sums at a time: the lanes
// transposed so that every add works on eight sums at once (the same doubles: IEEE addition
// commutes). sums[u * nj + v] goes to out[u + v * ni].
__attribute__((target("avx512f,avx2,fma"))) static inline __attribute__((always_inline)) void lanes_totals_512(
    const __m512d *sums, int count, int nj, int ni, double *out) {
    int s = 0;
    for (; s + 8 <= count; s += 8) {
        __m512d pairs[4], halves[2];
        for (int k = 0; k < 4; k++) {
            pairs[k] = _mm512_add_pd(_mm512_shuffle_f64x2(sums[s + 2 * k], sums[s + 2 * k + 1], 0x44),
                                     _mm512_shuffle_f64x2(sums[s + 2 * k], sums[s + 2 * k + 1], 0xEE));
        }
        for (int k = 0; k < 2; k++) {
            halves[k] = _mm512_add_pd(_mm512_shuffle_f64x2(pairs[2 * k], pairs[2 * k + 1], 0x88),
                                      _mm512_shuffle_f64x2(pairs[2 * k], pairs[2 * k + 1], 0xDD));
        }
        const __m512d mixed = _mm512_add_pd(_mm512_unpacklo_pd(halves[0], halves[1]),
                                            _mm512_unpackhi_pd(halves[0], halves[1]));
        double totals[8];
        _mm512_storeu_pd(totals, _mm512_permutexvar_pd(_mm512_setr_epi64(0, 2, 4, 6, 1, 3, 5, 7), mixed));
        for (int k = 0; k < 8; k++) out[(s + k) / nj + ((s + k) % nj) * ni] = totals[k];
    }
    for (; s < count; s++) out[s / nj + (s % nj) * ni] = lanes_total_512(sums[s]);
}

#define GLM_TILE_512(NI, NJ)                                                                                          \
    __attribute__((target("avx512f,avx2,fma"))) static void tile512_##NI##x##NJ(                                     \
        const double *xs, const double *ys, ptrdiff_t ld, ptrdiff_t n, double *out, const double *ahead) {            \
        __m512d sums[NI][NJ];                                                                                         \
        for (int u = 0; u < NI; u++)                                                                                  \
            for (int v = 0; v < NJ; v++) sums[u][v] = _mm512_setzero_pd();                                            \
        ptrdiff_t r = 0;                                                                                              \
        for (; r + 8 <= n; r += 8) {                                                                                  \
            _mm_prefetch((const char *)(ahead + r), _MM_HINT_T1);                                                     \
            __m512d x[NI];                                                                                            \
            for (int u = 0; u < NI; u++) x[u] = _mm512_loadu_pd(xs + u * ld + r);                                     \
            for (int v = 0; v < NJ; v++) {                                                                            \
                const __m512d y = _mm512_loadu_pd(ys + v * ld + r);                                                   \
                for (int u = 0; u < NI; u++) sums[u][v] = _mm512_fmadd_pd(x[u], y, sums[u][v]);                       \
            }                                                                                                         \
        }                                                                                                             \
        if (r < n) {                                                                                                  \
            const __mmask8 present = (__mmask8)((1u << (n - r)) - 1);                                                 \
            __m512d x[NI];                                                                                            \
            for (int u = 0; u < NI; u++) x[u] = _mm512_maskz_loadu_pd(present, xs + u * ld + r);                      \
            for (int v = 0; v < NJ; v++) {                                                                            \
                const __m512d y = _mm512_maskz_loadu_pd(present, ys + v * ld + r);                                    \
                for (int u = 0; u < NI; u++) sums[u][v] = _mm512_fmadd_pd(x[u], y, sums[u][v]);                       \
            }                                                                                                         \
        }                                                                                                             \
        /* The last line, when the rows do not start on a line boundary. */                                         \
        if (n > 0) _mm_prefetch((const char *)(ahead + n - 1), _MM_HINT_T1);                                          \
        lanes_totals_512(&sums[0][0], NI * NJ, NJ, NI, out);                                                          \
    }

// Eight rows: the low four into `low`, the high four into `high`.
#define GLM_TILE_256_ROWS(NI, NJ, LOAD_LOW, LOAD_HIGH)                                                                \
    {                                                                                                                 \
        __m256d x[NI];                                                                                                \
        for (int u = 0; u < NI; u++) x[u] = LOAD_LOW(xs + u * ld + r);                                                \
        for (int v = 0; v < NJ; v++) {                                                                                \
            const __m256d y = LOAD_LOW(ys + v * ld + r);                                                              \
            for (int u = 0; u < NI; u++) low[u][v] = _mm256_fmadd_pd(x[u], y, low[u][v]);                             \
        }                                                                                                             \
        for (int u = 0; u < NI; u++) x[u] = LOAD_HIGH(xs + u * ld + r + 4);                                           \
        for (int v = 0; v < NJ; v++) {                                                                                \
            const __m256d y = LOAD_HIGH(ys + v * ld + r + 4);                                                         \
            for (int u = 0; u < NI; u++) high[u][v] = _mm256_fmadd_pd(x[u], y, high[u][v]);                          \
        }                                                                                                             \
    }

#define GLM_TILE_256(NI, NJ)                                                                                          \
    __attribute__((target("avx2,fma"))) static void tile256_##NI##x##NJ(                                             \
        const double *xs, const double *ys, ptrdiff_t ld, ptrdiff_t n, double *out, const double *ahead) {            \
        __m256d low[NI][NJ], high[NI][NJ];                                                                            \
        for (int u = 0; u < NI; u++)                                                                                  \
            for (int v = 0; v < NJ; v++) low[u][v] = high[u][v] = _mm256_setzero_pd();                                \
        ptrdiff_t r = 0;                                                                                              \
        for (; r + 8 <= n; r += 8) {                                                                                  \
            _mm_prefetch((const char *)(ahead + r), _MM_HINT_T1);                                                     \
            GLM_TILE_256_ROWS(NI, NJ, _mm256_loadu_pd, _mm256_loadu_pd)                                               \
        }                                                                                                             \
        if (r < n) {                                                                                                  \
            /* The lanes past the end load 0. */                                                                      \
            const __m256i lane = _mm256_setr_epi64x(0, 1, 2, 3);                                                      \
            const __m256i lowMask = _mm256_cmpgt_epi64(_mm256_set1_epi64x((long long)(n - r)), lane);                 \
            const __m256i highMask = _mm256_cmpgt_epi64(_mm256_set1_epi64x((long long)(n - r - 4)), lane);            \
            GLM_TILE_256_ROWS(NI, NJ, GLM_LOAD_LOW, GLM_LOAD_HIGH)                                                    \
        }                                                                                                             \
        if (n > 0) _mm_prefetch((const char *)(ahead + n - 1), _MM_HINT_T1);                                          \
        for (int u = 0; u < NI; u++)                                                                                  \
            for (int v = 0; v < NJ; v++) out[u + v * NI] = lanes_total_256(low[u][v], high[u][v]);                    \
    }
#define GLM_LOAD_LOW(p) _mm256_maskload_pd((p), lowMask)
#define GLM_LOAD_HIGH(p) _mm256_maskload_pd((p), highMask)

// AVX-512: tiles of up to 4 x 6 (24 of the 32 registers hold sums) for XᵀWX, 8 x 1 for XᵀWz.
#define GLM_TILE_512_ROW(NI) GLM_TILE_512(NI, 1) GLM_TILE_512(NI, 2) GLM_TILE_512(NI, 3) GLM_TILE_512(NI, 4) \
    GLM_TILE_512(NI, 5) GLM_TILE_512(NI, 6)
GLM_TILE_512_ROW(1) GLM_TILE_512_ROW(2)
GLM_TILE_512(3, 1) GLM_TILE_512(3, 2) GLM_TILE_512(3, 3) GLM_TILE_512(3, 4) GLM_TILE_512(3, 5)
GLM_TILE_512(4, 1) GLM_TILE_512(4, 2) GLM_TILE_512(4, 3) GLM_TILE_512(4, 4) GLM_TILE_512(4, 6)
GLM_TILE_512(5, 1) GLM_TILE_512(6, 1) GLM_TILE_512(7, 1) GLM_TILE_512(8, 1)
#define GLM_TILE_512_TABLE_ROW(NI) \
    {NULL, tile512_##NI##x1, tile512_##NI##x2, tile512_##NI##x3, tile512_##NI##x4, tile512_##NI##x5, tile512_##NI##x6}
// Without 3 x 6 and 4 x 5, which clang does not keep in registers (a tile of that shape is
// taken a row shorter).
static const glm_tile gram_tiles_512[5][7] = {
    {NULL},
    GLM_TILE_512_TABLE_ROW(1),
    GLM_TILE_512_TABLE_ROW(2),
    {NULL, tile512_3x1, tile512_3x2, tile512_3x3, tile512_3x4, tile512_3x5, NULL},
    {NULL, tile512_4x1, tile512_4x2, tile512_4x3, tile512_4x4, NULL, tile512_4x6}};
static const glm_tile rhs_tiles_512[9] = {NULL,         tile512_1x1, tile512_2x1, tile512_3x1, tile512_4x1,
                                          tile512_5x1, tile512_6x1, tile512_7x1, tile512_8x1};

// AVX2 (16 registers): tiles of up to 2 x 3 for XᵀWX, 4 x 1 for XᵀWz.
GLM_TILE_256(1, 1) GLM_TILE_256(1, 2) GLM_TILE_256(1, 3) GLM_TILE_256(2, 1) GLM_TILE_256(2, 2) GLM_TILE_256(2, 3)
GLM_TILE_256(3, 1) GLM_TILE_256(4, 1)
static const glm_tile gram_tiles_256[3][4] = {
    {NULL}, {NULL, tile256_1x1, tile256_1x2, tile256_1x3}, {NULL, tile256_2x1, tile256_2x2, tile256_2x3}};
static const glm_tile rhs_tiles_256[5] = {NULL, tile256_1x1, tile256_2x1, tile256_3x1, tile256_4x1};

// The next block's rows of X, for the tiles to ask for (see glm_tile): column k < count is
// columns[k] + first. NULL columns: nothing to ask for.
typedef struct {
    const double *const *columns;
    ptrdiff_t first, count;
} next_block;

// The rows the t-th tile asks for: the next block's column t, or, past its last column, the
// tile's own data (already in cache).
static inline const double *tile_ahead(const next_block *next, ptrdiff_t t, const double *own) {
    return next && next->columns && t < next->count ? next->columns[t] + next->first : own;
}

// The upper triangle of AᵀA in tiles of up to tileRows x tileColumns (`tiles` holds the kernel
// of each smaller shape too, row-major with tileColumns + 1 entries a row); a tile that
// crosses the diagonal is computed whole and its lower part dropped. With `rhs`, the block's
// column `columns` (right after A) is b, taken as one more column of tiles whose sums are Aᵀb:
// the same sums as the rhs tiles would make, with fewer and fuller tiles.
static void gram_by_tiles(const glm_tile *tiles, int tileRows, int tileColumns, const double *a, ptrdiff_t rows,
                          ptrdiff_t columns, double *gram, double *rhs, const next_block *next) {
    double out[64];
    const ptrdiff_t total = rhs ? columns + 1 : columns;
    ptrdiff_t tile = 0;
    for (ptrdiff_t j = 0; j < total; j += tileColumns) {
        const int width = total - j < tileColumns ? (int)(total - j) : tileColumns;
        const ptrdiff_t end = j + width < columns ? j + width : columns;
        ptrdiff_t i = 0;
        while (i < end) {
            int height = end - i < tileRows ? (int)(end - i) : tileRows;
            while (!tiles[height * (tileColumns + 1) + width]) height--;
            const double *ys = a + j * rows;
            tiles[height * (tileColumns + 1) + width](a + i * rows, ys, rows, rows, out, tile_ahead(next, tile++, ys));
            for (int v = 0; v < width; v++) {
                const ptrdiff_t column = j + v;
                // In A's columns only the upper triangle (i + u <= column); all of Aᵀb.
                const ptrdiff_t upper = column - i + 1;
                const int used = column == columns || upper >= height ? height : (int)upper;
                double *target = column == columns ? rhs + i : gram + i + column * columns;
                for (int u = 0; u < used; u++) target[u] += out[u + v * height];
            }
            i += height;
        }
    }
}

static void rhs_by_tiles(const glm_tile *tiles, int tileRows, const double *a, ptrdiff_t rows, ptrdiff_t columns,
                         const double *b, double *rhs) {
    double out[8];
    for (ptrdiff_t k = 0; k < columns; k += tileRows) {
        const int height = columns - k < tileRows ? (int)(columns - k) : tileRows;
        tiles[height](a + k * rows, b, rows, rows, out, b);
        for (int u = 0; u < height; u++) rhs[k + u] += out[u];
    }
}

static void rhs_avx2(const double *a, ptrdiff_t rows, ptrdiff_t columns, const double *b, double *rhs) {
    rhs_by_tiles(rhs_tiles_256, 4, a, rows, columns, b, rhs);
}

static void accumulate_avx2(const double *a, ptrdiff_t rows, ptrdiff_t columns, const double *b, double *gram,
                            double *rhs, const next_block *next) {
    if (b == a + columns * rows) {
        gram_by_tiles(&gram_tiles_256[0][0], 2, 3, a, rows, columns, gram, rhs, next);
        return;
    }
    gram_by_tiles(&gram_tiles_256[0][0], 2, 3, a, rows, columns, gram, NULL, next);
    rhs_avx2(a, rows, columns, b, rhs);
}

static void rhs_avx512(const double *a, ptrdiff_t rows, ptrdiff_t columns, const double *b, double *rhs) {
    rhs_by_tiles(rhs_tiles_512, 8, a, rows, columns, b, rhs);
}

static void accumulate_avx512(const double *a, ptrdiff_t rows, ptrdiff_t columns, const double *b, double *gram,
                              double *rhs, const next_block *next) {
    if (b == a + columns * rows) {
        gram_by_tiles(&gram_tiles_512[0][0], 4, 6, a, rows, columns, gram, rhs, next);
        return;
    }
    gram_by_tiles(&gram_tiles_512[0][0], 4, 6, a, rows, columns, gram, NULL, next);
    rhs_avx512(a, rows, columns, b, rhs);
}

#endif

int glm_kernel_level(void) {
#ifdef GLM_HAVE_X86_KERNEL
    // What libgcc read from cpuid at start-up: a load and a test, cheap at once per block.
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        return __builtin_cpu_supports("avx512f") ? 2 : 1;
    }
#endif
    return 0;
}

// eta[r] = offset[r] (0 without one), then eta[r] = eta[r] + x_k[first + r] * coefficient_k
// for each listed column k in order: a multiply and an add, never fused, so every kernel level
// gives the plain loop's doubles. Several rows at once, each row's sum in a register.
static void linear_predictor_plain(const double *const *columns, ptrdiff_t first, ptrdiff_t rows,
                                   const double *coefficients, ptrdiff_t count, const double *offset, double *eta,
                                   ptrdiff_t from) {
#pragma clang fp contract(off)
    for (ptrdiff_t r = from; r < rows; r++) {
        double sum = offset ? offset[r] : 0.0;
        for (ptrdiff_t k = 0; k < count; k++) {
            const double term = columns[k][first + r] * coefficients[k];
            sum = sum + term;
        }
        eta[r] = sum;
    }
}

// Inlined into the AVX2 version below, which is this loop vectorised by the compiler.
static inline __attribute__((always_inline)) void scale_rows_plain(const double *const *columns, ptrdiff_t first,
                                                                   ptrdiff_t rows, ptrdiff_t count,
                                                                   const double *factors, double *block) {
    for (ptrdiff_t c = 0; c < count; c++) {
        const double *column = columns[c] + first;
        for (ptrdiff_t r = 0; r < rows; r++) block[c * rows + r] = column[r] * factors[r];
    }
}

#ifdef GLM_HAVE_X86_KERNEL
// How far ahead of the rows being read a pass asks for its columns' lines: 128 rows.
#define GLM_PREFETCH_BYTES 1024

// The rows in groups of `width` (a constant once inlined): each group's sums in an array the
// compiler keeps in vector registers, the same operations in the same order as the plain loop;
// then the rows left over by the plain loop. `hasOffset` is a constant too.
static inline __attribute__((always_inline)) void linear_predictor_groups(
    const double *const *columns, ptrdiff_t first, ptrdiff_t rows, const double *coefficients, ptrdiff_t count,
    const double *offset, double *eta, const ptrdiff_t width, const int hasOffset) {
#pragma clang fp contract(off)
    ptrdiff_t r = 0;
    for (; r + width <= rows; r += width) {
        double sums[32];
        for (ptrdiff_t i = 0; i < width; i++) sums[i] = hasOffset ? offset[r + i] : 0.0;
        for (ptrdiff_t k = 0; k < count; k++) {
            const double *column = columns[k] + first + r;
            const double factor = coefficients[k];
            // With one stream of reads per column (dozens at once), the hardware prefetcher
            // falls behind: ask for the lines a few groups ahead (harmless past the end).
            for (ptrdiff_t i = 0; i < width; i += 8) {
                _mm_prefetch((const char *)((uintptr_t)(column + i) + GLM_PREFETCH_BYTES), _MM_HINT_T0);
            }
            for (ptrdiff_t i = 0; i < width; i++) sums[i] = sums[i] + column[i] * factor;
        }
        for (ptrdiff_t i = 0; i < width; i++) eta[r + i] = sums[i];
    }
    linear_predictor_plain(columns, first, rows, coefficients, count, offset, eta, r);
}

// Column by column, four at a time: eta[r] = (((eta[r] + x0[r] b0) + x1[r] b1) + x2[r] b2) +
// x3[r] b3 over the block's rows, the same operations in the same order for each row as the
// plain loop. Two or five streams at a time where the row groups read one line from every
// column at once: the columns' arrays start at the same offset in their pages, so those
// lines compete for the same sets of the first-level cache, and dozens of streams defeat the
// hardware prefetcher. Measured faster from 20 columns on (a pass reading 1 M x 51 from
// memory: 25 -> 17 ms on two cores), slower at 15.
static inline __attribute__((always_inline)) void linear_predictor_columns(
    const double *const *columns, ptrdiff_t first, ptrdiff_t rows, const double *coefficients, ptrdiff_t count,
    const double *offset, double *eta, const int hasOffset) {
#pragma clang fp contract(off)
    if (hasOffset) {
        for (ptrdiff_t r = 0; r < rows; r++) eta[r] = offset[r];
    } else {
        for (ptrdiff_t r = 0; r < rows; r++) eta[r] = 0.0;
    }
    ptrdiff_t k = 0;
    for (; k + 4 <= count; k += 4) {
        const double *x0 = columns[k] + first, *x1 = columns[k + 1] + first;
        const double *x2 = columns[k + 2] + first, *x3 = columns[k + 3] + first;
        const double b0 = coefficients[k], b1 = coefficients[k + 1], b2 = coefficients[k + 2],
                     b3 = coefficients[k + 3];
        for (ptrdiff_t r = 0; r < rows; r++) {
            double sum = eta[r];
            sum = sum + x0[r] * b0;
            sum = sum + x1[r] * b1;
            sum = sum + x2[r] * b2;
            sum = sum + x3[r] * b3;
            eta[r] = sum;
        }
    }
    for (; k < count; k++) {
        const double *x = columns[k] + first;
        const double b = coefficients[k];
        for (ptrdiff_t r = 0; r < rows; r++) eta[r] = eta[r] + x[r] * b;
    }
}

#define GLM_STREAMED_COLUMNS 20

// A loop for each case: with `offset ? offset[r + i] : 0.0` in one loop the compiler loads
// the sums' start by a masked load, which without an offset reads at the null pointer with
// every lane masked off; AMD Zen 4 takes a slow microcode path for such a load (page-fault
// suppression), which made the linear predictor 2.5 times slower there.
static inline __attribute__((always_inline)) void linear_predictor_wide(
    const double *const *columns, ptrdiff_t first, ptrdiff_t rows, const double *coefficients, ptrdiff_t count,
    const double *offset, double *eta, const ptrdiff_t width) {
    if (count >= GLM_STREAMED_COLUMNS) {
        if (offset) {
            linear_predictor_columns(columns, first, rows, coefficients, count, offset, eta, 1);
        } else {
            linear_predictor_columns(columns, first, rows, coefficients, count, NULL, eta, 0);
        }
    } else if (offset) {
        linear_predictor_groups(columns, first, rows, coefficients, count, offset, eta, width, 1);
    } else {
        linear_predictor_groups(columns, first, rows, coefficients, count, NULL, eta, width, 0);
    }
}

__attribute__((target("avx2,fma"))) static void linear_predictor_avx2(const double *const *columns, ptrdiff_t first,
                                                                       ptrdiff_t rows, const double *coefficients,
                                                                       ptrdiff_t count, const double *offset,
                                                                       double *eta) {
    linear_predictor_wide(columns, first, rows, coefficients, count, offset, eta, 16);
}

__attribute__((target("avx512f"))) static void linear_predictor_avx512(const double *const *columns, ptrdiff_t first,
                                                                        ptrdiff_t rows, const double *coefficients,
                                                                        ptrdiff_t count, const double *offset,
                                                                        double *eta) {
    linear_predictor_wide(columns, first, rows, coefficients, count, offset, eta, 32);
}

__attribute__((target("avx2"))) static void scale_rows_avx2(const double *const *columns, ptrdiff_t first,
                                                             ptrdiff_t rows, ptrdiff_t count, const double *factors,
                                                             double *block) {
    scale_rows_plain(columns, first, rows, count, factors, block);
}

__attribute__((target("avx512f"))) static void scale_rows_avx512(const double *const *columns, ptrdiff_t first,
                                                                  ptrdiff_t rows, ptrdiff_t count,
                                                                  const double *factors, double *block) {
    for (ptrdiff_t c = 0; c < count; c++) {
        const double *column = columns[c] + first;
        double *target = block + c * rows;
        ptrdiff_t r = 0;
        for (; r + 8 <= rows; r += 8) {
            _mm512_storeu_pd(target + r, _mm512_mul_pd(_mm512_loadu_pd(column + r), _mm512_loadu_pd(factors + r)));
        }
        if (r < rows) {
            const __mmask8 tail = (__mmask8)((1u << (rows - r)) - 1);
            _mm512_mask_storeu_pd(target + r, tail,
                                  _mm512_mul_pd(_mm512_maskz_loadu_pd(tail, column + r),
                                                _mm512_maskz_loadu_pd(tail, factors + r)));
        }
    }
}
#endif

void glm_linear_predictor_at(int level, const double *const *columns, ptrdiff_t first, ptrdiff_t rows,
                             const double *coefficients, ptrdiff_t count, const double *offset, double *eta) {
    const int available = glm_kernel_level();
    const int usable = level < available ? level : available;
#ifdef GLM_HAVE_X86_KERNEL
    if (usable == 2) {
        linear_predictor_avx512(columns, first, rows, coefficients, count, offset, eta);
        return;
    }
    if (usable == 1) {
        linear_predictor_avx2(columns, first, rows, coefficients, count, offset, eta);
        return;
    }
#endif
    (void)usable;
    linear_predictor_plain(columns, first, rows, coefficients, count, offset, eta, 0);
}

void glm_linear_predictor(const double *const *columns, ptrdiff_t first, ptrdiff_t rows, const double *coefficients,
                          ptrdiff_t count, const double *offset, double *eta) {
    glm_linear_predictor_at(glm_kernel_level(), columns, first, rows, coefficients, count, offset, eta);
}

void glm_scale_rows(const double *const *columns, ptrdiff_t first, ptrdiff_t rows, ptrdiff_t count,
                    const double *factors, double *block) {
#ifdef GLM_HAVE_X86_KERNEL
    const int level = glm_kernel_level();
    if (level == 2) {
        scale_rows_avx512(columns, first, rows, count, factors, block);
        return;
    }
    if (level == 1) {
        scale_rows_avx2(columns, first, rows, count, factors, block);
        return;
    }
#endif
    scale_rows_plain(columns, first, rows, count, factors, block);
}

static void accumulate_normal_equations(int level, const double *a, ptrdiff_t rows, ptrdiff_t columns,
                                        const double *b, double *gram, double *rhs, const next_block *next) {
    const int available = glm_kernel_level();
    const int usable = level < available ? level : available;
#ifdef GLM_HAVE_X86_KERNEL
    if (usable == 2) {
        accumulate_avx512(a, rows, columns, b, gram, rhs, next);
        return;
    }
    if (usable == 1) {
        accumulate_avx2(a, rows, columns, b, gram, rhs, next);
        return;
    }
#endif
    (void)usable;
    (void)next;
    accumulate_plain(a, rows, columns, b, gram, rhs);
}

void glm_accumulate_normal_equations_at(int level, const double *a, ptrdiff_t rows, ptrdiff_t columns, const double *b,
                                        double *gram, double *rhs) {
    accumulate_normal_equations(level, a, rows, columns, b, gram, rhs, NULL);
}

void glm_accumulate_normal_equations_prefetching(const double *a, ptrdiff_t rows, ptrdiff_t columns, const double *b,
                                                 double *gram, double *rhs, const double *const *nextColumns,
                                                 ptrdiff_t nextFirst, ptrdiff_t nextCount) {
    const next_block next = {nextColumns, nextFirst, nextCount};
    accumulate_normal_equations(glm_kernel_level(), a, rows, columns, b, gram, rhs, &next);
}

void glm_accumulate_right_hand_side_at(int level, const double *a, ptrdiff_t rows, ptrdiff_t columns, const double *b,
                                       double *rhs) {
    const int available = glm_kernel_level();
    const int usable = level < available ? level : available;
#ifdef GLM_HAVE_X86_KERNEL
    if (usable == 2) {
        rhs_avx512(a, rows, columns, b, rhs);
        return;
    }
    if (usable == 1) {
        rhs_avx2(a, rows, columns, b, rhs);
        return;
    }
#endif
    (void)usable;
    rhs_plain(a, rows, columns, b, rhs);
}

void glm_accumulate_normal_equations(const double *a, ptrdiff_t rows, ptrdiff_t columns, const double *b,
                                     double *gram, double *rhs) {
    glm_accumulate_normal_equations_at(glm_kernel_level(), a, rows, columns, b, gram, rhs);
}

void glm_accumulate_right_hand_side(const double *a, ptrdiff_t rows, ptrdiff_t columns, const double *b, double *rhs) {
    glm_accumulate_right_hand_side_at(glm_kernel_level(), a, rows, columns, b, rhs);
}

int glm_copy_checking_finite(const double *source, double *target, ptrdiff_t count) {
    // The exponent bits all set: NaN or an infinity. Branch-free, so the loop vectorises.
    const uint64_t exponent = 0x7FF0000000000000ull;
    uint64_t found = 0;
    for (ptrdiff_t i = 0; i < count; i++) {
        uint64_t bits;
        memcpy(&bits, source + i, sizeof bits);
        memcpy(target + i, &bits, sizeof bits);
        found |= (bits & exponent) == exponent;
    }
    return found == 0;
}

// The variance functions the weights kernel knows (glm_variance_kind), as R writes them.
static inline double variance_of(int kind, double mu) {
    switch (kind) {
    case GLM_VARIANCE_ONE: return 1.0;
    case GLM_VARIANCE_MU: return mu;
    case GLM_VARIANCE_BINOMIAL: return mu * (1.0 - mu);
    default: return mu * mu;
    }
}

static void working_weights_plain(const glm_weights_input *in, ptrdiff_t from, glm_weights_output *out,
                                  glm_weights_checks *checks) {
#pragma clang fp contract(off)
    for (ptrdiff_t r = from; r < in->rows; r++) {
        const double prior = in->prior ? in->prior[r] : 1.0;
        double weight = 0.0, response = 0.0;
        if (prior > 0) {
            const double mu = in->mu[r];
            const double variance = variance_of(in->variance, mu);
            const double derivative = in->derivative ? in->derivative[r] : mu;
            checks->varianceNaN |= variance != variance;
            checks->varianceZero |= variance == 0;
            checks->derivativeNaN |= derivative != derivative;
            if (derivative != 0) {
                checks->good += 1;
                weight = prior * (derivative * derivative) / variance;
                response = (in->eta[r] - (in->offset ? in->offset[r] : 0.0)) + (in->y[r] - mu) / derivative;
            }
        }
        const double root = __builtin_sqrt(weight);
        out->weights[r] = root * root;
        out->roots[r] = root;
        out->scaledResponses[r] = root * response;
    }
}

#ifdef GLM_HAVE_X86_KERNEL
// Eight rows at a time with the plain loop's operations (each one IEEE-rounded, none fused),
// the skipped rows' results replaced by 0 as the plain loop leaves them.
__attribute__((target("avx512f"))) static void working_weights_avx512(const glm_weights_input *in,
                                                                     glm_weights_output *out,
                                                                     glm_weights_checks *checks) {
    const __m512d zero = _mm512_setzero_pd(), one = _mm512_set1_pd(1.0);
    __mmask8 varianceNaN = 0, varianceZero = 0, derivativeNaN = 0;
    long long good = 0;
    ptrdiff_t r = 0;
    for (; r + 8 <= in->rows; r += 8) {
        const __m512d prior = in->prior ? _mm512_loadu_pd(in->prior + r) : one;
        const __m512d mu = _mm512_loadu_pd(in->mu + r);
        __m512d variance;
        switch (in->variance) {
        case GLM_VARIANCE_ONE: variance = one; break;
        case GLM_VARIANCE_MU: variance = mu; break;
        case GLM_VARIANCE_BINOMIAL: variance = _mm512_mul_pd(mu, _mm512_sub_pd(one, mu)); break;
        default: variance = _mm512_mul_pd(mu, mu); break;
        }
        const __m512d derivative = in->derivative ? _mm512_loadu_pd(in->derivative + r) : mu;
        const __mmask8 positive = _mm512_cmp_pd_mask(prior, zero, _CMP_GT_OQ);
        varianceNaN |= _mm512_mask_cmp_pd_mask(positive, variance, variance, _CMP_UNORD_Q);
        varianceZero |= _mm512_mask_cmp_pd_mask(positive, variance, zero, _CMP_EQ_OQ);
        derivativeNaN |= _mm512_mask_cmp_pd_mask(positive, derivative, derivative, _CMP_UNORD_Q);
        // derivative != 0 (NaN counts as not equal, as in the plain loop).
        const __mmask8 used = _mm512_mask_cmp_pd_mask(positive, derivative, zero, _CMP_NEQ_UQ);
        good += __builtin_popcount((unsigned)used);
        const __m512d weight = _mm512_maskz_div_pd(
            used, _mm512_mul_pd(prior, _mm512_mul_pd(derivative, derivative)), variance);
        const __m512d eta = _mm512_loadu_pd(in->eta + r);
        const __m512d centred = in->offset ? _mm512_sub_pd(eta, _mm512_loadu_pd(in->offset + r)) : _mm512_sub_pd(eta, zero);
        const __m512d response = _mm512_maskz_add_pd(
            used, centred, _mm512_div_pd(_mm512_sub_pd(_mm512_loadu_pd(in->y + r), mu), derivative));
        const __m512d root = _mm512_sqrt_pd(weight);
        _mm512_storeu_pd(out->weights + r, _mm512_mul_pd(root, root));
        _mm512_storeu_pd(out->roots + r, root);
        _mm512_storeu_pd(out->scaledResponses + r, _mm512_mul_pd(root, response));
    }
    checks->varianceNaN |= varianceNaN != 0;
    checks->varianceZero |= varianceZero != 0;
    checks->derivativeNaN |= derivativeNaN != 0;
    checks->good += good;
    working_weights_plain(in, r, out, checks);
}
#endif

void glm_working_weights_at(int level, const glm_weights_input *in, glm_weights_output *out,
                            glm_weights_checks *checks) {
    const int available = glm_kernel_level();
    const int usable = level < available ? level : available;
#ifdef GLM_HAVE_X86_KERNEL
    if (usable == 2) {
        working_weights_avx512(in, out, checks);
        return;
    }
#endif
    (void)usable;
    working_weights_plain(in, 0, out, checks);
}

void glm_working_weights(const glm_weights_input *in, glm_weights_output *out, glm_weights_checks *checks) {
    glm_working_weights_at(glm_kernel_level(), in, out, checks);
}

// R's logit linkinv and mu.eta from exp(eta): the operations of Link.linkinv and Link.muEta,
// each IEEE-rounded, none fused, so every level gives the same doubles. A loop without calls
// (the caller computes exp first), so that its two divisions a row vectorise.
static inline __attribute__((always_inline)) void logit_mean_derivative_loop(const double *restrict eta,
                                                                              double *restrict values,
                                                                              double *restrict mu, ptrdiff_t rows) {
#pragma clang fp contract(off)
    const double epsilon = 0x1p-52, threshold = 30.0;
    for (ptrdiff_t r = 0; r < rows; r++) {
        const double x = eta[r], e = values[r];
        const double clamped = x < -threshold ? epsilon : (x > threshold ? 1 / epsilon : e);
        const double onePlus = 1 + e;
        const double derivative = (x > threshold || x < -threshold) ? epsilon : e / (onePlus * onePlus);
        mu[r] = clamped / (1 + clamped);
        values[r] = derivative;
    }
}

static void logit_mean_derivative_plain(const double *eta, double *values, double *mu, ptrdiff_t rows) {
    logit_mean_derivative_loop(eta, values, mu, rows);
}

#ifdef GLM_HAVE_X86_KERNEL
__attribute__((target("avx512f"))) static void logit_mean_derivative_avx512(const double *eta, double *values,
                                                                           double *mu, ptrdiff_t rows) {
    logit_mean_derivative_loop(eta, values, mu, rows);
}
#endif

void glm_logit_mean_derivative(const double *eta, double *values, double *mu, ptrdiff_t rows) {
#ifdef GLM_HAVE_X86_KERNEL
    if (glm_kernel_level() == 2) {
        logit_mean_derivative_avx512(eta, values, mu, rows);
        return;
    }
#endif
    logit_mean_derivative_plain(eta, values, mu, rows);
}

#ifdef GLM_HAVE_X86_KERNEL
// 32 bytes at a time: each match adds 1 to a byte counter (compare gives -1, subtracted), and
// every 255 steps, before a counter can wrap, the counters are summed into 64-bit lanes.
__attribute__((target("avx2"))) static size_t count_byte_avx2(const unsigned char *p, size_t n, unsigned char byte) {
    const __m256i wanted = _mm256_set1_epi8((char)byte);
    __m256i totals = _mm256_setzero_si256();
    size_t i = 0;
    while (n - i >= 32) {
        size_t steps = (n - i) / 32;
        if (steps > 255) steps = 255;
        __m256i counters = _mm256_setzero_si256();
        for (size_t s = 0; s < steps; s++, i += 32) {
            const __m256i bytes = _mm256_loadu_si256((const __m256i *)(p + i));
            counters = _mm256_sub_epi8(counters, _mm256_cmpeq_epi8(bytes, wanted));
        }
        totals = _mm256_add_epi64(totals, _mm256_sad_epu8(counters, _mm256_setzero_si256()));
    }
    uint64_t lanes[4];
    _mm256_storeu_si256((__m256i *)lanes, totals);
    size_t count = (size_t)(lanes[0] + lanes[1] + lanes[2] + lanes[3]);
    for (; i < n; i++) count += p[i] == byte;
    return count;
}
#endif

size_t glm_count_byte(const unsigned char *p, size_t n, unsigned char byte) {
#ifdef GLM_HAVE_X86_KERNEL
    if (glm_kernel_level() >= 1) return count_byte_avx2(p, n, byte);
#endif
    size_t count = 0;
    for (size_t i = 0; i < n; i++) count += p[i] == byte;
    return count;
}
